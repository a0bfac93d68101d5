"""Issue 21's ablation table: rows per label over the same tasks, from ``results.json``.

    python benchmarks/agents/ablation.py LABEL[,LABEL...] [--tasks ID,ID...] [--results F]

Per label (and only the tasks given, so rows compare the same items): solved per repeat,
model calls, seconds per task, format errors (% of calls), decompositions, sampled steps,
and the node-count distribution of the trees (``{nodes: runs}``) with the deepest tree.
Rows that ended on a model-server error are left out (and counted).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

__all__ = ["row_figures", "table"]


def _kinds(row: dict[str, Any]) -> Counter[str]:
    return Counter(a.get("kind", "") for n in row.get("tree", []) for a in n.get("attempts", []))


def row_figures(items: dict[str, dict[str, Any]], tasks: set[str] | None) -> dict[str, Any]:
    """The figures of one label over ``tasks`` (all when None)."""
    rows = [r for k, r in items.items() if tasks is None or k.rsplit("@", 1)[0] in tasks]
    bad = [r for r in rows if r.get("status") == "crashed" or "LLMError" in str(r.get("error"))]
    rows = [r for r in rows if r not in bad]
    reps: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        reps.setdefault(int(r.get("repeat", 1)), []).append(r)
    calls = sum(r.get("llm_calls", 0) for r in rows)
    fmt = sum(r.get("format_errors", 0) for r in rows)
    kinds = sum((_kinds(r) for r in rows), Counter())
    nodes = Counter((r.get("stats") or {}).get("nodes") or len(r.get("tree", [])) for r in rows)
    depth = max(((r.get("stats") or {}).get("max_depth") or 0 for r in rows), default=0)
    return {"runs": len(rows), "server_errors": len(bad),
            "solved": " / ".join(f"{sum(bool(r.get('solved')) for r in v)}/{len(v)}"
                                 for _, v in sorted(reps.items())),
            "solved_total": sum(bool(r.get("solved")) for r in rows),
            "calls": calls, "calls_per_task": round(calls / len(rows), 1) if rows else None,
            "s_per_task": round(sum(r.get("wall_s", 0) for r in rows) / len(rows), 1)
            if rows else None,
            "fmt_pct": round(100 * fmt / calls, 1) if calls else None,
            "decompositions": kinds.get("decompose", 0), "sampled_steps": kinds.get("sample", 0),
            "nodes": dict(sorted(nodes.items())), "max_depth": depth,
            "solved_ids": sorted(k for k, r in items.items() if r.get("solved")
                                 and (tasks is None or k.rsplit("@", 1)[0] in tasks))}


def table(results: dict[str, Any], labels: list[str], tasks: set[str] | None) -> str:
    """Markdown rows, one per label present in ``results``."""
    head = ("| label | solved (per repeat) | calls | calls/task | s/task | fmt % | "
            "decomp. | sampled | nodes per run {n: runs} | max depth |")
    lines = [head, "|" + "---|" * 10]
    entries = results.get("suites", {}).get("tasks", {})
    for label in labels:
        if label not in entries:
            continue
        f = row_figures(entries[label]["items"], tasks)
        nodes = ", ".join(f"{k}: {v}" for k, v in f["nodes"].items())
        lines.append(f"| {label} | {f['solved']} | {f['calls']} | {f['calls_per_task']} | "
                     f"{f['s_per_task']} | {f['fmt_pct']} | {f['decompositions']} | "
                     f"{f['sampled_steps']} | {nodes} | {f['max_depth']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("labels")
    ap.add_argument("--tasks", default="")
    ap.add_argument("--results", default=str(HERE / "results.json"))
    ap.add_argument("--solved", action="store_true", help="also list the solved items")
    args = ap.parse_args()
    results = json.loads(Path(args.results).read_text())
    tasks = set(args.tasks.split(",")) if args.tasks else None
    labels = args.labels.split(",")
    print(table(results, labels, tasks))
    if args.solved:
        entries = results.get("suites", {}).get("tasks", {})
        for label in labels:
            if label in entries:
                print(label, row_figures(entries[label]["items"], tasks)["solved_ids"])


if __name__ == "__main__":
    main()
