"""How a view shows a node beyond its engine status: ``--confirm``'s marks, the busy time.

The widget (:mod:`.widget_state`) and the static views (:mod:`.render`) read them; the
``--confirm`` callbacks (:mod:`.confirm`) set them with :func:`mark_node`.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..runs.node import Node
    from ..runs.run import Run

__all__ = ["Mark", "mark_node", "mark_of", "on_mark", "shown_status", "version_status",
           "busy_seconds", "shown_elapsed"]


@dataclass
class Mark:
    """What a view shows for a node beyond its engine status (``--confirm``'s decisions).

    ``state``: ``waiting`` (its code waits for your decision), ``rejected`` or
    ``interrupted`` (nothing of that code ran); ``code`` the code that was shown, ``note``
    one line of why (e.g. the error a repair answers); ``since`` when it was set.
    """

    state: str
    code: str = ""
    note: str = ""
    since: float = field(default_factory=time.time)


_MARKS: weakref.WeakKeyDictionary[Node, Mark] = weakref.WeakKeyDictionary()
#: Each node's finished waits for a --confirm decision: (start, end) in epoch seconds.
_WAITS: weakref.WeakKeyDictionary[Node, list[tuple[float, float]]] = weakref.WeakKeyDictionary()
_MARK_LISTENERS: list[Callable[[Node], None]] = []


def mark_node(node: Node, state: str | None, code: str = "", note: str = "") -> None:
    """Show ``node`` as ``state`` in every view (None: its engine status again)."""
    old = _MARKS.get(node)
    if old is not None and old.state == "waiting":  # a wait ends (a new one starts anew)
        _WAITS.setdefault(node, []).append((old.since, time.time()))
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


def version_status(status: str, current: bool) -> str:
    """The status a view shows for one of a node's versions (alternatives).

    A version that is not the current one and stopped ``running`` or ``pending`` (a re-run
    interrupted, then the previous version put back) can never go on: ``interrupted``.

    >>> version_status("running", current=False), version_status("running", current=True)
    ('interrupted', 'running')
    """
    return "interrupted" if not current and status in ("running", "pending") else status


def _waits(nodes: list[Node], now: float) -> list[tuple[float, float]]:
    """The waits for a decision of ``nodes``, those going on included (until ``now``).

    Walks the few marked nodes, not the tree: it runs on every update of a live view.
    """
    mine = {id(n) for n in nodes}
    out = [w for node, waits in list(_WAITS.items()) if id(node) in mine for w in waits]
    out += [(m.since, now) for node, m in list(_MARKS.items())
            if m.state == "waiting" and id(node) in mine]
    return out


def _merged(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of ``spans`` as sorted, disjoint spans.

    >>> _merged([(3, 4), (0, 2), (1, 2.5)])
    [(0, 2.5), (3, 4)]
    """
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def busy_seconds(run: Run, nodes: list[Node]) -> float:
    """Seconds the run was at work: the union of its nodes' [started, ended] spans.

    A run steered later (Regenerate, Edit) ends again, minutes after it started; the time
    between is idle, not the run's; so is the time a ``--confirm`` box waited (or waits,
    while the run goes on: the clock stands still) for you. A node still running counts
    until now. Falls back to ``run.elapsed`` without node times.
    """
    now = time.time()
    last = run.ended or now  # a node the run stopped in has no end of its own
    spans = _merged((n.started, n.ended or last) for n in nodes if n.started)
    if not spans:
        return run.elapsed
    waits = _merged(_waits(nodes, min(last, now)))
    idle = sum(max(0.0, min(b, d) - max(a, c)) for a, b in spans for c, d in waits)
    return max(0.0, sum(b - a for a, b in spans) - idle)


def shown_elapsed(run: Run, nodes: list[Node] | None = None) -> float:
    """The seconds a view's header shows: :func:`busy_seconds`, while it runs too.

    A live view counts on from it until the next update (``static/tree.js``), except while a
    ``--confirm`` box waits: then the clock stands still.
    """
    return busy_seconds(run, run.nodes() if nodes is None else nodes)
