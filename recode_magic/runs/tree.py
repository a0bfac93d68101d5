"""The call tree as pure data (``Node``, ``Step``, ``RunData``) and its one JSON serialiser.

Nothing here runs code or imports the engine: :mod:`recode_magic.runs.run` adds the public
``Run`` (with ``export``/``stats``/``to_plan_v1``) on top of :class:`RunData`, and the
function modules (:mod:`~recode_magic.runs.stats`, :mod:`~recode_magic.runs.export`,
:mod:`~recode_magic.runs.planv1`) import only this module, so there is no import cycle.

:func:`node_to_dict` and :func:`run_to_dict` are the only serialisers: saving, the widget
and ``%recode show`` all use them, with ``limit`` clipping every text that leaves the kernel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import RunFormatError
from ..pycode.limits import clip_text
from .alternative import Alternative
from .status import FROM_V1, NODE_STATUSES, RUN_STATUSES, TO_V1, NodeStatus, RunStatus

if TYPE_CHECKING:
    from ..engine.runstate import RunState

__all__ = ["Node", "Step", "Alternative", "RunData", "node_to_dict", "run_to_dict", "run_from_dict",
           "NodeStatus", "RunStatus", "NODE_STATUSES", "RUN_STATUSES", "FORMAT_VERSION",
           "PLAN_V1", "TO_V1", "FROM_V1", "SAVE_LIMIT"]

FORMAT_VERSION = "recode_magic.run.v1"
PLAN_V1 = "recode.plan.v1"
SAVE_LIMIT = 200_000  # characters kept per text field in a saved tree


@dataclass
class Step:
    """One top-level statement of a node's code that was run (or expanded as a placeholder).

    ``kind`` is ``"code"`` for a statement run as it is, ``"placeholder"`` for a call that
    became the child node ``child``.
    """

    code: str
    kind: str = "code"
    child: str | None = None
    stdout: str = ""
    error: str | None = None
    primitives: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # the last primitive calls and results

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        """The step as JSON-ready data (texts cut to ``limit`` characters)."""
        return {"code": clip_text(self.code, limit), "kind": self.kind, "child": self.child,
                "stdout": clip_text(self.stdout, limit),
                "error": None if self.error is None else clip_text(self.error, limit),
                "primitives": list(self.primitives),
                **({"answers": [clip_text(a, limit) for a in self.answers]}
                   if self.answers else {})}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Step:
        """Read what :meth:`to_dict` wrote."""
        return cls(code=d.get("code", ""), kind=d.get("kind", "code"), child=d.get("child"),
                   stdout=d.get("stdout", ""), error=d.get("error"),
                   primitives=list(d.get("primitives", [])),
                   answers=list(d.get("answers", [])))


@dataclass(eq=False)
class Node:
    """A placeholder call and its expansion.

    ``call`` is the placeholder statement as the parent wrote it (``out = name(a, k=1)``),
    ``code`` the Python the model expanded it into, ``steps`` what actually ran,
    ``attempts`` the replies that were not used as they were: each a dict with ``kind`` in
    ``rewrite`` (unusable reply), ``repair`` (a statement raised) or ``replan`` (the world
    refused a step), and ``error``. ``reply_partial`` is the streamed text of the reply
    being received.
    """

    id: str
    name: str
    call: str
    depth: int = 0
    targets: list[str] = field(default_factory=list)
    code: str = ""
    thought: str = ""
    status: NodeStatus = NodeStatus.PENDING
    stdout: str = ""
    error: str | None = None
    parent: Node | None = field(default=None, repr=False)
    children: list[Node] = field(default_factory=list, repr=False)
    steps: list[Step] = field(default_factory=list, repr=False)
    prompt: str = field(default="", repr=False)
    reply: str = field(default="", repr=False)
    reply_partial: str = field(default="", repr=False)
    attempts: list[dict[str, Any]] = field(default_factory=list, repr=False)
    usage: dict[str, int] = field(default_factory=dict, repr=False)
    llm_calls: int = 0
    started: float | None = field(default=None, repr=False)
    ended: float | None = field(default=None, repr=False)
    #: the node's versions (forks, see :mod:`recode_magic.steering.steer`); empty until one is made
    alternatives: list[Alternative] = field(default_factory=list, repr=False)

    @property
    def current(self) -> str | None:
        """The id of the alternative this node shows now (None: never forked)."""
        return next((a.id for a in self.alternatives if a.node is self), None)

    def walk(self) -> Iterator[Node]:
        """Yield this node and its descendants in pre-order, without recursion."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    @property
    def is_leaf(self) -> bool:
        """True when the node's code called no placeholder."""
        return not self.children

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        """The node as JSON-ready data: :func:`node_to_dict`."""
        return node_to_dict(self, limit=limit)


def alternative_to_dict(alt: Alternative, owner: Node, limit: int | None = None,
                        ) -> dict[str, Any]:
    """An alternative as JSON: its figures, and its subtree unless it is ``owner`` itself."""
    d: dict[str, Any] = {
        "id": alt.id, "label": alt.label, "created": alt.created, "model": alt.model,
        "cost_usd": alt.cost_usd, "current": alt.node is owner, "code": clip_text(alt.code,
                                                                                   limit),
        "thought": clip_text(alt.thought, limit), "status": str(alt.status),
        "llm_calls": alt.llm_calls, "usage": alt.usage, "tokens": alt.tokens}
    if alt.node is not owner:
        nodes = list(alt.node.walk())
        d["subtree"] = {"root_id": alt.node.id,
                        "nodes": {n.id: node_to_dict(n, limit) for n in nodes},
                        "edges": [[n.parent.id, n.id] for n in nodes[1:] if n.parent]}
    return d


def node_to_dict(node: Node, limit: int | None = None, *, prompts: bool = True,
                 ) -> dict[str, Any]:
    """The one JSON form of a node, for saving and for the widget.

    ``status`` is in the reference's words (``COMPLETED``...), ``state`` in ours
    (``done``...). Every text is cut to ``limit`` characters (None: kept whole);
    ``prompts=False`` leaves out the prompt and raw reply (the widget does not show them).
    ``partial`` is the tail of the reply being streamed, while the node runs.
    ``alternatives`` (with ``prompts``) holds the node's forks, each with its own subtree.

    >>> n = Node("0", "solve", "solve(task)", stdout="x" * 50, status=NodeStatus.DONE)
    >>> d = node_to_dict(n, limit=10)
    >>> d["status"], d["state"], d["stdout"]
    ('COMPLETED', 'done', 'xxxxxxxxxx… (40 more chars)')
    """
    def c(text: str | None) -> str:
        return clip_text(text, limit)

    d: dict[str, Any] = {
        "id": node.id, "name": node.name, "call": c(node.call), "depth": node.depth,
        "targets": list(node.targets), "code": c(node.code), "thought": c(node.thought),
        "status": TO_V1.get(node.status, "PENDING"), "state": str(node.status),
        "observations": [c(s.stdout) for s in node.steps if s.stdout],
        "stdout": c(node.stdout), "error": None if node.error is None else c(node.error),
        "parent": node.parent.id if node.parent else None,
        "children": [ch.id for ch in node.children],
        "steps": [s.to_dict(limit) for s in node.steps],
        "attempts": [{k: c(v) if isinstance(v, str) else v for k, v in a.items()}
                     for a in node.attempts],
        "usage": dict(node.usage), "llm_calls": node.llm_calls,
        "started": node.started, "ended": node.ended,
    }
    if prompts:
        d["prompt"], d["reply"] = c(node.prompt), c(node.reply)
        if node.alternatives:  # views (prompts=False) get summaries: render.alternatives_json
            d["alternatives"] = [alternative_to_dict(a, node, limit) for a in node.alternatives]
            d["current"] = node.current
    if node.reply_partial and node.status in (NodeStatus.PENDING, NodeStatus.RUNNING):
        d["partial"] = node.reply_partial[-limit:] if limit else node.reply_partial
    return d


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
    state: RunState | None = field(default=None, init=False, repr=False, compare=False)
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
        node = Node(id=str(self._ids), name=name, call=call,
                    depth=parent.depth + 1 if parent else 0, targets=list(targets or []),
                    parent=parent)
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
        total: dict[str, int] = {}
        for n in self._by_id.values():
            for k, v in n.usage.items():
                if isinstance(v, (int, float)):
                    total[k] = total.get(k, 0) + int(v)
        return total

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
    return run


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
        llm_calls=int(d.get("llm_calls", 0)), started=d.get("started"),
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


def __getattr__(name: str) -> Any:
    """``tree.Run``/``tree.load_run``: moved to :mod:`recode_magic.runs.run` (kept for imports)."""
    if name in ("Run", "load_run"):
        from . import run
        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
