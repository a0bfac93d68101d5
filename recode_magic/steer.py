"""Steer a run's tree: regenerate or edit a node, re-run its subtree, keep the old one as a fork.

Engine-level (never imports IPython); the magic's ``%recode regenerate|edit|alternatives|
switch`` and the widget's buttons call these functions (:mod:`recode_magic.steer_magic`).

- :func:`regenerate` asks the model again for a node (same prompt, or with a one-line
  ``hint``, or with another ``llm``), :func:`edit` runs code written by hand in its place;
  both then **re-run the node's subtree** (children are expanded again: model calls) and keep
  the previous version as an :class:`~recode_magic.tree.Alternative` of the node.
- What runs after the subtree: when the node was on the run's frame stack (an interrupted
  or limited run) the run goes on from there like ``resume``. When the run had ended
  ``error`` without a stack and every ancestor's code still holds the node's statement, the
  ancestors go on after it to the end, like ``resume``. Otherwise (a run that ended
  ``done``, for one) **only the subtree runs**: later siblings are not run again and keep
  their results. The run's status is the outcome of what ran.
- :func:`switch` makes another alternative current (the tree changes; nothing runs, the
  namespace is left as it is). :func:`alternatives` lists them.

Rollback rule (what is and is not undone before a re-run)
---------------------------------------------------------
A watcher (:func:`watch`, on by default in the magic and in re-runs) records, when each
node starts, the names bound in the namespace and a copy of their *simple* values (names the
guarded policy protects -- variables from before the run, primitives -- are left out: generated
code cannot rebind them, so there is nothing to roll back; with ``trust`` every name counts):
``None``, bool, int, float, complex, str, bytes, tuples/frozensets of simple values, and
shallow copies of list/dict/set with at most :data:`COPY_LIMIT` items. Before a re-run,
every variable the node's previous subtree assigned (targets of its statements and of its
placeholders, keyword arguments of its calls) is put back to that snapshot: its value if
it was simple, **removed** if it was not bound when the node started. A name that held
another kind of value (an object, a big list) is left as it is and listed in the returned
notes. Nothing else is rolled back: objects mutated in place, files, the world. **The
primitives are called again.** Without a snapshot (a run not watched) nothing is rolled back
and a note says so.

>>> from recode_magic import ReCode, ScriptedLLM
>>> llm = ScriptedLLM({"solve": "<execute>x = double(n)</execute>",
...                    "double": ["<execute>x = n + n</execute>", "<execute>x = 2 * n</execute>"]})
>>> engine = ReCode(llm); _ = watch(engine)
>>> run = engine.run("double n", inputs={"n": 4})
>>> node = run.root.children[0]
>>> run = regenerate(run, node, hint="multiply")
>>> node.code, [a.id for a in node.alternatives], node.current, run.namespace["x"]
('x = 2 * n', ['a0', 'a1'], 'a1', 8)
>>> _ = switch(run, node, "a0"); node.code
'x = n + n'
"""

from __future__ import annotations

import ast
import dataclasses
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from . import code as C
from .errors import ConfigError, FormatError, ResumeError
from .expander import NoUsableCode
from .machine import Machine
from .namespace import variable_lines
from .prompts import build_prompt
from .run import Run
from .runstate import MISSING, ConfirmFn, Frame, RunState
from .status import NodeStatus, RunStatus
from .tree import Alternative, Node, RunData

__all__ = ["regenerate", "edit", "rerun", "switch", "alternatives", "watch", "Snapshot",
           "snapshot_namespace", "assigned_names", "rollback", "fork", "find_node", "preflight",
           "COPY_LIMIT", "RERUN_WARNING", "HINT_PREFIX"]

#: Lists, dicts and sets with more items than this are not copied (not rolled back).
COPY_LIMIT = 100
#: Said before anything re-runs (the magic prints it, the widget shows its own).
RERUN_WARNING = ("re-running this subtree calls its primitives again; variables it assigned "
                 "are put back to simple values saved when the node started, nothing else "
                 "is rolled back")
HINT_PREFIX = "The user asked for another answer. Hint from the user: "

Event = Callable[[str, RunData, "Node | None"], None]
_SIMPLE = (type(None), bool, int, float, complex, str, bytes)
_SIMPLE_TYPES = frozenset(_SIMPLE)
_CONTAINERS = frozenset((tuple, frozenset, list, dict, set))
_VERSION_FIELDS = ("code", "thought", "status", "stdout", "error", "steps", "prompt", "reply",
                   "reply_partial", "attempts", "usage", "llm_calls", "started", "ended")


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


def _record(event: str, run: RunData, node: Node | None) -> None:
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
    engine.subscribe(_record)
    return _record


def assigned_names(node: Node) -> set[str]:
    """Names the node's subtree assigned: statement targets, placeholder targets, keywords."""
    names: set[str] = set()
    for n in node.walk():
        names.update(n.targets)
        for step in n.steps:
            try:
                tree = ast.parse(step.code)
            except SyntaxError:
                continue
            names.update(C.bound_names(tree))
        if n is not node:
            ph = _placeholder(n, lambda _name: True)
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
    from .llms.pricing import cost_report

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
    node = _node(run, node)
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
    current.node = _detach(node)
    _attach(node, version)
    target.node = node
    run.reset_nodes(run.root)
    return target


# -- re-running ------------------------------------------------------------------------------
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


_node = find_node


def _placeholder(node: Node, known: Callable[[str], bool]) -> C.Placeholder | None:
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


def _frame(node: Node, ns: dict[str, Any], protected: frozenset[str]) -> Frame:
    """A fresh frame for ``node``, its keyword arguments bound as ``push_child`` does."""
    ph = _placeholder(node, ns.__contains__)
    if ph is None:
        return Frame(node)
    shadowed: dict[str, Any] = {}
    for key, expr in C.iter_literal_keywords(ph):
        if isinstance(expr, ast.Name) and expr.id == key:
            continue
        value = eval(compile(ast.Expression(expr), "<recode-steer>", "eval"), ns)  # noqa: S307
        if key in protected and key not in shadowed:
            shadowed[key] = ns.get(key, MISSING)
        ns[key] = value
    return Frame(node, placeholder=ph, variables=C.placeholder_variables(ph),
                 shadowed=shadowed, keywords={k: ns[k] for k in shadowed})


class _Rerun(Machine):
    """A machine whose first node takes the given code, or asks with the given feedback."""

    def __init__(self, run: Run, state: RunState, ns: dict[str, Any], emit: Event,
                 first: Node, code: str | None, feedback: str | None) -> None:
        super().__init__(run, state, ns, emit)
        self.first, self.code, self.feedback = first, code, feedback
        self.opened = False

    def open(self, frame: Frame) -> None:
        if frame.node is not self.first or self.opened:
            super().open(frame)
            return
        self.opened = True
        node = frame.node
        node.status, node.started = NodeStatus.RUNNING, time.time()
        self.emit("node", self.run, node)
        if self.code is not None:
            blocks = self.x.plan(frame, self.code)
            node.code, node.thought = self.code, "(edited by hand)"
            names = frame.variables or ["task", *self.run.inputs]  # the prompt it answers
            node.prompt = str(build_prompt(self.state.fixed, node.call,
                                           variable_lines(names, self.ns, self.x.summary),
                                           name=node.name))
            node.reply = f"<execute>\n{self.code}\n</execute>"
            self.emit("node", self.run, node)
        else:
            try:
                blocks = self.x.expand(self.run, frame, feedback=self.feedback)
            except NoUsableCode as exc:
                self.fail(str(exc), None, repairable=False)
                return
        if not blocks:
            self.finish(NodeStatus.SKIPPED)
            return
        frame.blocks = blocks


def _ancestor_frames(machine: Machine, node: Node) -> list[Frame] | None:
    """Frames for the node's ancestors, each after the node's statement (None: not found)."""
    path, n = [], node
    while n.parent is not None:
        path.append((n.parent, n))
        n = n.parent
    frames = []
    for parent, child in reversed(path):
        frame = Frame(parent)
        if parent.parent is not None:
            frame = _frame_plain(parent, machine.ns)
        try:
            blocks = machine.x.plan(frame, parent.code)
        except FormatError:
            return None
        at = next((i for i, b in enumerate(blocks) if b.source.strip() == child.call.strip()),
                  None)
        if at is None:
            return None
        frame.blocks, frame.pc, frame.child_block = blocks, at, blocks[at]
        frame.ran = [b.source for b in blocks[:at]]
        frames.append(frame)
    return frames


def _frame_plain(node: Node, ns: dict[str, Any]) -> Frame:
    ph = _placeholder(node, ns.__contains__)
    return Frame(node, placeholder=ph,
                 variables=C.placeholder_variables(ph) if ph is not None else [])


def _emitter(subscribers: Iterable[Event]) -> Event:
    subs = [_record, *subscribers]

    def emit(event: str, run: RunData, node: Node | None) -> None:
        for cb in subs:
            cb(event, run, node)
    return emit


def preflight(run: Run, node: Node, code: str | None = None) -> None:
    """Refuse a re-run before anything changes: a run that cannot be re-run, bad code.

    Raises :class:`~recode_magic.errors.ResumeError` (a loaded run, a run still going on)
    or :class:`~recode_magic.errors.FormatError` (``code`` that does not parse or breaks
    the policy).
    """
    state, ns = run.state, run.namespace
    if state is None or ns is None:
        raise ResumeError("this run cannot be re-run (it was loaded from a file or made by "
                          "hand); switch, compare and promote still work")
    if run.status == RunStatus.RUNNING:
        raise ResumeError("the run is still going on: wait for it to end (or interrupt it)")
    if code is not None:
        Machine(run, state, ns, _emitter(())).x.plan(Frame(node), code)


def _rerun(run: Run, node: Node, *, label: str, code: str | None, feedback: str | None,
           llm: Callable[[str], str] | None, on_event: Iterable[Event],
           confirm: ConfirmFn | None = None, created: dict[str, Any] | None = None) -> Run:
    preflight(run, node, code)
    state, ns = run.state, run.namespace
    assert state is not None and ns is not None
    emit = _emitter(on_event)
    work = dataclasses.replace(state, frames=[], active={},
                               llm=llm if llm is not None else state.llm,
                               confirm=confirm if confirm is not None else state.confirm)
    on_stack = next((i for i, f in enumerate(state.frames) if f.node is node), None)
    notes = rollback(run, node)
    try:
        top = _frame(node, ns, work.protected)
    except Exception as exc:  # noqa: BLE001 - the call's arguments no longer evaluate
        raise ResumeError(f"cannot re-run `{node.call}`: its arguments fail now "
                          f"({type(exc).__name__}: {exc})") from None
    model = getattr(llm, "model", type(llm).__name__) if llm is not None else ""
    fork(run, node, label, model=model)
    machine = _Rerun(run, work, ns, emit, node, code, feedback)
    saved: list[Frame] = []
    if on_stack is not None:  # an unfinished run: go on from the node like resume
        below = state.frames[:on_stack]
        for f in below:
            work.push(f)
    elif not state.frames and run.status != RunStatus.DONE:
        below = _ancestor_frames(machine, node) or []
        if not below and node.parent is not None:
            notes.append("only the subtree re-ran: the parent's code no longer holds "
                         "this node's statement")
        for f in below:
            f.node.status, f.node.error = NodeStatus.RUNNING, None
            work.push(f)
    else:
        saved = list(state.frames)  # a resumable stack elsewhere: kept for %recode resume
    work.push(top)
    run.warnings.extend(f"re-run of `{node.name}`: {n}" for n in notes)
    run.error, run.ended = None, None
    emit("node", run, node)  # views update the forked node only (no full resend)
    try:
        machine.drive()
    finally:
        work.llm, work.confirm = state.llm, state.confirm
        if created is not None:  # what ReCode.created records: a later run may rebind them
            created.update(machine.created())
        if not work.frames:  # the re-run finished: an older unfinished stack is kept
            work.frames[:] = saved
        run.state = work
        emit("run_end", run, None)
    return run


def regenerate(run: Run, node: Node | str, *, hint: str | None = None,
               llm: Callable[[str], str] | None = None,
               on_event: Iterable[Event] = (), confirm: ConfirmFn | None = None,
               created: dict[str, Any] | None = None) -> Run:
    """Ask the model for the node again, then re-run its subtree (see the module docstring).

    ``hint`` is one line added to the node's prompt; ``llm`` another model for this re-run;
    ``confirm`` approves each expansion of the re-run (default: the run's own, if any);
    ``on_event`` subscribers get the engine's events (a widget's ``on_event``);
    ``created`` (a dict) is updated with the names the re-run bound and their values (what
    ``ReCode.created`` records, so a later run may rebind them).

    The previous version becomes an alternative; returns ``run``.
    """
    node = _node(run, node)
    if hint is not None and ("\n" in hint.strip() or not hint.strip()):
        raise ConfigError("a hint is one non-empty line")
    label = f"regenerate: {hint.strip()}" if hint else "regenerate"
    if llm is not None:
        label += f" ({getattr(llm, 'model', type(llm).__name__)})"
    feedback = HINT_PREFIX + hint.strip() if hint else None
    return _rerun(run, node, label=label, code=None, feedback=feedback, llm=llm,
                  on_event=on_event, confirm=confirm, created=created)


def edit(run: Run, node: Node | str, code: str, *, on_event: Iterable[Event] = (),
         confirm: ConfirmFn | None = None, created: dict[str, Any] | None = None) -> Run:
    """Run ``code`` (written by hand) as the node's expansion, then re-run its subtree.

    The code is checked like a model's (syntax, no ``def`` calling placeholders, the
    guarded policy): :class:`~recode_magic.errors.FormatError` before anything changes.
    """
    node = _node(run, node)
    return _rerun(run, node, label="edit", code=code, feedback=None, llm=None,
                  on_event=on_event, confirm=confirm, created=created)


def rerun(run: Run, node: Node | str, *, on_event: Iterable[Event] = (),
          confirm: ConfirmFn | None = None, created: dict[str, Any] | None = None) -> Run:
    """Run the node's current code again (its placeholders are expanded again)."""
    node = _node(run, node)
    return _rerun(run, node, label="re-run", code=node.code, feedback=None, llm=None,
                  on_event=on_event, confirm=confirm, created=created)
