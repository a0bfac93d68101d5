"""The reference implementation's plan format, ``recode.plan.v1``, both ways.

In the reference every top-level statement is a node: a placeholder's expansion becomes one
child per statement, and a statement that called a placeholder is itself expanded (its
children are its expansion's statements). Our tree keeps placeholders as nodes and the
statements as ``Node.steps``; this module maps one onto the other.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any, TypeVar

from ..pycode.astlock import parse
from .tree import FROM_V1, PLAN_V1, TO_V1, Node, NodeStatus, RunData, RunStatus, Step

R = TypeVar("R", bound=RunData)

__all__ = ["PLAN_V1", "to_plan_v1", "from_plan_v1"]


def to_plan_v1(run: RunData) -> dict[str, Any]:
    """Write ``run`` in the reference's format (one node per statement).

    >>> from recode_magic import ReCode, ScriptedLLM
    >>> llm = ScriptedLLM({"solve": "<execute>a = 1\\nb = more(a)</execute>",
    ...                    "more": "<execute>b = a + 1</execute>"})
    >>> plan = to_plan_v1(ReCode(llm).run("t"))
    >>> for n in plan["nodes"].values():
    ...     print(n["code"], n["depth"], n["status"], sep=" | ")
    solve(task) | 0 | COMPLETED
    a = 1 | 1 | COMPLETED
    b = more(a) | 1 | COMPLETED
    b = a + 1 | 2 | COMPLETED
    """
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[list[str]] = []
    # items: a placeholder node, or one statement (node, index) that ran as it was
    stack: list[tuple[Node, int | None, str | None]] = [(run.root, None, None)]
    while stack:
        node, index, parent_id = stack.pop()
        if index is not None:
            step = node.steps[index]
            sid = f"{node.id}.{index}"
            nodes[sid] = {"code": step.code, "thought": None,
                          "status": "ERROR" if step.error else "COMPLETED",
                          "depth": node.depth + 1,
                          "observations": [step.stdout] if step.stdout else [],
                          "error": step.error}
            edges.append([node.id, sid])
            continue
        nodes[node.id] = {"code": node.call, "thought": node.thought or None,
                          "status": TO_V1.get(node.status, "PENDING"), "depth": node.depth,
                          "observations": [], "error": node.error}
        if parent_id is not None:
            edges.append([parent_id, node.id])
        items: list[tuple[Node, int | None, str | None]] = []
        listed = set()
        for i, step in enumerate(node.steps):
            if step.kind == "placeholder" and step.child is not None:
                items.append((run.node(step.child), None, node.id))
                listed.add(step.child)
            else:
                items.append((node, i, None))
        # children without a finished step (running, stub, error) still belong to the tree
        items += [(c, None, node.id) for c in node.children if c.id not in listed]
        stack.extend(reversed(items))
    return {"version": PLAN_V1, "meta": {**run.meta, "instruction": run.task},
            "root_id": run.root.id, "nodes": nodes, "edges": edges}


def _call_parts(code: str) -> tuple[str, list[str]]:
    try:
        stmt = parse(code.strip()).body[0]
    except (SyntaxError, IndexError, ValueError):
        return "?", []
    targets: list[str] = []
    value = getattr(stmt, "value", None)
    if isinstance(stmt, ast.Assign):
        targets = [t.id for t in ast.walk(stmt.targets[0]) if isinstance(t, ast.Name)]
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id, targets
    return "?", targets


def from_plan_v1(data: dict[str, Any], factory: Callable[[str], R]) -> R:
    """Read the reference's format into ``factory(task)``'s run (statements become steps).

    A failing statement keeps its error text: on its step, on the node that ran it (when
    that node has none of its own) and as the run's error.

    >>> plan = {"version": PLAN_V1, "root_id": "r", "edges": [["r", "a"]], "nodes": {
    ...     "r": {"code": "solve(task)", "status": "ERROR", "depth": 0},
    ...     "a": {"code": "go()", "status": "ERROR", "depth": 1, "error": "ValueError: no"}}}
    >>> run = from_plan_v1(plan, RunData)
    >>> run.status, run.error, run.root.error, run.root.steps[0].error
    ('error', 'ValueError: no', 'ValueError: no', 'ValueError: no')
    """
    raw = {str(k): v for k, v in data["nodes"].items()}
    kids: dict[str, list[str]] = {k: [] for k in raw}
    for parent, child in data.get("edges", []):
        kids[str(parent)].append(str(child))
    meta = dict(data.get("meta") or {})
    run = factory(str(meta.get("instruction", meta.get("task", ""))))
    run.meta = {**meta, "source_format": PLAN_V1}
    links: dict[str, list[Step]] = {}   # placeholder steps waiting for their child's id
    stack: list[tuple[str, Node | None]] = [(str(data["root_id"]), None)]
    while stack:
        vid, parent = stack.pop()
        d = raw[vid]
        call = (d.get("code") or "").strip()
        name, targets = _call_parts(call)
        if parent is None:  # the run's own root (id "0") becomes the plan's root
            node = run.root
            node.name, node.call, node.targets = name, call, targets
        else:
            node = run.new_node(name, call, parent=parent, targets=targets)
        node.thought = d.get("thought") or ""
        node.status = FROM_V1.get(str(d.get("status", "PENDING")).upper(), NodeStatus.PENDING)
        node.error = d.get("error")
        later = _read_statements(node, [(cid, raw[cid], bool(kids[cid])) for cid in kids[vid]],
                                 links)
        stack.extend(reversed(later))
    for node in run.nodes():  # fill the placeholder steps' child ids, in order
        for step, child in zip(links.get(node.id, []), node.children, strict=False):
            step.child = child.id
    _set_outcome(run)
    return run


def _read_statements(node: Node, statements: list[tuple[str, dict[str, Any], bool]],
                     links: dict[str, list[Step]]) -> list[tuple[str, Node | None]]:
    """Turn a plan node's child statements into ``node``'s steps.

    A statement with children (or a ``STUB``) is a placeholder: it is returned, to be read
    as a child node; the others ran as they were (their output and error kept).
    """
    later: list[tuple[str, Node | None]] = []
    codes = []
    for cid, c, has_kids in statements:
        codes.append((c.get("code") or "").strip())
        if has_kids or str(c.get("status", "")).upper() == "STUB":
            later.append((cid, node))
            links.setdefault(node.id, []).append(
                Step(code=codes[-1], kind="placeholder", child=None))
            node.steps.append(links[node.id][-1])
        else:
            out = "".join(str(o) for o in c.get("observations") or [])
            node.steps.append(Step(code=codes[-1], stdout=out, error=c.get("error")))
            node.stdout += out
            if c.get("error") and not node.error:
                node.error = c.get("error")
    node.code = "\n".join(codes)
    return later


def _set_outcome(run: RunData) -> None:
    """The run's status and error from its nodes (the reference keeps no run status)."""
    nodes = run.nodes()
    statuses = {n.status for n in nodes}
    errors = [s.error for n in nodes for s in n.steps if s.error] + [
        n.error for n in nodes if n.error]
    if errors:
        statuses.add(NodeStatus.ERROR)  # in the reference a failing statement ends the episode
        run.error = str(errors[0]).strip().splitlines()[-1] if str(errors[0]).strip() else None
    run.status = (RunStatus.ERROR if NodeStatus.ERROR in statuses
                  else RunStatus.LIMIT if NodeStatus.STUB in statuses
                  else RunStatus.DONE if statuses <= {NodeStatus.DONE, NodeStatus.SKIPPED}
                  else RunStatus.INTERRUPTED)
