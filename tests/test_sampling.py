"""Sample, run, choose (issue 21 lever 2) through the public API: ReCode(..., samples=k).

The models here are hand-written fakes (no recorded replies): a backend that answers by the
per-call seed it is given, one that is thread-safe and can only answer when the candidates
are asked at once, and the cassette recording and replaying such candidates.
"""

from __future__ import annotations

import threading
import time

import pytest

from recode_magic import ReCode, primitive
from recode_magic.engine import sampling
from recode_magic.llms import CassetteLLM, Reply, ScriptedLLM
from recode_magic.llms.cassette import cassette_key

ROWS = [{"region": "north", "amount": 3}, {"region": "south", "amount": 5},
        {"region": "north", "amount": 7}, {"region": "east", "amount": 1}]


def reply(code: str) -> str:
    return f"<think>t</think><execute>{code}</execute>"


WRONG = reply("answer = len(sales) + 1")
RIGHT = reply("answer = sum(1 for _ in sales)")
ALSO_RIGHT = reply("answer = len(sales)")
FAILS = reply("answer = sales[0]['amout']")


class BySeed:
    """A backend with per-call sampling options; the reply is chosen by the seed.

    ``replies[None]`` answers a call with no seed (candidate 1, and repairs); ``replies[s]``
    the candidate with seed ``s``. Every call is kept as ``(prompt, temperature, seed)``.
    """

    model = "by-seed"

    def __init__(self, replies: dict[int | None, str]):
        self.replies = replies
        self.calls: list[tuple[str, float | None, int | None]] = []
        self.lock = threading.Lock()

    def respond(self, prompt, *, on_text=None, depth=None, temperature=None, seed=None):
        with self.lock:
            self.calls.append((str(prompt), temperature, seed))
        return Reply(self.answer(prompt, seed), {"input_tokens": 10, "output_tokens": 5,
                                                 "source": "server"}, self.model, "stop")

    def __call__(self, prompt):
        return self.respond(prompt).text

    def answer(self, prompt, seed):
        return self.replies[seed]


def run_count(llm, samples=3, **kw):
    ns: dict = {}
    run = ReCode(llm, ns, samples=samples, **kw).run("count the rows", inputs={"sales": ROWS},
                                                       output="answer")
    return run, ns


def test_candidates_are_the_same_prompt_at_a_temperature_and_agreement_wins():
    llm = BySeed({None: WRONG, 1: RIGHT, 2: ALSO_RIGHT})
    run, ns = run_count(llm)
    assert run.status == "done" and ns["answer"] == 4
    assert run.llm_calls == 3 and run.nodes()[0].llm_calls == 3
    (first, t1, s1), *more = llm.calls
    assert (t1, s1) == (None, None)  # candidate 1 at the backend's own temperature
    assert [(t, s) for _, t, s in more] == [(sampling.TEMPERATURE, 1), (sampling.TEMPERATURE, 2)]
    assert all(p == first for p, _, _ in more)  # the same prompt, no note added
    node = run.nodes()[0]
    sample = node.attempts[-1]
    assert sample["kind"] == "sample" and sample["on"] == "first"
    assert sample["chosen"] == 2 and sample["agree"] == 2 and sample["candidates"] == 3
    assert sample["temperature"] == sampling.TEMPERATURE and sample["seeds"] == [1, 2]
    assert sample["concurrent"] is False and sample["wall_s"] >= sample["ask_s"] >= 0
    assert "sum(1 for _ in sales)" in node.code and node.reply == RIGHT
    assert node.usage["input_tokens"] == 30  # the candidates' calls are counted on the node
    assert not any("per-call temperature" in w for w in run.warnings)


def test_nothing_agrees_keeps_the_first_that_ran():
    llm = BySeed({None: WRONG, 1: FAILS, 2: reply("answer = 99")})
    run, ns = run_count(llm)
    assert run.status == "done" and ns["answer"] == 5
    assert run.nodes()[0].attempts[-1]["chosen"] == 1


def test_a_candidate_in_the_wrong_form_or_calling_a_primitive_gets_no_vote():
    moved: list[str] = []

    def move(d: str) -> str:
        """Move one cell."""
        moved.append(d)
        return d

    template = "<think>One or two short sentences</think>python solve(task)"
    llm = BySeed({None: RIGHT, 1: template, 2: reply("move('east')\nanswer = 4")})
    ns: dict = {"move": move}
    run = ReCode(llm, ns, samples=3).run("count the rows", inputs={"sales": ROWS},
                                         output="answer")
    assert run.status == "done" and ns["answer"] == 4 and moved == []  # never run, even on a copy
    sample = run.nodes()[0].attempts[-1]
    assert sample["results"][1:] == ["no usable code", "no usable code"]
    assert sample["chosen"] == 1 and sample["agree"] == 1


class Together(BySeed):
    """Thread-safe; a sampled call waits until all ``n`` candidates are being asked at once.

    Asked one after the other, the first candidate would wait alone and the barrier break:
    the run could not end ``done``.
    """

    thread_safe = True

    def __init__(self, replies, n):
        super().__init__(replies)
        self.barrier = threading.Barrier(n, timeout=20)
        self.threads: set[str] = set()

    def answer(self, prompt, seed):
        if seed is not None:
            self.threads.add(threading.current_thread().name)
            self.barrier.wait()
        return super().answer(prompt, seed)


def test_a_thread_safe_model_is_asked_the_candidates_concurrently():
    llm = Together({None: WRONG, 1: RIGHT, 2: ALSO_RIGHT, 3: FAILS}, n=3)
    run, ns = run_count(llm, samples=4)
    assert run.status == "done" and ns["answer"] == 4 and run.llm_calls == 4
    assert len(llm.threads) == 3 and threading.current_thread().name not in llm.threads
    sample = run.nodes()[0].attempts[-1]
    assert sample["concurrent"] is True and sample["chosen"] == 2 and sample["agree"] == 2


def test_a_model_without_temperature_is_asked_the_same_way_and_said_so():
    llm = ScriptedLLM({"solve": [WRONG, RIGHT, ALSO_RIGHT]})
    run, ns = run_count(llm)
    assert run.status == "done" and ns["answer"] == 4 and run.llm_calls == 3
    assert llm.calls[1] == llm.calls[0] == llm.calls[2]
    assert sum("takes no per-call temperature" in w for w in run.warnings) == 1


def test_a_cassette_over_a_model_without_temperature_says_so(tmp_path):
    llm = CassetteLLM(ScriptedLLM({"solve": [WRONG, RIGHT, ALSO_RIGHT]}), tmp_path / "c.json")
    run, ns = run_count(llm)
    assert run.status == "done" and ns["answer"] == 4 and llm.recorded == 3
    assert any("takes no per-call temperature" in w for w in run.warnings)
    assert not run.nodes()[0].attempts[-1]["concurrent"]


def test_a_failing_candidate_call_gets_no_vote_and_the_run_goes_on():
    llm = ScriptedLLM({"solve": [RIGHT, ALSO_RIGHT]})  # no reply left for candidate 3
    run, ns = run_count(llm)
    assert run.status == "done" and ns["answer"] == 4 and run.llm_calls == 2
    sample = run.nodes()[0].attempts[-1]
    assert sample["results"][2].startswith("call failed: ScriptedLLM ran out of replies")
    assert sample["agree"] == 2 and sample["codes"][2] == ""


def test_a_step_that_fails_is_sampled_again_from_its_plain_prompt():
    """Round 1: every candidate fails. The repair's answer fails too, a fresh sample runs."""

    class Repair(BySeed):
        def answer(self, prompt, seed):
            if seed is None and "could not be used" in prompt:
                return FAILS  # the repair, shown the error, writes the same mistake
            return super().answer(prompt, seed)

    llm = Repair({None: FAILS, 1: FAILS, 2: FAILS, 3: WRONG, 4: RIGHT})
    run, ns = run_count(llm, max_retry=1)
    assert run.status == "done" and ns["answer"] == 5  # 3 and 4 disagree: the earliest ran
    node = run.nodes()[0]
    first, again = [a for a in node.attempts if a["kind"] == "sample"]
    assert first["on"] == "first" and first["seeds"] == [1, 2] and first["agree"] == 0
    assert again["on"] == "repair" and again["seeds"] == [3, 4] and again["chosen"] == 2
    repair_prompt = next(p for p, t, s in llm.calls if s is None and "could not be used" in p)
    fresh = [p for p, t, s in llm.calls if s in (3, 4)]
    assert fresh == [llm.calls[0][0]] * 2 and fresh[0] in repair_prompt  # no error shown
    assert run.llm_calls == 6


def test_samples_stop_at_max_calls():
    llm = BySeed({None: WRONG, 1: RIGHT, 2: ALSO_RIGHT, 3: RIGHT})
    run, ns = run_count(llm, samples=4, max_calls=2)
    assert run.status == "done" and run.llm_calls == 2
    assert run.nodes()[0].attempts[-1]["seeds"] == [1]


def test_cassette_records_each_candidate_under_its_own_key_and_replays_it(tmp_path):
    path = tmp_path / "sampled.json"
    live = Together({None: WRONG, 1: RIGHT, 2: ALSO_RIGHT}, n=2)
    recorder = CassetteLLM(live, path, mode="auto")
    assert recorder.concurrent_calls and not getattr(recorder, "thread_safe", False)
    run, ns = run_count(recorder)
    assert run.status == "done" and ns["answer"] == 4 and recorder.recorded == 3
    assert run.nodes()[0].attempts[-1]["concurrent"] is True
    entries = recorder.entries()
    plain = [e for e in entries if "sample" not in e]
    assert len(plain) == 1 and plain[0]["key"] == cassette_key("by-seed", plain[0]["prompt"])
    assert sorted(e["sample"]["seed"] for e in entries if "sample" in e) == [1, 2]

    replay = CassetteLLM(None, path, mode="replay")
    again, ns2 = run_count(replay)
    assert again.status == "done" and ns2["answer"] == 4 and replay.hits == 3
    assert replay.misses == 0 and len(live.calls) == 3
    assert [a["chosen"] for a in again.nodes()[0].attempts if a["kind"] == "sample"] == [2]


def test_a_step_calling_only_pure_primitives_is_sampled_and_others_are_not():
    from recode_magic import primitive
    from recode_magic.errors import ConfigError

    calls: list[str] = []

    @primitive(pure=True)
    def amount(row: dict) -> int:
        """The amount of a sale."""
        calls.append("amount")
        return row["amount"]

    def log(msg: str) -> None:
        """Write a line to the log."""
        calls.append("log")

    pure_right = reply("answer = sum(amount(r) for r in sales)")
    llm = BySeed({None: reply("answer = sum(amount(r) for r in sales) + 1"), 1: pure_right,
                  2: pure_right})
    ns: dict = {"amount": amount, "log": log}
    run = ReCode(llm, ns, samples=3).run("total", inputs={"sales": ROWS}, output="answer")
    assert run.status == "done" and ns["answer"] == 16 and run.llm_calls == 3
    assert run.nodes()[0].attempts[-1]["kind"] == "sample"
    llm = BySeed({None: reply("log('x')\nanswer = 1")})
    ns = {"amount": amount, "log": log}
    run = ReCode(llm, ns, samples=3).run("total", inputs={"sales": ROWS}, output="answer")
    assert run.llm_calls == 1  # an unmarked primitive may act on the world: asked once
    try:
        primitive(pure=True, action=True)
    except ConfigError as exc:
        assert "only reads" in str(exc)
    else:
        raise AssertionError("pure and action together should be refused")


class Planner(BySeed):
    """Candidates that all disagree, then a plan when asked for one, then its two steps."""

    def answer(self, prompt, seed):
        self.shapes.append(getattr(prompt, "shape", None))
        if "Answer with only lines" in prompt:
            return reply("n = count_rows(sales)\nanswer = same_number(n)")
        if "Placeholder: n = count_rows(sales)" in prompt:
            return reply("n = len(sales)")
        if "Placeholder: answer = same_number(n)" in prompt:
            return reply("answer = n")
        return {None: WRONG, 1: reply("answer = 99"), 2: reply("answer = 7")}[seed]


def test_candidates_that_all_disagree_make_the_step_a_plan_under_the_plan_shape():
    llm = Planner({})
    llm.shapes = []
    run, ns = run_count(llm, decompose=True)
    assert run.status == "done" and ns["answer"] == 4
    root = run.nodes()[0]
    assert [a["kind"] for a in root.attempts] == ["sample", "decompose"]
    assert "3 programs written for this step gave 3 different results" in \
        root.attempts[-1]["error"]
    assert [c.name for c in root.children] == ["count_rows", "same_number"]
    assert llm.shapes.count("plan") == 1  # only the plan request asks for the plan shape
    child = next(p for p, _, _ in llm.calls if "Placeholder: n = count_rows(sales)" in p)
    assert "Task:\ncount the rows\n(The placeholder below is one part of this task" in child
    llm = Planner({})
    llm.shapes = []
    run, ns = run_count(llm)  # decompose off: the first that ran is kept, as before
    assert ns["answer"] == 5 and not run.nodes()[0].children


class Interrupted(BySeed):
    """Thread-safe; candidate 1's call is Ctrl-C, the others answer a moment later."""

    thread_safe = True

    def answer(self, prompt, seed):
        if seed == 1:
            raise KeyboardInterrupt
        if seed is not None:
            time.sleep(0.3)
            self.late += 1
        return super().answer(prompt, seed)


def test_candidates_answering_after_ctrl_c_are_still_counted():
    llm = Interrupted({None: WRONG, 2: RIGHT, 3: ALSO_RIGHT})
    llm.late = 0
    run, _ = run_count(llm, samples=4)
    assert run.status == "interrupted"
    deadline = time.monotonic() + 10  # the calls already sent answer (one not yet
    while time.monotonic() < deadline and (llm.late < 1 or run.llm_calls != 1 + llm.late
                                           or len(llm.calls) < 3):  # started is cancelled)
        time.sleep(0.05)
    time.sleep(0.4)
    assert llm.late >= 1 and run.llm_calls == 1 + llm.late
    assert run.nodes()[0].usage["input_tokens"] == 10 * run.llm_calls


def test_equal_results_agree_whatever_their_order_or_dict_type():
    llm = BySeed({None: reply("answer = {'north': 9}"),
                  1: reply("answer = {'north': 10, 'south': 5, 'east': 1}"),
                  2: reply("from collections import defaultdict\nanswer = defaultdict(int)\n"
                           "for r in sales:\n    answer[r['region']] += r['amount']")})
    run, ns = run_count(llm)
    sample = run.nodes()[0].attempts[-1]
    assert sample["agree"] == 2 and sample["chosen"] == 2  # a repr would give 1 vote each
    assert ns["answer"] == {"north": 10, "south": 5, "east": 1}


class BadPlanFirst(Planner):
    """The first plan passes a name that does not exist; the second is right."""

    def answer(self, prompt, seed):
        if "Answer with only lines" in prompt and not self.refused:
            self.refused.append(prompt)
            return reply("n = count_rows(row1)\nanswer = same_number(n)")
        return super().answer(prompt, seed)


def test_a_plan_passing_a_name_that_does_not_exist_is_asked_again():
    llm = BadPlanFirst({})
    llm.shapes, llm.refused = [], []
    run, ns = run_count(llm, decompose=True)
    assert run.status == "done" and ns["answer"] == 4
    rewrite = [a for a in run.nodes()[0].attempts if a["kind"] == "rewrite"]
    assert rewrite and "`row1` is passed to a step but does not exist" in rewrite[0]["error"]


class PressedOnce(BySeed):
    """Ctrl-C once, in candidate 2's model call (``where="model"``)."""

    def __init__(self, replies, where):
        super().__init__(replies)
        self.where = where

    def answer(self, prompt, seed):
        if self.where == "model" and seed == 1:
            self.where = "pressed"
            raise KeyboardInterrupt
        return super().answer(prompt, seed)


@pytest.mark.parametrize("where", ["model", "candidate"])
def test_ctrl_c_while_candidates_are_sampled_says_where_and_resumes(where):
    """Ctrl-C in a candidate's model call, or in a read-only primitive a candidate runs: the
    step reads ``running`` (a pinned status) with the reason as its error, and the run
    resumes."""
    pressed = [where == "candidate"]

    @primitive(pure=True)
    def look(rows: list) -> int:
        """Count the rows (reads only)."""
        if pressed and pressed.pop():
            raise KeyboardInterrupt
        return len(rows)

    llm = PressedOnce({None: RIGHT, 1: reply("answer = look(sales)"), 2: ALSO_RIGHT}, where)
    ns: dict = {"look": look}
    engine = ReCode(llm, ns, samples=3)
    run = engine.run("count the rows", inputs={"sales": ROWS}, output="answer")
    assert (run.status, run.error) == ("interrupted", "interrupted (KeyboardInterrupt)")
    node = run.to_dict()["nodes"]["0"]
    assert (node["state"], node["error"]) == ("running",
                                              "stopped here: interrupted (KeyboardInterrupt)")
    engine.resume(run)
    assert run.status == "done" and ns["answer"] == 4
    node = run.to_dict()["nodes"]["0"]
    assert node["state"] == "done" and node.get("error") is None
