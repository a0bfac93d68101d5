"""The stack machine that drives one ReCode run: depth-first, statement by statement.

:class:`Machine` pops and pushes :class:`~recode_magic.engine.runstate.Frame` objects on the run's
explicit stack (no recursion limit): it expands the node on top
(:class:`~recode_magic.engine.expander.Expander`), runs its blocks one by one, pushes a child for a
placeholder, repairs or re-plans a failing node, and saves the tree as it goes.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import linecache
import time
from collections.abc import Callable
from types import CoroutineType
from typing import Any

from ..errors import BlockTimeoutError, FormatError, StepFailed
from ..llms.base import merge_usage
from ..pycode import code as C
from ..pycode.calltally import CallTally
from ..pycode.limits import block_timeout, capture_output, describe_exception, user_traceback
from ..runs.run import Run
from ..runs.status import NodeStatus, RunStatus
from ..runs.tree import Node, RunData, Step
from .budget import model_at
from .entry import Reentry
from .expander import Expander, NoUsableCode
from .planner import remember_source
from .prefetch import Prefetcher, ask_ahead, bound_by, prefetch_workers
from .repair import Repairs, one_line
from .runstate import MISSING, Frame, RunState, Stop

__all__ = ["Machine", "SHADOWABLE_BUILTINS", "one_line"]

#: What a statement runs under with no timeout (``block_timeout(None)`` does nothing either).
_NO_TIMEOUT = contextlib.nullcontext()
#: Builtins generated code may not rebind; any it bound anyway is removed at run end.
SHADOWABLE_BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("_"))


class Machine(Repairs, Reentry):
    """Drives one run's frame stack to its end (or to a stop: limit, error, interrupt)."""

    def __init__(self, run: Run, state: RunState, namespace: dict[str, Any],
                 emit: Callable[[str, RunData, Node | None], None]) -> None:
        self.run, self.state, self.ns, self.emit = run, state, namespace, emit
        self.x = Expander(state, namespace, emit)
        self.assigned = state.assigned
        self.tally = CallTally()  # what the primitives answered: re-plans and timeouts show it
        self.unsaved = False  # a save the throttle skipped (made up before outside code)

    def drive(self) -> None:
        """Run frames until none is left; the run's status says how it ended."""
        run, state = self.run, self.state
        run.status = RunStatus.RUNNING
        for frame in state.frames:  # a resumed run: hide the user's values again
            self.ns.update(frame.keywords)
        for filename, source in state.sources.items():  # tracebacks of a resumed run
            remember_source(filename, source)
        workers, note = prefetch_workers(state.settings.prefetch, state.llm)
        if note and note not in run.warnings:
            run.warnings.append(note)
        self.x.prefetch = Prefetcher(state.llm, workers) if workers else None
        try:
            for node in state.going_on():  # a resumed run: its stack reads as it goes on
                self.emit("node", run, node)
            while state.frames:
                self.step()
            run.status = RunStatus.DONE
        except Stop as stop:
            run.status, run.error = RunStatus(stop.status), str(stop)
        except KeyboardInterrupt:
            run.status, run.error = RunStatus.INTERRUPTED, "interrupted (KeyboardInterrupt)"
        except BaseException as exc:  # noqa: BLE001 - a model backend's error, SystemExit...
            run.status, run.error = RunStatus.ERROR, one_line(describe_exception(exc))
            if state.frames:  # shown as failed; resume() sets it back to pending
                top = state.frames[-1].node
                top.status, top.error = NodeStatus.ERROR, run.error
        finally:
            if run.status == RunStatus.RUNNING:  # never left running
                run.status, run.error = RunStatus.INTERRUPTED, run.error or "stopped"
            state.stopped(run.error or str(run.status))  # no node left running (views, file)
            self.cleanup()
            self.end_prefetch()
            for filename in state.sources:
                linecache.cache.pop(filename, None)
            run.ended = time.time()
            self.save(force=True)

    def end_prefetch(self) -> None:
        """Stop asking ahead; count the calls never used (``run.meta["prefetch_stats"]``)."""
        pf, self.x.prefetch = self.x.prefetch, None
        if pf is None:
            return
        stats = pf.close()
        for prompt, reply, depth in pf.wasted:  # paid for: budgets and usage count them
            self.state.spend.add(reply.usage, reply.model or model_at(self.state.llm, depth),
                                 prompt, reply.text)
        total = self.run.meta.setdefault("prefetch_stats", {})
        for key, value in stats.items():
            total[key] = value if key == "workers" else total.get(key, 0) + value
        if pf.wasted:
            merge_usage(total.setdefault("wasted_usage", {}),
                        {k: v for _, r, _ in pf.wasted for k, v in r.usage.items()
                         if k != "source"})

    def ask_ahead(self, frame: Frame, start: int, dirty: set[str] | None = None) -> None:
        """Ask for later placeholders of ``frame`` whose prompts are known now (prefetch)."""
        if self.x.prefetch is not None:
            ask_ahead(self.x, self.run, frame, start, dirty or set())

    def created(self) -> dict[str, Any]:
        """Names this run bound that a later run may rebind, with the value they hold."""
        st = self.state
        fresh = (set(self.ns) - st.before) | (self.assigned & set(self.ns) - st.protected)
        fresh -= {*self.run.inputs, "task"}
        return {n: self.ns[n] for n in fresh if n in self.ns and not n.startswith("__")}

    def cleanup(self) -> None:
        """Put back shadowed user values; remove builtins the run shadowed."""
        for frame in reversed(self.state.frames):  # innermost first: the user's value last
            self.restore(frame, final=False)
        for name in (set(self.ns) - self.state.before) & SHADOWABLE_BUILTINS:
            del self.ns[name]
            self.run.warnings.append(f"removed `{name}` at the end of the run: it shadowed "
                                     f"the builtin of that name")

    def restore(self, frame: Frame, *, final: bool = True) -> None:
        """Give back the values a keyword argument of ``frame``'s call hid.

        ``final=False`` (the run stops with the frame still on the stack) keeps what is
        needed to hide them again on resume.
        """
        for key, old in frame.shadowed.items():
            if old is MISSING:
                self.ns.pop(key, None)
            else:
                self.ns[key] = old
        if final and (frame.shadowed or frame.keywords):
            frame.shadowed.clear()
            frame.keywords.clear()

    def step(self) -> None:
        """Advance the top frame by one: expand it, push a child, or run one block."""
        frame = self.state.frames[-1]
        if frame.redo is not None:  # a node entered again, or a question a stop cut
            frame.redo(self)
            return
        if frame.blocks is None:
            self.open(frame)
            return
        if frame.pc >= len(frame.blocks):
            self.close(frame)
            return
        block = frame.blocks[frame.pc]
        try:  # checked again at run time: earlier statements may have unbound a name
            ph = (C.find_placeholder(block, self.x.known) if not block.binds >= block.calls
                  else None)
        except FormatError as exc:
            self.fail(f"FormatError: {exc}", block.source)
            return
        if ph is not None:
            self.push_child(frame, block, ph)
            return
        if block.placeholder is not None and block.filename not in linecache.cache:
            remember_source(block.filename,  # planned as a call, not registered: see plan()
                            self.state.sources.get(block.filename, block.source))
        self.exec_block(frame, block)

    def open(self, frame: Frame) -> None:
        """Expand the node on top of the stack (or stop at the depth limit)."""
        node, limit = frame.node, self.state.settings.max_depth
        if node.depth >= limit and node.parent is not None:
            node.status = NodeStatus.STUB
            self.emit("node", self.run, node)
            raise Stop(RunStatus.LIMIT, f"depth limit reached at `{node.call}` "
                                        f"(max_depth={limit})")
        self.start(frame)

    def start(self, frame: Frame, code: str | None = None, feedback: str | None = None) -> None:
        """Expand the node on top of the stack and lay out its blocks (no depth check).

        ``code`` (written by hand) or ``feedback``: a node entered again (:meth:`enter`).
        """
        node = frame.node
        node.status, node.started = NodeStatus.RUNNING, node.started or time.time()
        self.emit("node", self.run, node)
        if self.state.settings.save_path:
            self.save()  # a started node is on disk before its code runs
        blocks = self.blocks_for(frame, code, feedback)
        if blocks is None:
            return
        if not blocks:
            self.finish(NodeStatus.SKIPPED)
            return
        frame.blocks = blocks
        if self.state.settings.save_path:  # its code is not on disk yet: saved before a
            self.unsaved = True            # statement that calls outside code runs
        if self.x.prefetch is not None:
            self.ask_ahead(frame, frame.pc)

    def blocks_for(self, frame: Frame, code: str | None = None,
                   feedback: str | None = None) -> list[C.Block] | None:
        """The node's code from the model, planned (None: no usable code, node failed).

        ``code``: written by hand, planned as it is. Once the model answered, a node entered
        again (``frame.redo``) is entered: a stop from then on resumes as any node's.
        """
        try:
            blocks = (self.hand_code(frame, code) if code is not None
                      else self.x.expand(self.run, frame, feedback=feedback))
        except NoUsableCode as exc:
            frame.redo = None
            self.fail(str(exc), None, repairable=False)
            return None
        frame.redo = None
        return blocks

    def push_child(self, frame: Frame, block: C.Block, ph: C.Placeholder) -> None:
        """Make the placeholder ``ph`` a child node and put it on the stack."""
        run = self.run
        if len(run) >= self.state.settings.max_nodes:
            raise Stop(RunStatus.LIMIT, f"node limit reached "
                                        f"(max_nodes={self.state.settings.max_nodes})")
        parent = frame.node
        try:
            shadowed = self.bind_keywords(ph, block.filename) if ph.call.keywords else {}
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - fails the statement, repairable
            self.fail(describe_exception(exc), block.source)
            return
        if self.x.prefetch is not None:
            self.ask_ahead(frame, frame.pc + 1, bound_by(ph))
        child = run.new_node(ph.name, block.source, parent=parent, targets=ph.targets)
        frame.child_block = block
        parent.status = NodeStatus.EXPANDED
        # positional (faster): node, blocks, pc, retries, child_block, ran, placeholder,
        # variables, shadowed, keywords (tests/test_speed_paths.py checks the order)
        self.state.push(Frame(child, None, 0, 0, None, [], ph, ph.variables, shadowed,
                              {k: self.ns[k] for k in shadowed} if shadowed else {}))
        self.emit("node", run, parent)  # after the push: a subscriber raising orphans no child
        self.emit("node", run, child)

    def exec_block(self, frame: Frame, block: C.Block) -> None:
        """Run one statement; on an error, repair (or re-plan) the node."""
        node, s = frame.node, self.state.settings
        step = Step(code=block.source, primitives=sorted(block.calls & self.state.primitives))
        node.steps.append(step)
        frame.outside = self.calls_outside(step, block) or frame.outside
        failures: list[str] = []
        helpers = (self.x.helpers(failures)
                   if self.state.checks or self.state.async_primitives else {})
        tally = self.tally  # its counting wrappers are made once per run
        tally.reset()
        try:
            with capture_output(s.stdout_cap) as out:
                if helpers:
                    self.ns.update(helpers)
                try:
                    with (block_timeout(s.timeout) if s.timeout is not None else _NO_TIMEOUT), \
                            tally.watching(self.ns, step.primitives):
                        exec(block.code, self.ns)  # noqa: S102 - the product
                finally:
                    for name in helpers:
                        self.ns.pop(name, None)
                    if out.total:
                        step.stdout = out.text
                        node.stdout += step.stdout
            self.assigned |= block.binds
            _check_no_coroutine(block, self.ns)
        except KeyboardInterrupt:
            raise
        except NameError as exc:
            name = getattr(exc, "name", None)
            ph = (C.find_placeholder(block, lambda n: n != name and self.x.known(n))
                  if name in block.calls else None)
            if ph is not None and ph.name == name:   # fallback: a placeholder found late
                node.steps.pop()
                self.push_child(frame, block, ph)
                return
            step.error = describe_exception(exc)
            self.fail(user_traceback(exc), block.source)
            return
        except BaseException as exc:  # noqa: BLE001 - SystemExit too: the statement failed
            step.error = describe_exception(exc)
            if isinstance(exc, StepFailed) and s.replan:
                self.fail(step.error, block.source, observation=exc.observation)
            elif isinstance(exc, BlockTimeoutError):  # why it ran so long, on the same line
                step.error += f"; meanwhile {tally.summary()}"
                self.fail(step.error, block.source)
            else:
                self.fail(user_traceback(exc), block.source)
            return
        if failures and s.replan:  # a checked answer the generated code caught itself
            step.error = f"StepFailed: {failures[0]}"
            self.fail(step.error, block.source, observation=failures[0])
            return
        step.answers = tally.pending()  # formatted when read (most never are)
        frame.ran.append(block.source)
        frame.pc += 1
        if self.heard(frame, step):  # an action's answer: the rest is written from it
            return
        self.emit("node", self.run, node)

    def finish(self, status: NodeStatus) -> None:
        """Pop the top frame with ``status``; its parent goes on after the placeholder."""
        frame = self.state.pop()
        if frame.shadowed or frame.keywords:
            self.restore(frame)
        node = frame.node
        node.status, node.ended = status, time.time()
        parent = self.state.frames[-1] if self.state.frames else None
        if parent is not None:  # before the events: a subscriber raising never runs it twice
            block = parent.child_block
            assert block is not None
            parent.node.steps.append(Step(block.source, "placeholder", node.id))  # code,kind,child
            if node.stdout:
                parent.node.stdout += node.stdout
            parent.ran.append(block.source)
            parent.child_block = None
            parent.pc += 1
            parent.node.status = NodeStatus.RUNNING
        self.emit("node", self.run, node)
        if self.state.settings.save_path:
            self.save()
        if parent is not None:
            self.emit("node", self.run, parent.node)

    def calls_outside(self, step: Step, block: C.Block) -> bool:
        """True for a statement calling a primitive or a function of the user's.

        Such a statement, or one calling a method, may end the process (``os._exit``, a
        crash): a save the throttle skipped is made before it runs.
        """
        outside = bool(step.primitives) or any(
            n in self.state.before and n not in self.assigned for n in block.calls)
        if self.unsaved and (outside or _calls_a_method(block)):
            self.save(force=True)
        return outside

    def save(self, force: bool = False) -> None:
        """Save the tree (at most every 0.25 s unless ``force``); a failure is a warning.

        A save the throttle skips is made before the next statement that calls a primitive
        or another function of the user's (it may end the process: ``os._exit``, a crash).
        """
        path = self.state.settings.save_path
        if not path:
            return
        now = time.monotonic()
        if not force and now - self.state.last_save < 0.25:
            self.unsaved = True  # made up before the next statement calling outside code
            return
        self.state.last_save, self.unsaved = now, False
        try:
            self.run.save(path)
        except Exception as exc:  # noqa: BLE001 - an unwritable path must not end the run
            note = f"could not save the tree to {path!r}: {one_line(describe_exception(exc))}"
            if note not in self.run.warnings:
                self.run.warnings.append(note)


def _calls_a_method(block: C.Block) -> bool:
    """True for a statement calling anything but a plain name (``os._exit(1)``, ``obj.f()``)."""
    return any(isinstance(n, ast.Call) and not isinstance(n.func, ast.Name)
               for n in ast.walk(block.stmt))


def _check_no_coroutine(block: C.Block, ns: dict[str, Any]) -> None:
    """Refuse a coroutine left in a variable (a sync function returned one, never awaited)."""
    for name in block.binds:
        value = ns.get(name)
        if isinstance(value, CoroutineType):  # inspect.iscoroutine, without the call
            value.close()
            raise FormatError(f"`{name}` holds a coroutine that was never awaited; call an "
                              f"`async def` primitive directly (the engine awaits it)")
