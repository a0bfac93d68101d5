"""The ReCode stack machine: depth-first, statement by statement, with an explicit stack.

``ReCode`` holds the settings (:class:`~recode_magic.engine.settings.Settings`), the model and the
namespace, and starts runs; :class:`Machine` drives one run's frames; the model's side
(ask, parse, plan) is :class:`~recode_magic.engine.expander.Expander`. Never imports IPython or the
widget: the magic and the widget subscribe to events.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ..errors import ConfigError, ResumeError
from ..prompting.prompts import FEW_SHOTS, example_names, fixed_part
from ..pycode.code import BUILTIN_NAMES
from ..pycode.namespace import CHECK_ATTR, describe_primitive, discover_primitives
from ..runs.run import Run
from ..runs.status import NodeStatus, RunStatus
from ..runs.tree import Node, RunData
from .machine import SHADOWABLE_BUILTINS, Machine
from .runstate import MISSING, ConfirmFn, Frame, RunState
from .settings import TASK_LIMIT, Settings, check_output_name

__all__ = ["ReCode", "Machine", "Event", "ConfirmFn", "TASK_LIMIT", "SHADOWABLE_BUILTINS"]

#: Settings ``resume(run, **changes)`` may change for the rest of a run.
#: Settings of the planning levers (issue 21), passed to ``ReCode(...)`` as keywords.
LEVERS = frozenset({"decompose", "samples", "previews", "ground", "loop_guards",
                    "world_answers", "task_limit", "examples"})

RESUME_SETTINGS = frozenset({"max_calls", "budget_tokens", "budget_usd", "prefetch",
                             "timeout"})

#: ``callback(event, run, node)``: ``run_start``, ``node``, ``stream``, ``run_end``.
Event = Callable[[str, RunData, "Node | None"], None]


class ReCode:
    """Expand a task into code recursively and run it in a namespace.

    Parameters
    ----------
    llm : callable
        ``llm(prompt) -> str``.
    namespace : dict, optional
        Where the code runs; a fresh dict when None. One flat namespace for all nodes.
    max_depth, max_rewrite, max_retry, timeout
        See :class:`~recode_magic.engine.settings.Settings` (as are the other keyword settings:
        ``tools``, ``trust``, ``allowed_imports``, ``max_calls``, ``max_nodes``,
        ``few_shots``, ``stdout_cap``, ``repr_limit``, ``save_path``, ``replan``,
        ``prefetch``, ``budget_tokens``, ``budget_usd``, ``check_results`` and the planning
        levers ``decompose``, ``samples``, ``previews``, ``ground``, ``loop_guards``,
        ``world_answers``, ``task_limit``, ``examples``), or
        pass ``settings=Settings(...)``. Invalid values raise
        :class:`~recode_magic.errors.ConfigError` before any model call.
    confirm : callable, optional
        ``confirm(node, code) -> code | None``: approve (or edit) each expansion.
    on_event : callable, optional
        ``on_event(event, run, node)`` for ``run_start``, ``node``, ``stream``, ``run_end``.
    rebindable : mapping or collection of str
        Names earlier runs created. A mapping ``name -> value`` (what :attr:`created`
        holds) makes a name rebindable only while it still holds that value (if the user
        reassigned it, it is protected again); plain names are rebindable whatever they hold.

    Notes
    -----
    - ``output=NAME`` that the run never assigns ends the run ``error`` ("`NAME` was never
      assigned"); a value ``NAME`` held before the run is left as it was.
    - A keyword argument of a placeholder call (``f(x=2)``) becomes a variable for the
      child; if it hides a protected name of the user, the user's value is put back when
      the child ends.
    - ``async def`` primitives are awaited (in a worker thread with its own event loop
      when the kernel's loop is running). Any exception of generated code or a primitive,
      ``SystemExit`` included, fails the statement (repairable); only ``KeyboardInterrupt``
      stops the run (``interrupted``).

    Examples
    --------
    >>> from recode_magic import ScriptedLLM
    >>> llm = ScriptedLLM({"solve": "<execute>total = add_up(nums)</execute>",
    ...                    "add_up": "<execute>total = sum(nums)</execute>"})
    >>> run = ReCode(llm).run("add the numbers", inputs={"nums": [1, 2, 3]})
    >>> run.status, run.namespace["total"], [n.name for n in run.nodes()]
    ('done', 6, ['solve', 'add_up'])
    """

    def __init__(self, llm: Callable[[str], str], namespace: dict[str, Any] | None = None,
                 max_depth: int = 10, max_rewrite: int = 3, max_retry: int = 2,
                 timeout: float | None = None, *, tools: Collection[str] | None = None,
                 trust: bool = False, allowed_imports: Collection[str] | None = None,
                 max_calls: int = 300, max_nodes: int = 10_000,
                 confirm: ConfirmFn | None = None, on_event: Event | None = None,
                 save_path: str | None = None, few_shots: str = FEW_SHOTS,
                 stdout_cap: int = 50_000, repr_limit: int = 200, replan: bool = True,
                 rebindable: Mapping[str, Any] | Collection[str] = (),
                 prefetch: int | None = None, budget_tokens: int | None = None,
                 budget_usd: float | None = None, check_results: bool = True,
                 settings: Settings | None = None, **levers: Any):
        bad = sorted(set(levers) - LEVERS)
        if bad:
            raise ConfigError(f"unknown setting {bad[0]!r} (planning levers: {sorted(LEVERS)})")
        if not callable(llm):
            raise ConfigError(f"llm must be a callable llm(prompt) -> str, got {llm!r}")
        self.settings = settings if settings is not None else Settings(
            max_depth=max_depth, max_rewrite=max_rewrite, max_retry=max_retry,
            timeout=timeout, tools=None if tools is None else tuple(tools), trust=trust,
            allowed_imports=(Settings.allowed_imports if allowed_imports is None
                             else frozenset(allowed_imports)),
            max_calls=max_calls, max_nodes=max_nodes, few_shots=few_shots,
            stdout_cap=stdout_cap, repr_limit=repr_limit, save_path=save_path, replan=replan,
            prefetch=prefetch, budget_tokens=budget_tokens, budget_usd=budget_usd,
            check_results=check_results, **levers)
        self.llm, self.confirm = llm, confirm
        self.namespace: dict[str, Any] = {} if namespace is None else namespace
        #: name -> the value the last run that bound it left (see ``rebindable``)
        self.created: dict[str, Any] = dict(rebindable) if isinstance(rebindable, Mapping) \
            else {}
        self._any_value: set[str] = set() if isinstance(rebindable, Mapping) else set(rebindable)
        self._subscribers: list[Event] = [on_event] if on_event else []

    @classmethod
    def for_run(cls, run: RunData) -> ReCode:
        """An engine with the model, namespace, settings and confirm ``run`` started with."""
        state = run.state
        if state is None:
            raise ResumeError("this run cannot be resumed (it was loaded from a file or made "
                              "by hand); start a new run")
        return cls(state.llm, run.namespace, settings=state.settings, confirm=state.confirm)

    @property
    def rebindable(self) -> set[str]:
        """Names a next run may rebind (without the value check: see :attr:`created`)."""
        return self._any_value | set(self.created)

    @property
    def max_depth(self) -> int:
        """``settings.max_depth`` (read-only: pass ``resume(run, max_depth=N)``)."""
        return self.settings.max_depth

    # -- public -----------------------------------------------------------------------------
    def subscribe(self, callback: Event) -> None:
        """Call ``callback(event, run, node)`` on run_start, node, stream and run_end."""
        self._subscribers.append(callback)

    def unsubscribe(self, callback: Event | None = None) -> None:
        """Stop calling ``callback`` (all subscribers when None)."""
        if callback is None:
            self._subscribers.clear()
        elif callback in self._subscribers:
            self._subscribers.remove(callback)

    def run(self, task: str, inputs: Mapping[str, Any] | None = None,
            output: str | None = None) -> Run:
        """Expand and run ``task``; returns the :class:`Run` whatever its outcome.

        Raises :class:`~recode_magic.errors.ConfigError` (bad ``output`` or input names) or
        :class:`~recode_magic.errors.UnknownToolError` before any model call.
        """
        check_output_name(output)
        if not isinstance(task, str):
            raise ConfigError(f"task must be a str, got {type(task).__name__}")
        inputs = dict(inputs or {})
        for name in inputs:
            if not isinstance(name, str) or not name.isidentifier() or name == "task":
                raise ConfigError(f"input names must be identifiers other than 'task', "
                                  f"got {name!r}")
        s, ns = self.settings, self.namespace
        ns["task"] = task
        ns.update(inputs)
        prims = discover_primitives(ns, s.tools)
        if output in prims:
            raise ConfigError(f"output {output!r} names a primitive of the run (a function "
                              f"it may call); give the result another name")
        run = Run(task, inputs=list(inputs), output=output,
                  meta={"model": getattr(self.llm, "model", type(self.llm).__name__),
                        **s.as_meta(), "primitives": sorted(prims)})
        run.namespace = ns
        free = {n for n, v in self.created.items() if ns.get(n, MISSING) is v} | self._any_value
        run.state = RunState(
            settings=s, llm=self.llm, confirm=self.confirm,
            fixed=fixed_part([describe_primitive(n, f) for n, f in prims.items()],
                             s.few_shots),
            primitives=frozenset(prims),
            example_names=example_names(s.few_shots) - set(ns) - BUILTIN_NAMES,
            # names generated code may not rebind: pre-run variables (except the -o target
            # and names earlier runs made that still hold their value) and every primitive
            protected=frozenset(n for n in ns if n != output and n not in free)
            | frozenset(prims),
            before=frozenset(ns), frames=[Frame(run.root)],
            checks={n: getattr(f, CHECK_ATTR) for n, f in prims.items()
                    if callable(getattr(f, CHECK_ATTR, None))},
            async_primitives=frozenset(n for n, f in prims.items()
                                       if inspect.iscoroutinefunction(f)))
        run.started = time.time()
        try:
            self._emit("run_start", run, None)
        except BaseException as exc:  # Ctrl-C (or a subscriber's bug) before the first step
            stopped = isinstance(exc, KeyboardInterrupt)
            run.status = RunStatus.INTERRUPTED if stopped else RunStatus.ERROR
            run.error = ("interrupted (KeyboardInterrupt)" if stopped  # as the machine says
                         else f"run_start subscriber failed: {type(exc).__name__}: {exc}")
            run.ended = time.time()  # never left pending; resume() starts it
            if not stopped:
                raise
            return run
        return self._drive(run)

    def resume(self, run: Run, *, max_depth: int | None = None, **changes: Any) -> Run:
        """Continue an interrupted, failed or limited run from its first unfinished node.

        Uses the settings, model and namespace the run started with (``run.state``);
        ``max_depth`` raises (or lowers) the depth limit from here on, and so may
        ``max_calls``, ``budget_tokens``, ``budget_usd`` (None: no budget), ``prefetch``
        and ``timeout`` given as keywords (a run stopped by its budget goes on with a
        larger one; what it spent so far still counts).
        """
        state = run.state
        if state is None or not state.frames:
            raise ResumeError(f"nothing to resume: the run ended {str(run.status)!r} with no "
                              f"unfinished node (start a new run instead)")
        bad = sorted(set(changes) - RESUME_SETTINGS)
        if bad:
            raise ConfigError(f"resume() cannot change {bad[0]!r} (it can change "
                              f"{sorted(RESUME_SETTINGS | {'max_depth'})})")
        if max_depth is not None:
            changes["max_depth"] = max_depth
        if changes:
            state.settings = state.settings.with_(**changes)
        top = state.frames[-1].node
        if top.status in (NodeStatus.STUB, NodeStatus.ERROR):
            top.status, top.error = NodeStatus.PENDING, None
        run.error, run.ended = None, None
        return self._drive(run)

    # -- running ----------------------------------------------------------------------------
    def _drive(self, run: Run) -> Run:
        assert run.state is not None and run.namespace is not None
        machine = Machine(run, run.state, run.namespace, self._emit)
        try:
            machine.drive()
        finally:
            if run.namespace is self.namespace:
                self.created.update(machine.created())
            self._emit("run_end", run, None)
        return run

    def _emit(self, event: str, run: RunData, node: Node | None) -> None:
        for cb in self._subscribers:
            cb(event, run, node)
