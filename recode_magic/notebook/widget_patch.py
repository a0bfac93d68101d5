"""The widget's patch builder: what the views were sent, and the next patch to send.

See :mod:`~recode_magic.notebook.widget` for the traffic and
:mod:`~recode_magic.notebook.widget_state` for the patch language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .widget_state import delta, node_json, run_json

if TYPE_CHECKING:
    from ..runs.run import Run

__all__ = ["Patcher", "LIVE"]

LIVE = ("running", "pending")


@dataclass
class Patcher:
    """What every view holds (``sent``, ``sent_run`` at ``seq``) and the nodes to re-send.

    ``keyframes``: ages (s, on ``clock``) at which a patch carries the whole state, so a
    view still loading its code when the first patches went out catches up while the kernel
    is busy.
    """

    clock: Callable[[], float]
    keyframes: list[float]
    born: float = 0.0
    seq: int = 0
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)  # node id -> last JSON
    sent_run: dict[str, Any] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.born = self.clock()
        self.keyframes = sorted(self.keyframes)

    def patch(self, run: Run, final: bool, reset: bool) -> dict[str, Any]:
        """The next patch (``reset``: the whole state, replacing what the views hold)."""
        nodes = run.nodes()
        ended = final and str(run.status) not in LIVE
        if reset:
            self.sent, self.sent_run = {}, {}
        sent, dirty = self.sent, self.dirty
        changes: dict[str, Any] = {}
        for n in nodes:
            old = sent.get(n.id)
            if old is None or final or n.id in dirty or n.status in LIVE:
                new = node_json(n, ended)
                d = new if old is None else delta(old, new)
                if d:
                    changes[n.id] = d
                    sent[n.id] = new
        drop = list(sent.keys() - {n.id for n in nodes})  # a switched fork leaves the tree
        for i in drop:
            del sent[i]
        run_now = run_json(run, nodes)
        if final:
            run_now["stats"] = run.stats()
        run_delta = delta(self.sent_run, run_now)
        self.sent_run = run_now
        self.dirty = set()
        self.seq += 1
        age = self.clock() - self.born
        if self.keyframes and age >= self.keyframes[0]:
            while self.keyframes and age >= self.keyframes[0]:
                self.keyframes.pop(0)
            reset, run_delta, changes, drop = True, run_now, dict(sent), []
        out: dict[str, Any] = {"kind": "patch", "seq": self.seq, "run": run_delta,
                               "nodes": changes}
        if drop:
            out["drop"] = drop
        if reset:
            out["reset"] = True
        return out
