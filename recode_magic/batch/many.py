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
``BrokenProcessPool``); Dask's nanny restarts the worker and reschedules the other tasks,
and a task whose worker died is run once more, alone, after the others: one that only
shared the worker with the culprit ends as it should, the culprit's row says it kills it.
Ctrl-C (``KeyboardInterrupt``) cancels the tasks not started, stops the running ones in this
process at their next model call, and returns the table with those rows ``interrupted``.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .collect import BatchProgress, Collector, is_dask
from .job import STOPS, Job, TaskSetup, TaskTimeout, check_id, run_job
from .job import one_line as _one_line
from .records import COLUMNS, fault_row, load_results, read_row, table

__all__ = ["run_many", "TaskSetup", "BatchProgress", "TaskTimeout", "COLUMNS", "load_results",
           "task_ids"]

def task_ids(tasks: Iterable[Any] | Mapping[Any, Any]) -> list[tuple[str, Any]]:
    """Pair each task with its id: a mapping's key, a task's ``"id"``, or its position.

    >>> task_ids(["a", {"id": "x/1", "task": "b"}])
    [('0', 'a'), ('x_1', {'id': 'x/1', 'task': 'b'})]
    >>> task_ids({"t1": "a", "t2": "b", "übung 3": "c"})
    [('t1', 'a'), ('t2', 'b'), ('übung_3', 'c')]
    """
    if isinstance(tasks, Mapping):
        pairs = [(str(k), v) for k, v in tasks.items()]
    else:
        items = list(tasks)
        width = len(str(max(len(items) - 1, 0)))
        pairs = [(str(t["id"]) if isinstance(t, Mapping) and "id" in t else f"{i:0{width}d}", t)
                 for i, t in enumerate(items)]
    pairs = [(re.sub(r"[^\w.-]+", "_", k).strip(".") or "_", t) for k, t in pairs]
    seen: set[str] = set()
    for k, _ in pairs:
        if k in seen:
            raise ConfigError(f"two tasks have the id {k!r} (ids must be unique: give each "
                              f"task an 'id', or pass a mapping id -> task)")
        seen.add(k)
    return pairs



# -- on the client ---------------------------------------------------------------------------
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


def run_many(tasks: Iterable[Any] | Mapping[Any, Any], setup: Callable[[Any], Any],
             llm: Any = None, *, llm_factory: Callable[[Any], Any] | None = None,
             executor: Any = None, workers: int = 4,
             check: Callable[[Any, Any], Any] | None = None,
             out_dir: str | os.PathLike[str] = "recode_batch",
             worker_dir: str | os.PathLike[str] | None = None, cassette: str | None = "auto",
             task_timeout: float | None = None, skip: Iterable[str] = ("done", "limit"),
             progress: Callable[[BatchProgress], Any] | None = None,
             model: str | None = None, base_url: str | None = None,
             llm_options: Mapping[str, Any] | None = None,
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
    llm_options : mapping, optional
        Backend options of a model id given as ``llm`` (``max_tokens``, ``temperature``,
        ``grammar``, ``model_dir``: what ``%config ReCodeMagics`` sets for ``%%recode``).
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
    _validate(llm, llm_factory, setup, cassette, executor, workers)
    pairs = task_ids(tasks)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    own = executor is None
    pool = ThreadPoolExecutor(workers, thread_name_prefix="recode-batch") if own else executor
    batch = Collector(pairs, out, pool, own, progress, grace)
    token = uuid.uuid4().hex
    if batch.in_process:
        STOPS[token] = threading.Event()
    job = Job(task_id="", task=None, setup=setup, llm=llm, llm_factory=llm_factory,
              base_url=base_url, llm_options=dict(llm_options or {}), check=check,
              worker_dir=str(worker_dir or out),
              cassette=cassette, cassette_text=None, task_timeout=task_timeout, model=model,
              token=token, engine_options=dict(engine_options),
              ship=not batch.in_process or worker_dir is not None)  # else: already in out
    futures: dict[Any, str] = {}
    try:
        _submit(batch, pairs, job, set(skip), futures)
        batch.report(0)
        batch.collect(futures)
        batch.run_died_alone(token)
    except KeyboardInterrupt:
        batch.stop(futures, token)
    finally:
        STOPS.pop(token, None)
        if own:
            pool.shutdown(wait=False, cancel_futures=True)
    rows = [batch.rows.get(task_id) or fault_row(task_id, "interrupted",
                                                  "not run: interrupted (re-run to resume)")
            for task_id, _ in pairs]
    batch.report(0)
    return table(rows, as_frame)


def _validate(llm: Any, llm_factory: Any, setup: Any, cassette: str | None, executor: Any,
              workers: int) -> None:
    """Refuse a call of :func:`run_many` that cannot work, before any task starts."""
    if (llm is None) == (llm_factory is None):
        raise ConfigError("give exactly one of llm (a model or a model id) and llm_factory")
    if not callable(setup):
        raise ConfigError(f"setup must be a callable setup(task) -> dict, got {setup!r}")
    if cassette not in (None, "auto", "record", "replay"):
        raise ConfigError(f"unknown cassette mode: {cassette!r} (must be one of 'auto', "
                          f"'record', 'replay' or None)")
    if executor is not None and not (isinstance(executor, Executor) or is_dask(executor)):
        raise ConfigError(f"executor must be a concurrent.futures.Executor or a "
                          f"dask.distributed.Client, got {type(executor).__name__}")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers!r}")


def _submit(batch: Collector, pairs: list[tuple[str, Any]], template: Job, skip: set[str],
            futures: dict[Any, str]) -> None:
    """Reuse the recorded rows that may be reused; submit every other task.

    A row is reused when its status is in ``skip`` and it was checked by the same check
    (a row checked by another check, or by none, runs again: its cassette replays).
    """
    out, pool, checked = batch.out, batch.executor, check_id(template.check)
    for task_id, task in pairs:
        old = read_row(out, task_id)
        if old is not None and old.get("status") in skip and (
                checked is None or old.get("_check") == checked):
            batch.rows[task_id] = {**old, "reused": True}
            batch.count(batch.rows[task_id])
            continue
        if old is not None and template.cassette is None and checked is not None \
                and _recheck_saved(batch, task_id, task, old, template, skip):
            continue
        tape = out / f"{task_id}.cassette.json"
        text = (tape.read_text(encoding="utf-8")
                if template.ship and template.cassette and tape.exists() else None)
        job = dataclasses.replace(template, task_id=task_id, task=task, cassette_text=text)
        arg: Any = job if batch.in_process else _dumps(job)
        batch.jobs[task_id] = arg
        if batch.dask:
            f = pool.submit(run_job, arg, key=f"recode-{task_id}-{template.token[:8]}",
                            pure=False)
        else:
            f = pool.submit(run_job, arg)
        futures[f] = task_id


def _recheck_saved(batch: Collector, task_id: str, task: Any, old: dict[str, Any],
                   template: Job, skip: set[str]) -> bool:
    """Check a finished task again on its saved tree (no cassette: nothing to replay).

    The loaded run has no namespace (a check reading ``run.namespace`` raises: its row then
    says so). False when there is no finished tree: the task runs again.
    """
    from ..runs.run import load_run

    try:
        run = load_run(batch.out / f"{task_id}.json")
    except (OSError, ValueError):
        return False
    if str(run.status) not in skip:
        return False
    row = {**old, "status": str(run.status), "error": None, "solved": None,
           "_check": check_id(template.check)}
    try:
        row["solved"] = bool(template.check(task, run))  # type: ignore[misc]
    except Exception as exc:  # noqa: BLE001 - a broken check fails this row only
        row.update(status="error", error=f"check raised {_one_line(exc)} (checked again on "
                   f"the saved tree, which holds no namespace: record a cassette to re-check "
                   f"with one)")
    batch.accept(task_id, None, {k: v for k, v in row.items()
                                 if k not in ("tree", "cassette", "reused")})
    batch.rows[task_id]["reused"] = True
    return True
