"""The client's side of one :func:`~recode_magic.batch.many.run_many` call: collect, record."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .job import STOPS, run_job
from .job import one_line as _one_line
from .records import STILL_RUNNING
from .records import fault_row as _fault_row
from .records import write_text as _write

__all__ = ["Collector", "BatchProgress", "is_dask"]


@dataclass
class BatchProgress:
    """Passed to the ``progress`` callback: counts so far (calls and cost of ended tasks)."""

    total: int
    finished: int = 0
    failed: int = 0
    running: int = 0
    reused: int = 0
    llm_calls: int = 0
    cost_usd: float = 0.0
    elapsed: float = 0.0
    last: dict[str, Any] | None = None


def is_dask(executor: Any) -> bool:
    """True for a ``dask.distributed.Client``."""
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(
        executor, "gather")


class Collector:
    """The client's side of one :func:`run_many` call: submit, collect, record, report."""

    def __init__(self, pairs: list[tuple[str, Any]], out: Path, executor: Any, own: bool,
                 progress: Callable[[BatchProgress], Any] | None, grace: float):
        self.pairs, self.out, self.executor, self.own = pairs, out, executor, own
        self.progress, self.grace = progress, grace
        self.rows: dict[str, dict[str, Any]] = {}
        self.state = BatchProgress(total=len(pairs))
        self.t0 = time.monotonic()
        self.dask = is_dask(executor)
        self.in_process = isinstance(executor, ThreadPoolExecutor)
        self.slots = sum(executor.nthreads().values()) if self.dask else 0  # Dask: running
        #: what was submitted per task (a Dask task whose worker died is submitted again)
        self.jobs: dict[str, Any] = {}
        #: Dask tasks whose worker died, to be run again one at a time
        self.died: list[str] = []

    def accept(self, task_id: str, payload: dict[str, Any] | None, row: dict[str, Any]) -> None:
        """Record one ended task: files first, then its row (the row marks it finished)."""
        tree, tape = self.out / f"{task_id}.json", self.out / f"{task_id}.cassette.json"
        if payload is not None:
            if payload.get("tree") is not None:
                _write(tree, payload["tree"])
            if payload.get("cassette") is not None:
                _write(tape, payload["cassette"])
        row = {**{k: v for k, v in row.items() if k != "_died"},
               "tree": str(tree) if tree.exists() else None,
               "cassette": str(tape) if tape.exists() else None, "reused": False}
        if row["status"] != "interrupted":
            _write(self.out / f"{task_id}.row.json", json.dumps(row, indent=1, default=repr))
        self.rows[task_id] = row
        self.count(row)

    def count(self, row: dict[str, Any]) -> None:
        """Add one ended (or reused) row to the progress counts."""
        s = self.state
        s.finished += 1
        s.failed += row.get("status") == "error"
        s.reused += bool(row.get("reused"))
        s.llm_calls += int(row.get("llm_calls") or 0)
        s.cost_usd += float(row.get("cost_usd") or 0.0)
        s.last = row

    def report(self, running: int) -> None:
        """Call the progress callback with ``running`` tasks running now."""
        self.state.running = running
        self.state.elapsed = round(time.monotonic() - self.t0, 3)
        if self.progress is not None:
            self.progress(self.state)

    def collect(self, futures: dict[Any, str]) -> None:
        """Wait for every future, recording each as it ends (polling: Ctrl-C stays quick)."""
        pending = set(futures)
        last_report = 0.0
        while pending:
            if self.dask:
                done = {f for f in pending if f.done()}
                if not done:
                    time.sleep(0.05)
            else:
                done, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for f in done:
                pending.discard(f)
                payload, row = self.outcome(f, futures[f])
                if self.dask and row.get("_died") and futures[f] in self.jobs:
                    self.died.append(futures[f])  # maybe an innocent task on that worker
                    continue
                self.accept(futures[f], payload, row)
            now = time.monotonic()
            if done or now - last_report > 1.0:
                running = (min(len(pending), self.slots) if self.dask
                           else sum(f.running() for f in pending))
                self.report(running)
                last_report = now

    def outcome(self, future: Any, task_id: str
                ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The payload and row of an ended future (a dead worker or a cancel: a fault row)."""
        try:
            payload = future.result()
        except BaseException as exc:  # noqa: BLE001 - the worker died or the job broke
            if isinstance(exc, KeyboardInterrupt):
                raise
            name = type(exc).__name__
            if name in ("KilledWorker", "BrokenProcessPool", "BrokenExecutor"):
                return None, {**_fault_row(task_id, "error", f"worker died "
                                                               f"({_one_line(exc)})"),
                              "_died": True}
            if name == "CancelledError" or future.cancelled():
                return None, _fault_row(task_id, "interrupted", "cancelled (re-run to resume)")
            return None, _fault_row(task_id, "error", _one_line(exc))
        return payload, payload["row"]

    def run_died_alone(self, token: str) -> None:
        """Run again, one at a time, the Dask tasks whose worker died.

        Dask counts a worker's death against every task running on it: a task that shared
        the worker of one that kills it (``os._exit``, a crash in C) ends ``KilledWorker``
        too. Alone, an innocent task finishes; the culprit dies again and its row says so.
        """
        for task_id in self.died:
            f = self.executor.submit(run_job, self.jobs[task_id], pure=False,
                                     key=f"recode-{task_id}-alone-{token[:8]}")
            while not f.done():
                time.sleep(0.05)
            payload, row = self.outcome(f, task_id)
            if row.get("_died"):
                row["error"] = f"{row['error']} (again, running alone: this task kills it)"
            self.accept(task_id, payload, row)
            self.report(0)
        self.died.clear()

    def stop(self, futures: dict[Any, str], token: str) -> None:
        """Ctrl-C: cancel what has not started, stop what runs here, keep what ended."""
        stop = STOPS.get(token)
        if stop is not None:
            stop.set()
        pending = [f for f in futures if futures[f] not in self.rows]
        if self.dask:
            self.executor.cancel(pending)
        else:
            for f in pending:
                f.cancel()
        deadline = time.monotonic() + self.grace
        for f in pending:
            if f.cancelled() or (self.dask and f.status == "cancelled"):
                continue
            try:
                if self.dask:
                    f.result(timeout=max(deadline - time.monotonic(), 0.01))
                else:
                    wait([f], timeout=max(deadline - time.monotonic(), 0.0))
                if f.done():
                    self.accept(futures[f], *self.outcome(f, futures[f]))
            except Exception:  # noqa: BLE001 - still running or failed: left interrupted
                pass
            if futures[f] not in self.rows:  # it ran (it was not cancelled): not "not run"
                self.rows[futures[f]] = {**_fault_row(futures[f], "interrupted", STILL_RUNNING),
                                         "llm_calls": None}
