"""Many tasks at once: one ReCode run per task, on a thread pool, any executor or Dask.

:func:`run_many` gives each task a fresh namespace built by ``setup(task)``, runs it with
its own copy of the model, saves its tree and its cassette, and returns one row per task::

    from recode_magic.batch import run_many

    def setup(task):                      # primitives and inputs of ONE task
        return {"add": lambda a, b: a + b}

    table = run_many(["add 1 and 2", "add 3 and 4"], setup, llm=my_llm, out_dir="runs")

Where the tasks run
-------------------
``executor=None``: a thread pool of ``workers`` threads (model calls wait on the network, so
threads suffice); any :class:`concurrent.futures.Executor`; or a ``dask.distributed.Client``
(local or remote, ``pip install recode_magic[dask]``). For an executor outside this process
the job (task, ``setup``, ``llm``, ``check``) is pickled with cloudpickle when it is installed
(Dask always has it): functions defined in a notebook travel by value, but everything they
import (``recode_magic`` itself, your packages) must be installed on the workers. For a live
model give a model id string (``llm="claude-haiku-4-5"``, or ``"openai:<model>"`` with
``base_url``): it is resolved on the worker and the API key is read from the WORKER's
environment, so no key travels with the job. The backend objects hold a client and a lock
and are not picklable (nor should they travel: one may hold a key); ``llm_factory(task)``,
called on the worker, builds anything else. In this process (threads) each task gets a deep
copy of ``llm``, or a shallow one sharing its client when it cannot be copied.

Records and resuming
--------------------
Each task writes ``OUT/<id>.json`` (its tree, saved after every node), ``<id>.cassette.json``
(its model replies) and, when it ends, ``<id>.row.json`` (its row). Running the same batch
again reuses the row of every task whose status is in ``skip`` (``done`` and ``limit`` by
default) and runs the others again; their cassette replays the replies already recorded, so a
task stopped half-way costs no model call for the part that ran. Ids come from a mapping's
keys, a task's ``"id"``, or its position. Workers on other machines write to ``worker_dir``
(their own disk) and send the files back with the result: the client writes every record.

Faults
------
A task whose ``setup``, model or check raises, that runs past ``task_timeout`` (checked
before each model call and after each node: a primitive blocked in C is not stopped; the
engine's per-statement ``timeout`` covers Python loops), or whose worker process dies, gets a
row with status ``error`` and a one-line ``error``; the other tasks go on. A
``ProcessPoolExecutor`` cannot outlive a dead worker (its pending tasks all fail with
``BrokenProcessPool``); Dask's nanny restarts the worker and reschedules the other tasks.
Ctrl-C (``KeyboardInterrupt``) cancels the tasks not started, stops the running ones in this
process at their next model call, and returns the table with those rows ``interrupted``.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .job import ERROR_CHARS, STOPS, Job, TaskSetup, TaskTimeout, run_job
from .job import one_line as _one_line

__all__ = ["run_many", "TaskSetup", "BatchProgress", "TaskTimeout", "COLUMNS", "load_results",
           "task_ids"]

#: Columns of the results table, in order (``record`` columns of a TaskSetup follow).
COLUMNS = ("task_id", "status", "solved", "llm_calls", "input_tokens", "output_tokens",
           "cache_write_tokens", "cache_read_tokens", "replayed_calls", "cost_usd", "depth",
           "nodes", "wall_s", "error", "tree", "cassette", "reused")


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


def task_ids(tasks: Iterable[Any] | Mapping[Any, Any]) -> list[tuple[str, Any]]:
    """Pair each task with its id: a mapping's key, a task's ``"id"``, or its position.

    >>> task_ids(["a", {"id": "x/1", "task": "b"}])
    [('0', 'a'), ('x_1', {'id': 'x/1', 'task': 'b'})]
    >>> task_ids({"t1": "a", "t2": "b"})
    [('t1', 'a'), ('t2', 'b')]
    """
    if isinstance(tasks, Mapping):
        pairs = [(str(k), v) for k, v in tasks.items()]
    else:
        items = list(tasks)
        width = len(str(max(len(items) - 1, 0)))
        pairs = [(str(t["id"]) if isinstance(t, Mapping) and "id" in t else f"{i:0{width}d}", t)
                 for i, t in enumerate(items)]
    pairs = [(re.sub(r"[^A-Za-z0-9_.-]+", "_", k).strip(".") or "_", t) for k, t in pairs]
    seen: set[str] = set()
    for k, _ in pairs:
        if k in seen:
            raise ConfigError(f"two tasks have the id {k!r} (ids must be unique: give each "
                              f"task an 'id', or pass a mapping id -> task)")
        seen.add(k)
    return pairs



# -- on the client ---------------------------------------------------------------------------
def _is_dask(executor: Any) -> bool:
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(
        executor, "gather")


def _dumps(job: Job) -> bytes:
    try:
        import cloudpickle
        dumps = cloudpickle.dumps
    except ImportError:  # plain pickle: setup, llm and check must be importable functions
        dumps = pickle.dumps
    try:
        return dumps(job)  # type: ignore[no-any-return]
    except Exception as exc:
        raise ConfigError(f"cannot send task {job.task_id!r} to another process: "
                          f"{_one_line(exc)} (setup, check and llm must be picklable: give a "
                          f"model id or an llm_factory instead of a live model)") from exc


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read_row(out: Path, task_id: str) -> dict[str, Any] | None:
    try:
        return json.loads((out / f"{task_id}.row.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _fault_row(task_id: str, status: str, error: str) -> dict[str, Any]:
    return {"task_id": task_id, "status": status, "solved": None, "llm_calls": 0,
            "error": error[:ERROR_CHARS]}


def _table(rows: list[dict[str, Any]], as_frame: bool | None) -> Any:
    extra = [k for r in rows for k in r if k not in COLUMNS]
    columns = list(COLUMNS) + list(dict.fromkeys(extra))
    rows = [{c: r.get(c) for c in columns} for r in rows]
    if as_frame is False:
        return rows
    try:
        import pandas as pd
    except ImportError as exc:
        if as_frame:
            from ..errors import MissingDependencyError
            raise MissingDependencyError("as_frame=True needs pandas (pip install "
                                         "pandas)") from exc
        return rows
    return pd.DataFrame(rows, columns=columns)


def load_results(out_dir: str | os.PathLike[str], *, as_frame: bool | None = None) -> Any:
    """The results table of the tasks recorded in ``out_dir`` (rows of ended tasks)."""
    rows = []
    for path in sorted(Path(out_dir).glob("*.row.json")):
        rows.append(json.loads(path.read_text(encoding="utf-8")))
    return _table(rows, as_frame)


class _Batch:
    """The client's side of one :func:`run_many` call: submit, collect, record, report."""

    def __init__(self, pairs: list[tuple[str, Any]], out: Path, executor: Any, own: bool,
                 progress: Callable[[BatchProgress], Any] | None, grace: float):
        self.pairs, self.out, self.executor, self.own = pairs, out, executor, own
        self.progress, self.grace = progress, grace
        self.rows: dict[str, dict[str, Any]] = {}
        self.state = BatchProgress(total=len(pairs))
        self.t0 = time.monotonic()
        self.dask = _is_dask(executor)
        self.in_process = isinstance(executor, ThreadPoolExecutor)
        self.slots = sum(executor.nthreads().values()) if self.dask else 0  # Dask: running

    def accept(self, task_id: str, payload: dict[str, Any] | None, row: dict[str, Any]) -> None:
        """Record one ended task: files first, then its row (the row marks it finished)."""
        tree, tape = self.out / f"{task_id}.json", self.out / f"{task_id}.cassette.json"
        if payload is not None:
            if payload.get("tree") is not None:
                _write(tree, payload["tree"])
            if payload.get("cassette") is not None:
                _write(tape, payload["cassette"])
        row = {**row, "tree": str(tree) if tree.exists() else None,
               "cassette": str(tape) if tape.exists() else None, "reused": False}
        if row["status"] != "interrupted":
            _write(self.out / f"{task_id}.row.json", json.dumps(row, indent=1, default=repr))
        self.rows[task_id] = row
        self.count(row)

    def count(self, row: dict[str, Any]) -> None:
        s = self.state
        s.finished += 1
        s.failed += row.get("status") == "error"
        s.reused += bool(row.get("reused"))
        s.llm_calls += int(row.get("llm_calls") or 0)
        s.cost_usd += float(row.get("cost_usd") or 0.0)
        s.last = row

    def report(self, running: int) -> None:
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
                self.accept(futures[f], *self.outcome(f, futures[f]))
            now = time.monotonic()
            if done or now - last_report > 1.0:
                running = (min(len(pending), self.slots) if self.dask
                           else sum(f.running() for f in pending))
                self.report(running)
                last_report = now

    def outcome(self, future: Any, task_id: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        try:
            payload = future.result()
        except BaseException as exc:  # noqa: BLE001 - the worker died or the job broke
            if isinstance(exc, KeyboardInterrupt):
                raise
            name = type(exc).__name__
            if name in ("KilledWorker", "BrokenProcessPool", "BrokenExecutor"):
                return None, _fault_row(task_id, "error", f"worker died ({_one_line(exc)})")
            if name == "CancelledError" or future.cancelled():
                return None, _fault_row(task_id, "interrupted", "cancelled (re-run to resume)")
            return None, _fault_row(task_id, "error", _one_line(exc))
        return payload, payload["row"]

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
                continue


def run_many(tasks: Iterable[Any] | Mapping[Any, Any], setup: Callable[[Any], Any],
             llm: Any = None, *, llm_factory: Callable[[Any], Any] | None = None,
             executor: Any = None, workers: int = 4,
             check: Callable[[Any, Any], Any] | None = None,
             out_dir: str | os.PathLike[str] = "recode_batch",
             worker_dir: str | os.PathLike[str] | None = None, cassette: str | None = "auto",
             task_timeout: float | None = None, skip: Iterable[str] = ("done", "limit"),
             progress: Callable[[BatchProgress], Any] | None = None,
             model: str | None = None, base_url: str | None = None,
             as_frame: bool | None = None, grace: float = 10.0,
             **engine_options: Any) -> Any:
    """Run one ReCode task per item of ``tasks``, each in its own namespace; one row each.

    Parameters
    ----------
    tasks : sequence or mapping
        Task texts, or any objects ``setup`` understands (dicts with a ``"task"`` text and
        an optional ``"id"``); a mapping gives ``{id: task}``.
    setup : callable
        ``setup(task) -> dict | TaskSetup``: a FRESH namespace (primitives, variables) for
        one task, called on the worker.
    llm : callable or str
        A model ``llm(prompt) -> str`` (each task gets its own deep copy, or a shallow one
        when it cannot be copied), or a model id resolved on the worker like ``--llm``.
    llm_factory : callable, optional
        ``llm_factory(task) -> llm``, called on the worker instead of copying ``llm``.
    executor : Executor or dask.distributed.Client, optional
        Where tasks run; default a thread pool of ``workers`` threads made for this call.
    workers : int
        Threads of the default pool.
    check : callable, optional
        ``check(task, run) -> bool`` fills the ``solved`` column.
    out_dir : path
        Where trees, cassettes and rows are written (the record that resuming reads).
    worker_dir : path, optional
        Where workers write while a task runs; default ``out_dir``. Give a local folder of
        the workers (``/tmp/recode``) for a cluster without a shared disk.
    cassette : {"auto", "record", "replay"} or None
        Cassette mode of each task (``None``: no cassette; resuming then asks the model).
    task_timeout : float, optional
        Seconds per task, checked before each model call and after each node.
    skip : collection of str
        Statuses of recorded rows that a re-run reuses instead of running again.
    progress : callable, optional
        ``progress(BatchProgress)`` after each ended task and about every second.
    model : str, optional
        Model id for prices and cassette keys (default: the model's ``model``).
    base_url : str, optional
        Server of an ``openai:<model>`` id given as ``llm``.
    as_frame : bool, optional
        ``True``: a pandas DataFrame; ``False``: a list of dicts; ``None``: a DataFrame
        when pandas is installed.
    grace : float
        Seconds to wait after Ctrl-C for running tasks to stop and report.
    **engine_options
        Passed to :class:`~recode_magic.engine.recode.ReCode` (``max_depth``, ``timeout``,
        ``max_calls``, ``tools``, ``few_shots``...).

    Returns
    -------
    pandas.DataFrame or list of dict
        One row per task, in the order of ``tasks``, with the columns of :data:`COLUMNS`
        then any ``record`` columns.

    Examples
    --------
    >>> import tempfile
    >>> from recode_magic import ScriptedLLM
    >>> llm = ScriptedLLM({"solve": "<execute>total = add(a, b)</execute>"})
    >>> rows = run_many({"t1": "add", "t2": "add"}, lambda t: {"add": lambda x, y: x + y,
    ...                 "a": 1, "b": 2}, llm, out_dir=tempfile.mkdtemp(), as_frame=False)
    >>> [(r["task_id"], r["status"], r["llm_calls"]) for r in rows]
    [('t1', 'done', 1), ('t2', 'done', 1)]
    """
    if (llm is None) == (llm_factory is None):
        raise ConfigError("give exactly one of llm (a model or a model id) and llm_factory")
    if not callable(setup):
        raise ConfigError(f"setup must be a callable setup(task) -> dict, got {setup!r}")
    if cassette not in (None, "auto", "record", "replay"):
        raise ConfigError(f"unknown cassette mode: {cassette!r} (must be one of 'auto', "
                          f"'record', 'replay' or None)")
    if executor is not None and not (isinstance(executor, Executor) or _is_dask(executor)):
        raise ConfigError(f"executor must be a concurrent.futures.Executor or a "
                          f"dask.distributed.Client, got {type(executor).__name__}")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers!r}")
    pairs = task_ids(tasks)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    own = executor is None
    pool = ThreadPoolExecutor(workers, thread_name_prefix="recode-batch") if own else executor
    batch = _Batch(pairs, out, pool, own, progress, grace)
    token = uuid.uuid4().hex
    if batch.in_process:
        STOPS[token] = threading.Event()
    skip = set(skip)
    futures: dict[Any, str] = {}
    try:
        for task_id, task in pairs:
            old = _read_row(out, task_id)
            if old is not None and old.get("status") in skip:
                batch.rows[task_id] = {**old, "reused": True}
                batch.count(batch.rows[task_id])
                continue
            tape = out / f"{task_id}.cassette.json"
            ship = not batch.in_process or worker_dir is not None  # else: already in out_dir
            job = Job(task_id=task_id, task=task, setup=setup, llm=llm,
                      llm_factory=llm_factory, base_url=base_url, check=check,
                      worker_dir=str(worker_dir or out), cassette=cassette,
                      cassette_text=(tape.read_text(encoding="utf-8")
                                     if ship and cassette and tape.exists() else None),
                      task_timeout=task_timeout, model=model, token=token,
                      engine_options=dict(engine_options), ship=ship)
            arg: Any = job if batch.in_process else _dumps(job)
            if batch.dask:
                f = pool.submit(run_job, arg, key=f"recode-{task_id}-{token[:8]}", pure=False)
            else:
                f = pool.submit(run_job, arg)
            futures[f] = task_id
        batch.report(0)
        batch.collect(futures)
    except KeyboardInterrupt:
        batch.stop(futures, token)
    finally:
        STOPS.pop(token, None)
        if own:
            pool.shutdown(wait=False, cancel_futures=True)
    rows = [batch.rows.get(task_id) or _fault_row(task_id, "interrupted",
                                                   "not run: interrupted (re-run to resume)")
            for task_id, _ in pairs]
    batch.report(0)
    return _table(rows, as_frame)
