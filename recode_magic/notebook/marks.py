"""How a view shows a node beyond its engine status: ``--confirm``'s waiting / rejected marks.

The widget (:mod:`.widget_state`) and the static views (:mod:`.render`) read them; the
``--confirm`` callbacks (:mod:`.confirm`) set them with :func:`mark_node`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..runs.node import Node

__all__ = ["Mark", "mark_node", "mark_of", "on_mark", "shown_status"]


@dataclass
class Mark:
    """What a view shows for a node beyond its engine status (``--confirm``'s decisions).

    ``state``: ``waiting`` (its code waits for your decision), ``rejected`` or
    ``interrupted`` (nothing of that code ran); ``code`` the code that was shown, ``note``
    one line of why (e.g. the error a repair answers).
    """

    state: str
    code: str = ""
    note: str = ""


_MARKS: weakref.WeakKeyDictionary[Node, Mark] = weakref.WeakKeyDictionary()
_MARK_LISTENERS: list[Callable[[Node], None]] = []


def mark_node(node: Node, state: str | None, code: str = "", note: str = "") -> None:
    """Show ``node`` as ``state`` in every view (None: its engine status again)."""
    if state is None:
        _MARKS.pop(node, None)
    else:
        _MARKS[node] = Mark(state, code, note)
    for listener in list(_MARK_LISTENERS):
        listener(node)


def on_mark(callback: Callable[[Node], None]) -> None:
    """Call ``callback(node)`` after each :func:`mark_node` (the widgets send the node)."""
    if callback not in _MARK_LISTENERS:
        _MARK_LISTENERS.append(callback)


def mark_of(node: Node) -> Mark | None:
    """The mark of ``node``, if a ``--confirm`` decision left one."""
    return _MARKS.get(node)


def shown_status(node: Node, ended: bool) -> str:
    """The status a view shows for ``node``.

    Its mark's state; ``interrupted`` for a node still ``running`` in a run that ``ended``;
    else the engine's status.
    """
    mark = _MARKS.get(node)
    if mark is not None:
        return mark.state
    status = str(node.status)
    return "interrupted" if ended and status == "running" else status
