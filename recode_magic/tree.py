"""The call tree: ``Node``, ``Run`` and their JSON forms (ours and ``recode.plan.v1``)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Node", "Run", "Step", "load_run", "NODE_STATUSES", "RUN_STATUSES", "FORMAT_VERSION",
           "PLAN_V1", "TO_V1", "FROM_V1"]

FORMAT_VERSION = "recode_magic.run.v1"
PLAN_V1 = "recode.plan.v1"
NODE_STATUSES = ("pending", "running", "expanded", "done", "error", "skipped", "stub")
RUN_STATUSES = ("pending", "running", "done", "error", "limit", "interrupted")
TO_V1 = {  # the reference's statuses, written beside ours for readers of recode.plan.v1
    "pending": "PENDING", "running": "PENDING", "expanded": "PENDING", "done": "COMPLETED",
    "stub": "STUB", "error": "ERROR", "skipped": "SKIP",
}
FROM_V1 = {"PENDING": "pending", "COMPLETED": "done", "STUB": "stub", "ERROR": "error",
            "SKIP": "skipped"}


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

    def to_dict(self) -> dict[str, Any]:
        """The step as JSON-ready data."""
        return {"code": self.code, "kind": self.kind, "child": self.child,
                "stdout": self.stdout, "error": self.error, "primitives": list(self.primitives)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Step:
        """Read what :meth:`to_dict` wrote."""
        return cls(code=d.get("code", ""), kind=d.get("kind", "code"), child=d.get("child"),
                   stdout=d.get("stdout", ""), error=d.get("error"),
                   primitives=list(d.get("primitives", [])))


@dataclass(eq=False)
class Node:
    """A placeholder call and its expansion.

    ``call`` is the placeholder statement as the parent wrote it (``out = name(a, k=1)``),
    ``code`` the Python the model expanded it into, ``steps`` what actually ran.
    """

    id: str
    name: str
    call: str
    depth: int = 0
    targets: list[str] = field(default_factory=list)
    code: str = ""
    thought: str = ""
    status: str = "pending"
    stdout: str = ""
    error: str | None = None
    parent: Node | None = field(default=None, repr=False)
    children: list[Node] = field(default_factory=list, repr=False)
    steps: list[Step] = field(default_factory=list, repr=False)
    prompt: str = field(default="", repr=False)
    reply: str = field(default="", repr=False)
    attempts: list[dict[str, Any]] = field(default_factory=list, repr=False)
    usage: dict[str, int] = field(default_factory=dict, repr=False)
    llm_calls: int = 0
    started: float | None = field(default=None, repr=False)
    ended: float | None = field(default=None, repr=False)

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

    def to_dict(self) -> dict[str, Any]:
        """The node as JSON-ready data (``status`` in the reference's words, ``state`` ours)."""
        return {
            "id": self.id, "name": self.name, "call": self.call, "depth": self.depth,
            "targets": list(self.targets), "code": self.code, "thought": self.thought,
            "status": TO_V1.get(self.status, "PENDING"), "state": self.status,
            "observations": [s.stdout for s in self.steps if s.stdout],
            "stdout": self.stdout, "error": self.error,
            "parent": self.parent.id if self.parent else None,
            "children": [c.id for c in self.children],
            "steps": [s.to_dict() for s in self.steps],
            "prompt": self.prompt, "reply": self.reply, "attempts": list(self.attempts),
            "usage": dict(self.usage), "llm_calls": self.llm_calls,
            "started": self.started, "ended": self.ended,
        }


class Run:
    """One ``%%recode`` run: the task, the tree, its status and counters.

    >>> run = Run("say hi")
    >>> run.root.call
    'solve(task)'
    >>> [n.name for n in run.nodes()]
    ['solve']
    """

    def __init__(self, task: str, *, inputs: list[str] | None = None, output: str | None = None,
                 meta: dict[str, Any] | None = None):
        self.task = task
        self.inputs = list(inputs or [])
        self.output = output
        self.status = "pending"
        self.error: str | None = None
        self.llm_calls = 0
        self.meta: dict[str, Any] = dict(meta or {})
        self.started: float | None = None
        self.ended: float | None = None
        self.namespace: dict[str, Any] | None = None
        self._ids = 0
        self._by_id: dict[str, Node] = {}
        args = ", ".join(["task", *self.inputs])
        call = f"{output} = solve({args})" if output else f"solve({args})"
        self.root = self.new_node("solve", call, parent=None,
                                  targets=[output] if output else [])

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

    # -- reading --------------------------------------------------------------------------
    def nodes(self) -> list[Node]:
        """All nodes in pre-order (root first)."""
        return list(self.root.walk())

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
        """Number of nodes by status."""
        out: dict[str, int] = {}
        for n in self._by_id.values():
            out[n.status] = out.get(n.status, 0) + 1
        return out

    def stats(self) -> dict[str, Any]:
        """Granularity figures as in the paper's Table 8 (see ``recode_magic.stats``)."""
        from .stats import run_stats
        return run_stats(self)

    def to_plan_v1(self) -> dict[str, Any]:
        """The reference implementation's ``recode.plan.v1`` (one node per statement)."""
        from .planv1 import to_plan_v1
        return to_plan_v1(self)

    def export(self, style: str = "functions") -> str:
        """Plain Python that replays the finished tree with no model (``recode_magic.export``)."""
        from .export import export_run
        return export_run(self, style=style)

    def __repr__(self) -> str:
        return (f"<Run {self.status} nodes={len(self._by_id)} llm_calls={self.llm_calls} "
                f"task={self.task[:40]!r}>")

    # -- JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Our JSON form: a superset of the reference's ``recode.plan.v1`` fields."""
        nodes = self.nodes()
        return {
            "version": FORMAT_VERSION,
            "plan_version": PLAN_V1,
            "meta": {**self.meta, "task": self.task, "inputs": self.inputs,
                     "output": self.output, "started": self.started, "ended": self.ended},
            "status": self.status,
            "error": self.error,
            "llm_calls": self.llm_calls,
            "root_id": self.root.id,
            "nodes": {n.id: n.to_dict() for n in nodes},
            "edges": [[n.parent.id, n.id] for n in nodes if n.parent is not None],
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` as JSON atomically (write a temp file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1, default=repr), encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        """Read our JSON or ``recode.plan.v1``."""
        if data.get("version") == PLAN_V1:
            from .planv1 import from_plan_v1
            return from_plan_v1(data)
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"unknown run format: {data.get('version')!r} "
                             f"(expected {FORMAT_VERSION!r} or {PLAN_V1!r})")
        meta = dict(data.get("meta", {}))
        run = cls.__new__(cls)
        run.task = meta.pop("task", "")
        run.inputs = list(meta.pop("inputs", []) or [])
        run.output = meta.pop("output", None)
        run.started = meta.pop("started", None)
        run.ended = meta.pop("ended", None)
        run.meta = meta
        run.status = data.get("status", "done")
        run.error = data.get("error")
        run.llm_calls = int(data.get("llm_calls", 0))
        run.namespace = None
        run._by_id = {}
        raw = data["nodes"]
        for nid, d in raw.items():
            node = Node(id=str(nid), name=d.get("name", "?"), call=d.get("call", ""),
                        depth=int(d.get("depth", 0)), targets=list(d.get("targets", [])),
                        code=d.get("code", ""), thought=d.get("thought", ""),
                        status=d.get("state") or FROM_V1.get(d.get("status", ""), "pending"),
                        stdout=d.get("stdout", ""), error=d.get("error"),
                        steps=[Step.from_dict(s) for s in d.get("steps", [])],
                        prompt=d.get("prompt", ""), reply=d.get("reply", ""),
                        attempts=list(d.get("attempts", [])), usage=dict(d.get("usage", {})),
                        llm_calls=int(d.get("llm_calls", 0)), started=d.get("started"),
                        ended=d.get("ended"))
            run._by_id[node.id] = node
        _link(run, data.get("edges", []))
        run.root = run._by_id[str(data["root_id"])]
        run._ids = 1 + max((int(i) for i in run._by_id if str(i).isdigit()), default=0)
        return run


def _link(run: Run, edges: list[list[Any]]) -> None:
    for parent_id, child_id in edges:
        parent, child = run._by_id[str(parent_id)], run._by_id[str(child_id)]
        child.parent = parent
        parent.children.append(child)


def load_run(source: dict[str, Any] | str | os.PathLike[str]) -> Run:
    """Read a run from a dict or a JSON file, in our format or ``recode.plan.v1``."""
    if isinstance(source, dict):
        return Run.from_dict(source)
    return Run.from_dict(json.loads(Path(source).read_text(encoding="utf-8")))
