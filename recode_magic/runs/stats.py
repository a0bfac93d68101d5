"""Granularity statistics of a run (depth, branching, placeholder ratio), as in the paper."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import MissingDependencyError
from .status import NodeStatus

if TYPE_CHECKING:
    from .tree import Node
    from .tree import RunData as Run

__all__ = ["run_stats", "format_stats", "plot_depths"]


def run_stats(run: Run) -> dict[str, Any]:
    """Granularity figures of a run (the paper's Table 8, plus counts).

    Depth counts from the root (``solve`` is depth 0). A node is *expanded* when the model
    gave it code (any status but ``pending``/``stub``); its *branching* is its number of
    child placeholders. *Steps* are the top-level statements that ran; a step either calls
    primitives or is a placeholder. The placeholder ratio is placeholder calls over all
    calls (placeholder + primitive).

    Returns
    -------
    dict
        ``nodes``, ``max_depth``, ``mean_depth`` (over all nodes), ``mean_leaf_depth``,
        ``mean_branching`` (children per non-leaf node), ``mean_steps`` (statements per
        expanded node), ``placeholder_calls``, ``primitive_calls``, ``placeholder_ratio``,
        ``primitives`` (calls per primitive name), ``by_status``, ``per_depth`` (nodes at
        each depth, index = depth), ``llm_calls``.

    Examples
    --------
    >>> from recode_magic.runs.tree import RunData
    >>> run = RunData("t")
    >>> _ = run.new_node("a", "a()", parent=run.root)
    >>> s = run_stats(run)
    >>> s["nodes"], s["max_depth"], s["mean_branching"], s["per_depth"]
    (2, 1, 1.0, [1, 1])
    """
    nodes = run.nodes()
    depths = [n.depth for n in nodes]
    leaves = [n.depth for n in nodes if not n.children]
    inner = [len(n.children) for n in nodes if n.children]
    expanded = [n for n in nodes if n.status not in (NodeStatus.PENDING, NodeStatus.STUB)]
    steps = [len(n.steps) for n in expanded if n.steps]
    placeholder_calls, prim = _calls(nodes)
    primitive_calls = sum(prim.values())
    calls = placeholder_calls + primitive_calls
    per_depth = [0] * (max(depths) + 1)
    for d in depths:
        per_depth[d] += 1
    return {
        "nodes": len(nodes),
        "max_depth": max(depths),
        "mean_depth": _mean(depths),
        "mean_leaf_depth": _mean(leaves),
        "mean_branching": _mean(inner),
        "mean_steps": _mean(steps),
        "placeholder_calls": placeholder_calls,
        "primitive_calls": primitive_calls,
        "placeholder_ratio": round(placeholder_calls / calls, 4) if calls else 0.0,
        "primitives": dict(sorted(prim.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_status": dict(sorted(run.counts().items())),
        "per_depth": per_depth,
        "llm_calls": run.llm_calls,
    }


def _calls(nodes: list[Node]) -> tuple[int, dict[str, int]]:
    """Placeholder calls, and calls per primitive name, from the steps that ran."""
    prim: dict[str, int] = {}
    placeholder_calls = 0
    for n in nodes:
        for s in n.steps:
            if s.kind == "placeholder":
                placeholder_calls += 1
            for name in s.primitives:
                prim[name] = prim.get(name, 0) + 1
    if not any(n.steps for n in nodes):  # a loaded recode.plan.v1 tree has no steps
        placeholder_calls = len(nodes) - 1
    return placeholder_calls, prim


def _mean(values: list[int]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def format_stats(stats: dict[str, Any]) -> str:
    """A short aligned text table of :func:`run_stats` output.

    >>> print(format_stats({"nodes": 3, "max_depth": 1, "per_depth": [1, 2]}))
    nodes              3
    max depth          1
    nodes per depth    0:1  1:2
    """
    rows = []
    for key, value in stats.items():
        if key == "per_depth":
            value = "  ".join(f"{d}:{c}" for d, c in enumerate(value))
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
        elif isinstance(value, float):
            value = f"{value:.2f}"
        label = {"per_depth": "nodes per depth", "by_status": "nodes by status"}.get(
            key, key.replace("_", " "))
        rows.append(f"{label:<18} {value}")
    return "\n".join(rows)


def plot_depths(stats: dict[str, Any], ax: Any = None) -> Any:
    """Bar chart of nodes per depth with matplotlib (optional dependency); returns the axes.

    Raises
    ------
    MissingDependencyError
        When matplotlib is not installed.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError(
            "plot_depths needs matplotlib (pip install matplotlib)") from exc
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 2.5))
    per_depth = stats["per_depth"]
    ax.bar(range(len(per_depth)), per_depth, color="#1e88e5")
    ax.set_xlabel("depth")
    ax.set_ylabel("nodes")
    ax.set_title(f"{stats['nodes']} nodes, mean branching {stats['mean_branching']:.2f}")
    return ax
