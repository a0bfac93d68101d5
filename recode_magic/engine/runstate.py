"""The engine's resumable state of one run: the frame stack and per-run facts.

A :class:`RunState` lives in ``Run.state`` (a declared field, never serialised) from
``ReCode.run`` on; it keeps the settings, model and confirm callback the run started with,
so ``ReCode.resume(run)`` needs nothing but the run.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..pycode import code as C
from ..runs.status import NodeStatus
from ..runs.tree import Node
from .settings import Settings
from .spend import Spend

__all__ = ["Frame", "RunState", "Stop", "MISSING", "ConfirmFn", "decomposed"]

#: ``confirm(node, code) -> code to run | None`` (None: rejected, the run stops).
ConfirmFn = Callable[[Node, str], "str | None"]
MISSING: Any = object()  # "no value": a shadowed name that was not bound before


class Stop(Exception):  # noqa: N818 - a control-flow signal, not an error of the user
    """Ends the drive loop with a run status (internal to the engine)."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Frame:
    """One node being run: its blocks, the next one, repairs so far, the statement it waits on.

    ``placeholder`` is the parsed call that created the node (None for the root);
    ``variables`` the names its prompt describes; ``shadowed`` the user's values that a
    keyword argument of its call hid (put back when the node ends, or when the run stops),
    ``keywords`` the values that hid them (set again when the run resumes).
    """

    node: Node
    blocks: list[C.Block] | None = None
    pc: int = 0
    retries: int = 0
    child_block: C.Block | None = None  # the placeholder statement whose child is running
    ran: list[str] = field(default_factory=list)  # sources of blocks that ran
    placeholder: C.Placeholder | None = None
    variables: Sequence[str] = ()  # the placeholder's own tuple (never changed)
    shadowed: dict[str, Any] = field(default_factory=dict)
    keywords: dict[str, Any] = field(default_factory=dict)
    result_checked: bool = False  # the result check (:mod:`resultcheck`) ran once
    outside: bool = False  # a statement called a primitive or another function of the user's
    last_feedback: str | None = None  # what the last repair/re-plan said (repeats are marked)
    unwritable: dict[str, str] = field(default_factory=dict)  # child -> why it got no code
    #: a second ask (repair, re-plan, result check, decomposition) a stop cut: the machine
    #: that resumes the run calls ``redo(machine)`` first (not the statement before it)
    redo: Callable[[Any], object] | None = None


@dataclass
class RunState:
    """What a run needs to go on: settings, model, fixed prompt part, names, the frame stack.

    ``protected`` holds the names generated code may not rebind (pre-run variables and the
    primitives); ``before`` every name bound before the run; ``checks`` the primitives'
    ``check`` callables; ``async_primitives`` those defined with ``async def``; ``spend``
    what the model calls cost so far (budgets); ``token`` a per-run suffix of the file
    names generated code is compiled under, ``sources`` their text (for tracebacks).
    """

    settings: Settings
    llm: Callable[[str], str]
    fixed: str
    primitives: frozenset[str]
    protected: frozenset[str]
    before: frozenset[str]
    frames: list[Frame]
    confirm: ConfirmFn | None = None
    checks: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    async_primitives: frozenset[str] = frozenset()
    example_names: frozenset[str] = frozenset()  # called in the few-shots, not real here
    active: dict[str, int] = field(default_factory=dict)  # names of the nodes on the stack
    assigned: set[str] = field(default_factory=set)  # names statements of the run bound
    last_save: float = 0.0
    spend: Spend = field(default_factory=Spend)
    token: str = field(default_factory=lambda: secrets.token_hex(4))
    sources: dict[str, str] = field(default_factory=dict)  # compile file name -> code

    def push(self, frame: Frame) -> None:
        """Put ``frame`` on the stack (its node becomes an active ancestor)."""
        self.frames.append(frame)
        if frame.node.parent is not None:
            self.active[frame.node.name] = self.active.get(frame.node.name, 0) + 1

    def pop(self) -> Frame:
        """Take the top frame off the stack (its node finished or failed)."""
        frame = self.frames.pop()
        node = frame.node
        if node.parent is not None and self.active.get(node.name):
            self.active[node.name] -= 1
        return frame

    def repeats_ancestor(self, ph: C.Placeholder) -> bool:
        """True for a placeholder that repeats an ancestor's call (same name and arguments).

        The ancestors of the node being expanded are exactly the frames on the stack.
        """
        if not self.active.get(ph.name):
            return False
        return any(f.placeholder is not None and f.placeholder.name == ph.name
                   and f.placeholder.signature == ph.signature for f in self.frames)

    def stopped(self, why: str) -> list[Node]:
        """Say on the node the run stopped in why it stopped (its error); [it] or [].

        Statuses stay the pinned values (``running``/``pending`` the node worked on,
        ``expanded`` the ancestors waiting for it; the views draw them ``interrupted``); one
        that already ended ``error`` or ``stub`` (an error, the depth limit) keeps its error.
        :meth:`going_on` clears it when the run goes on.
        """
        if not self.frames:
            return []
        node = self.frames[-1].node
        if node.status not in _UNFINISHED:
            return []
        node.error = f"{STOPPED}{why}"
        return [node]

    def going_on(self) -> list[Node]:
        """Set the top node back to where the run left it (a resume); [it] if it changed.

        The error :meth:`stopped` wrote is cleared; a top node whose code was laid out and
        that reads ``pending`` (``resume`` sets a failed one back) runs on: ``running``.
        """
        if not self.frames:
            return []
        frame = self.frames[-1]
        node, changed = frame.node, False
        if node.status in _UNFINISHED and (node.error or "").startswith(STOPPED):
            node.error, changed = None, True
        if node.status == NodeStatus.PENDING and frame.blocks is not None:
            node.status, changed = NodeStatus.RUNNING, True
        return [node] if changed else []


#: The start of the error :meth:`RunState.stopped` writes on the node a run stopped in.
STOPPED = "stopped here: "
#: What a node on the stack reads while the run goes on (``expanded``: below the top).
_UNFINISHED = (NodeStatus.RUNNING, NodeStatus.EXPANDED, NodeStatus.PENDING)


def decomposed(node: Node) -> bool:
    """True when ``node`` was decomposed into a plan (its children are its sub-steps)."""
    if not node.attempts:  # the common case: no generator made
        return False
    return any(a.get("kind") == "decompose" for a in node.attempts)
