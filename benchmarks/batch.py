"""Many tasks (``recode_magic.batch.run_many``): throughput by executor, batch-layer overhead.

A fake model answers every expansion after a fixed latency (0.5 s: a fast hosted model), one
model call per task; each task adds two numbers with a primitive. Measured:

- throughput (tasks/s) on a thread pool of 1, 4 and 16 threads and on a Dask ``LocalCluster``
  of 2 worker processes (8 threads each: the model is I/O bound), same tasks;
- the batch layer's own cost per task (copies, cassette, tree, row, futures) against a plain
  ``for`` loop over ``ReCode(...).run``, both with a zero-latency model;
- whether every executor gives the same results table (times and paths aside).

Run alone with ``python -m benchmarks.batch [--quick]``; ``python -m benchmarks`` includes it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from recode_magic import ReCode
from recode_magic.batch import run_many

LATENCY = 0.5
REPLY = "<execute>total = add(a, b)</execute>"


class FakeModel:
    """One fixed reply after ``delay`` seconds (picklable: it travels to Dask workers)."""

    model = "claude-haiku-4-5"

    def __init__(self, delay: float = LATENCY):
        self.delay = delay
        self.last_usage: dict[str, int] | None = None

    def __call__(self, prompt: str) -> str:
        if self.delay:
            time.sleep(self.delay)
        self.last_usage = {"input_tokens": len(prompt) // 4, "output_tokens": 12}
        return REPLY


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def setup(task: dict[str, Any]) -> dict[str, Any]:
    return {"a": task["a"], "b": task["b"], "add": add}


def check(task: dict[str, Any], run: Any) -> bool:
    return run.namespace.get("total") == task["a"] + task["b"]


def make_tasks(n: int) -> list[dict[str, Any]]:
    return [{"id": f"task{i:03d}", "task": f"add {i} and {2 * i}", "a": i, "b": 2 * i}
            for i in range(n)]


def _comparable(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keep = ("task_id", "status", "solved", "llm_calls", "input_tokens", "output_tokens",
            "cost_usd", "depth", "nodes", "error")
    return [tuple(r[k] for k in keep) for r in rows]


def _timed(tasks: list[dict[str, Any]], **kwargs: Any) -> tuple[float, list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        rows = run_many(tasks, setup, FakeModel(kwargs.pop("delay", LATENCY)), check=check,
                        out_dir=out, as_frame=False, **kwargs)
        return time.perf_counter() - t0, rows


def throughput(n: int, n_serial: int) -> list[dict[str, Any]]:
    """Tasks/s by executor; the 1-thread row runs ``n_serial`` tasks (it would take n/2 s)."""
    tasks = make_tasks(n)
    out: list[dict[str, Any]] = []
    tables = {}
    for threads in (1, 4, 16):
        subset = tasks[:n_serial] if threads == 1 else tasks
        seconds, rows = _timed(subset, workers=threads)
        tables[threads] = _comparable(rows)
        out.append({"executor": f"threads x{threads}", "tasks": len(subset),
                    "seconds": round(seconds, 2), "tasks_per_s": round(len(subset) / seconds, 2),
                    "ideal_tasks_per_s": round(threads / LATENCY, 2),
                    "solved": sum(bool(r["solved"]) for r in rows)})
    reference = tables[4]  # the others are compared with the 4-thread table
    for row, threads in zip(out, (1, 4, 16), strict=True):
        row["same_table"] = None if threads == 4 else (
            tables[threads] == reference[:len(tables[threads])])
    out.append(_dask_row(tasks, reference))
    return out


def _dask_row(tasks: list[dict[str, Any]], reference: list[tuple[Any, ...]]) -> dict[str, Any]:
    try:
        import cloudpickle
        import distributed
    except ImportError:
        return {"executor": "dask 2 workers x8 threads", "error": "distributed not installed"}
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=8, processes=True,
                                       dashboard_address=None, silence_logs=40)
    client = distributed.Client(cluster)
    start = time.perf_counter() - t0
    try:
        seconds, rows = _timed(tasks, executor=client)
    finally:
        client.close()
        cluster.close()
    return {"executor": "dask 2 workers x8 threads", "tasks": len(tasks),
            "seconds": round(seconds, 2), "tasks_per_s": round(len(tasks) / seconds, 2),
            "ideal_tasks_per_s": round(16 / LATENCY, 2), "cluster_start_s": round(start, 2),
            "solved": sum(bool(r["solved"]) for r in rows),
            "same_table": _comparable(rows) == reference}


def overhead(n: int) -> dict[str, Any]:
    """Milliseconds per task: a plain loop over ReCode.run vs run_many (1 thread), no latency."""
    tasks = make_tasks(n)
    t0 = time.perf_counter()
    for task in tasks:
        ReCode(FakeModel(0), setup(task)).run(task["task"])
    plain = (time.perf_counter() - t0) / n
    batch = min(_timed(tasks, workers=1, delay=0)[0] for _ in range(2))  # best of 2: noisy disk
    bare = min(_timed(tasks, workers=1, delay=0, cassette=None)[0] for _ in range(2))
    return {"tasks": n, "plain_loop_ms": round(plain * 1000, 2),
            "run_many_ms": round(batch / n * 1000, 2),
            "run_many_no_cassette_ms": round(bare / n * 1000, 2),
            "overhead_ms": round((batch / n - plain) * 1000, 2),
            "overhead_no_cassette_ms": round((bare / n - plain) * 1000, 2)}


def section(quick: bool = False) -> dict[str, Any]:
    """The whole section (printed as it ends); about 2.5 minutes, 20 s with ``quick``."""
    n, n_serial = (40, 10) if quick else (200, 40)
    result = {"latency_s": LATENCY, "throughput": throughput(n, n_serial),
              "overhead": overhead(50 if quick else 200)}
    print(table(result), flush=True)
    return result


def table(r: dict[str, Any]) -> str:
    lines = [f"Many tasks (run_many), fake model {r['latency_s']} s per call, one call per task"]
    lines.append(f"  {'executor':<28}{'tasks':>6}{'seconds':>9}{'tasks/s':>9}{'ideal':>7}"
                 f"{'solved':>8}  same table")
    for row in r["throughput"]:
        if "error" in row:
            lines.append(f"  {row['executor']:<28}{row['error']}")
            continue
        extra = f" (+{row['cluster_start_s']} s cluster start)" if "cluster_start_s" in row \
            else ""
        same = "(reference)" if row["same_table"] is None else (
            "yes" if row["same_table"] else "NO")
        lines.append(f"  {row['executor']:<28}{row['tasks']:>6}{row['seconds']:>9.2f}"
                     f"{row['tasks_per_s']:>9.2f}{row['ideal_tasks_per_s']:>7.1f}"
                     f"{row['solved']:>8}  {same}{extra}")
    o = r["overhead"]
    lines.append(f"  batch layer, zero-latency model, {o['tasks']} tasks: plain loop "
                 f"{o['plain_loop_ms']} ms/task, run_many {o['run_many_ms']} ms/task "
                 f"(+{o['overhead_ms']} ms: copies, cassette, tree, row), without cassette "
                 f"{o['run_many_no_cassette_ms']} ms (+{o['overhead_no_cassette_ms']} ms)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.batch", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="40 tasks instead of 200")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args(argv)
    result = section(quick=args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
