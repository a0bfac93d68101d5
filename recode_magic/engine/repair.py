"""How a node ends: its result checked, a failing node repaired or re-planned.

:class:`Repairs` is the part of :class:`~recode_magic.engine.machine.Machine` that decides what
happens when a node's code has run (:meth:`~Repairs.close`: results assigned and not empty,
see :mod:`recode_magic.engine.resultcheck`) or a statement failed (:meth:`~Repairs.fail`): ask the
model again with what went wrong (a repair), with what the world answered (a re-plan), or
pass the error up to the parent. A node that ran only its own code is asked for again whole
and runs again from its start; a node that touched the world is asked only for the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from ..prompting.feedback import (
    decompose_feedback,
    heard_feedback,
    ran_with_answers,
    repair_feedback,
    replan_feedback,
    restart_feedback,
    result_feedback,
)
from ..pycode import code as C
from ..pycode.limits import short_repr
from ..pycode.namespace import ACTION_ATTR, describe_primitive
from ..runs.status import NodeStatus, RunStatus
from ..runs.tree import Node, Step
from .expander import NoUsableCode
from .guards import call_hint, lookup_shapes, unknown_key
from .part import MachinePart
from .resultcheck import first_empty
from .runstate import Frame, Stop, decomposed
from .sampling import ran_to_results

__all__ = ["Repairs", "one_line", "DECOMPOSE_DEPTH"]

#: Nodes deeper than this are not decomposed (each sub-step may be decomposed in turn).
DECOMPOSE_DEPTH = 2


def one_line(text: str) -> str:
    """The last line of ``text`` (an error's ``Type: message``), stripped.

    >>> one_line("Traceback ...\\n  x\\nValueError: bad\\n")
    'ValueError: bad'
    """
    text = text.strip()
    return text.splitlines()[-1] if text else text


class Repairs(MachinePart):
    """Ending nodes: :meth:`close`, :meth:`recheck`, :meth:`fail` (a base of ``Machine``)."""

    def finish(self, status: NodeStatus) -> None:
        """Defined by :class:`~recode_magic.engine.machine.Machine`."""
        raise NotImplementedError

    def restore(self, frame: Frame, *, final: bool = True) -> None:
        """Defined by :class:`~recode_magic.engine.machine.Machine`."""
        raise NotImplementedError

    def save(self, force: bool = False) -> None:
        """Defined by :class:`~recode_magic.engine.machine.Machine`."""
        raise NotImplementedError

    def ask_ahead(self, frame: Frame, start: int, dirty: set[str] | None = None) -> None:
        """Defined by :class:`~recode_magic.engine.machine.Machine`."""
        raise NotImplementedError

    def close(self, frame: Frame) -> None:
        """The node's last block ran: check its targets were assigned, then finish it."""
        node, st, ns = frame.node, self.state, self.ns
        missing: list[str] = []
        stale: list[str] = []
        for t in node.targets:  # a loop, not two comprehensions (the per-node path)
            if t not in ns:
                missing.append(t)
            elif t in st.before and t not in self.assigned:
                stale.append(t)
        check = st.settings.check_results and not frame.result_checked
        if missing and check:
            self.recheck(frame, missing[0])
        elif missing:
            self.fail(f"NameError: `{node.name}` finished without assigning "
                      f"{', '.join(f'`{m}`' for m in missing)} (the caller expects it)",
                      frame.ran[-1] if frame.ran else node.call)
        elif stale:
            self.fail(f"NameError: `{stale[0]}` was never assigned by `{node.name}` (it "
                      f"keeps the value it had before the run)",
                      frame.ran[-1] if frame.ran else node.call)
        elif not (_pure(frame) and self.second_look(frame, check)):
            self.finish(NodeStatus.DONE)

    def second_look(self, frame: Frame, check: bool) -> bool:
        """A pure node that ran to its end: ask for it again if it looks wrong (True).

        Only a node that called no primitive: a None from a side-effecting primitive
        (`r = move(...)`) is no sign of a mistake, and asking again would repeat it. Its
        result empty: re-planned once (``check``), then decomposed; its sampled programs
        all disagreeing: decomposed (``decompose``).
        """
        node, s = frame.node, self.state.settings
        empty = first_empty(self.ns, node.targets) if s.check_results else None
        if empty is not None and check:
            self.recheck(frame, empty)
            return True
        if not s.decompose:
            return False
        then = partial(Repairs.close, frame=frame)  # a resumed decomposition with no plan
        if empty is not None and self.decompose(
                frame, f"`{empty}` is still empty after the step ran "
                       f"(= {short_repr(self.ns[empty], 60)})", then):
            return True
        why = _unsure(node)
        return bool(why) and self.decompose(frame, why, then)

    def recheck(self, frame: Frame, name: str) -> None:
        """Re-plan a node that left its result ``name`` unset or empty (once: :mod:`.resultcheck`).

        A node that called no primitive and had no children is asked for again whole and
        run from its start; otherwise only for what is missing, after what ran.
        """
        node, ran, blocks = frame.node, frame.ran, frame.blocks or []
        frame.result_checked = True
        restart = _pure(frame)
        shown = short_repr(self.ns[name], 120) if name in self.ns else None
        seen = sorted({n for b in blocks[:frame.pc] for n in b.binds if n in self.ns})
        node.attempts.append({"kind": "replan", "code": (node.code or "")[:20_000],
                              "error": f"`{name}` is empty: {shown}" if shown is not None
                              else f"`{name}` was never assigned"})
        feedback = result_feedback(node.code or "", name, shown, restart=restart,
                                   variables=[f"{n} = {short_repr(self.ns[n], 200)}"
                                              for n in seen[:8]])
        if restart:
            frame.ran = []
        self._recheck_ask(frame, feedback, restart, ran)

    def _recheck_ask(self, frame: Frame, feedback: str, restart: bool, ran: list[str]) -> None:
        """Ask for the re-plan of :meth:`recheck` (again: a resumed run), then go on."""
        try:
            new = self.ask_again(frame, feedback, partial(
                Repairs._recheck_ask, frame=frame, feedback=feedback, restart=restart, ran=ran))
        except NoUsableCode:
            frame.ran = ran
            self.close(frame)  # as it would have ended (result_checked: no second check)
            return
        if restart:
            frame.pc = 0
        self.go_on(frame, new)

    def ask_again(self, frame: Frame, feedback: str,
                  redo: Callable[[Repairs], object]) -> list[C.Block]:
        """The node's code asked for again with ``feedback`` (a repair, a re-plan...).

        A stop while the model is asked (a limit, Ctrl-C) leaves ``redo`` on the frame:
        ``Machine.step`` calls it first, with the machine that resumes the run (a new one,
        with the settings the resume gave), so the same question is asked again and what
        follows it runs, rather than the statement that led to it.
        """
        frame.redo = redo
        try:
            blocks = self.x.expand(self.run, frame, feedback=feedback)
        except NoUsableCode:
            frame.redo = None
            raise
        frame.redo = None
        return blocks

    def go_on(self, frame: Frame, new: list[C.Block]) -> None:
        """Run the node on with ``new`` blocks in place of those from ``frame.pc`` on.

        Leading statements of ``new`` that already ran are dropped (the model started over).
        """
        frame.blocks = (frame.blocks or [])[:frame.pc] + _drop_ran_prefix(new, frame.ran)
        frame.node.status = NodeStatus.RUNNING
        self.emit("node", self.run, frame.node)
        self.ask_ahead(frame, frame.pc)

    def fail(self, error: str, line: str | None, *, repairable: bool = True,
             observation: str | None = None) -> None:
        """Repair the failing node (re-expand it with the error) or pass the error up.

        With ``observation`` the failure is the world refusing a step: the node is re-planned
        (attempt kind ``replan``) with what the world answered.
        """
        state = self.state
        while state.frames:
            frame = state.frames[-1]
            node = frame.node
            if observation is None and "BlockTimeoutError" in one_line(error) \
                    and self.decompose(frame, error, partial(  # a repair would loop again
                        Repairs.fail, error=error, line=line, repairable=repairable)):
                return
            if repairable and frame.blocks is not None \
                    and frame.retries < state.settings.max_retry:
                frame.retries += 1
                kind = "repair" if observation is None else "replan"
                restart = observation is None and _pure(frame)
                ran = [] if restart else ran_with_answers(frame.ran, node.steps)
                feedback = (restart_feedback(node.code or "", error, line) if restart
                            else repair_feedback(ran, error, line) if observation is None
                            else replan_feedback(ran, line or "?", observation))
                node.attempts.append({"kind": kind, "error": one_line(error),
                                      "repair": frame.retries})
                frame.child_block = None
                same, frame.last_feedback = feedback == frame.last_feedback, feedback
                if observation is None and state.settings.ground:
                    feedback += self._grounding(line, error)
                if same:  # at temperature 0 the same question gets the same answer again
                    feedback += ("\nYour previous answer to this same situation failed the "
                                 "same way: do not write it again; try another command or "
                                 "another way.")
                if restart:
                    frame.ran, frame.pc = [], 0
                try:
                    blocks = self.ask_again(frame, feedback, partial(
                        Repairs._repair_again, frame=frame, feedback=feedback))
                except NoUsableCode as exc:
                    error, line, repairable, observation = str(exc), None, False, None
                    continue
                self.go_on(frame, blocks)
                return
            if observation is None and self.decompose(frame, error, partial(
                    Repairs.fail, error=error, line=line, repairable=repairable)):
                return
            error, line = self._pass_up(frame, error, repairable)
            repairable, observation = True, None

    def _pass_up(self, frame: Frame, error: str, repairable: bool) -> tuple[str, str]:
        """End ``frame``'s node ``error``; the error and line its parent fails with next.

        The parent's turn is its ``redo`` until taken, so a stop as the failed node is
        reported (a subscriber raising, Ctrl-C) resumes there. The root: the run ends error.
        """
        state, node = self.state, frame.node
        node.status, node.error, node.ended = NodeStatus.ERROR, error, time.time()
        state.pop()
        self.restore(frame)
        if not state.frames:
            self.emit("node", self.run, node)
            self.save()
            raise Stop(RunStatus.ERROR, one_line(error) or error)
        parent = state.frames[-1]
        line = parent.child_block.source if parent.child_block else node.call
        if not repairable:  # the model could not write it: the parent may not ask again
            parent.unwritable[node.name] = one_line(error)
        passed = f"placeholder `{node.name}` failed: {one_line(error)}"
        parent.redo = partial(Repairs.fail, error=passed, line=line, repairable=True)
        self.emit("node", self.run, node)
        self.save()
        return passed, line

    def _repair_again(self, frame: Frame, feedback: str) -> None:
        """The repair or re-plan of :meth:`fail` a stop cut, asked again (a resumed run)."""
        try:
            blocks = self.ask_again(frame, feedback, partial(
                Repairs._repair_again, frame=frame, feedback=feedback))
        except NoUsableCode as exc:
            self.fail(str(exc), None, repairable=False)  # as fail() goes on
            return
        self.go_on(frame, blocks)

    def _grounding(self, line: str | None, error: str) -> str:
        """What the repair is told of the real data and primitives (``ground``, issue 21)."""
        prims = self.state.primitives
        hints = [lookup_shapes(line, self.ns, error, skip=prims),
                 unknown_key(error, self.run.task)]
        if "TypeError" in error:
            lines = {n: describe_primitive(n, self.ns[n]) for n in sorted(prims)
                     if callable(self.ns.get(n))}
            hints.append(call_hint(line, error, lines))
        return "".join(f"\n{h}" for h in hints if h)

    def decompose(self, frame: Frame, error: str, then: Callable[[Repairs], object]) -> bool:
        """Ask once for ``frame``'s step as a plan of new sub-steps (ADaPT-style, issue 21).

        For a node whose flat code failed after its repairs, ran into the timeout, or left
        its result empty: the model writes only lines ``x = new_step(inputs)`` (at least two,
        checked by the expander), each expanded later as a child. A node that touched
        nothing outside is planned whole and runs again from its start; otherwise the plan
        is for the rest, after what ran. False: not decomposed (off, done once already, too
        deep, or no usable plan), the caller goes on as before; ``then`` is how it goes on
        when a resumed run asks for the plan a stop cut (the caller again: it then finds
        the decomposition tried).
        """
        node, s = frame.node, self.state.settings
        if (not s.decompose or node.depth >= min(DECOMPOSE_DEPTH, s.max_depth - 1)
                or decomposed(node)):
            return False
        restart = _pure(frame) or frame.blocks is None
        feedback = decompose_feedback(node.code or "", error, frame.ran, node.targets,
                                      restart=restart)
        node.attempts.append({"kind": "decompose", "error": one_line(error)})
        ran, pc = frame.ran, frame.pc
        if restart:
            frame.ran, frame.pc = [], 0
        frame.child_block = None
        return self._plan_ask(frame, feedback, (ran, pc), then)

    def _plan_ask(self, frame: Frame, feedback: str, at: tuple[list[str], int],
                  then: Callable[[Repairs], object], resumed: bool = False) -> bool:
        """Ask for the plan of :meth:`decompose` (``resumed``: asked again, see ``then``)."""
        self.x.plan_only = True
        try:
            blocks = self.ask_again(frame, feedback, partial(
                Repairs._plan_ask, frame=frame, feedback=feedback, at=at, then=then,
                resumed=True))
        except NoUsableCode:
            frame.ran, frame.pc = at
            if resumed:
                then(self)
            return False
        finally:
            self.x.plan_only = False
        frame.retries = max(frame.retries, self.state.settings.max_retry - 1)  # one repair
        frame.result_checked = True                                            # for the plan
        self.go_on(frame, blocks)
        return True


    def heard(self, frame: Frame, step: Step) -> bool:
        """After an action's statement ran: ask for the rest of the step from its answer.

        Only for primitives marked ``@primitive(action=True)`` and when statements are left
        (the plan written before the world answered is shown, to keep or change). True: the
        rest was replaced (or the model gave nothing usable: the plan goes on as written,
        False).
        """
        s, node = self.state.settings, frame.node
        blocks = frame.blocks or []
        if not s.world_answers or frame.pc >= len(blocks) or not any(
                getattr(self.ns.get(n), ACTION_ATTR, False) for n in step.primitives):
            return False
        again = any(st is not step and st.code == step.code and st.answers == step.answers
                    and st.error is None for st in node.steps)
        feedback = heard_feedback(ran_with_answers(frame.ran, node.steps),
                                  [b.source for b in blocks[frame.pc:]],
                                  repeated=step.code if again else None)
        node.attempts.append({"kind": "observe", "error": step.answers[-1][:300]
                              if step.answers else ""})
        return self._heard_ask(frame, feedback)

    def _heard_ask(self, frame: Frame, feedback: str) -> bool:
        """Ask for the rest of the step of :meth:`heard` (again: a resumed run), then go on."""
        try:
            new = self.ask_again(frame, feedback, partial(
                Repairs._heard_ask, frame=frame, feedback=feedback))
        except NoUsableCode:
            return False  # the plan goes on as written
        self.go_on(frame, new)
        return True


def _pure(frame: Frame) -> bool:
    """True when the node ran only its own code (no child, primitive or user function).

    "User function": any name the namespace held before the run (builtins are not there).
    Such a node can be asked for again whole and run from its start (repairs, result check).
    """
    if frame.outside:
        return False
    for st in frame.node.steps:  # a loop, not all(generator): the per-node path
        if st.kind != "code":
            return False
    return True


def _unsure(node: Node) -> str:
    """Why the model's sampled programs for ``node`` were no answer ("" when they were).

    Candidates for the step that gave as many results as there were programs that ran
    (no two agree, at least two ran): the step is decomposed like one that failed
    (``decompose`` on; ADaPT-style, issue 21). The programs ran without an error, so the
    reason says they disagreed rather than pointing at one.
    """
    sample = next((a for a in reversed(node.attempts) if a.get("kind") == "sample"), None)
    if sample is None or sample.get("agree", 0) >= 2:
        return ""
    ran = ran_to_results(sample)
    if len(ran) < 2:
        return ""
    return (f"ValueError: {len(ran)} programs written for this step gave {len(set(ran))} "
            f"different results; it is too much for one program")


def _drop_ran_prefix(blocks: list[C.Block], ran: list[str]) -> list[C.Block]:
    """Drop a repair's leading statements that already ran (the model restarted the step)."""
    i = 0
    while i < len(blocks) and i < len(ran) and blocks[i].source.strip() == ran[i].strip():
        i += 1
    return blocks[i:]

