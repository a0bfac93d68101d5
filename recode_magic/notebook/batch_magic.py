"""``%recode batch``: many tasks from a notebook, with a progress bar and a results table.

::

    %recode batch TASKS --setup FN [--workers N] [--dask ADDRESS] [--llm NAME] [--out DIR]
                  [--check FN] [--task-timeout S] [--max-depth N] [--budget B]
                  [--cassette MODE] [-o NAME]

``TASKS`` names a list (or dict ``{id: task}``) in the notebook, ``FN`` a function
``setup(task) -> dict`` that builds one task's fresh namespace; see
:func:`recode_magic.batch.run_many`. The table is the cell's result (a DataFrame when pandas
is installed) and is kept as ``_recode_batch``. Run the same line again to resume.

The handler (registered as the ``batch`` row of :mod:`recode_magic.notebook.commands`) is::

    batch_command(magics, argv) -> table

``magics`` is the :class:`~recode_magic.notebook.magics.ReCodeMagics` instance (its ``shell``
and settings: ``model``, ``models``, ``budget``, ``base_url``, ``max_tokens``, ``temperature``,
``grammar``, ``model_dir``, ``max_depth``, ``max_retry``,
``max_rewrite``, ``max_calls``, ``timeout``, ``trust``, ``allowed_imports``, ``repr_limit``,
``check_results``, ``levers``, ``save_dir``);
``argv`` is the list of words after ``batch`` (a string is split like a shell line).
"""

from __future__ import annotations

import math
import shlex
import sys
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from ..batch.many import BatchProgress, run_many, task_ids
from ..batch.records import STILL_RUNNING
from ..errors import MissingDependencyError
from .checks import backend_options, cannot_write, check_levers
from .commands import parse_budget

__all__ = ["batch_command", "register", "USAGE", "HELP"]

USAGE = "TASKS --setup FN [--workers N] [--dask ADDRESS] [--llm NAME] [--out DIR] [...]"
_FULL_USAGE = ("TASKS --setup FN [--workers N] [--dask ADDRESS] [--llm NAME] [--out DIR] "
               "[--check FN] [--task-timeout S] [--max-depth N] [--budget B] [--cassette MODE] "
               "[-o NAME] "
               "[--no-progress]")
HELP = "run many tasks (a thread pool, or a Dask cluster); table + progress bar"


def _parser() -> MagicArgumentParser:
    p = MagicArgumentParser(prog="%recode batch", usage=f"%recode batch {_FULL_USAGE}",
                            add_help=False)
    p.add_argument("tasks", help="a list of tasks (or dict id -> task) in the notebook")
    p.add_argument("--setup", required=True, help="setup(task) -> dict: one task's namespace")
    p.add_argument("--workers", type=int, default=4, help="threads, or local Dask workers")
    p.add_argument("--dask", default=None, help="scheduler address, or 'local' for a "
                   "LocalCluster of --workers processes")
    p.add_argument("--llm", default=None, help="model id, or a callable's name in the notebook")
    p.add_argument("--out", default=None, help="folder of trees, cassettes and rows")
    p.add_argument("--check", default=None, help="check(task, run) -> bool: the solved column")
    p.add_argument("--task-timeout", type=float, default=None, help="seconds per task")
    p.add_argument("--max-depth", type=int, default=None, help="depth limit")
    p.add_argument("--budget", default=None, help="per task: dollars (0.50) or tokens "
                   "(20000tok); default %%config ReCodeMagics.budget")
    p.add_argument("--cassette", default="auto", help="auto | record | replay | none")
    p.add_argument("-o", "--output", default=None, help="variable that receives the table")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _lookup(ns: dict[str, Any], name: str, option: str, *, call: bool = True) -> Any:
    if name not in ns:
        raise UsageError(f"{option} names {name!r}, which is not defined in the notebook")
    value = ns[name]
    if call and not callable(value):
        raise UsageError(f"{option} must name a function, {name!r} is a "
                         f"{type(value).__name__}")
    return value


def _bar(total: int, enabled: bool) -> tuple[Any, Any]:
    """A tqdm.auto bar (a widget in JupyterLab, text elsewhere) and its progress callback."""
    if not enabled:
        return None, None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None, None
    bar = tqdm(total=total, desc="recode batch", unit="task", file=sys.stderr)

    def update(p: BatchProgress) -> None:
        bar.n = p.finished
        cost = f", ${p.cost_usd:.4f}" if p.cost_usd else ""
        bar.set_postfix_str(f"failed {p.failed}, running {p.running}, calls {p.llm_calls}"
                            f"{cost}", refresh=False)
        bar.refresh()
    return bar, update


def _client(address: str, workers: int) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise MissingDependencyError("--dask needs dask.distributed (pip install "
                                     "'recode_magic[dask]')") from exc
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(address, timeout="10s"), None
    except OSError as exc:
        raise UsageError(f"--dask: cannot reach the scheduler at {address!r} ({exc})") from None


def _count(value: Any) -> int:
    """A count from a row: 0 for None or NaN (pandas fills a missing count with NaN)."""
    return 0 if value is None or value != value else int(value)


def _summary(rows: list[dict[str, Any]], out: str) -> str:
    by: dict[str, int] = {}
    for r in rows:
        by[r["status"]] = by.get(r["status"], 0) + 1
    counts = ", ".join(f"{n} {s}" for s, n in sorted(by.items()))
    reused = sum(bool(r.get("reused")) for r in rows)
    ran = [r for r in rows if not r.get("reused")]
    replayed = sum(_count(r.get("replayed_calls")) for r in ran)
    calls = sum(_count(r.get("llm_calls")) for r in ran) - replayed
    costs = [r.get("cost_usd") for r in rows if not r.get("reused")]
    known = [float(c) for c in costs if c is not None and c == c]  # NaN: no price (pandas)
    solved = [r["solved"] for r in rows if r.get("solved") is not None]
    text = f"recode batch: {len(rows)} tasks: {counts}"
    if solved:
        text += f"; solved {sum(map(bool, solved))}/{len(solved)}"
    text += f"; {calls} model calls this time, " + (
        f"${sum(known):.4f}" if known else "cost unknown (no price for this model)")
    if replayed:
        text += f" ({replayed} more replayed from cassettes, free)"
    if reused:
        text += f"; {reused} reused from {out}"
    if by.get("interrupted"):
        text += "; run the same line again to resume"
        going = sum(r.get("error") == STILL_RUNNING for r in rows)
        if going:
            text += (f" ({going} interrupted while running: their model calls are not counted "
                     f"and they stop at their next one)")
    errors = [str(r.get("error")) for r in rows if r.get("status") == "error" and r.get("error")]
    if errors:  # why, in the same line: the most frequent error
        top = max(set(errors), key=errors.count)
        text += f"; error ({errors.count(top)} of {len(errors)}): {top}"
    return text


def batch_command(magics: Any, argv: list[str] | str) -> Any:
    """Run ``%recode batch ...`` (see the module docstring); returns the results table.

    Everything that can be checked is checked before any task starts (and before the
    progress bar is drawn): names, numbers, ids, the output folder and the model.
    """
    if isinstance(argv, str):
        argv = shlex.split(argv)
    args = _parser().parse_args(argv)
    ns = magics.shell.user_ns
    tasks, kwargs = _prepare(magics, args, ns)
    client = cluster = None
    if args.dask:
        client, cluster = _client(args.dask, args.workers)
    bar, update = _bar(len(tasks), not args.no_progress)
    try:
        table = run_many(tasks, executor=client, progress=update, **kwargs)
    finally:
        if bar is not None:
            bar.close()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    print(_summary(rows, kwargs["out_dir"]))  # the result, not an error: stdout (no pink box)
    ns["_recode_batch"] = table
    if args.output:
        ns[args.output] = table
    return table


def _prepare(magics: Any, args: Any, ns: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The tasks and :func:`run_many`'s keywords; a ``UsageError`` for anything wrong."""
    tasks = _lookup(ns, args.tasks, "TASKS", call=False)
    if isinstance(tasks, (str, bytes)) or not hasattr(tasks, "__iter__"):
        raise UsageError(f"TASKS must name a list or dict of tasks, {args.tasks!r} is a "
                         f"{type(tasks).__name__}")
    tasks = tasks if isinstance(tasks, dict) else list(tasks)
    task_ids(tasks)  # duplicate ids: ConfigError, one line at the magic's boundary
    setup = _lookup(ns, args.setup, "--setup")
    check = _lookup(ns, args.check, "--check") if args.check else None
    _check_numbers(args)
    cassette = None if args.cassette == "none" else args.cassette
    if cassette not in (None, "auto", "record", "replay"):
        raise UsageError(f"--cassette must be auto, record, replay or none, got "
                         f"{args.cassette!r}")
    if args.output is not None and not args.output.isidentifier():
        raise UsageError(f"-o needs a variable name, got {args.output!r}")
    max_depth = magics.max_depth if args.max_depth is None else args.max_depth
    if max_depth < 0:
        raise UsageError(f"--max-depth must be >= 0, got {max_depth}")
    out = args.out or str(Path(magics.save_dir or ".recode") / f"batch-{args.tasks}")
    why = cannot_write(Path(out).expanduser(), folder=True)
    if why:
        raise UsageError(f"--out {out!r} cannot be written: {why}")
    options = {"max_depth": max_depth, "max_retry": magics.max_retry,
               "max_rewrite": magics.max_rewrite, "max_calls": magics.max_calls,
               "timeout": magics.timeout or None, "trust": magics.trust,
               "allowed_imports": magics.allowed_imports, "repr_limit": magics.repr_limit,
               "check_results": magics.check_results, **check_levers(magics),
               **parse_budget(args.budget if args.budget is not None else magics.budget)}
    return tasks, {"setup": setup, "llm": _model(magics, args, ns), "workers": args.workers,
                   "check": check, "out_dir": out, "cassette": cassette,
                   "task_timeout": args.task_timeout, "base_url": magics.base_url or None,
                   "llm_options": backend_options(magics), **options}


def _check_numbers(args: Any) -> None:
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    if args.task_timeout is not None and not (math.isfinite(args.task_timeout)
                                              and args.task_timeout > 0):
        raise UsageError(f"--task-timeout must be a number of seconds > 0, got "
                         f"{args.task_timeout:g}")


def _model(magics: Any, args: Any, ns: dict[str, Any]) -> Any:
    """The model spec each task resolves: --llm, else ``models`` (routes), else ``model``.

    A callable of the notebook is passed as it is; a model id or routes are resolved here
    once (an unknown model is a UsageError before any task starts) and again per task.
    """
    spec: Any = args.llm or (dict(magics.models) or None) or magics.model
    if isinstance(spec, str) and callable(ns.get(spec)):
        return ns[spec]
    from ..llms import make_llm

    make_llm(spec, namespace=ns, base_url=magics.base_url or None, default_model=magics.model,
             **backend_options(magics))  # raises ConfigError for an unknown model
    return spec


def register() -> bool:
    """Add the ``batch`` row to ``%recode`` (False when the subcommand table is missing)."""
    try:
        from .commands import SUBCOMMANDS, register_subcommand
    except ImportError:  # pragma: no cover - older magics without the table
        return False
    if "batch" not in SUBCOMMANDS:
        register_subcommand("batch", batch_command, HELP, usage=USAGE)
    return True
