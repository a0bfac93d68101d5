"""The result check (issue 12): a step that ran without an error but left the result its
caller expects None or empty is re-planned once, with its code and that value."""

from __future__ import annotations

from conftest import reply as X

from recode_magic import ReCode, ScriptedLLM, primitive
from recode_magic.runs.tree import run_to_dict

LOG = "a: 1;b: 2"
REGEX_MISS = "import re\nanswer = {}\nfor m in re.finditer('component: (.+)', log):\n" \
             "    answer[m.group(1)] = 1"
FIXED = "answer = {}\nfor part in log.split(';'):\n    answer[part.split(':')[0]] = 1"


def test_an_empty_output_is_replanned_from_the_start_with_the_value_shown():
    llm = ScriptedLLM({"solve": [X(REGEX_MISS), X(FIXED)]})
    run = ReCode(llm).run("count the components", inputs={"log": LOG}, output="answer")
    assert run.status == "done", run.error
    assert run.namespace["answer"] == {"a": 1, "b": 1}
    assert len(llm.calls) == 2
    second = llm.calls[1]
    assert "Your code ran without an error:\n" + REGEX_MISS in second
    assert "but it left `answer` = {} (empty)" in second
    assert "Write the whole step again, fixed, and assign `answer`." in second
    (attempt,) = run.root.attempts
    assert attempt["kind"] == "replan" and attempt["error"] == "`answer` is empty: {}"
    assert attempt["code"] == REGEX_MISS
    assert run.root.code == FIXED  # the node shows the code that produced its result
    saved = run_to_dict(run)["nodes"]["0"]["attempts"]
    assert [a["kind"] for a in saved] == ["replan"]


def test_an_empty_result_the_model_confirms_stands_after_one_check():
    llm = ScriptedLLM({"solve": [X("answer = []"), X("answer = []"), X("answer = [1]")]})
    run = ReCode(llm).run("nothing matches", output="answer")
    assert run.status == "done" and run.namespace["answer"] == []
    assert len(llm.calls) == 2  # once per node: the third reply is never asked for


def test_zero_and_false_are_results_not_empties():
    for value in ("0", "False", "[0]"):
        llm = ScriptedLLM({"solve": X(f"answer = {value}")})
        run = ReCode(llm).run("t", output="answer")
        assert run.status == "done" and len(llm.calls) == 1, value


def test_check_results_off_keeps_the_old_behaviour():
    llm = ScriptedLLM({"solve": [X("answer = None"), X("answer = 1")]})
    run = ReCode(llm, check_results=False).run("t", output="answer")
    assert run.status == "done" and run.namespace["answer"] is None
    assert len(llm.calls) == 1 and run.root.attempts == []


def test_no_output_means_nothing_to_check_at_the_root():
    llm = ScriptedLLM({"solve": X("answer = {}")})
    run = ReCode(llm).run("t")
    assert run.status == "done" and len(llm.calls) == 1


def test_a_placeholder_result_is_checked_too():
    llm = ScriptedLLM({"solve": X("words = find_words(doc)\nn = len(words)"),
                       "find_words": [X("words = []"),
                                      X("words = doc.split()")]})
    run = ReCode(llm).run("count words", inputs={"doc": "a b c"})
    assert run.status == "done" and run.namespace["n"] == 3
    child = run.root.children[0]
    assert [a["kind"] for a in child.attempts] == ["replan"]
    assert "`words` = [] (empty)" in llm.calls[2]


def test_a_node_that_called_a_primitive_is_not_run_again_only_completed():
    sent: list[str] = []

    def act(command):
        """Send a command; returns what the world says."""
        sent.append(command)
        return f"You {command}."

    llm = ScriptedLLM({"solve": [X("act('go north')"), X("answer = act('look')")]})
    run = ReCode(llm, namespace={"act": act}).run("go and look", output="answer")
    assert run.status == "done", run.error
    assert sent == ["go north", "look"]  # `go north` was not sent twice
    assert run.namespace["answer"] == "You look."
    assert "Write only the statements still needed" in llm.calls[1]
    assert run.root.code == "act('go north')\nanswer = act('look')"


def test_an_empty_result_after_a_primitive_is_left_alone():
    moved: list[int] = []
    llm = ScriptedLLM({"solve": X("r = move(3)"), "move": X("moved.append(3)")})
    ns = {"move": lambda n: moved.append(n), "moved": moved}
    ns["move"].__doc__ = "Move the robot n cells; returns None."
    run = ReCode(llm, namespace=ns).run("move", output="r")
    assert run.status == "done" and moved == [3] and len(llm.calls) == 1


def test_a_missing_output_is_asked_for_with_what_the_code_computed():
    code = "totals = {}\nfor k in ks:\n    totals[k] = totals.get(k, 0) + 1"
    llm = ScriptedLLM({"solve": [X(code), X(code + "\nanswer = sorted(totals)")]})
    run = ReCode(llm).run("t", inputs={"ks": ["b", "a", "b"]}, output="answer")
    assert run.status == "done", run.error
    assert run.namespace["answer"] == ["a", "b"]
    assert run.namespace["totals"] == {"b": 2, "a": 1}  # run again from the start, not doubled
    assert "but it never assigned `answer`, which the step must set." in llm.calls[1]
    assert "After it ran: k = 'b'; totals = {'a': 1, 'b': 2}" in llm.calls[1]
    assert run.root.attempts[0]["error"] == "`answer` was never assigned"


def test_a_missing_output_after_the_check_is_still_an_error_with_repairs():
    llm = ScriptedLLM({"solve": [X("x = 1")] * 4})
    run = ReCode(llm, max_retry=1).run("t", output="answer")
    assert run.status == "error" and "without assigning `answer`" in run.error
    assert [a["kind"] for a in run.root.attempts] == ["replan", "repair"]


def test_a_timeout_says_what_the_primitives_did_meanwhile():
    state = {"pos": (0, 0)}

    def move(direction):
        """Move one cell; returns the new (x, y)."""
        x, y = state["pos"]  # a wall at y = 5
        state["pos"] = (x, min(y + 1, 5)) if direction == "north" else (x, y - 1)
        return state["pos"]

    def position():
        """The robot's (x, y)."""
        return state["pos"]

    loop = "while position() != (0, -2):\n    move('north')"
    llm = ScriptedLLM({"solve": [X(loop), X("while position() != (0, -2):\n    move('south')")]})
    ns = {"move": move, "position": position}
    run = ReCode(llm, namespace=ns, timeout=0.3).run("drive to (0, -2)")
    assert run.status == "done" and state["pos"] == (0, -2)
    error = run.root.attempts[0]["error"]
    assert error.startswith("BlockTimeoutError: block ran longer than 0.3 s")
    assert "; meanwhile " in error and "(last: move('north') -> (0, 5))" in error
    assert "move was called" in error and "position was called" in error
    assert "(last: move('north') -> (0, 5))" in llm.calls[1]  # the repair prompt shows it
    assert ns["move"] is move and ns["position"] is position  # the wrappers are gone


def test_a_function_of_the_examples_is_refused_before_it_runs():
    llm = ScriptedLLM({"solve": [X("total = add_prices(items)"),
                                 X("total = sum(i['p'] for i in items)")]})
    run = ReCode(llm).run("t", inputs={"items": [{"p": 2}]})
    assert run.status == "done" and run.namespace["total"] == 2
    assert "`add_prices` is a function of the examples, not of this task" \
        in run.root.attempts[0]["error"]
    assert "`add_prices` is a function of the examples" in llm.calls[1]
    assert "the primitives here are none" in llm.calls[1]


def test_a_name_of_the_examples_that_exists_in_the_notebook_is_fine():
    def add_prices(items):
        """The user's own function of that name."""
        return 5

    llm = ScriptedLLM({"solve": X("total = add_prices(items)")})
    run = ReCode(llm, namespace={"add_prices": add_prices}).run("t", inputs={"items": []})
    assert run.status == "done" and run.namespace["total"] == 5


def test_a_child_the_model_could_not_write_is_not_asked_for_again():
    """b_q2_s52 / text_slugs (1.5B transcripts): a placeholder the model cannot write fails
    after 4 replies; the parent's repair wrote the same placeholder again, 4 replies more."""
    llm = ScriptedLLM({"solve": [X("r = move('east')"), X("r = move('east')"),
                                 X("r = 'moved east'")],
                       "move": [X("r = move(direction)")] * 4})
    run = ReCode(llm, max_rewrite=3).run("go east")
    assert run.status == "done", run.error
    assert run.namespace["r"] == "moved east"
    assert len(llm.calls) == 1 + 4 + 2  # root, 4 for `move`, refused re-ask, usable answer
    assert "`move` could not be written" in llm.calls[6]


def test_the_call_counting_wrapper_is_not_in_the_users_traceback():
    def stock(warehouse, item):
        """Units of an item."""
        return {"bolts": 1}[item]

    llm = ScriptedLLM({"solve": [X("n = stock('north', 'bolt')")] * 3})
    run = ReCode(llm, namespace={"stock": stock}).run("t")
    assert run.status == "error" and "KeyError: 'bolt'" in run.root.error
    assert "calltally" not in run.root.error and "in stock" in run.root.error


def test_class_and_object_primitives_are_not_wrapped_while_a_statement_runs():
    class Point:
        """A point (a class primitive)."""

        def __init__(self, x):
            self.x = x

    class Robot:
        """A robot (a callable object primitive)."""

        speed = 3

        def __call__(self, n):
            return n * self.speed

    code = "ok = isinstance(Point(1), Point) and robot(2) == robot.speed * 2"
    llm = ScriptedLLM({"solve": X(code)})
    ns = {"Point": Point, "robot": primitive(Robot())}
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done" and ns["ok"] is True, run.error
