"""What the widget sends: the views' JSON of nodes and runs, and the patch language.

A patch changes a dict with: ``"key": value`` (set), ``"+key": "tail"`` (text appended),
``"@key": [i, items]`` (list cut at ``i``, then extended) and ``"-": [keys]`` (removed).
``static/tree.js`` applies them (its ``apply``); :func:`delta` writes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..pycode.limits import clip_text
from ..runs.tree import node_to_dict
from .marks import Mark, busy_seconds, mark_node, mark_of, on_mark, shown_elapsed
from .render import alternatives_json

if TYPE_CHECKING:
    from ..runs.run import Run
    from ..runs.tree import Node

__all__ = ["node_json", "run_json", "tree_json", "delta", "WIDGET_LIMIT", "Mark", "mark_node",
           "on_mark", "busy_seconds"]

WIDGET_LIMIT = 20_000  # characters kept per text field that leaves the kernel
_UNDRAWN = ("status", "observations", "targets")
_LIVE = ("running", "pending")


def node_json(node: Node, ended: bool = False) -> dict[str, Any]:
    """The widget's form of one node: :func:`~recode_magic.runs.tree.node_to_dict`, clipped.

    No prompt or raw reply, and nothing the view does not draw (the reference's status
    names, observations, targets; attempts as a count; empty texts, lists and nulls, in the
    node and its steps); ``alternatives``/``current`` when the node has forks.
    """
    d = node_to_dict(node, WIDGET_LIMIT, prompts=False)
    for key in _UNDRAWN:
        d.pop(key, None)
    d["attempts"] = [{"kind": str(a.get("kind") or "retry")} for a in node.attempts]
    mark = mark_of(node)
    if mark is not None:
        d["state"] = mark.state
        d["note"] = clip_text(mark.note, WIDGET_LIMIT)
        if mark.code and not node.code:
            d["code"] = clip_text(mark.code, WIDGET_LIMIT)
            d["unrun"] = True  # the code shown is the one offered (--confirm), not run
    elif ended and str(node.status) == "running":
        d["state"] = "interrupted"  # the run stopped while this node ran: no pulsing pill
    if "alternatives" not in d:
        alts = alternatives_json(node, WIDGET_LIMIT)
        if alts is not None:
            d["alternatives"], d["current"] = alts
    d["steps"] = [_compact(s) for s in d["steps"]]
    return _compact(d)


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` without its empty values (None, "", [], {}); numbers stay, 0 included.

    >>> _compact({"a": "", "b": None, "c": [], "d": 0, "e": "x"})
    {'d': 0, 'e': 'x'}
    """
    # ``v or v == 0``: truthy, or a number zero (None, "", [] and {} are neither)
    return {k: v for k, v in d.items() if v or v == 0}


def run_json(run: Run, nodes: list[Node]) -> dict[str, Any]:
    """The run-level fields a view shows (header, counts, progress); texts clipped.

    ``elapsed`` is :func:`~.marks.busy_seconds`, also while the run goes on (idle time
    between steering actions and waits for a ``--confirm`` decision are not counted).
    """
    counts: dict[str, int] = {}
    for n in nodes:
        counts[str(n.status)] = counts.get(str(n.status), 0) + 1
    meta = getattr(run, "meta", {}) or {}
    return {"task": clip_text(run.task, WIDGET_LIMIT), "status": str(run.status),
            "error": clip_text(run.error, WIDGET_LIMIT) or None,
            "llm_calls": run.llm_calls, "started": run.started, "ended": run.ended,
            "elapsed": round(shown_elapsed(run, nodes), 3),
            "counts": counts, "usage": run.usage,
            "model": clip_text(str(meta.get("model", "")), 200), "root": run.root.id,
            "n": len(nodes)}


def tree_json(run: Run) -> dict[str, Any]:
    """The whole tree as the view holds it: ``{"run": {...}, "nodes": [...]}`` (pre-order)."""
    nodes = run.nodes()
    ended = str(run.status) not in _LIVE
    return {"run": run_json(run, nodes), "nodes": [node_json(n, ended) for n in nodes]}


_MISSING = object()


def delta(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The change from ``old`` to ``new`` in the patch language of this module.

    >>> delta({"a": 1, "s": "ab", "l": [1, 2], "x": 0}, {"a": 1, "s": "abc", "l": [1, 3]})
    {'+s': 'c', '@l': [1, [3]], '-': ['x']}
    """
    out: dict[str, Any] = {}
    for k, v in new.items():
        o = old.get(k, _MISSING)
        if o is _MISSING or type(o) is not type(v):
            out[k] = v
        elif o == v:
            continue
        elif isinstance(v, str) and o and v.startswith(o):
            out["+" + k] = v[len(o):]
        elif isinstance(v, list) and o:
            i = 0
            for a, b in zip(o, v, strict=False):
                if a != b:
                    break
                i += 1
            if i:
                out["@" + k] = [i, v[i:]]
            else:
                out[k] = v
        else:
            out[k] = v
    gone = [k for k in old if k not in new]
    if gone:
        out["-"] = gone
    return out
