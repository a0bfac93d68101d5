"""A node's fork: :class:`Alternative`, one version of its expansion (see steering.steer).

Pure data, like :mod:`recode_magic.runs.tree` (which holds it in ``Node.alternatives`` and
serialises it); the figures are read from the version's subtree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .status import NodeStatus
    from .tree import Node

__all__ = ["Alternative"]


@dataclass(eq=False)
class Alternative:
    """One version of a node's expansion: a fork kept when the node is regenerated or edited.

    ``node`` holds the version: the live node itself for the current alternative, otherwise
    a detached copy of the node (same id and call) whose ``children`` are that version's
    subtree. ``cost_usd`` is filled by :mod:`recode_magic.steering.steer` when it is known.
    """

    id: str
    node: Node = field(repr=False)
    label: str = ""
    created: float | None = None
    model: str = ""
    cost_usd: float | None = None

    @property
    def code(self) -> str:
        """The version's code."""
        return self.node.code

    @property
    def thought(self) -> str:
        """The version's thought."""
        return self.node.thought

    @property
    def status(self) -> NodeStatus:
        """The version's status."""
        return self.node.status

    @property
    def children(self) -> list[Node]:
        """The version's subtree (its children)."""
        return self.node.children

    @property
    def llm_calls(self) -> int:
        """Model calls of the whole version (the node and its subtree)."""
        return sum(n.llm_calls for n in self.node.walk())

    @property
    def usage(self) -> dict[str, int]:
        """Token usage of the whole version, summed."""
        total: dict[str, int] = {}
        for n in self.node.walk():
            for k, v in n.usage.items():
                if isinstance(v, (int, float)):
                    total[k] = total.get(k, 0) + int(v)
        return total

    @property
    def tokens(self) -> int:
        """All tokens of the version (every ``*tokens`` count of :attr:`usage`)."""
        return sum(v for k, v in self.usage.items() if k.endswith("tokens"))
