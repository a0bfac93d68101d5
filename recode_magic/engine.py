"""The ReCode expansion loop: depth-first, statement by statement, with an explicit stack.

Never imports IPython or the widget: the magic and the widget subscribe to events.
"""

from __future__ import annotations

import ast
import linecache
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import code as C
from .errors import FormatError, PolicyError, RecodeError
from .limits import (
    block_timeout,
    capture_output,
    describe_exception,
    short_repr,
    user_traceback,
)
from .namespace import describe_primitive, discover_primitives, variable_lines
from .policy import DEFAULT_ALLOWED_IMPORTS, check_code
from .prompts import (
    FEW_SHOTS,
    Prompt,
    build_prompt,
    fixed_part,
    reask_feedback,
    repair_feedback,
)
from .runstate import Frame, RunState, leave
from .tree import Node, Run, Step

__all__ = ["ReCode", "Event", "ConfirmFn", "TASK_LIMIT"]

TASK_LIMIT = 4000  # characters of the task text shown in prompts (other values: repr_limit)

Event = Callable[[str, Run, "Node | None"], None]
ConfirmFn = Callable[[Node, str], "str | None"]


class _Stop(Exception):
    """Ends the drive loop with a run status (internal)."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


class ReCode:
    """Expand a task into code recursively and run it in a namespace.

    Parameters
    ----------
    llm : callable
        ``llm(prompt) -> str``.
    namespace : dict, optional
        Where the code runs; a fresh dict when None. One flat namespace for all nodes.
    max_depth : int
        A placeholder at this depth is not expanded (node ``stub``, run ``limit``).
    max_rewrite : int
        Extra model calls allowed for a reply that cannot be used (format, policy).
    max_retry : int
        Repairs of a node after a runtime error before the error goes to the parent.
    timeout : float, optional
        Seconds per block.
    rebindable : collection of str
        Names earlier runs created, which this run may assign again (the guarded policy
        protects every other name that existed before the run). Names each run creates
        are added to it, so re-running a task in the same namespace works.

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
                 timeout: float | None = None, *, tools: list[str] | None = None,
                 trust: bool = False, allowed_imports: Any = None, max_calls: int = 300,
                 max_nodes: int = 10_000, confirm: ConfirmFn | None = None,
                 on_event: Event | None = None, save_path: str | None = None,
                 few_shots: str = FEW_SHOTS, stdout_cap: int = 50_000,
                 repr_limit: int = 200, rebindable: Any = ()):
        if not callable(llm):
            raise TypeError(f"llm must be a callable llm(prompt) -> str, got {llm!r}")
        for label, value in (("max_depth", max_depth), ("max_rewrite", max_rewrite),
                             ("max_retry", max_retry)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{label} must be an int >= 0, got {value!r}")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        self.llm = llm
        self.namespace: dict[str, Any] = {} if namespace is None else namespace
        self.max_depth, self.max_rewrite, self.max_retry = max_depth, max_rewrite, max_retry
        self.timeout, self.tools, self.trust = timeout, tools, trust
        self.allowed_imports = (DEFAULT_ALLOWED_IMPORTS if allowed_imports is None
                                else frozenset(allowed_imports))
        self.max_calls, self.max_nodes, self.confirm = max_calls, max_nodes, confirm
        self.save_path, self.few_shots = save_path, few_shots
        self.stdout_cap, self.repr_limit = stdout_cap, repr_limit
        self.rebindable: set[str] = set(rebindable)
        self._subscribers: list[Event] = [on_event] if on_event else []
        self._last_save = 0.0

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
        """Expand and run ``task``; returns the :class:`Run` whatever its outcome."""
        if output is not None and not output.isidentifier():
            raise ValueError(f"output must be a variable name, got {output!r}")
        inputs = dict(inputs or {})
        for name in inputs:
            if not str(name).isidentifier() or name == "task":
                raise ValueError(f"input names must be identifiers other than 'task', "
                                 f"got {name!r}")
        ns = self.namespace
        ns["task"] = task
        ns.update(inputs)
        run = Run(task, inputs=list(inputs), output=output,
                  meta={"model": getattr(self.llm, "model", type(self.llm).__name__),
                        "max_depth": self.max_depth, "max_retry": self.max_retry,
                        "max_rewrite": self.max_rewrite, "timeout": self.timeout,
                        "trust": self.trust})
        run.namespace = ns
        prims = discover_primitives(ns, self.tools)
        run.meta["primitives"] = sorted(prims)
        state = RunState(fixed=fixed_part([describe_primitive(n, f) for n, f in prims.items()],
                                           self.few_shots),
                          primitives=frozenset(prims),
                          # names generated code may not rebind: pre-run variables (except
                          # the -o target and names earlier runs made) and every primitive
                          protected=frozenset(n for n in ns if n != output
                                              and n not in self.rebindable) | frozenset(prims),
                          before=frozenset(ns),
                          frames=[Frame(run.root)])
        run._state = state  # type: ignore[attr-defined]
        run.started = time.time()
        self._emit("run_start", run, None)
        return self._drive(run)

    def resume(self, run: Run) -> Run:
        """Continue an interrupted, failed or limited run from its first unfinished node."""
        state: RunState | None = getattr(run, "_state", None)
        if state is None or not state.frames:
            raise RecodeError(f"nothing to resume: the run ended {run.status!r} with no "
                              f"unfinished node (start a new run instead)")
        if run.namespace is not None and run.namespace is not self.namespace:
            self.namespace = run.namespace
        top = state.frames[-1]
        if top.node.status in ("stub", "error"):
            top.node.status, top.node.error = "pending", None
        run.error, run.ended = None, None
        return self._drive(run)

    # -- the loop ---------------------------------------------------------------------------
    def _drive(self, run: Run) -> Run:
        state: RunState = run._state  # type: ignore[attr-defined]
        run.status = "running"
        try:
            while state.frames:
                self._step(run, state)
            run.status = "done"
        except _Stop as stop:
            run.status, run.error = stop.status, str(stop)
        except KeyboardInterrupt:
            run.status, run.error = "interrupted", "interrupted (KeyboardInterrupt)"
            if state.frames:
                state.frames[-1].node.error = "interrupted here"
        except RecodeError as exc:  # model backend errors, missing replies
            run.status, run.error = "error", f"{type(exc).__name__}: {exc}"
            if state.frames:  # shown as failed; resume() sets it back to pending
                top = state.frames[-1].node
                top.status, top.error = "error", run.error
        finally:
            if self.namespace is run.namespace:
                self.rebindable |= set(run.namespace) - state.before - set(run.inputs)
            run.ended = time.time()
            self._save(run, force=True)
            self._emit("run_end", run, None)
        return run

    def _step(self, run: Run, state: RunState) -> None:
        frame = state.frames[-1]
        node = frame.node
        if frame.blocks is None:
            self._open(run, state, frame)
            return
        if frame.pc >= len(frame.blocks):
            missing = [t for t in node.targets if t not in self.namespace]
            if missing:
                self._fail(run, state, f"NameError: `{node.name}` finished without assigning "
                                       f"{', '.join(f'`{m}`' for m in missing)} (the caller "
                                       f"expects it)", frame.ran[-1] if frame.ran else node.call)
                return
            self._finish(run, state, "done")
            return
        block = frame.blocks[frame.pc]
        try:  # checked again at run time: earlier statements may have unbound a name
            ph = (C.find_placeholder(block, self._known) if not block.binds >= block.calls
                  else None)
        except FormatError as exc:
            self._fail(run, state, f"FormatError: {exc}", block.source)
            return
        if ph is not None:
            self._push_child(run, state, frame, block, ph)
        else:
            self._exec(run, state, frame, block)

    def _summary(self, value: Any) -> str:
        # the task text is the user's own words: keep far more of it than of other values
        limit = max(self.repr_limit, TASK_LIMIT) if value is self.namespace.get("task") \
            else self.repr_limit
        return short_repr(value, limit)

    def _known(self, name: str) -> bool:
        return name in self.namespace or name in C.BUILTIN_NAMES

    def _open(self, run: Run, state: RunState, frame: Frame) -> None:
        """Expand the node on top of the stack (or stop at the depth limit)."""
        node = frame.node
        if node.depth >= self.max_depth and node.parent is not None:
            node.status = "stub"
            self._emit("node", run, node)
            raise _Stop("limit", f"depth limit reached at `{node.call}` (max_depth="
                                 f"{self.max_depth})")
        node.status, node.started = "running", node.started or time.time()
        self._emit("node", run, node)
        blocks = self._expand(run, state, frame, feedback=None)
        if blocks is None:
            return
        if not blocks:
            self._finish(run, state, "skipped")
            return
        frame.blocks = blocks

    @staticmethod
    def _recursion_check(state: RunState, node: Node) -> Callable[[C.Placeholder], bool]:
        """True for a placeholder that repeats an ancestor's call (same name and arguments).

        Walks up only when an ancestor has that name; signatures are computed lazily.
        """
        def recursive(ph: C.Placeholder) -> bool:
            if not state.active.get(ph.name):
                return False
            cur: Node | None = node
            while cur is not None:
                own = getattr(cur, "_placeholder", None)
                if own is not None and own.name == ph.name and own.signature == ph.signature:
                    return True
                cur = cur.parent
            return False
        return recursive

    def _expand(self, run: Run, state: RunState, frame: Frame,
                feedback: str | None) -> list[C.Block] | None:
        """Ask the model for the node's code until it is usable; None if the node failed."""
        node = frame.node
        names = getattr(node, "_variables", None) or ["task", *run.inputs]
        variables = variable_lines(names, self.namespace, self._summary)
        forbidden = self._recursion_check(state, node)
        hint, last, previous = None, "", ""
        for attempt in range(self.max_rewrite + 1):
            if hint:  # show the unusable answer: at temperature 0 the same prompt repeats it
                hint = reask_feedback(hint, previous, attempt)
            text = "\n".join(p for p in (feedback, hint) if p) or None
            prompt = build_prompt(state.fixed, node.call, variables, name=node.name,
                                  feedback=text)
            reply = self._ask(run, node, prompt)
            previous = reply.strip()[:2000]
            try:
                thought, code = C.parse_reply(reply)
                previous = code[:2000]
                blocks = self._plan(state, frame, code, forbidden)
            except FormatError as exc:
                last = str(exc)
                node.attempts.append({"reply": reply[:20_000], "error": last})
                hint = (f"{exc.hint}" if isinstance(exc, PolicyError)
                        else f"{last}. Fix it and answer again in the same format.")
                self._emit("node", run, node)
                continue
            if self.confirm is not None and code:
                approved = self.confirm(node, code)
                if approved is None:
                    raise _Stop("interrupted", f"code for `{node.name}` rejected by the user "
                                               f"(%recode resume asks the model again)")
                if approved != code:
                    code = approved
                    blocks = self._plan(state, frame, code, forbidden)
            node.thought, node.reply = thought, reply
            node.code = "\n".join([*frame.ran, code]) if frame.ran else code
            self._emit("node", run, node)
            return blocks
        self._fail(run, state, f"FormatError: no usable code for `{node.name}` after "
                               f"{self.max_rewrite + 1} replies (last: {last})", None,
                   repairable=False)
        return None

    def _plan(self, state: RunState, frame: Frame, code: str,
              recursive: Callable[[C.Placeholder], bool]) -> list[C.Block]:
        filename = f"<recode:{frame.node.id}:{frame.node.name}:{len(frame.node.attempts)}>"
        blocks = C.plan_blocks(code, self._known, filename=filename, recursive=recursive)
        for block in blocks:
            ph = block.placeholder
            if ph is not None and ph.name == frame.node.name:
                raise FormatError(
                    f"`{ph.name}` is the step you are expanding: do not call it again, with any "
                    f"arguments; write this step with the primitives, or split it into "
                    f"different, more specific placeholders", reply=code)
        if not self.trust:
            for block in blocks:
                check_code(block.stmt, protected=state.protected,
                           allowed_imports=self.allowed_imports)
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        return blocks

    def _ask(self, run: Run, node: Node, prompt: Prompt) -> str:
        if run.llm_calls >= self.max_calls:
            raise _Stop("limit", f"model call limit reached (max_calls={self.max_calls})")
        node.prompt = str(prompt)
        if hasattr(self.llm, "on_text"):
            def on_text(text: str, _node: Node = node) -> None:
                _node.reply_partial = text  # type: ignore[attr-defined]
                self._emit("stream", run, _node)
            self.llm.on_text = on_text  # type: ignore[attr-defined]
        reply = self.llm(prompt)
        run.llm_calls += 1  # answered calls: one cut off by Ctrl-C is asked again on resume
        node.llm_calls += 1
        usage = getattr(self.llm, "last_usage", None)
        if isinstance(usage, dict):
            for k, v in usage.items():
                if isinstance(v, (int, float)):
                    node.usage[k] = node.usage.get(k, 0) + int(v)
        if isinstance(reply, bytes):
            reply = reply.decode("utf-8", errors="replace")
        return reply if isinstance(reply, str) else str(reply)

    def _push_child(self, run: Run, state: RunState, frame: Frame, block: C.Block,
                    ph: C.Placeholder) -> None:
        if len(run._by_id) >= self.max_nodes:
            raise _Stop("limit", f"node limit reached (max_nodes={self.max_nodes})")
        parent = frame.node
        try:
            for key, expr in C.iter_literal_keywords(ph):
                if isinstance(expr, ast.Name) and expr.id == key:
                    continue  # `f(items=items)`: already bound under that name
                value = eval(compile(ast.Expression(expr), block.filename,
                                     "eval"), self.namespace)
                if key in self.namespace and self.namespace[key] is value:
                    continue
                if not self.trust and key in state.protected:
                    raise PolicyError(f"rule no-rebind: keyword `{key}=` would overwrite "
                                      f"`{key}`, which existed before the run; use another "
                                      f"keyword name", rule="no-rebind")
                self.namespace[key] = value
        except Exception as exc:
            self._fail(run, state, describe_exception(exc), block.source)
            return
        child = run.new_node(ph.name, block.source, parent=parent, targets=ph.targets)
        child._placeholder = ph  # type: ignore[attr-defined]
        child._variables = C.placeholder_variables(ph)  # type: ignore[attr-defined]
        frame.child_block = block
        parent.status = "expanded"
        self._emit("node", run, parent)
        state.frames.append(Frame(child))
        state.active[ph.name] = state.active.get(ph.name, 0) + 1
        self._emit("node", run, child)

    def _exec(self, run: Run, state: RunState, frame: Frame, block: C.Block) -> None:
        node = frame.node
        step = Step(code=block.source,
                    primitives=sorted(n for n in block.calls if n in state.primitives))
        node.steps.append(step)
        try:
            with capture_output(self.stdout_cap) as out:
                try:
                    with block_timeout(self.timeout):
                        exec(block.code, self.namespace)  # noqa: S102 - the product
                finally:
                    step.stdout = out.text
                    node.stdout += out.text
        except NameError as exc:
            name = getattr(exc, "name", None)
            ph = (C.find_placeholder(block, lambda n: n != name and self._known(n))
                  if name in block.calls else None)
            if ph is not None and ph.name == name:   # fallback: a placeholder found late
                node.steps.pop()
                self._push_child(run, state, frame, block, ph)
                return
            step.error = describe_exception(exc)
            self._fail(run, state, user_traceback(exc), block.source)
            return
        except Exception as exc:
            step.error = describe_exception(exc)
            self._fail(run, state, user_traceback(exc), block.source)
            return
        frame.ran.append(block.source)
        frame.pc += 1
        self._emit("node", run, node)

    def _finish(self, run: Run, state: RunState, status: str) -> None:
        frame = state.frames.pop()
        node = frame.node
        leave(state, node)
        node.status, node.ended = status, time.time()
        self._emit("node", run, node)
        self._save(run)
        if state.frames:
            parent = state.frames[-1]
            block = parent.child_block
            assert block is not None
            parent.node.steps.append(Step(code=block.source, kind="placeholder", child=node.id))
            parent.node.stdout += node.stdout
            parent.ran.append(block.source)
            parent.child_block = None
            parent.pc += 1
            parent.node.status = "running"
            self._emit("node", run, parent.node)

    def _fail(self, run: Run, state: RunState, error: str, line: str | None, *,
              repairable: bool = True) -> None:
        """Repair the failing node (re-expand with the error) or pass the error up."""
        while state.frames:
            frame = state.frames[-1]
            node = frame.node
            if repairable and frame.blocks is not None and frame.retries < self.max_retry:
                frame.retries += 1
                feedback = repair_feedback(frame.ran, error, line)
                node.attempts.append({"error": error, "repair": frame.retries})
                frame.child_block = None
                blocks = self._expand(run, state, frame, feedback=feedback)
                if blocks is None:      # the repair itself failed: already handled
                    return
                blocks = _drop_ran_prefix(blocks, frame.ran)  # the model started over
                frame.blocks = frame.blocks[:frame.pc] + blocks
                node.status = "running"
                self._emit("node", run, node)
                return
            node.status, node.error, node.ended = "error", error, time.time()
            state.frames.pop()
            leave(state, node)
            self._emit("node", run, node)
            self._save(run)
            if not state.frames:
                raise _Stop("error", error.strip().splitlines()[-1] if error.strip() else error)
            parent = state.frames[-1]
            line = parent.child_block.source if parent.child_block else node.call
            error = f"placeholder `{node.name}` failed: {error.strip().splitlines()[-1]}"
            repairable = True

    # -- events and saving --------------------------------------------------------------------
    def _emit(self, event: str, run: Run, node: Node | None) -> None:
        for cb in self._subscribers:
            cb(event, run, node)

    def _save(self, run: Run, force: bool = False) -> None:
        if not self.save_path:
            return
        now = time.monotonic()
        if force or now - self._last_save >= 0.25:
            run.save(self.save_path)
            self._last_save = now


def _drop_ran_prefix(blocks: list[C.Block], ran: list[str]) -> list[C.Block]:
    """Drop a repair's leading statements that already ran (the model restarted the step)."""
    i = 0
    while i < len(blocks) and i < len(ran) and blocks[i].source.strip() == ran[i].strip():
        i += 1
    return blocks[i:]

