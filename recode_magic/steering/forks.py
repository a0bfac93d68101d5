"""Forks of a node (alternatives, switch) and the snapshots behind the rollback rule.

The rule itself, and what a re-run does, are documented in :mod:`recode_magic.steering.steer`, which
re-exports these names.
"""

from __future__ import annotations

import dataclasses
import time
import weakref
from collections.abc import Callable
from typing import Any

from ..engine.runstate import MISSING
from ..errors import ConfigError, FormatError
from ..pycode import code as C
from ..pycode.astlock import parse
from ..runs.status import NodeStatus
from ..runs.tree import Alternative, Node, RunData

__all__ = ["Snapshot", "snapshot_namespace", "watch", "record_snapshot", "assigned_names",
           "rollback", "fork", "alternatives", "switch", "find_node", "placeholder_of",
           "COPY_LIMIT", "Event", "restitch"]

#: Lists, dicts and sets with more items than this are not copied (not rolled back).
COPY_LIMIT = 100

Event = Callable[[str, RunData, "Node | None"], None]
_SIMPLE = (type(None), bool, int, float, complex, str, bytes)
_SIMPLE_TYPES = frozenset(_SIMPLE)
_CONTAINERS = frozenset((tuple, frozenset, list, dict, set))
_VERSION_FIELDS = ("code", "thought", "status", "stdout", "error", "steps", "prompt", "reply",
                   "reply_partial", "attempts", "usage", "llm_calls", "model", "started",
                   "ended")

# -- snapshots -------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The namespace when a node started: every bound name, copies of the simple values."""

    names: frozenset[str]
    values: dict[str, Any]


def _copy_simple(value: Any) -> Any:
    """A copy of a simple value, or MISSING when it is not one (see the rollback rule)."""
    if isinstance(value, _SIMPLE):
        return value
    if isinstance(value, (tuple, frozenset)):
        return value if all(isinstance(v, _SIMPLE) for v in value) else MISSING
    if isinstance(value, (list, dict, set)) and len(value) <= COPY_LIMIT:
        return value.copy()
    return MISSING


def snapshot_namespace(ns: dict[str, Any]) -> Snapshot:
    """Record ``ns`` as the rollback rule says (two C-speed passes: it runs once per node).

    >>> snap = snapshot_namespace({"a": 1, "xs": [1], "f": print, "t": (1, [2])})
    >>> sorted(snap.names), sorted(snap.values)
    (['a', 'f', 't', 'xs'], ['a', 'xs'])
    """
    values = {k: v for k, v in ns.items() if type(v) in _SIMPLE_TYPES}
    for k in [k for k, v in ns.items() if type(v) in _CONTAINERS]:
        copy = _copy_simple(ns[k])
        if copy is not MISSING:
            values[k] = copy
    return Snapshot(frozenset(ns), values)


def _protected(run: RunData) -> frozenset[str]:
    """Names generated code cannot rebind (nothing to roll back), unless the run trusts it."""
    state = run.state
    if state is None or state.settings.trust:
        return frozenset()
    return state.protected


_SNAPSHOTS: weakref.WeakKeyDictionary[RunData, dict[str, Snapshot]] = \
    weakref.WeakKeyDictionary()


def record_snapshot(event: str, run: RunData, node: Node | None) -> None:
    """Engine subscriber: snapshot the namespace the first time a node runs."""
    if event != "node" or node is None or node.status != NodeStatus.RUNNING \
            or run.namespace is None:
        return
    snaps = _SNAPSHOTS.setdefault(run, {})
    if node.id not in snaps:  # the first time the node runs: before any of its code
        snaps[node.id] = snapshot_namespace(run.namespace)


def watch(engine: Any) -> Event:
    """Record a :class:`Snapshot` when each node of ``engine``'s runs starts.

    Returns the subscriber (``engine.subscribe`` is called with it).
    """
    engine.subscribe(record_snapshot)
    return record_snapshot


def assigned_names(node: Node) -> set[str]:
    """Names the node's subtree assigned: statement targets, placeholder targets, keywords."""
    names: set[str] = set()
    for n in node.walk():
        names.update(n.targets)
        for step in n.steps:
            try:
                tree = parse(step.code)
            except SyntaxError:
                continue
            names.update(C.bound_names(tree))
        if n is not node:
            ph = placeholder_of(n, lambda _name: True)
            if ph is not None:
                names.update(k for k, _ in C.iter_literal_keywords(ph))
    return names


def rollback(run: RunData, node: Node) -> list[str]:
    """Put back what the node's subtree assigned (the rollback rule); returns notes."""
    ns = run.namespace
    if ns is None:
        return ["no namespace: nothing rolled back"]
    snap = _SNAPSHOTS.get(run, {}).get(node.id)
    if snap is None:
        return [f"no snapshot of `{node.name}` (the run was not watched): nothing rolled back"]
    kept = []
    for name in sorted(assigned_names(node) - _protected(run)):  # (a keyword hiding a
        # protected name was put back by the engine when the child ended)
        if name in snap.values:
            ns[name] = _copy_simple(snap.values[name])
        elif name not in snap.names:
            ns.pop(name, None)
        elif name in ns:
            kept.append(name)
    return [f"not rolled back (not a simple value): {', '.join(kept)}"] if kept else []


# -- forks -----------------------------------------------------------------------------------
def _detach(node: Node) -> Node:
    """Move the node's version (fields and children) into a detached copy; reset the node."""
    copy = dataclasses.replace(node, children=node.children, alternatives=[])
    for child in copy.children:
        child.parent = copy
    blank = Node(node.id, node.name, node.call)
    for f in _VERSION_FIELDS:
        setattr(node, f, getattr(blank, f))
    node.children = []
    return copy


def _attach(node: Node, version: Node) -> None:
    """Make ``version``'s fields and children the live node's."""
    for f in _VERSION_FIELDS:
        setattr(node, f, getattr(version, f))
    node.children = version.children
    for child in node.children:
        child.parent = node


def _cost(run: RunData, alt: Alternative) -> float | None:
    from ..llms.pricing import cost_report

    cost = cost_report(alt.usage, model=alt.model or str(run.meta.get("model", "")))
    return None if cost["cost_usd"] is None else round(cost["cost_usd"], 6)


def fork(run: RunData, node: Node, label: str, model: str = "") -> Alternative:
    """Keep the node's version as an alternative and reset the node for a new one.

    Returns the new (current, empty) alternative; the node is ``pending`` with no children.
    """
    if not node.alternatives:
        node.alternatives.append(Alternative("a0", node, label="original",
                                             created=node.started,
                                             model=str(run.meta.get("model", ""))))
    old = next(a for a in node.alternatives if a.node is node)
    old.cost_usd = _cost(run, old)
    old.node = _detach(node)
    new = Alternative(f"a{len(node.alternatives)}", node, label=label, created=time.time(),
                      model=model or str(run.meta.get("model", "")))
    node.alternatives.append(new)
    run.reset_nodes(run.root)
    return new


def alternatives(node: Node) -> list[Alternative]:
    """The node's versions (empty when it was never forked)."""
    return list(node.alternatives)


def switch(run: RunData, node: Node | str, alternative: str) -> Alternative:
    """Make ``alternative`` (an id like ``"a0"``) the node's current version; nothing runs.

    Raises :class:`~recode_magic.errors.ConfigError` for an unknown id.
    """
    node = find_node(run, node)
    target = next((a for a in node.alternatives if a.id == alternative), None)
    if target is None:
        ids = [a.id for a in node.alternatives] or "none: the node was never forked"
        raise ConfigError(f"no alternative {alternative!r} of `{node.name}` (node {node.id}; "
                          f"alternatives: {ids})")
    if target.node is node:
        return target
    current = next(a for a in node.alternatives if a.node is node)
    current.cost_usd = _cost(run, current)
    version = target.node
    old = node.stdout
    current.node = _detach(node)
    _attach(node, version)
    target.node = node
    restitch(node, old)
    run.reset_nodes(run.root)
    return target


# -- the output ancestors hold ---------------------------------------------------------------
def _stitched(parent: Node, child: Node, text: str) -> str:
    """``parent``'s output as the engine writes it, with ``text`` as ``child``'s.

    Its statements' output in order, a placeholder's being its child node's whole output.
    """
    outs = {c.id: c.stdout for c in parent.children}
    outs[child.id] = text
    return "".join(outs.get(s.child or "", "") if s.kind == "placeholder" else s.stdout
                   for s in parent.steps)


def restitch(node: Node, old: str) -> None:
    """Give ``node``'s ancestors its new output in place of ``old`` (after a fork or switch).

    The engine copies a node's output into its parent's when it ends (and so up to the
    root), so a re-run or a switch leaves every ancestor showing the old version's. An
    ancestor whose output is not the engine's stitching (a loaded ``recode.plan.v1``) is
    left as it is; one already holding the new output (the re-run went on through it, as
    ``resume`` does) too.
    """
    child, new = node, node.stdout
    while child.parent is not None and old != new:
        parent = child.parent
        was, now = parent.stdout, _stitched(parent, child, new)
        if was == now or was != _stitched(parent, child, old):
            return
        parent.stdout = now
        child, old, new = parent, was, now


# -- finding nodes ----------------------------------------------------------------------------
def find_node(run: RunData, node: Node | str) -> Node:
    """A node by id (``"3"``) or by name (the first in pre-order); ConfigError if none."""
    if isinstance(node, Node):
        return node
    try:
        return run.node(str(node))
    except KeyError:
        pass
    found = next((n for n in run.nodes() if n.name == node), None)
    if found is None:
        raise ConfigError(f"no node {node!r} in this run (an id or a name: "
                          f"{', '.join(f'{n.id}={n.name}' for n in run.nodes()[:12])})")
    return found



def placeholder_of(node: Node, known: Callable[[str], bool]) -> C.Placeholder | None:
    """The parsed placeholder of ``node.call`` (None for the root)."""
    if node.parent is None:
        return None
    try:
        blocks = C.split_blocks(C.parse_code(node.call), node.call)
    except FormatError:
        return None
    if not blocks:
        return None
    return C.find_placeholder(blocks[0], lambda n: n != node.name and known(n))
