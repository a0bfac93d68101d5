"""Node and run statuses: str-valued enums, so ``node.status == "done"`` and JSON keep working.

>>> NodeStatus.DONE == "done", json.dumps({"s": RunStatus.LIMIT}), NodeStatus.DONE
(True, '{"s": "limit"}', 'done')
>>> TO_V1[NodeStatus.SKIPPED], FROM_V1["COMPLETED"]
('SKIP', 'done')
"""

from __future__ import annotations

import json  # noqa: F401 - used by the module doctest
from enum import Enum

__all__ = ["NodeStatus", "RunStatus", "TO_V1", "FROM_V1", "NODE_STATUSES", "RUN_STATUSES",
           "STATUS_ICONS", "STATUS_ASCII", "STATUS_COLORS", "RUN_ICONS", "DISPLAY"]


class NodeStatus(str, Enum):
    """Where a node is: ``pending`` → ``running`` → ``expanded``/``done`` (or error...).

    The seven values are the pinned public API (DESIGN.md). A run that stops (a limit,
    Ctrl-C, a rejected step, an error outside the node's code) leaves the nodes on its stack
    as they were (``running``/``pending`` the one it worked on, whose error says why, drawn
    ``interrupted`` by the views; ``expanded`` the ancestors waiting for it), and ``resume``
    goes on with them.
    """

    PENDING = "pending"
    RUNNING = "running"
    EXPANDED = "expanded"   # its code called a placeholder whose child is running
    DONE = "done"
    ERROR = "error"
    SKIPPED = "skipped"     # the model gave no code
    STUB = "stub"           # not expanded: the depth limit

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:  # printed like the plain string it stands for
        return repr(self.value)


class RunStatus(str, Enum):
    """A run's outcome (``pending``/``running`` while it goes on)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    LIMIT = "limit"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:  # printed like the plain string it stands for
        return repr(self.value)


NODE_STATUSES = tuple(s.value for s in NodeStatus)
RUN_STATUSES = tuple(s.value for s in RunStatus)

#: The reference's statuses, written beside ours for readers of ``recode.plan.v1``.
TO_V1: dict[str, str] = {
    NodeStatus.PENDING: "PENDING", NodeStatus.RUNNING: "PENDING",
    NodeStatus.EXPANDED: "PENDING", NodeStatus.DONE: "COMPLETED", NodeStatus.STUB: "STUB",
    NodeStatus.ERROR: "ERROR", NodeStatus.SKIPPED: "SKIP",
}
FROM_V1: dict[str, NodeStatus] = {
    "PENDING": NodeStatus.PENDING, "COMPLETED": NodeStatus.DONE, "STUB": NodeStatus.STUB,
    "ERROR": NodeStatus.ERROR, "SKIP": NodeStatus.SKIPPED,
}


#: How each status is drawn: icons, their ASCII variant, colours (every view shares them).
STATUS_ICONS = {
    "pending": "○", "running": "▶", "expanded": "◐", "done": "✔", "error": "✘",
    "skipped": "⊘", "stub": "…", "interrupted": "■",
}
STATUS_ASCII = {
    "pending": "[ ]", "running": "[>]", "expanded": "[~]", "done": "[x]", "error": "[!]",
    "skipped": "[-]", "stub": "[.]", "interrupted": "[#]",
}
#: Fill colours shared by the HTML view, the graph and (by name) the widget's CSS.
STATUS_COLORS = {
    "pending": "#9e9e9e", "running": "#1e88e5", "expanded": "#fb8c00", "done": "#43a047",
    "error": "#e53935", "skipped": "#bdbdbd", "stub": "#8e24aa", "interrupted": "#e53935",
}
RUN_ICONS = {"pending": "○", "running": "▶", "done": "✔", "error": "✘", "limit": "…",
             "interrupted": "■"}
#: The one status table of every view (the widget receives it as its ``statuses`` trait).
DISPLAY = {"icons": STATUS_ICONS, "ascii": STATUS_ASCII, "colors": STATUS_COLORS,
           "run_icons": RUN_ICONS}
