"""A node of the call tree (``Node``, ``Step``, ``Alternative``) and its one JSON form.

Pure data: nothing here runs code or imports the engine. A node's versions (forks, see
:mod:`recode_magic.steering.steer`) are :class:`Alternative` objects in ``Node.alternatives``;
:func:`node_to_dict` is the one serialiser of a node, for saving and for the widget, with
``limit`` clipping every text that leaves the kernel. :mod:`recode_magic.runs.tree` holds the
run around the nodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..pycode.limits import clip_text
from .status import TO_V1, NodeStatus

__all__ = ["Node", "Step", "Alternative", "node_to_dict", "alternative_to_dict", "sum_usage"]


def sum_usage(nodes: Iterable[Node]) -> dict[str, int]:
    """The nodes' token usage summed by kind (numbers only).

    >>> sum_usage([Node("0", "a", "a()", usage={"input_tokens": 3}),
    ...            Node("1", "b", "b()", usage={"input_tokens": 4, "source": "x"})])
    {'input_tokens': 7}
    """
    total: dict[str, int] = {}
    for n in nodes:
        for k, v in n.usage.items():
            if isinstance(v, (int, float)):
                total[k] = total.get(k, 0) + int(v)
    return total


class _Texts:
    """``Step.answers``: a list of texts, or what makes it on first read.

    Set to an object with ``texts()`` (:class:`~recode_magic.pycode.calltally.Answers`,
    what a statement's primitive calls answered), the texts are made when first read:
    formatting every call nobody reads costs microseconds per statement (issue 24).
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = f"_{name}"

    def __get__(self, step: Any, owner: type | None = None) -> Any:
        if step is None:
            return ()  # the field's default: an empty list on each step
        value = step.__dict__[self.key]
        if type(value) is not list:
            texts = getattr(value, "texts", None)
            value = step.__dict__[self.key] = texts() if texts is not None else list(value)
        return value

    def __set__(self, step: Any, value: Any) -> None:
        step.__dict__[self.key] = value


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
    answers: list[str] = _Texts()  # type: ignore[assignment]  # last primitive calls, results

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


@dataclass(eq=False, slots=True, weakref_slot=True)
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
    #: the model that answered the node's calls (routed runs: each depth its own)
    model: str = ""
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
        "usage": dict(node.usage), "llm_calls": node.llm_calls, "model": node.model,
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
class Alternative:
    """One version of a node's expansion: a fork kept when the node is regenerated or edited.

    ``node`` holds the version: the live node itself for the current alternative, otherwise
    a detached copy of the node (same id and call) whose ``children`` are that version's
    subtree. ``cost_usd`` is filled by :mod:`recode_magic.steering.steer` when it is known.
    """

    id: str
    node: Node = field(repr=False)
    label: str = ""
    created: float | None = None
    model: str = ""
    cost_usd: float | None = None

    @property
    def code(self) -> str:
        """The version's code."""
        return self.node.code

    @property
    def thought(self) -> str:
        """The version's thought."""
        return self.node.thought

    @property
    def status(self) -> NodeStatus:
        """The version's status."""
        return self.node.status

    @property
    def children(self) -> list[Node]:
        """The version's subtree (its children)."""
        return self.node.children

    @property
    def llm_calls(self) -> int:
        """Model calls of the whole version (the node and its subtree)."""
        return sum(n.llm_calls for n in self.node.walk())

    @property
    def usage(self) -> dict[str, int]:
        """Token usage of the whole version, summed."""
        return sum_usage(self.node.walk())

    @property
    def tokens(self) -> int:
        """All tokens of the version (every ``*tokens`` count of :attr:`usage`)."""
        return sum(v for k, v in self.usage.items() if k.endswith("tokens"))
