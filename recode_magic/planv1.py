"""The reference implementation's plan format, ``recode.plan.v1``, both ways.

In the reference every top-level statement is a node: a placeholder's expansion becomes one
child per statement, and a statement that called a placeholder is itself expanded (its
children are its expansion's statements). Our tree keeps placeholders as nodes and the
statements as ``Node.steps``; this module maps one onto the other.
"""

from __future__ import annotations

import ast
from typing import Any

from .tree import FROM_V1, PLAN_V1, TO_V1, Node, Run, Step

__all__ = ["PLAN_V1", "to_plan_v1", "from_plan_v1"]

def to_plan_v1(run: Run) -> dict[str, Any]:
    """Write ``run`` in the reference's format (one node per statement).

    >>> from recode_magic import ReCode, ScriptedLLM
    >>> llm = ScriptedLLM({"solve": "<execute>a = 1\\nb = more(a)</execute>",
    ...                    "more": "<execute>b = a + 1</execute>"})
    >>> plan = to_plan_v1(ReCode(llm).run("t"))
    >>> [(n["code"], n["depth"], n["status"]) for n in plan["nodes"].values()]
    [('solve(task)', 0, 'COMPLETED'), ('a = 1', 1, 'COMPLETED'), ('b = more(a)', 1, 'COMPLETED'), ('b = a + 1', 2, 'COMPLETED')]
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
        stmt = ast.parse(code.strip()).body[0]
    except (SyntaxError, IndexError, ValueError):
        return "?", []
    targets: list[str] = []
    value = getattr(stmt, "value", None)
    if isinstance(stmt, ast.Assign):
        targets = [t.id for t in ast.walk(stmt.targets[0]) if isinstance(t, ast.Name)]
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id, targets
    return "?", targets


def from_plan_v1(data: dict[str, Any]) -> Run:
    """Read the reference's format into a :class:`Run` (statements become steps)."""
    raw = {str(k): v for k, v in data["nodes"].items()}
    kids: dict[str, list[str]] = {k: [] for k in raw}
    for parent, child in data.get("edges", []):
        kids[str(parent)].append(str(child))
    meta = dict(data.get("meta") or {})
    run = Run(str(meta.get("instruction", meta.get("task", ""))), meta={
        **meta, "source_format": PLAN_V1})
    root_id = str(data["root_id"])
    run._by_id.clear()
    run._ids = 0
    stack: list[tuple[str, Node | None]] = [(root_id, None)]
    while stack:
        vid, parent = stack.pop()
        d = raw[vid]
        call = (d.get("code") or "").strip()
        name, targets = _call_parts(call)
        node = run.new_node(name, call, parent=parent, targets=targets)
        node.thought = d.get("thought") or ""
        node.status = FROM_V1.get(str(d.get("status", "PENDING")).upper(), "pending")
        node.error = d.get("error")
        if parent is None:
            run.root = node
        later: list[tuple[str, Node | None]] = []
        codes = []
        for cid in kids[vid]:
            c = raw[cid]
            codes.append((c.get("code") or "").strip())
            if kids[cid] or str(c.get("status", "")).upper() == "STUB":
                later.append((cid, node))
                node.steps.append(Step(code=codes[-1], kind="placeholder", child=None))
            else:
                out = "".join(str(o) for o in c.get("observations") or [])
                node.steps.append(Step(code=codes[-1], stdout=out, error=c.get("error")))
                node.stdout += out
        node.code = "\n".join(codes)
        node._pending_links = [s for s in node.steps if s.kind == "placeholder"]  # type: ignore[attr-defined]
        stack.extend(reversed(later))
    for node in run.nodes():  # fill the placeholder steps' child ids, in order
        steps = getattr(node, "_pending_links", [])
        for step, child in zip(steps, node.children, strict=False):
            step.child = child.id
        node.__dict__.pop("_pending_links", None)
    statuses = {n.status for n in run.nodes()}
    if any(s.error for n in run.nodes() for s in n.steps):
        statuses.add("error")  # in the reference a failing statement ends the episode
    run.status = "error" if "error" in statuses else "limit" if "stub" in statuses else (
        "done" if statuses <= {"done", "skipped"} else "interrupted")
    return run
