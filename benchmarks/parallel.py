"""Parallel expansion (issue 15.1): fake models of fixed latency, and the recorded suites."""

from __future__ import annotations

import time
from typing import Any

from recode_magic import ReCode

__all__ = ["parallel", "parallel_suite"]


class _SlowModel:
    """A thread-safe fake model with a fixed latency per call (replies by placeholder name)."""

    thread_safe = True
    model = "fake-1s"

    def __init__(self, replies: dict[str, str], latency: float) -> None:
        from recode_magic import ScriptedLLM

        self.scripted, self.latency = ScriptedLLM(replies), latency
        self.calls = 0

    def __call__(self, prompt: str) -> str:
        time.sleep(self.latency)
        self.calls += 1  # a race here only blurs a printed count
        return self.scripted(prompt)


def _parallel_trees() -> dict[str, dict[str, str]]:
    from .trees import X

    fan = {"solve": X("\n".join(f"x{i} = item_{i}(task)" for i in range(10))),
           **{f"item_{i}": X(f"x{i} = act({i})") for i in range(10)}}
    chain = {"solve": X("v = step_0(task)"),
             **{f"step_{i}": X(f"v = step_{i + 1}(task)") for i in range(9)},
             "step_9": X("v = act(1)")}
    mixed = {  # dependent steps, a primitive between, a mutated input, a loop, keywords
        "solve": X("rooms = find_rooms(task)\nact('look')\nitems = find_items(task)\n"
                   "plan = make_plan(rooms, items)\nlog = note(task, level=2)\n"
                   "for r in rooms:\n    visit(r)\nsummary = summarize(seen)"),
        "find_rooms": X("rooms = ['a', 'b']\nseen.append('rooms')"),
        "find_items": X("items = ['key']"),
        "make_plan": X("plan = act(len(rooms) + len(items))"),
        "note": X("log = act(level)"),
        "loop_visit": X("for r in rooms:\n    act(r)"),
        "summarize": X("summary = act(list(seen))"),
    }
    return {"fan of 10": fan, "chain of 10": chain, "mixed": mixed}


def parallel(latency: float = 1.0) -> dict[str, Any]:
    """Parallel expansion (issue 15.1): wall time with a fake model of fixed latency.

    The same trees run sequentially (``prefetch=0``) and with prefetching (``prefetch=16``)
    side by side; results must be identical (checked here), the wall time and the share of
    calls asked ahead and never used are reported.
    """
    out: dict[str, Any] = {"latency_s": latency}
    for label, replies in _parallel_trees().items():
        row: dict[str, Any] = {}
        shapes = []
        for mode, prefetch in (("sequential", 0), ("parallel", 16)):
            log: list[Any] = []
            ns = {"act": lambda x, log=log: log.append(x) or x, "seen": []}
            llm = _SlowModel(replies, latency)
            t0 = time.perf_counter()
            run = ReCode(llm, namespace=ns, prefetch=prefetch, max_depth=20).run("benchmark")
            row[f"{mode}_s"] = round(time.perf_counter() - t0, 2)
            assert run.status == "done", run.error
            shapes.append(([(n.name, n.code, n.prompt) for n in run.nodes()], log))
            stats = run.meta.get("prefetch_stats", {})
            row[f"{mode}_model_calls"] = llm.calls
            if prefetch:
                row.update(prefetched=stats.get("prefetched", 0), used=stats.get("used", 0),
                           wasted=stats.get("wasted", 0))
        row["identical"] = shapes[0] == shapes[1]
        row["ratio"] = round(row["parallel_s"] / row["sequential_s"], 2)
        out[label] = row
        print(f"parallel {label}: {row}", flush=True)
    made = sum(r["parallel_model_calls"] for k, r in out.items() if isinstance(r, dict))
    out["wasted_share"] = round(sum(r["wasted"] for r in out.values() if isinstance(r, dict))
                                / made, 3) if made else 0.0
    return out


def parallel_suite(latency: float = 1.0, quick: bool = False) -> dict[str, Any]:
    """The recorded agent suites replayed at ``latency`` s a call, sequential vs prefetch=4.

    See :mod:`benchmarks.suite_parallel`; ``quick``: the task suite's first repeat only.
    """
    from . import suite_parallel

    if quick:
        return suite_parallel.measure(("t4-layout-ex2-out",), ("tasks",), latency,
                                      only=("*@1",))
    return suite_parallel.measure(latency=latency)
