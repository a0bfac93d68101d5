"""The run as pure data (``RunData`` around the ``Node`` tree) and its JSON serialiser.

Nothing here runs code or imports the engine (the import-linter contracts in
``pyproject.toml`` check it); nodes live in :mod:`recode_magic.runs.node`.
:mod:`recode_magic.runs.run` adds the public ``Run`` (with ``export``/``stats``/
``to_plan_v1``) on top of :class:`RunData`; the function modules (:mod:`~.stats`,
:mod:`~.export`, :mod:`~.planv1`) import only the data modules, so there is no import cycle.

:func:`~recode_magic.runs.node.node_to_dict` and :func:`run_to_dict` are the only
serialisers: saving, the widget and ``%recode show`` all use them, with ``limit`` clipping
every text that leaves the kernel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import RunFormatError
from ..pycode.limits import clip_text
from .node import Alternative, Node, Step, node_to_dict, sum_usage
from .status import FROM_V1, NODE_STATUSES, RUN_STATUSES, TO_V1, NodeStatus, RunStatus

__all__ = ["Node", "Step", "Alternative", "RunData", "node_to_dict", "run_to_dict", "run_from_dict",
           "NodeStatus", "RunStatus", "NODE_STATUSES", "RUN_STATUSES", "FORMAT_VERSION",
           "PLAN_V1", "TO_V1", "FROM_V1", "SAVE_LIMIT"]

FORMAT_VERSION = "recode_magic.run.v1"
PLAN_V1 = "recode.plan.v1"
SAVE_LIMIT = 200_000  # characters kept per text field in a saved tree


@dataclass(eq=False)
class RunData:
    """One run's data: the task, the tree, status and counters (no behaviour but reading).

    ``state`` is the engine's live state (:class:`~recode_magic.engine.runstate.RunState`, what
    ``resume`` needs); ``namespace`` the dict the code ran in. Neither is serialised.
    ``warnings`` are one-line notes that did not stop the run (e.g. a save that failed).

    >>> run = RunData("say hi")
    >>> run.root.call, [n.name for n in run.nodes()]
    ('solve(task)', ['solve'])
    """

    task: str
    inputs: list[str] = field(default_factory=list, kw_only=True)
    output: str | None = field(default=None, kw_only=True)
    meta: dict[str, Any] = field(default_factory=dict, kw_only=True)
    status: RunStatus = field(default=RunStatus.PENDING, init=False)
    error: str | None = field(default=None, init=False)
    llm_calls: int = field(default=0, init=False)
    started: float | None = field(default=None, init=False)
    ended: float | None = field(default=None, init=False)
    warnings: list[str] = field(default_factory=list, init=False)
    namespace: dict[str, Any] | None = field(default=None, init=False, repr=False,
                                             compare=False)
    #: typed and owned by the engine (``engine.runstate.RunState``): the data layer only holds it
    state: Any = field(default=None, init=False, repr=False, compare=False)
    root: Node = field(init=False, repr=False)
    _by_id: dict[str, Node] = field(default_factory=dict, init=False, repr=False)
    _ids: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.inputs = list(self.inputs or [])
        self.meta = dict(self.meta or {})
        args = ", ".join(["task", *self.inputs])
        call = f"{self.output} = solve({args})" if self.output else f"solve({args})"
        self.root = self.new_node("solve", call, parent=None,
                                  targets=[self.output] if self.output else [])

    # -- building -------------------------------------------------------------------------
    def new_node(self, name: str, call: str, *, parent: Node | None,
                 targets: list[str] | None = None) -> Node:
        """Create a node (child of ``parent``) with a fresh id."""
        node = Node(str(self._ids), name, call, parent.depth + 1 if parent else 0,  # id, name,
                    list(targets or []), parent=parent)  # call, depth, targets (positional: faster)
        self._ids += 1
        self._by_id[node.id] = node
        if parent is not None:
            parent.children.append(node)
        return node

    def node(self, node_id: str) -> Node:
        """The node with this id."""
        return self._by_id[node_id]

    def reset_nodes(self, root: Node) -> None:
        """Replace the tree by ``root``'s (used by readers that build nodes themselves)."""
        self.root = root
        self._by_id = {n.id: n for n in root.walk()}
        ids: set[str] = set()  # ids in forks stay taken: switching back must not clash
        seen: set[int] = set()
        stack = list(self._by_id.values())
        while stack:
            node = stack.pop()
            if id(node) not in seen:
                seen.add(id(node))
                ids.add(node.id)
                for alt in node.alternatives:
                    stack.extend(alt.node.walk())
        self._ids = max(self._ids, 1 + max((int(i) for i in ids if i.isdigit()), default=0))

    # -- reading --------------------------------------------------------------------------
    def nodes(self) -> list[Node]:
        """All nodes in pre-order (root first)."""
        return list(self.root.walk())

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def elapsed(self) -> float:
        """Seconds since the run started (until it ended)."""
        if self.started is None:
            return 0.0
        return (self.ended or time.time()) - self.started

    @property
    def result(self) -> Any:
        """The value bound to the ``output`` name, if any."""
        if self.output and self.namespace is not None:
            return self.namespace.get(self.output)
        return None

    @property
    def usage(self) -> dict[str, int]:
        """Token usage summed over all expansions."""
        return sum_usage(self._by_id.values())

    def counts(self) -> dict[str, int]:
        """Number of nodes by status (plain strings as keys)."""
        out: dict[str, int] = {}
        for n in self._by_id.values():
            out[str(n.status)] = out.get(str(n.status), 0) + 1
        return out

    def __repr__(self) -> str:
        return (f"<Run {self.status} nodes={len(self._by_id)} llm_calls={self.llm_calls} "
                f"task={self.task[:40]!r}>")


def run_to_dict(run: RunData, limit: int | None = None, *, prompts: bool = True,
                ) -> dict[str, Any]:
    """The one JSON form of a run (ours: a superset of ``recode.plan.v1``'s fields).

    ``nodes`` is keyed by id in pre-order. Besides the saved fields it carries ``counts``,
    ``usage`` and ``elapsed`` for views. ``limit``/``prompts`` as in :func:`node_to_dict`.
    """
    nodes = run.nodes()
    return {
        "version": FORMAT_VERSION,
        "plan_version": PLAN_V1,
        "meta": {**run.meta, "task": clip_text(run.task, limit), "inputs": run.inputs,
                 "output": run.output, "started": run.started, "ended": run.ended},
        "status": str(run.status),
        "error": None if run.error is None else clip_text(run.error, limit),
        "warnings": list(run.warnings),
        "llm_calls": run.llm_calls,
        "counts": run.counts(),
        "usage": run.usage,
        "elapsed": round(run.elapsed, 3),
        "root_id": run.root.id,
        "nodes": {n.id: node_to_dict(n, limit, prompts=prompts) for n in nodes},
        "edges": [[n.parent.id, n.id] for n in nodes if n.parent is not None],
    }


R = TypeVar("R", bound=RunData)


def _status(value: Any, enum: type[NodeStatus] | type[RunStatus], default: Any) -> Any:
    """``enum(value)``, or ``default`` for a status this version does not know."""
    try:
        return enum(value)
    except ValueError:
        return default


def run_from_dict(data: dict[str, Any], factory: Callable[[str], R]) -> R:
    """Read our JSON form (see :func:`run_to_dict`) into ``factory(task)``'s run.

    Raises
    ------
    RunFormatError
        When ``data`` is not a dict in our format.
    """
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        got = data.get("version") if isinstance(data, dict) else type(data).__name__
        raise RunFormatError(f"unknown run format: {got!r} (expected {FORMAT_VERSION!r} or "
                             f"{PLAN_V1!r})")
    meta = dict(data.get("meta", {}))
    run = factory(meta.pop("task", ""))
    run.inputs = list(meta.pop("inputs", []) or [])
    run.output = meta.pop("output", None)
    run.started = meta.pop("started", None)
    run.ended = meta.pop("ended", None)
    run.meta = meta
    run.status = _status(data.get("status", RunStatus.DONE), RunStatus, RunStatus.DONE)
    run.error = data.get("error")
    run.warnings = list(data.get("warnings", []))
    run.llm_calls = int(data.get("llm_calls", 0))
    root = _tree_from_dict(data)
    run.reset_nodes(root)
    if run.status in (RunStatus.RUNNING, RunStatus.PENDING):
        _stopped(run, data.get("saved_at"))
    return run


def _stopped(run: RunData, saved_at: float | None) -> None:
    """A run saved while it went on: its kernel died (or it runs elsewhere), not running here.

    The loaded run says ``interrupted`` and why; its clock stops at the last save; nodes
    that were running say they stopped there (``error``: the node may have ended the
    process); the ones waiting for them keep ``expanded`` (pinned statuses only).
    """
    when = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(saved_at))
            if saved_at else "its last save")
    run.status = RunStatus.INTERRUPTED
    run.error = (f"the run was still going on when it was last saved ({when}): its kernel "
                 f"died or stopped (or it is still running elsewhere)")
    times = [t for n in run.nodes() for t in (n.started, n.ended) if t]
    run.ended = run.ended or saved_at or max(times, default=run.started)
    for node in run.nodes():
        if node.status == NodeStatus.RUNNING:
            node.status, node.error = NodeStatus.ERROR, node.error or "stopped here: " \
                "the kernel died or stopped while this node ran"
            node.ended = node.ended or run.ended


def _node_from_dict(nid: str, d: dict[str, Any]) -> Node:
    status = d.get("state") or FROM_V1.get(d.get("status", ""), NodeStatus.PENDING)
    node = Node(
        id=str(nid), name=d.get("name", "?"), call=d.get("call", ""),
        depth=int(d.get("depth", 0)), targets=list(d.get("targets", [])),
        code=d.get("code", ""), thought=d.get("thought", ""),
        status=_status(status, NodeStatus, NodeStatus.PENDING), stdout=d.get("stdout", ""),
        error=d.get("error"), steps=[Step.from_dict(s) for s in d.get("steps", [])],
        prompt=d.get("prompt", ""), reply=d.get("reply", ""),
        attempts=list(d.get("attempts", [])), usage=dict(d.get("usage", {})),
        llm_calls=int(d.get("llm_calls", 0)), model=str(d.get("model") or ""),
        started=d.get("started"),
        ended=d.get("ended"))
    for a in d.get("alternatives", []) or []:
        version = node if a.get("current") or "subtree" not in a else _tree_from_dict(
            a["subtree"])
        node.alternatives.append(Alternative(
            id=str(a.get("id", len(node.alternatives))), node=version,
            label=a.get("label", ""), created=a.get("created"), model=a.get("model", ""),
            cost_usd=a.get("cost_usd")))
    return node


def _tree_from_dict(data: dict[str, Any]) -> Node:
    """The root of ``{"root_id", "nodes", "edges"}`` (a run, or a fork's subtree)."""
    by_id = {str(nid): _node_from_dict(str(nid), d) for nid, d in data["nodes"].items()}
    for parent_id, child_id in data.get("edges", []):
        parent, child = by_id[str(parent_id)], by_id[str(child_id)]
        child.parent = parent
        parent.children.append(child)
    return by_id[str(data["root_id"])]
