"""Steer a run's tree: regenerate or edit a node, re-run its subtree, keep the old one as a fork.

Engine-level (never imports IPython); the magic's ``%recode regenerate|edit|alternatives|
switch`` and the widget's buttons call these functions (:mod:`recode_magic.notebook.steer_magic`).

- :func:`regenerate` asks the model again for a node (same prompt, or with a one-line
  ``hint``, or with another ``llm``), :func:`edit` runs code written by hand in its place;
  both then **re-run the node's subtree** (children are expanded again: model calls) and keep
  the previous version as an :class:`~recode_magic.runs.tree.Alternative` of the node.
- What runs after the subtree: when the node was on the run's frame stack (an interrupted
  or limited run) the run goes on from there like ``resume``. When the run had ended
  ``error`` without a stack and every ancestor's code still holds the node's statement, the
  ancestors go on after it to the end, like ``resume``. Otherwise (a run that ended
  ``done``, for one) **only the subtree runs**: later siblings are not run again and keep
  their results. The run's status is the outcome of what ran.
- A re-run of a node that had finished (``done``) and now does not (an error, a limit, an
  interrupt) is kept as an alternative, and the previous version **stays current**: the
  variables its subtree assigned get back the values they held before the re-run, the
  run's status, error and end time are as they were, and a warning says so.
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

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from ..engine.machine import Machine, one_line
from ..engine.runstate import ConfirmFn, Frame
from ..errors import ConfigError, FormatError, ResumeError
from ..pycode import code as C
from ..runs.run import Run
from ..runs.status import NodeStatus, RunStatus
from ..runs.tree import Node, RunData
from .forks import (
    COPY_LIMIT,
    Event,
    Snapshot,
    alternatives,
    assigned_names,
    find_node,
    fork,
    placeholder_of,
    record_snapshot,
    restitch,
    rollback,
    snapshot_namespace,
    switch,
    watch,
)

__all__ = ["regenerate", "edit", "rerun", "switch", "alternatives", "watch", "Snapshot",
           "snapshot_namespace", "assigned_names", "rollback", "fork", "find_node", "preflight",
           "COPY_LIMIT", "RERUN_WARNING", "HINT_PREFIX"]

#: Said before anything re-runs (the magic prints it, the widget shows its own).
RERUN_WARNING = ("re-running this subtree calls its primitives again; variables it assigned "
                 "are put back to simple values saved when the node started, nothing else "
                 "is rolled back")
HINT_PREFIX = "The user asked for another answer. Hint from the user: "
_node = find_node


# -- re-running ------------------------------------------------------------------------------
@dataclasses.dataclass
class _Before:
    """What a re-run puts back when a node that had finished fails (the good version stays)."""

    status: RunStatus
    error: str | None
    ended: float | None
    node_status: NodeStatus
    alternative: str  # id of the version current before the re-run ("a0" if never forked)
    values: dict[str, Any]  # the namespace's values of the names the subtree assigned
    names: frozenset[str]  # those names
    stdout: str  # the node's output (its ancestors hold it too: restitch)
    ancestors: list[tuple[Node, NodeStatus, str | None]]  # status and error of each

    @classmethod
    def take(cls, run: Run, node: Node) -> _Before:
        ns = run.namespace or {}
        names = frozenset(assigned_names(node))
        current = next((a.id for a in node.alternatives if a.node is node), "a0")
        ancestors, up = [], node.parent
        while up is not None:
            ancestors.append((up, up.status, up.error))
            up = up.parent
        return cls(run.status, run.error, run.ended, node.status, current,
                   {n: ns[n] for n in names if n in ns}, names, node.stdout, ancestors)

    def put_back(self, run: Run, node: Node) -> None:
        """Keep the failed version as an alternative; make the previous one current again."""
        ns = run.namespace
        assert ns is not None and run.state is not None
        failed = next(a for a in node.alternatives if a.node is node)
        why = one_line(run.error or str(run.status))
        how = (("was interrupted" if why.startswith("interrupted (") else f"stopped: {why}")
               if failed.status in (NodeStatus.RUNNING, NodeStatus.EXPANDED,
                                    NodeStatus.PENDING)  # unfinished when the re-run stopped
               else f"ended {failed.status}: "
                    f"{one_line(node.error or run.error or str(node.status))}")
        names = (self.names | assigned_names(node)) - run.state.protected
        switch(run, node, self.alternative)
        for name in names:
            if name in self.values:
                ns[name] = self.values[name]
            else:
                ns.pop(name, None)
        for up, status, error in self.ancestors:
            up.status, up.error = status, error
        run.status, run.error, run.ended = self.status, self.error, self.ended
        run.warnings.append(f"re-run of `{node.name}` {how}; kept as "
                            f"alternative {failed.id}, the previous version {self.alternative} "
                            f"stays current (its variables and the run's status as before)")


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
    ph = placeholder_of(node, ns.__contains__)
    return Frame(node, placeholder=ph,
                 variables=C.placeholder_variables(ph) if ph is not None else [])


def _emitter(subscribers: Iterable[Event]) -> Event:
    subs = [record_snapshot, *subscribers]

    def emit(event: str, run: RunData, node: Node | None) -> None:
        for cb in subs:
            cb(event, run, node)
    return emit


def preflight(run: Run, node: Node, code: str | None = None, hint: str | None = None) -> None:
    """Refuse a re-run before anything changes: a run that cannot be re-run, bad code.

    Raises :class:`~recode_magic.errors.ResumeError` (a loaded run, a run still going on),
    :class:`~recode_magic.errors.FormatError` (``code`` that does not parse or breaks the
    policy) or :class:`~recode_magic.errors.ConfigError` (a ``hint`` that is not one line).
    """
    if hint is not None and ("\n" in hint.strip() or not hint.strip()):
        raise ConfigError("a hint is one non-empty line")
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
    before = _Before.take(run, node)
    notes = rollback(run, node)
    machine = Machine(run, work, ns, emit)
    try:
        top = machine.reenter(node, placeholder_of(node, ns.__contains__), code=code,
                              feedback=feedback)
    except Exception as exc:  # noqa: BLE001 - the call's arguments no longer evaluate
        raise ResumeError(f"cannot re-run `{node.call}`: its arguments fail now "
                          f"({type(exc).__name__}: {exc})") from None
    model = _model_name(llm) if llm is not None else ""
    fork(run, node, label, model=model)
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
        if before.node_status == NodeStatus.DONE and node.status != NodeStatus.DONE:
            before.put_back(run, node)
            saved = list(state.frames)
        restitch(node, before.stdout)  # the ancestors show the new version's output
        if created is not None:  # what ReCode.created records: a later run may rebind them
            created.update(machine.created())
        if not work.frames:  # the re-run finished: an older unfinished stack is kept
            work.frames[:] = saved
        run.state = work
        emit("run_end", run, None)
    return run


def _model_name(llm: Callable[[str], str]) -> str:
    """A model's id, else a function's name (not ``function``)."""
    return str(getattr(llm, "model", None) or getattr(llm, "__name__", None)
               or type(llm).__name__)


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
    node = find_node(run, node)
    preflight(run, node, hint=hint)
    label = f"regenerate: {hint.strip()}" if hint else "regenerate"
    if llm is not None:
        label += f" ({_model_name(llm)})"
    feedback = HINT_PREFIX + hint.strip() if hint else None
    return _rerun(run, node, label=label, code=None, feedback=feedback, llm=llm,
                  on_event=on_event, confirm=confirm, created=created)


def edit(run: Run, node: Node | str, code: str, *, on_event: Iterable[Event] = (),
         confirm: ConfirmFn | None = None, created: dict[str, Any] | None = None) -> Run:
    """Run ``code`` (written by hand) as the node's expansion, then re-run its subtree.

    The code is checked like a model's (syntax, no ``def`` calling placeholders, the
    guarded policy): :class:`~recode_magic.errors.FormatError` before anything changes.
    """
    node = find_node(run, node)
    return _rerun(run, node, label="edit", code=code, feedback=None, llm=None,
                  on_event=on_event, confirm=confirm, created=created)


def rerun(run: Run, node: Node | str, *, on_event: Iterable[Event] = (),
          confirm: ConfirmFn | None = None, created: dict[str, Any] | None = None) -> Run:
    """Run the node's current code again (its placeholders are expanded again)."""
    node = find_node(run, node)
    return _rerun(run, node, label="re-run", code=node.code, feedback=None, llm=None,
                  on_event=on_event, confirm=confirm, created=created)
