"""Issue 21's planning levers through the public API (``ReCode(...).run``, scripted models).

Each lever is shown doing its job, and switched off doing nothing (the prompts of a run with
the lever off are the prompts of the package before it). Replies are hand-written.
"""

from __future__ import annotations

from conftest import reply

from recode_magic import ReCode, ScriptedLLM, primitive


def _rows(n: int) -> list[dict[str, object]]:
    return [{"region": "north" if i % 2 else "south", "amount": i} for i in range(n)]


# -- lever 1: decompose when flat code fails --------------------------------------------------

def _decompose_llm(plan: str) -> ScriptedLLM:
    bad = reply("answer = sales[0]['amout']")
    return ScriptedLLM({"solve": [bad, bad, bad, reply(plan)],
                        "totals_by_region": reply(
                            "totals = {}\nfor r in sales:\n"
                            "    totals[r['region']] = totals.get(r['region'], 0) + r['amount']"),
                        "biggest_region": reply("answer = max(totals, key=totals.get)")})


def test_a_failing_flat_step_is_re_expanded_as_a_plan_of_sub_steps():
    plan = "totals = totals_by_region(sales)\nanswer = biggest_region(totals)"
    llm = _decompose_llm(plan)
    ns: dict = {}
    run = ReCode(llm, ns, decompose=True).run("Which region sold most?",
                                              inputs={"sales": _rows(6)}, output="answer")
    assert run.status == "done", run.error
    assert ns["answer"] == "north"
    assert [n.name for n in run.nodes()] == ["solve", "totals_by_region", "biggest_region"]
    root = run.nodes()[0]
    assert [a["kind"] for a in root.attempts] == ["repair", "repair", "decompose"]
    assert "Split the step into 2 to 4 smaller steps" in llm.calls[3]


def test_decompose_off_passes_the_error_up_as_before():
    llm = _decompose_llm("unused = x()")
    run = ReCode(llm, {}, decompose=False).run("Which region sold most?",
                                               inputs={"sales": _rows(6)}, output="answer")
    assert run.status == "error" and "KeyError" in (run.error or "")
    assert len(llm.calls) == 3 and not any("Split" in c for c in llm.calls)


def test_a_plan_with_plain_code_in_it_is_refused_and_asked_again():
    bad = reply("answer = sales[0]['amout']")
    llm = ScriptedLLM({"solve": [bad, bad, bad, reply("x = 1\nanswer = pick(sales)"),
                                 reply("rows = keep(sales)\nanswer = pick(rows)")],
                       "keep": reply("rows = list(sales)"),
                       "pick": reply("answer = len(rows)")})
    ns: dict = {}
    run = ReCode(llm, ns, decompose=True).run("count", inputs={"sales": _rows(3)}, output="answer")
    assert run.status == "done" and ns["answer"] == 3
    assert "a plan has only lines" in llm.calls[4]


# -- lever 2: sample, run, choose -------------------------------------------------------------

def test_samples_keep_the_result_most_candidates_agree_on():
    wrong = reply("answer = len(sales) + 1")
    right = reply("answer = sum(1 for _ in sales)")
    llm = ScriptedLLM({"solve": [wrong, right, reply("answer = len(sales)")]})
    ns: dict = {}
    run = ReCode(llm, ns, samples=3).run("count the rows", inputs={"sales": _rows(4)},
                                          output="answer")
    assert run.status == "done" and ns["answer"] == 4
    assert run.llm_calls == 3
    sample = run.nodes()[0].attempts[-1]
    assert sample["kind"] == "sample" and sample["chosen"] == 2 and sample["agree"] == 2
    assert llm.calls[1] == llm.calls[0] == llm.calls[2]  # the same prompt (test_sampling.py)


def test_samples_are_not_asked_for_a_step_that_calls_a_primitive():
    moved: list[str] = []

    def move(d: str) -> str:
        """Move one cell."""
        moved.append(d)
        return d

    llm = ScriptedLLM({"solve": reply("answer = move('east')")})
    run = ReCode(llm, {"move": move}, samples=3).run("go east", output="answer")
    assert run.status == "done" and run.llm_calls == 1 and moved == ["east"]


# -- lever 3: ground the model in the data ----------------------------------------------------

def test_a_long_list_is_previewed_by_its_structure_and_a_short_one_as_before():
    llm = ScriptedLLM({"solve": reply("answer = len(sales)")})
    ReCode(llm, {}, previews=True).run("count", inputs={"sales": _rows(40)}, output="answer")
    assert "list of 40 dicts, keys ['region', 'amount']; first rows:" in llm.calls[0]
    short = ScriptedLLM({"solve": reply("answer = len(sales)")})
    ReCode(short, {}, previews=True).run("count", inputs={"sales": _rows(2)}, output="answer")
    assert "- sales (list): [{'amount': 0, 'region': 'south'}, {'amount': 1," \
        in short.calls[0]
    off = ScriptedLLM({"solve": reply("answer = len(sales)")})
    ReCode(off, {}, previews=False).run("count", inputs={"sales": _rows(40)}, output="answer")
    assert "list of 40 dicts" not in off.calls[0] and "…" in off.calls[0]


def test_a_literal_that_re_types_a_variable_is_refused():
    copied = reply("rows = [{'region': 'south', 'amount': 0}, {'region': 'north', 'amount': 1},"
                   " {'region': 'south', 'amount': 2}]\nanswer = len(rows)")
    llm = ScriptedLLM({"solve": [copied, reply("answer = len(sales)")]})
    ns: dict = {}
    run = ReCode(llm, ns).run("count", inputs={"sales": _rows(3)}, output="answer")
    assert ns["answer"] == 3 and run.llm_calls == 2
    assert "use the variable `sales` instead" in llm.calls[1]


def test_a_key_error_repair_is_told_the_real_keys():
    llm = ScriptedLLM({"solve": [reply("answer = stock['bolt']"),
                                 reply("answer = stock['bolts']")]})
    ns = {"stock": {"bolts": 4, "nuts": 2}}
    run = ReCode(llm, ns).run("bolts in stock?", inputs={"stock": ns["stock"]},
                              output="answer")
    assert run.status == "done" and ns["answer"] == 4
    assert "`stock` is a dict with keys ['bolts', 'nuts']" in llm.calls[1]


def test_a_key_a_primitive_did_not_know_is_matched_to_the_tasks_words():
    stock = {"north": {"bolts": 40}}

    def stock_at(place: str, item: str) -> int:
        """How many of an item a warehouse holds."""
        return stock[place][item]

    llm = ScriptedLLM({"solve": [reply("answer = stock_at('north', 'bolt')"),
                                 reply("answer = stock_at('north', 'bolts')")]})
    ns: dict = {"stock_at": stock_at}
    run = ReCode(llm, ns).run("How many bolts are in the north warehouse?", output="answer")
    assert run.status == "done" and ns["answer"] == 40
    assert "`'bolt'` is not a key that exists; the task says: 'bolts'." in llm.calls[1]
    assert "is not a key" not in llm.calls[0]


def test_a_primitive_called_with_wrong_arguments_is_shown_how_the_primitives_are_called():
    state = {"study": False}

    def lights() -> dict:
        """Each room's light: {room: True if on}."""
        return dict(state)

    def switch(room: str, on: bool) -> str:
        """Turn a room's light on (True) or off (False)."""
        state[room] = on
        return "ok"

    llm = ScriptedLLM({"solve": [reply('lights("study")'), reply('switch("study", True)')]})
    ns: dict = {"lights": lights, "switch": switch}
    run = ReCode(llm, ns).run("Turn the study light on.")
    assert run.status == "done" and state["study"] is True
    hint = llm.calls[1].split("How the primitives are called: ", 1)[1].splitlines()[0]
    assert hint.startswith("`lights() -> 'dict' -- Each room's light")  # annotations as text
    assert "`switch(room: 'str', on: 'bool') -> 'str' -- Turn a room's light" in hint
    off = ScriptedLLM({"solve": [reply('lights("study")'), reply('switch("study", True)')]})
    ReCode(off, {"lights": lights, "switch": switch}, ground=False).run("Turn it on.")
    assert "How the primitives are called" not in off.calls[1]


# -- lever 6: loop guards ---------------------------------------------------------------------

def test_an_empty_range_and_an_endless_while_are_refused_before_they_run():
    moved: list[str] = []

    def move(d: str) -> str:
        """Move one cell."""
        moved.append(d)
        return d

    llm = ScriptedLLM({"solve": [reply("for _ in range(-3):\n    move('south')"),
                                 reply("while True:\n    move('south')"),
                                 reply("for _ in range(3):\n    move('south')")]})
    run = ReCode(llm, {"move": move}).run("go 3 south")
    assert run.status == "done" and moved == ["south"] * 3
    assert "`range(-3)` is empty" in llm.calls[1]
    assert "`while True:` has no `break`" in llm.calls[2]


def test_loop_guards_off_runs_the_empty_loop():
    llm = ScriptedLLM({"solve": reply("n = 0\nfor _ in range(-3):\n    n += 1")})
    run = ReCode(llm, {}, loop_guards=False).run("loop")
    assert run.status == "done" and run.llm_calls == 1


# -- issue 22, finding 2: a long task reaches the model, or the cut is said -----------------

def test_a_long_task_is_cut_visibly_and_the_user_is_told():
    task = "Sum the numbers. " + "x" * 5000 + " LAST WORDS"
    llm = ScriptedLLM({"solve": reply("answer = 1")})
    run = ReCode(llm, {}).run(task, output="answer")
    assert "LAST WORDS" not in llm.calls[0]
    assert "[... the task is cut here: " in llm.calls[0]
    assert any("task_limit" in w and "4000" in w for w in run.warnings)
    whole = ScriptedLLM({"solve": reply("answer = 1")})
    run = ReCode(whole, {}, task_limit=6000).run(task, output="answer")
    assert "LAST WORDS" in whole.calls[0] and not run.warnings


# -- lever 5: worlds answer back ---------------------------------------------------------------

def _world() -> tuple[dict, list[str]]:
    sent: list[str] = []

    def act(command: str) -> str:
        """Send a command to the game; returns what the game says."""
        sent.append(command)
        return {"go east": "You are in a sauna. You see a box.",
                "open box": "You open the box."}.get(command, "You can't see any such thing.")

    return {"act": primitive(action=True)(act)}, sent


def test_after_an_action_the_rest_of_the_step_is_written_from_the_worlds_answer():
    ns, sent = _world()
    llm = ScriptedLLM({"solve": [reply("act('go east')\nact('open chest')"),
                                 reply("act('open box')")]})
    run = ReCode(llm, ns).run("Go east and open what you find.")
    assert run.status == "done" and sent == ["go east", "open box"]
    assert "# act('go east') -> 'You are in a sauna. You see a box.'" in llm.calls[1]
    assert "act('open chest')" in llm.calls[1].split("The rest of your plan")[1]


def test_a_command_naming_things_never_seen_is_refused_before_it_is_sent():
    ns, sent = _world()
    llm = ScriptedLLM({"solve": [reply("act('go east')\nact('open chest')"),
                                 reply("act('open wooden chest')"), reply("act('open box')")]})
    run = ReCode(llm, ns).run("Go east and open what you find.")
    assert run.status == "done" and sent == ["go east", "open box"]
    assert "`act('open wooden chest')` names 'wooden', 'chest'" in llm.calls[2]
    ns, sent = _world()
    off = ScriptedLLM({"solve": [reply("act('open wooden chest')"), reply("act('go east')")]})
    ReCode(off, ns, ground=False, world_answers=False).run("Go east.")
    assert sent == ["open wooden chest"]


class _Stubborn:
    """Answers a refused reply at temperature 0, a usable one only when sampled."""

    model = "stubborn"

    def __init__(self) -> None:
        self.asked: list[tuple[float | None, int | None]] = []

    def respond(self, prompt: str, *, on_text=None, depth=None, temperature=None, seed=None):
        from recode_magic.llms.base import Reply
        self.asked.append((temperature, seed))
        return Reply(reply("act('open box')") if temperature else reply("import os"))

    def __call__(self, prompt: str) -> str:
        return self.respond(prompt).text


def test_the_same_refused_answer_twice_is_asked_again_at_a_temperature():
    ns, sent = _world()
    llm = _Stubborn()
    run = ReCode(llm, ns).run("Open the box.")
    assert run.status == "done" and sent == ["open box"]
    assert llm.asked == [(None, None), (None, None), (0.7, 2)]


def test_a_repeated_action_with_the_same_answer_is_pointed_out():
    ns, sent = _world()
    llm = ScriptedLLM({"solve": [reply("act('go east')\nact('x')"),
                                 reply("act('x')\nact('x')\nact('q')"),
                                 reply("act('x')\nact('q')"), reply("act('open box')")]})
    run = ReCode(llm, ns).run("Find something.")
    assert sent == ["go east", "x", "x", "open box"] and run.llm_calls == 4
    assert "was sent before" not in llm.calls[2]
    assert "`act('x')` was sent before and got the same answer" in llm.calls[3]


def test_world_answers_off_runs_the_plan_as_written():
    ns, sent = _world()
    llm = ScriptedLLM({"solve": reply("act('go east')\nact('open chest')")})
    run = ReCode(llm, ns, world_answers=False).run("Go east and open what you find.")
    assert run.llm_calls == 1 and sent == ["go east", "open chest"]
