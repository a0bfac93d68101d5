"""The worker's side of :mod:`recode_magic.batch`: one task, start to row (never raises).

Runs wherever the executor puts it: a thread of this process, another process, a Dask worker
on another machine. The job arrives as a :class:`_Job` (or its cloudpickle bytes) and leaves
as a dict: the row, and the text of the task's tree and cassette for the client to record.
"""

from __future__ import annotations

import copy
import hashlib
import pickle
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, TaskTimeout
from ..llms.base import DEFAULT_MODEL

__all__ = ["TaskSetup", "TaskTimeout", "run_job", "Job", "one_line", "STOPS", "ERROR_CHARS",
           "check_id"]

ERROR_CHARS = 300
_RESUME = "interrupted (re-run the batch to resume)"
STOPS: dict[str, threading.Event] = {}  # batch token -> stop flag (tasks in this process)


@dataclass
class TaskSetup:
    """What ``setup(task)`` may return instead of a plain namespace dict.

    Attributes
    ----------
    namespace : dict
        The task's variables and primitives (a fresh dict per task).
    text : str, optional
        The task text; default: the task itself if it is a string, else ``task["task"]``.
    inputs : dict, optional
        Variables passed to the root ``solve(task, ...)`` as arguments.
    output : str, optional
        Name bound to the root's result.
    record : callable, optional
        ``record(run) -> dict`` of extra columns for the row (a score, "won"...); a
        ``"solved"`` key fills the solved column.
    close : callable, optional
        Called when the task ends, whatever happened (close a game, a connection).
    """

    namespace: dict[str, Any]
    text: str | None = None
    inputs: dict[str, Any] | None = None
    output: str | None = None
    record: Callable[[Any], Mapping[str, Any]] | None = None
    close: Callable[[], Any] | None = None


@dataclass
class Job:
    """Everything one task needs on a worker (pickled for other processes)."""

    task_id: str
    task: Any
    setup: Callable[[Any], Any]
    llm: Any
    llm_factory: Callable[[Any], Any] | None
    base_url: str | None
    llm_options: dict[str, Any]  # backend options of a model id (max_tokens, temperature...)
    check: Callable[[Any, Any], Any] | None
    worker_dir: str
    cassette: str | None
    cassette_text: str | None
    task_timeout: float | None
    model: str | None
    token: str
    engine_options: dict[str, Any] = field(default_factory=dict)
    ship: bool = True  # send the tree and cassette text back (False: same disk, same folder)



class _Guard:
    """The task's model, checked for the deadline and the stop flag before each call."""

    def __init__(self, inner: Callable[[str], str], deadline: float | None,
                 token: str, limit: float | None):
        self.__dict__.update(inner=inner, deadline=deadline, token=token, limit=limit)

    def check(self) -> None:
        stop = STOPS.get(self.token)
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt("batch stopped")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TaskTimeout(f"task ran longer than {self.limit:g} s (task_timeout)")

    def __call__(self, prompt: str) -> str:
        self.check()
        return self.inner(prompt)

    def on_event(self, event: str, _run: Any, _node: Any) -> None:
        if event == "node":
            self.check()

    @property
    def model(self) -> str:
        return str(getattr(self.inner, "model", type(self.inner).__name__))

    @property
    def last_usage(self) -> Any:
        return getattr(self.inner, "last_usage", None)

    def __getattr__(self, name: str) -> Any:  # respond, on_text, thread_safe...
        value = getattr(self.__dict__["inner"], name)
        if name == "respond" and callable(value):  # the rich call is checked too
            def respond(*args: Any, **kwargs: Any) -> Any:
                self.check()
                return value(*args, **kwargs)
            return respond
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.inner, name, value)


def _task_llm(job: Job) -> Callable[[str], str]:
    if job.llm_factory is not None:
        return job.llm_factory(job.task)  # type: ignore[no-any-return]
    if isinstance(job.llm, (str, Mapping)):  # a model id, or routes by depth
        from ..llms import make_llm
        return make_llm(job.llm, base_url=job.base_url,
                        default_model=job.llm if isinstance(job.llm, str) else DEFAULT_MODEL,
                        **job.llm_options)
    try:  # each task its own copy: list replies, usage and callbacks are per task
        return copy.deepcopy(job.llm)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - e.g. a live HTTP client: share it, keep own attributes
        return copy.copy(job.llm)  # type: ignore[no-any-return]


def _as_setup(value: Any, task: Any) -> TaskSetup:
    ts = value if isinstance(value, TaskSetup) else TaskSetup(namespace=value)
    if not isinstance(ts.namespace, dict):
        raise ConfigError(f"setup(task) must return a dict namespace or a TaskSetup, got "
                          f"{type(value).__name__}")
    if ts.text is None:
        text = ts.namespace.get("task", task)
        if isinstance(text, Mapping) and "task" in text:
            text = text["task"]
        if not isinstance(text, str):
            raise ConfigError("cannot tell the task text: make tasks strings or dicts with a "
                              "'task' key, or return TaskSetup(namespace, text=...) from setup")
        ts = replace(ts, text=text)
    return ts


def check_id(check: Callable[..., Any] | None) -> str | None:
    """A fingerprint of a check's code: a row checked by another check is checked again.

    >>> check_id(lambda t, r: True) == check_id(lambda t, r: True), check_id(None)
    (True, None)
    >>> check_id(lambda t, r: True) == check_id(lambda t, r: False)
    False
    """
    if check is None:
        return None
    code = getattr(check, "__code__", None)
    if code is None:
        return f"{type(check).__module__}.{type(check).__qualname__}"
    data = _code_bytes(code)
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()[:12]


def _code_bytes(code: Any) -> bytes:
    """What a code object computes (its bytecode, constants and names), not where it is."""
    consts = [_code_bytes(c) if hasattr(c, "co_code") else repr(c) for c in code.co_consts]
    return code.co_code + repr((consts, code.co_names, code.co_varnames)).encode()


def one_line(exc: BaseException) -> str:
    """``Type: last line of the message``, at most :data:`ERROR_CHARS` characters.

    >>> one_line(TimeoutError("too slow"))
    'TimeoutError: too slow'
    """
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[-1]}" if text else type(exc).__name__
    return line[:ERROR_CHARS]


def _run_columns(run: Any, model: str | None) -> dict[str, Any]:
    from ..llms.pricing import cost_report, usage_by_model

    usage: dict[str, int] = {}
    for node in run.nodes():
        for k, v in (node.usage or {}).items():
            if isinstance(v, (int, float)):
                usage[k] = usage.get(k, 0) + int(v)
    cost = cost_report(usage, model=model or run.meta.get("model"))
    if len(usage_by_model(run)) > 1:  # routed: each node's tokens at its own model's price
        cost["cost_usd"] = cost_report(run)["cost_usd"]
    stats = run.stats()
    error = (run.error or "").strip().splitlines()
    return {"status": run.status, "llm_calls": run.llm_calls,
            "input_tokens": cost["input_tokens"], "output_tokens": cost["output_tokens"],
            "cache_write_tokens": cost["cache_creation_input_tokens"],
            "cache_read_tokens": cost["cache_read_input_tokens"],
            "replayed_calls": cost["replayed_calls"], "cost_usd": cost["cost_usd"],
            "depth": stats["max_depth"], "nodes": stats["nodes"],
            "error": (_RESUME if run.status == "interrupted" else
                      error[-1][:ERROR_CHARS] if error and run.status != "done" else None)}


def run_job(job: Job | bytes) -> dict[str, Any]:
    """Run one task; returns its row and the text of its tree and cassette (never raises)."""
    if isinstance(job, bytes):
        job = pickle.loads(job)  # noqa: S301 - our own job, from the client
    assert isinstance(job, Job)
    from ..engine.recode import ReCode
    from ..llms.cassette import CassetteLLM

    started = time.monotonic()
    folder = Path(job.worker_dir)
    tree = folder / f"{job.task_id}.json"
    tape = folder / f"{job.task_id}.cassette.json"
    row: dict[str, Any] = {"task_id": job.task_id, "status": "error", "solved": None,
                           "llm_calls": 0}
    extra: dict[str, Any] = {}
    ts: TaskSetup | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if job.cassette_text is not None and not tape.exists():
            tape.write_text(job.cassette_text, encoding="utf-8")
        ts = _as_setup(job.setup(job.task), job.task)
        llm = _task_llm(job)
        if job.cassette:
            llm = CassetteLLM(llm, tape, job.cassette,
                              model=job.model or getattr(llm, "model", None))
        deadline = None if job.task_timeout is None else started + job.task_timeout
        guard = _Guard(llm, deadline, job.token, job.task_timeout)
        engine = ReCode(guard, ts.namespace, save_path=str(tree), on_event=guard.on_event,
                        **job.engine_options)
        assert ts.text is not None
        run = engine.run(ts.text, inputs=ts.inputs, output=ts.output)
        row.update(_run_columns(run, job.model))
        if job.check is not None:
            row["_check"] = check_id(job.check)
            try:
                row["solved"] = bool(job.check(job.task, run))
            except Exception as exc:  # noqa: BLE001 - a broken check fails this task only
                row.update(status="error", error=f"check raised {one_line(exc)}")
        if ts.record is not None:
            extra = dict(ts.record(run))
            if "solved" in extra:
                row["solved"] = extra.pop("solved")
    except KeyboardInterrupt:
        row.update(status="interrupted", error=_RESUME)
    except Exception as exc:  # noqa: BLE001 - one task's fault is its row, the rest go on
        row.update(status="error", error=one_line(exc))
    finally:
        if ts is not None and ts.close is not None:
            try:
                ts.close()
            except Exception as exc:  # noqa: BLE001
                row["error"] = row.get("error") or f"close raised {one_line(exc)}"
    row["wall_s"] = round(time.monotonic() - started, 3)
    row.update(extra)
    ship = job.ship
    return {"row": row,
            "tree": tree.read_text(encoding="utf-8") if ship and tree.exists() else None,
            "cassette": tape.read_text(encoding="utf-8") if ship and tape.exists() else None}
