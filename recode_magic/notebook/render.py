"""Static views of a run: text tree, script-free HTML, and the graphviz graph."""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any

from ..errors import MissingDependencyError
from ..pycode.limits import clip_text
from ..runs.status import DISPLAY, RUN_ICONS, STATUS_ASCII, STATUS_COLORS, STATUS_ICONS
from .marks import mark_of, shown_elapsed, shown_status, version_status

if TYPE_CHECKING:
    import graphviz

    from ..runs.run import Run
    from ..runs.tree import Node

__all__ = [
    "STATUS_ICONS", "STATUS_ASCII", "STATUS_COLORS", "RUN_ICONS", "DISPLAY", "render_text",
    "render_html", "to_digraph", "render_svg", "short", "alternatives_json",
]

_GUIDES = {False: ("├── ", "└── ", "│   ", "    "), True: ("|-- ", "`-- ", "|   ", "    ")}
_HTML_OPEN_DEPTH = 2
_HTML_TEXT_LIMIT = 4000
_GRAPH_INLINE_LIMIT = 400


def short(text: str | None, width: int = 60) -> str:
    """First line of ``text``, cut to ``width`` characters with an ellipsis.

    >>> short("a long line\\nsecond", 8)
    'a long …'
    """
    line = (text or "").strip().split("\n", 1)[0]
    return line if len(line) <= width else line[: width - 1] + "…"


def _last_line(text: str | None) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def _field(item: Any, name: str, default: Any = None) -> Any:
    if isinstance(item, dict):
        return item.get(name, default)
    return getattr(item, name, default)


def alternatives_json(node: Any, limit: int | None = None,
                      ) -> tuple[list[dict[str, Any]], str | None] | None:
    """A node's forks as ``([{id, label, status, llm_calls, tokens, code}], current)``.

    None when the node has no ``alternatives``. Items may be dicts or objects with those
    attributes (``tree.Alternative``; ``tokens`` defaults to the sum of a ``usage`` dict's
    token counts); ``current`` is the node's ``current`` id, else the id of the item marked
    ``"current": True``, else None.

    >>> class N: alternatives = [{"id": "a", "status": "done", "code": "x = 1"}]
    >>> alts, current = alternatives_json(N())
    >>> alts[0]["label"], alts[0]["tokens"], current
    ('a', 0, None)
    """
    alts = getattr(node, "alternatives", None)
    if not alts:
        return None
    out = []
    for i, a in enumerate(alts):
        usage = _field(a, "usage") or {}
        tokens = _field(a, "tokens")
        if tokens is None:
            tokens = sum(v for k, v in usage.items()
                         if k.endswith("tokens") and isinstance(v, (int, float)))
        aid = str(_field(a, "id", i))
        out.append({"id": aid, "label": clip_text(str(_field(a, "label") or aid), 200),
                     "status": str(_field(a, "status", "") or ""),
                     "llm_calls": int(_field(a, "llm_calls", 0) or 0), "tokens": int(tokens),
                     "code": clip_text(_field(a, "code", "") or "", limit)})
    current = _field(node, "current")  # Node.current, or a "current": true item (JSON)
    if current is None:
        current = next((o["id"] for o, a in zip(out, alts, strict=True)
                        if _field(a, "current") is True), None)
    current = None if current is None else str(current)
    for o in out:  # a version stopped half-way and then put aside reads interrupted
        o["status"] = version_status(o["status"], o["id"] == current)
    return out, current


def _alt_note(node: Node, ascii: bool) -> str:
    alts = alternatives_json(node)
    if alts is None:
        return ""
    items, current = alts
    mark = "*" if ascii else "●"
    names = ", ".join(f"{a['label']}{mark if a['id'] == current else ''}" for a in items)
    return f"  [{len(items)} alternatives: {names}]"


def _header(run: Run) -> str:
    nodes = run.nodes()
    n = len(nodes)
    replayed = int(run.usage.get("replayed", 0) or 0)  # answered by a cassette: no call
    live = run.llm_calls - replayed
    calls = f"{live} model call{'' if live == 1 else 's'}" + (
        f" ({replayed} replayed from a cassette)" if replayed else "")
    return (f"ReCode run: {run.status} · {n} node{'s' if n != 1 else ''} · "
            f"{calls} · {shown_elapsed(run, nodes):.2f} s")  # busy time, as the widget


#: Icons of the states a view shows beyond the engine's (marks.shown_status).
_MARKED = {"waiting": ("?", "[?]"), "rejected": ("✘", "[!]"), "interrupted": ("■", "[#]")}


def _ended(run: Run) -> bool:
    return str(run.status) not in ("running", "pending")


def _label(node: Node, ascii: bool, ended: bool = False) -> str:
    shown = shown_status(node, ended)
    icon = (STATUS_ASCII if ascii else STATUS_ICONS).get(
        shown, _MARKED.get(shown, ("?", "[?]"))[bool(ascii)])
    label = f"{icon} {node.call or node.name}"
    if shown == "error" and node.error:
        label += f"  # {short(_last_line(node.error), 80)}"
    elif shown in ("skipped", "stub", "waiting", "rejected", "interrupted"):
        label += f"  # {'waiting for you (--confirm)' if shown == 'waiting' else shown}"
    return label + _alt_note(node, ascii)


def render_text(run: Run, ascii: bool = False, *, header: bool = True) -> str:
    """The call tree as text, with rich-style guides and a status icon per node.

    Parameters
    ----------
    run : Run
        The run to draw.
    ascii : bool
        Use ``|--`` / ``\\`--`` guides and ``[x]`` icons instead of box-drawing characters.
    header : bool
        Start with a one-line summary (status, nodes, model calls, seconds).

    Returns
    -------
    str
        One line per node, pre-order, no trailing newline.
    """
    tee, last, bar, blank = _GUIDES[bool(ascii)]
    lines = [_header(run)] if header else []
    ended = _ended(run)
    lines.append(_label(run.root, ascii, ended))
    stack: list[tuple[Node, str, bool]] = [
        (c, "", i == len(run.root.children) - 1)
        for i, c in reversed(list(enumerate(run.root.children)))]
    while stack:
        node, prefix, is_last = stack.pop()
        lines.append(prefix + (last if is_last else tee) + _label(node, ascii, ended))
        child_prefix = prefix + (blank if is_last else bar)
        kids = node.children
        stack.extend((c, child_prefix, i == len(kids) - 1)
                     for i, c in reversed(list(enumerate(kids))))
    return "\n".join(lines)


# -- HTML ---------------------------------------------------------------------------------
def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _ink(color: str) -> str:
    """Inline style for status-coloured text, readable (>= 4.5:1) in light and dark themes.

    The colour mixed toward the theme's text colour; plain ``color`` first for browsers
    without ``color-mix`` (the last valid declaration wins).
    """
    return f"color:{color};color:color-mix(in srgb,{color} 60%,currentColor)"


def _pre(title: str, text: str | None, color: str | None = None) -> str:
    if not text:
        return ""
    style = "margin:2px 0 4px 0;padding:4px 6px;white-space:pre-wrap;font-size:12px;"
    style += f"border-left:3px solid {color or '#9e9e9e'};"
    return (f'<div style="font-size:11px;font-style:italic">{_esc(title)}</div>'
            f'<pre style="{style}">{_esc(clip_text(text, _HTML_TEXT_LIMIT))}</pre>')


def _summary(node: Node, ended: bool = False) -> str:
    shown = shown_status(node, ended)
    color = STATUS_COLORS.get({"waiting": "running"}.get(shown, shown), STATUS_COLORS["error"])
    icon = STATUS_ICONS.get(shown, _MARKED.get(shown, ("?",))[0])
    red = STATUS_COLORS["error"]
    err = (f' <span style="{_ink(red)}">{_esc(short(_last_line(node.error), 80))}</span>'
           if node.status == "error" and node.error else "")
    return (f'<summary><span style="{_ink(color)};font-weight:bold" title="{shown}">'
            f"{icon}</span> <code>{_esc(short(node.call or node.name, 100))}</code> "
            f'<span style="font-size:11px;font-style:italic">{shown} · depth {node.depth}</span>'
            f"{err}</summary>")


def _body(node: Node) -> str:
    mark = mark_of(node)
    code = _pre("code", node.code, "#1e88e5")
    if mark is not None and mark.code and not node.code:  # shown by --confirm, never ran
        code = _pre(f"code ({mark.state}; it did not run)", mark.code, "#e53935")
    parts = [_pre("thought", node.thought, "#90a4ae"), code,
             _pre("stdout", node.stdout, "#43a047"), _pre("error", node.error, "#e53935"),
             _alternatives_html(node)]
    return "".join(parts)


def _alternatives_html(node: Node) -> str:
    alts = alternatives_json(node, _HTML_TEXT_LIMIT)
    if alts is None:
        return ""
    items, current = alts
    rows = []
    for a in items:
        color = STATUS_COLORS.get(a["status"], "#9e9e9e")
        cur = " <b>(current)</b>" if a["id"] == current else ""
        rows.append(f'<li class="recode-alt" data-alt="{_esc(a["id"])}"><code>{_esc(a["label"])}'
                    f'</code>{cur} <span style="{_ink(color)}">{_esc(a["status"])}</span> · '
                    f'{a["llm_calls"]} model call{"" if a["llm_calls"] == 1 else "s"} · '
                    f'{a["tokens"]} tokens'
                    f'{_pre("code", a["code"], "#1e88e5")}</li>')
    return (f'<div style="font-size:11px;font-style:italic">alternatives</div>'
            f'<ul style="margin:2px 0 4px 0;padding-left:1.4em">{"".join(rows)}</ul>')


def _tree_html(run: Run) -> str:
    out: list[str] = []
    ended = _ended(run)
    # explicit stack: ("open", node) emits the node and schedules its close after its children
    stack: list[tuple[str, Node | None]] = [("open", run.root)]
    while stack:
        op, node = stack.pop()
        if op == "close":
            out.append("</div></details>")
            continue
        assert node is not None
        is_open = " open" if node.depth < _HTML_OPEN_DEPTH or node.status == "error" else ""
        out.append(f'<details class="recode-node" data-id="{_esc(node.id)}"{is_open}>'
                   f"{_summary(node, ended)}"
                   '<div style="margin-left:1.2em;padding-left:.6em;'
                   'border-left:1px dotted #9e9e9e">'
                   f"{_body(node)}")
        stack.append(("close", None))
        stack.extend(("open", c) for c in reversed(node.children))
    return "".join(out)


def render_html(run: Run, *, graph: bool | None = None) -> str:
    """A script-free HTML view: header, nested ``<details>`` per node, optional graph.

    Parameters
    ----------
    run : Run
        The run to draw.
    graph : bool or None
        Embed the graph as an ``<img>`` with an SVG data URI. ``None`` (default) embeds it
        when ``dot`` is installed and the tree has at most 400 nodes.

    Returns
    -------
    str
        An HTML fragment with inline styles only, safe for saved notebooks and nbviewer.
    """
    n = len(run.nodes())
    color = STATUS_COLORS.get({"limit": "stub", "interrupted": "error"}.get(
        run.status, run.status), "#9e9e9e")
    head = (f'<div style="font-weight:bold;margin-bottom:4px">'
            f'<span style="{_ink(color)}">{RUN_ICONS.get(run.status, "?")}</span> '
            f"{_esc(_header(run))}</div>")
    task = f'<div style="margin-bottom:4px">task: {_esc(short(run.task, 200))}</div>'
    error = _pre("run error", run.error, "#e53935") if run.error else ""
    img = ""
    if graph or (graph is None and n <= _GRAPH_INLINE_LIMIT):
        try:
            svg = render_svg(run)
        except MissingDependencyError:
            if graph:
                raise
        else:
            data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
            img = (f'<details><summary>graph</summary><img alt="call graph" '
                   f'style="max-width:100%" src="data:image/svg+xml;base64,{data}"></details>')
    return (f'<div class="recode-static" style="font-family:var(--jp-ui-font-family,sans-serif);'
            f'font-size:13px;line-height:1.4">{head}{task}{error}{_tree_html(run)}{img}</div>')


# -- graphviz -----------------------------------------------------------------------------
def _graphviz() -> Any:
    try:
        import graphviz
    except ImportError as exc:  # pragma: no cover - graphviz is a dependency
        raise MissingDependencyError(
            "the graph view needs the 'graphviz' package (pip install graphviz)") from exc
    return graphviz


def to_digraph(run: Run, *, width: int = 32, rankdir: str = "TB") -> graphviz.Digraph:
    """The tree as a ``graphviz.Digraph``: one box per node, coloured by status.

    Labels are the placeholder call cut to ``width`` characters, plus the status. Building
    the object needs only the ``graphviz`` Python package; rendering it needs ``dot``.
    """
    gv = _graphviz()
    dot = gv.Digraph("recode", graph_attr={"rankdir": rankdir, "bgcolor": "transparent"},
                     node_attr={"shape": "box", "style": "rounded,filled", "fontsize": "10",
                                "fontname": "Helvetica", "fontcolor": "white"},
                     edge_attr={"color": "#9e9e9e", "arrowsize": "0.6"})
    for node in run.nodes():
        label = f"{short(node.call or node.name, width)}\n{node.status}"
        tooltip = short(node.error, 200) if node.error else node.call
        dot.node(f"n{node.id}", label=label, fillcolor=STATUS_COLORS.get(node.status, "#9e9e9e"),
                 tooltip=tooltip or node.name, id=f"recode_node_{node.id}")
        if node.parent is not None:
            dot.edge(f"n{node.parent.id}", f"n{node.id}")
    return dot


def render_svg(run: Run, **kwargs: Any) -> str:
    """SVG text of :func:`to_digraph` rendered with graphviz ``dot``.

    Raises
    ------
    MissingDependencyError
        When the ``dot`` executable is not on ``PATH``.
    """
    gv = _graphviz()
    try:
        return str(to_digraph(run, **kwargs).pipe(format="svg", encoding="utf-8"))
    except gv.ExecutableNotFound as exc:
        raise MissingDependencyError(
            "graphviz 'dot' executable not found on PATH (install Graphviz: "
            "apt-get install graphviz, brew install graphviz or conda install graphviz)"
        ) from exc
