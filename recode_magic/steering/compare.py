"""Two granularities side by side: runs (or two alternatives of a node) aligned by node name.

:func:`compare` takes two runs, or two :class:`~recode_magic.runs.tree.Alternative` of one node,
and gives a :class:`Comparison`: the stats table (depth, branching, placeholder ratio, model
calls, tokens, cost, status), the two trees aligned by node name (children matched with
:class:`difflib.SequenceMatcher` on their names, level by level) and a unified diff of the
code (the exported programs of two runs, the code of two alternatives). It shows as text
(``str``), static HTML (``_repr_html_``, so a saved notebook keeps it) and plain data
(``rows``, ``stats``).

>>> from recode_magic import ReCode, ScriptedLLM
>>> shallow = ReCode(ScriptedLLM({"solve": "<execute>x = 1 + 1</execute>"})).run("t")
>>> deep = ReCode(ScriptedLLM({"solve": "<execute>x = add(1)</execute>",
...                            "add": "<execute>x = 1 + 1</execute>"})).run("t")
>>> c = compare(shallow, deep, labels=("shallow", "deep"))
>>> c.stats["max depth"], [(r.depth, r.a and r.a.name, r.b and r.b.name) for r in c.rows]
((0, 1), [(0, 'solve', 'solve'), (1, None, 'add')])
"""

from __future__ import annotations

import difflib
import html
from dataclasses import dataclass, field
from typing import Any

from ..pycode.limits import clip_text
from ..runs.stats import run_stats
from ..runs.status import STATUS_COLORS, STATUS_ICONS
from ..runs.tree import Alternative, Node, RunData

__all__ = ["Side", "Row", "Comparison", "compare", "align"]

_DIFF_LINES = 400


@dataclass
class Side:
    """One side of a comparison: a tree root and its run-level figures."""

    label: str
    root: Node
    llm_calls: int
    usage: dict[str, int]
    model: str
    status: str
    code: str = ""
    cost_usd: float | None = None

    @classmethod
    def from_run(cls, run: RunData, label: str) -> Side:
        """A run as a side (its exported program is the code that is diffed).

        Model calls and tokens are those of the tree shown; forks are left out.
        """
        try:
            code = run.export() if hasattr(run, "export") else run.root.code
        except Exception:  # noqa: BLE001 - an odd tree still compares by its root's code
            code = run.root.code
        # the calls of the tree shown (a run's own counter also holds its forks' calls)
        calls = sum(n.llm_calls for n in run.nodes()) or run.llm_calls
        return cls(label, run.root, calls, run.usage,
                   str(run.meta.get("model", "")), str(run.status), code)

    @classmethod
    def from_alternative(cls, alt: Alternative, label: str | None = None,
                         model: str = "") -> Side:
        """An alternative of a node as a side (its own code is diffed)."""
        return cls(label or (f"{alt.id} ({alt.label})" if alt.label else alt.id), alt.node,
                   alt.llm_calls, alt.usage, alt.model or model, str(alt.status), alt.code,
                   alt.cost_usd)

    def nodes(self) -> list[Node]:
        """The side's nodes, pre-order (what :func:`~recode_magic.runs.stats.run_stats` reads)."""
        return list(self.root.walk())

    def counts(self) -> dict[str, int]:
        """Nodes by status."""
        out: dict[str, int] = {}
        for n in self.nodes():
            out[str(n.status)] = out.get(str(n.status), 0) + 1
        return out

    def stats(self) -> dict[str, Any]:
        """The comparison's figures (depths counted from this side's root)."""
        s = run_stats(self)  # type: ignore[arg-type]  # duck-typed: nodes, counts, llm_calls
        base = self.root.depth
        cost = self.cost_usd
        if cost is None:
            from ..llms.pricing import cost_report
            cost = cost_report(self.usage, model=self.model or None)["cost_usd"]
        return {
            "status": self.status, "nodes": s["nodes"], "max depth": s["max_depth"] - base,
            "mean depth": round(s["mean_depth"] - base, 4), "mean branching":
            s["mean_branching"], "placeholder ratio": s["placeholder_ratio"],
            "primitive calls": s["primitive_calls"], "model calls": self.llm_calls,
            "tokens": sum(v for k, v in self.usage.items() if k.endswith("tokens")),
            "cost (USD)": None if cost is None else round(cost, 6)}


@dataclass
class Row:
    """One line of the aligned trees: the node of each side (None where a side has none)."""

    depth: int
    a: Node | None
    b: Node | None

    @property
    def same(self) -> bool:
        """Both sides have the node and ran the same code."""
        return self.a is not None and self.b is not None and self.a.code == self.b.code


def align(a: Node | None, b: Node | None) -> list[Row]:
    """The two trees aligned by node name, pre-order (an explicit stack, no recursion)."""
    rows: list[Row] = []
    stack: list[tuple[int, Node | None, Node | None]] = [(0, a, b)]
    while stack:
        depth, x, y = stack.pop()
        rows.append(Row(depth, x, y))
        ca = x.children if x is not None else []
        cb = y.children if y is not None else []
        pairs: list[tuple[Node | None, Node | None]] = []
        sm = difflib.SequenceMatcher(a=[c.name for c in ca], b=[c.name for c in cb],
                                     autojunk=False)
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag == "equal":
                pairs += list(zip(ca[i1:i2], cb[j1:j2], strict=True))
            else:
                pairs += [(c, None) for c in ca[i1:i2]] + [(None, c) for c in cb[j1:j2]]
        stack.extend((depth + 1, p, q) for p, q in reversed(pairs))
    return rows


@dataclass
class Comparison:
    """Two sides, their stats table, aligned rows and code diff (text and HTML views)."""

    a: Side
    b: Side
    rows: list[Row] = field(default_factory=list)
    stats: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    diff: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        """The comparison as plain text: stats table, aligned trees, code diff."""
        w = max(18, len(self.a.label) + 2)
        out = [f"{'':<18} {self.a.label:<{w}} {self.b.label}"]
        for key, (x, y) in self.stats.items():
            out.append(f"{key:<18} {_fmt(x):<{w}} {_fmt(y)}")
        out.append("")
        width = max((2 * r.depth + len(_name(r.a)) for r in self.rows), default=10) + 4
        for r in self.rows:
            mark = "=" if r.same else "≠" if r.a is not None and r.b is not None else " "
            left = "  " * r.depth + _name(r.a)
            right = "  " * r.depth + _name(r.b)
            out.append(f"{left:<{width}} {mark} {right}".rstrip())
        if self.diff:
            out += ["", *self.diff]
        return "\n".join(out)

    __str__ = to_text

    def to_html(self) -> str:
        """The comparison as static HTML (tables and a diff, inline styles only)."""
        e = html.escape
        head = (f"<tr><th></th><th>{e(self.a.label)}</th><th>{e(self.b.label)}</th></tr>")
        stats = "".join(f"<tr><td>{e(k)}</td><td>{e(_fmt(x))}</td><td>{e(_fmt(y))}</td></tr>"
                        for k, (x, y) in self.stats.items())
        cells = []
        for r in self.rows:
            style = "" if r.same else "background:rgba(255,193,7,.15)"
            cells.append(f'<tr style="{style}">{_cell(r.a, r.depth)}{_cell(r.b, r.depth)}</tr>')
        diff = (f'<pre style="font-size:12px;white-space:pre-wrap">'
                f'{e(clip_text(chr(10).join(self.diff), 20_000))}</pre>' if self.diff else "")
        table = 'style="border-collapse:collapse;font-size:12px;margin:4px 0"'
        return (f'<div class="recode-compare"><table {table}>{head}{stats}</table>'
                f'<table {table}><tr><th>{e(self.a.label)}</th><th>{e(self.b.label)}</th></tr>'
                f'{"".join(cells)}</table>{diff}</div>')

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.to_text())


def _name(node: Node | None) -> str:
    if node is None:
        return "·"
    return f"{STATUS_ICONS.get(str(node.status), '?')} {node.name}"


def _cell(node: Node | None, depth: int) -> str:
    if node is None:
        return '<td style="opacity:.4">·</td>'
    color = STATUS_COLORS.get(str(node.status), "#9e9e9e")
    return (f'<td style="padding-left:{depth * 1.2 + .3}em;font-family:monospace">'
            f'<span style="color:{color}">{html.escape(STATUS_ICONS.get(str(node.status), "?"))}'
            f'</span> {html.escape(node.name)}</td>')


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def compare(a: RunData | Alternative | Side, b: RunData | Alternative | Side, *,
            labels: tuple[str, str] | None = None) -> Comparison:
    """Compare two runs, two alternatives of a node, or two :class:`Side` objects."""
    names = labels or ("A", "B")
    sides = [x if isinstance(x, Side) else Side.from_alternative(x, labels and lab)
             if isinstance(x, Alternative) else Side.from_run(x, lab)
             for x, lab in zip((a, b), names, strict=True)]
    sa, sb = sides
    ta, tb = sa.stats(), sb.stats()
    diff = list(difflib.unified_diff(sa.code.splitlines(), sb.code.splitlines(),
                                     sa.label, sb.label, lineterm="", n=2))
    if len(diff) > _DIFF_LINES:
        diff = diff[:_DIFF_LINES] + [f"… ({len(diff) - _DIFF_LINES} more diff lines)"]
    return Comparison(sa, sb, align(sa.root, sb.root), {k: (ta[k], tb[k]) for k in ta}, diff)
