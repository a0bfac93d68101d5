"""The engine's resumable state: the stack of frames being run and per-run facts."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import code as C
from .tree import Node

__all__ = ["Frame", "RunState", "leave"]


@dataclass
class Frame:
    """One node being run: its blocks, the next one, repairs so far, the statement it waits on."""

    node: Node
    blocks: list[C.Block] | None = None
    pc: int = 0
    retries: int = 0
    child_block: C.Block | None = None  # the placeholder statement whose child is running
    ran: list[str] = field(default_factory=list)  # sources of blocks that ran


@dataclass
class RunState:
    """What a run needs to go on: fixed prompt part, names, the frame stack."""

    fixed: str
    primitives: frozenset[str]
    protected: frozenset[str]  # includes the primitives
    before: frozenset[str]
    frames: list[Frame]
    active: dict[str, int] = field(default_factory=dict)  # names of the nodes on the stack


def leave(state: RunState, node: Node) -> None:
    """Forget ``node`` as an active ancestor (it finished or failed)."""
    if node.parent is not None and state.active.get(node.name):
        state.active[node.name] -= 1
