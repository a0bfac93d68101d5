"""Parallel expansion (engine.prefetch): same tree, same primitive calls, same cassette."""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

import pytest

from recode_magic import ReCode, ScriptedLLM
from recode_magic.engine.prefetch import candidates, prefetch_workers
from recode_magic.llms.cassette import CassetteLLM
from recode_magic.pycode import code as C


def X(code: str) -> str:
    return f"<think>t</think><execute>{code}</execute>"


class SafeFake:
    """A thread-safe model: the reply is a function of the prompt (by placeholder name)."""

    thread_safe = True
    model = "fake"
    max_tokens = 200  # the longest reply, for budget projections

    def __init__(self, replies: dict[str, str], latency: float = 0.01,
                 fail_once: str | None = None) -> None:
        self.scripted = ScriptedLLM(replies)
        self.latency, self.fail_once = latency, fail_once
        self.lock = threading.Lock()
        self.prompts: list[str] = []
        self.threads: set[str] = set()

    def __call__(self, prompt: str) -> str:
        time.sleep(self.latency)
        with self.lock:
            self.prompts.append(str(prompt))
            self.threads.add(threading.current_thread().name)
            if self.fail_once and f"Placeholder: {self.fail_once}" in prompt \
                    and threading.current_thread().name.startswith("recode-prefetch"):
                self.fail_once = None
                raise ConnectionError("dropped")
            return self.scripted(prompt)


def _run(replies: dict[str, str], prefetch: int, **kw: Any) -> tuple[Any, list[Any], SafeFake]:
    log: list[Any] = []

    def act(x):
        """Do one thing."""
        log.append(x)
        return x

    llm = SafeFake(replies, fail_once=kw.pop("fail_once", None))
    ns = {"act": act, "acc": [], **kw.pop("ns", {})}
    run = ReCode(llm, namespace=ns, prefetch=prefetch, **kw).run("the task")
    return run, log, llm


def _shape(run: Any) -> list[tuple[Any, ...]]:
    return [(n.id, n.name, n.call, n.code, str(n.status), n.prompt, n.llm_calls, n.error,
             n.depth, [c.id for c in n.children], [s.code for s in n.steps])
            for n in run.nodes()]


FAN = {"solve": X("\n".join(f"x{i} = item_{i}(task)" for i in range(6))),
       **{f"item_{i}": X(f"x{i} = act({i})") for i in range(6)}}
MIXED = {
    "solve": X("a = first(task)\nact('between')\nb = second(task)\nc = third(a)\n"
               "d = fourth(task, n=3)\nfor i in range(2):\n    e = fifth(i)"),
    "first": X("a = act('first')"), "second": X("b = act('second')"),
    "third": X("c = act(a)"), "fourth": X("d = act(n)"),
    "loop_fifth": X("for i in range(2):\n    e = act(i)"),
}
MUTATES = {"solve": X("a = grow(acc)\nb = show(acc)"),
           "grow": X("acc.append(1)\na = act(len(acc))"), "show": X("b = act(list(acc))")}


@pytest.mark.parametrize("replies", [FAN, MIXED, MUTATES], ids=["fan", "mixed", "mutates"])
def test_same_tree_primitive_order_and_calls_as_sequential(replies):
    seq, seq_log, _ = _run(replies, 0)
    par, par_log, llm = _run(replies, 8)
    assert seq.status == par.status == "done", (seq.error, par.error)
    assert _shape(par) == _shape(seq)
    assert par_log == seq_log
    assert par.llm_calls == seq.llm_calls
    assert "prefetch_stats" not in seq.meta
    stats = par.meta["prefetch_stats"]
    assert stats["prefetched"] == stats["used"] + stats["wasted"] + 0
    assert any(t.startswith("recode-prefetch") for t in llm.threads)


def test_fan_is_asked_ahead_and_nothing_is_wasted():
    run, _, _ = _run(FAN, 8)
    assert run.meta["prefetch_stats"] == {"workers": 8, "prefetched": 5, "used": 5,
                                          "wasted": 0, "cancelled": 0}


def test_a_prompt_that_changed_is_asked_again_and_counted_wasted():
    run, log, llm = _run(MUTATES, 8)
    stats = run.meta["prefetch_stats"]
    assert (stats["prefetched"], stats["used"], stats["wasted"]) == (1, 0, 1)
    show = next(n for n in run.nodes() if n.name == "show")
    assert "[1]" in show.prompt and log == [1, [1]]
    asked = [p for p in llm.prompts if "Placeholder: b = show(acc)" in p]
    assert len(asked) == 2 and asked[0] != asked[1]  # the stale one, then the real one


def test_dependent_placeholders_are_not_asked_ahead():
    chain = {"solve": X("a = one(task)\nb = two(a)\nc = three(b)"),
             "one": X("a = act(1)"), "two": X("b = act(a)"), "three": X("c = act(b)")}
    run, _, _ = _run(chain, 8)
    assert run.meta["prefetch_stats"]["prefetched"] == 0


def test_a_failed_prefetch_is_asked_again():
    seq, seq_log, _ = _run(FAN, 0)
    par, par_log, _ = _run(FAN, 8, fail_once="x3 = item_3(task)")
    assert _shape(par) == _shape(seq) and par_log == seq_log
    assert par.meta["prefetch_stats"]["wasted"] == 1


def test_not_thread_safe_models_are_never_asked_concurrently():
    assert prefetch_workers(None, ScriptedLLM({})) == (0, None)
    run = ReCode(ScriptedLLM(FAN), namespace={"act": lambda x: x}, prefetch=4).run("t")
    assert run.status == "done" and "prefetch_stats" not in run.meta
    assert any("prefetch=4 ignored" in w for w in run.warnings)


def test_cassette_recorded_with_prefetch_on_is_the_sequential_one(tmp_path):
    texts = []
    for prefetch in (0, 8):
        path = tmp_path / f"c{prefetch}.json"
        llm = CassetteLLM(SafeFake(MIXED), path)
        run = ReCode(llm, namespace={"act": lambda x: x, "acc": []},
                     prefetch=prefetch).run("the task")
        assert run.status == "done"
        texts.append(json.loads(path.read_text()))
    assert texts[0] == texts[1]


def test_candidates_are_conservative():
    blocks = C.plan_blocks("a = f(task)\nb = g(a)\nxs.append(1)\nc = h(xs)\nd = k(task, n=2)\n"
                           "e = m(task, n=len(xs))", known=lambda n: n in ("task", "xs"))
    names = [ph.name for _, ph, _ in candidates(blocks, 0, {"task": "t", "xs": []})]
    assert names == ["f", "k"]
    kw = [k for _, ph, k in candidates(blocks, 0, {"task": "t", "xs": []}) if ph.name == "k"]
    assert kw == [{"n": 2}]


def _random_replies(seed: int) -> dict[str, str]:
    rnd = random.Random(seed)
    replies: dict[str, str] = {}
    counter = iter(range(1000))

    def node(depth: int, bound: list[str], targets: list[str]) -> str:
        lines, names = [], list(bound)
        for _ in range(rnd.randint(1, 4)):
            kind = rnd.random()
            if depth < 3 and kind < 0.55:
                i = next(counter)
                out = f"v{i}"
                args = rnd.sample(names, k=min(len(names), rnd.randint(0, 2)))
                replies[f"p{i}"] = node(depth + 1, args or ["task"], [out])
                kw = [f"n={rnd.randint(0, 3)}"] if rnd.random() < 0.3 else []
                lines.append(f"{out} = p{i}({', '.join(args + kw)})")
                names.append(out)
            elif kind < 0.8:
                lines.append(f"act({rnd.choice(names)!s})")
            else:
                lines.append(f"acc.append({rnd.choice(names)})")
        lines += [f"{t} = act({rnd.choice(names)})" for t in targets]
        return X("\n".join(lines))

    replies["solve"] = node(0, ["task"], [])
    return replies


@pytest.mark.parametrize("seed", range(12))
def test_random_trees_match_the_sequential_engine(seed):
    replies = _random_replies(seed)
    seq, seq_log, _ = _run(replies, 0)
    par, par_log, _ = _run(replies, 4)
    assert seq.status == "done", seq.error
    assert _shape(par) == _shape(seq)
    assert par_log == seq_log and par.llm_calls == seq.llm_calls


def test_prefetch_stays_within_a_token_budget_and_stops_where_sequential_does():
    fan = {"solve": X("\n".join(f"x{i} = item_{i}(task)" for i in range(10))),
           **{f"item_{i}": X(f"x{i} = act({i})") for i in range(10)}}
    budget = 2_500  # calls of ~350 tokens, each projected at ~550: stops before the 7th
    seq, seq_log, seq_llm = _run(fan, 0, budget_tokens=budget)
    par, par_log, par_llm = _run(fan, 8, budget_tokens=budget)
    assert seq.status == par.status == "limit"
    assert _shape(par) == _shape(seq) and par_log == seq_log and par.error == seq.error
    spent = sum(len(p) / 4 + 20 for p in par_llm.prompts)  # estimate: prompt + short reply
    assert spent <= budget and par.meta["prefetch_stats"]["prefetched"] > 0


# -- shapes users write (issue 24): siblings that share names, literals, a fan in a child --

class LockedReplay:
    """A cassette recorded sequentially, replayed to a parallel run (thread-safe: a lock).

    A prompt the sequential run never sent is a miss (CassetteMissError), so a parallel
    run that finishes with nothing wasted sent exactly the sequential prompts.
    """

    thread_safe = True

    def __init__(self, path: Any) -> None:
        self.cassette = CassetteLLM(None, path, mode="replay", strict=True)
        self.model = self.cassette.model
        self.lock = threading.Lock()
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        time.sleep(0.01)
        with self.lock:
            self.prompts.append(str(prompt))
            return self.cassette(prompt)


def _target(prompt: str) -> str:
    return prompt.rsplit("Placeholder: ", 1)[1].split(" = ", 1)[0]


SHARED_KEYWORD = {"solve": X("\n".join(f"r{i} = part_{i}(n={i})" for i in range(6))),
                  **{f"part_{i}": X(f"r{i} = act(n * 10)") for i in range(6)}}
POSITIONAL = {"solve": X("\n".join(f"r{i} = part_{i}({i}, 'x{i}')" for i in range(6))),
              **{f"part_{i}": X(f"r{i} = act({i})") for i in range(6)}}
SAME_FUNCTION = {  # one function, different arguments, no loop
    "solve": X("\n".join(f"t{i} = weather(city={c!r})"
                         for i, c in enumerate(["Oslo", "Rome", "Lima", "Pune", "Kobe"]))),
    "weather": lambda p: X(f"{_target(p)} = act(city)")}
FAN_IN_CHILD = {
    "solve": X("a = prepare(task)\nb = gather(a)"), "prepare": X("a = act('ready')"),
    "gather": X("\n".join(f"g{i} = part_{i}(item={i})" for i in range(5))
                + "\nb = [g0, g1, g2, g3, g4]"),
    **{f"part_{i}": X(f"g{i} = act(item)") for i in range(5)}}


@pytest.mark.parametrize("replies, asked", [
    (SHARED_KEYWORD, 5), (POSITIONAL, 5), (SAME_FUNCTION, 4), (FAN_IN_CHILD, 4)],
    ids=["same-keyword-names", "positional-literals", "same-function", "fan-in-a-child"])
def test_siblings_are_asked_ahead_with_the_sequential_tree_calls_and_cassette(
        tmp_path, replies, asked):
    path = tmp_path / "seq.json"
    log: list[Any] = []
    ns = {"act": lambda x: log.append(x) or x}
    seq = ReCode(CassetteLLM(SafeFake(replies), path, mode="record"), namespace=dict(ns),
                 prefetch=0).run("the task")
    seq_log, log[:] = list(log), []
    replay = LockedReplay(path)
    par = ReCode(replay, namespace=dict(ns), prefetch=8).run("the task")
    assert seq.status == par.status == "done", (seq.error, par.error)
    assert _shape(par) == _shape(seq) and log == seq_log  # same tree, same calls in order
    recorded = sorted(e["prompt"] for e in replay.cassette.entries())
    assert sorted(replay.prompts) == recorded  # the sequential cassette, nothing else
    stats = par.meta["prefetch_stats"]
    assert (stats["prefetched"], stats["used"], stats["wasted"]) == (asked, asked, 0)


def test_an_earlier_sibling_keyword_still_makes_a_later_read_dependent():
    blocks = C.plan_blocks("a = f(n=1)\nb = g(n)\nc = h(n=n)\nd = k(items=items)\n"
                           "e = m(items)", known=lambda n: n == "items")
    names = [ph.name for _, ph, _ in candidates(blocks, 0, {"items": (1, 2), "n": 0})]
    assert names == ["f", "k", "m"]  # g and h read the n that f binds; k=k binds nothing


def test_the_sub_steps_of_a_decomposed_step_are_asked_ahead_with_the_task_note():
    """A plan's second sub-step is asked ahead with the very prompt it is shown (task note)."""
    from recode_magic.engine.expander import PART_NOTE

    bad = X("answer = sales[0]['amout']")
    plan = X("n = count_rows(sales)\nanswer = total_amount(sales)")
    llm = SafeFake({"solve": [bad, bad, bad, plan], "count_rows": X("n = len(sales)"),
                    "total_amount": X("answer = sum(r['amount'] for r in sales)")})
    sales = [{"amount": 2}, {"amount": 3}]
    run = ReCode(llm, {}, prefetch=4, decompose=True).run("Sum the amounts.",
                                                         inputs={"sales": sales},
                                                         output="answer")
    assert run.status == "done", run.error
    assert [n.name for n in run.nodes()] == ["solve", "count_rows", "total_amount"]
    stats = run.meta["prefetch_stats"]
    assert (stats["prefetched"], stats["used"], stats["wasted"]) == (1, 1, 0), stats
    total = [p for p in llm.prompts if "Placeholder: answer = total_amount(sales)" in p]
    assert len(total) == 1 and f"Sum the amounts.\n{PART_NOTE}" in total[0]
