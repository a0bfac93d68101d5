"""A finished run as plain Python that replays it with no model: functions or inlined code."""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..pycode.astlock import parse
from ..pycode.code import bound_names
from ..pycode.limits import short_repr
from .status import NodeStatus

if TYPE_CHECKING:
    from .tree import Node
    from .tree import RunData as Run

__all__ = ["export_run", "EXPORT_STYLES"]

EXPORT_STYLES = ("functions", "inline")
_LITERALS = (type(None), bool, int, float, complex, str, bytes)


@dataclass
class _Item:
    """One statement of a node's replay: code as it ran, or a finished child placeholder."""

    code: str
    child: Node | None = None



def export_run(run: Run, style: str = "functions") -> str:
    """Plain Python that replays ``run``'s finished tree with no model.

    Built from what ran (``Node.steps``): statements that raised are left out, and so are
    failed placeholders. ``"functions"`` turns every placeholder into a ``def`` named after
    it (arguments from the call, returning its targets; names the subtree assigns stay
    global, since a run has one flat namespace); ``"inline"`` splices each expansion in
    place of its call. Keyword arguments of a placeholder call become variables, as in the
    engine. ``task`` and the run's inputs are set at the top.

    Parameters
    ----------
    run : Run
        A run, usually finished (``done``); unfinished parts are exported as far as they ran.
    style : {"functions", "inline"}
        Output shape.

    Returns
    -------
    str
        Python source ending with a newline.
    """
    if style not in EXPORT_STYLES:
        raise ConfigError(f"unknown export style: {style!r} (must be one of {list(EXPORT_STYLES)})")
    head = _header(run)
    if style == "inline":
        body = _inline(run)
        return head + "\n" + body + "\n"
    return head + "\n\n\n" + _functions(run) + "\n"


# -- shared -------------------------------------------------------------------------------
def _header(run: Run) -> str:
    task_line = (run.task.strip().splitlines() or [""])[0][:80]
    lines = [f'"""Replay of a ReCode run: {task_line.replace(chr(34) * 3, "")}',
             "",
             f"Exported by recode_magic from a run that ended {run.status!r}; it calls the same",
             "primitives in the same order and needs no model. Define the primitives first.",
             '"""', "", f"task = {run.task!r}"]
    ns = run.namespace or {}
    for name in run.inputs:
        value = ns.get(name, _MISSING)
        if _is_literal(value):
            lines.append(f"{name} = {value!r}")
        else:
            lines.append(f"{name} = globals()[{name!r}]  # input: define {name!r} before running")
    parsed = _parse_call(run.root.call)
    for arg in parsed[1].args if parsed is not None else []:
        if isinstance(arg, ast.Name) and arg.id not in ("task", *run.inputs):
            value = "task" if arg.id == "instruction" else f"globals().get({arg.id!r})"
            lines.append(f"{arg.id} = {value}  # argument of the root call")
    return "\n".join(lines)


_MISSING = object()


#: An input whose repr is longer is read from the namespace, not written into the export.
LITERAL_LIMIT = 2_000


def _is_literal(value: Any) -> bool:
    """True for a small value that its repr reproduces (big ones are never repr'd whole)."""
    if value is _MISSING or "…" in short_repr(value, LITERAL_LIMIT + 1):
        return False
    try:
        return bool(ast.literal_eval(repr(value)) == value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def _items(node: Node) -> list[_Item]:
    """What ran in ``node``, in order: successful statements and finished placeholders."""
    if node.steps:
        by_id = {c.id: c for c in node.children}
        out = []
        for step in node.steps:
            if step.error:
                continue
            if step.kind == "placeholder":
                child = by_id.get(step.child or "")
                if child is not None:
                    out.append(_Item(step.code, child))
            else:
                out.append(_Item(step.code))
        return out
    return _items_from_code(node)


def _items_from_code(node: Node) -> list[_Item]:
    """Fallback for trees with no steps (``recode.plan.v1``): split ``code`` and match calls.

    Only for a node that finished: the code of one that had not (a run saved while it went
    on) holds calls of children that never ran, which no ``def`` would define.
    """
    if node.status != NodeStatus.DONE or not node.code.strip():
        return []
    try:
        tree = parse(node.code)
    except SyntaxError:
        return [_Item(textwrap.indent(node.code, "# "))]
    kids = [c for c in node.children if c.status in (NodeStatus.DONE, NodeStatus.SKIPPED)]
    out = []
    for stmt in tree.body:
        src = ast.get_source_segment(node.code, stmt) or ast.unparse(stmt)
        call = _call_of(stmt)
        if kids and call is not None and isinstance(call.func, ast.Name) \
                and call.func.id == kids[0].name:
            out.append(_Item(src, kids.pop(0)))
        else:
            out.append(_Item(src))
    return out


def _call_of(stmt: ast.stmt) -> ast.Call | None:
    value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign)) else None
    return value if isinstance(value, ast.Call) else None


def _parse_call(code: str) -> tuple[ast.stmt, ast.Call] | None:
    try:
        stmt = parse(code).body[0]
    except (SyntaxError, IndexError):
        return None
    call = _call_of(stmt)
    return (stmt, call) if call is not None else None


def _assigned(code: str) -> set[str]:
    try:
        return bound_names(parse(code))
    except SyntaxError:
        return set()


def _keywords(call: ast.Call) -> list[tuple[str, ast.expr]]:
    return [(k.arg, k.value) for k in call.keywords if k.arg is not None]


def _spans_lines(code: str) -> bool:
    """True when a string token spans lines (indenting the text would change its value)."""
    try:
        return any(tok.type == tokenize.STRING and tok.start[0] != tok.end[0]
                   for tok in tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return False


def _flat(code: str) -> str:
    """The statement, rewritten on its own lines if a string in it spans lines.

    Indenting such a statement would change the string's value, so it goes through
    ``ast.unparse`` (which writes ``\\n`` escapes) instead.
    """
    if "\n" in code and ('"""' in code or "'''" in code) and _spans_lines(code):
        try:
            return ast.unparse(parse(code))
        except SyntaxError:
            pass
    return code


# -- inline -------------------------------------------------------------------------------
def _inline(run: Run) -> str:
    out: list[str] = []
    stack: list[tuple[str, Any]] = [("node", run.root)]
    while stack:
        kind, what = stack.pop()
        if kind == "text":
            out.append(what)
            continue
        todo: list[tuple[str, Any]] = []
        for item in _items(what):
            if item.child is None:
                todo.append(("text", item.code))
                continue
            child = item.child
            todo.append(("text", f"# -- {_one_line(item.code)}  ({child.status}, "
                                 f"depth {child.depth})"))
            parsed = _parse_call(item.code)
            if parsed is not None:
                for key, expr in _keywords(parsed[1]):
                    todo.append(("text", f"{key} = {ast.unparse(expr)}"))
            todo.append(("node", child))
        stack.extend(reversed(todo))
    return "\n".join(out)


def _one_line(code: str) -> str:
    line = " ".join(code.split())
    return line if len(line) <= 90 else line[:89] + "…"


# -- functions ----------------------------------------------------------------------------
def _functions(run: Run) -> str:
    nodes = run.nodes()
    items = {n.id: _items(n) for n in nodes}
    # names each node's body assigns, and each subtree (keyword bindings of calls included)
    direct: dict[str, set[str]] = {}
    subtree: dict[str, set[str]] = {}
    for n in nodes:
        names: set[str] = set()
        for item in items[n.id]:
            names |= _assigned(item.code)
            if item.child is not None and item.child.status == NodeStatus.SKIPPED:
                names |= _call_keywords(item.code)  # bound here: a skipped call has no def
        direct[n.id] = names
        subtree[n.id] = names | _call_keywords(n.call if n.parent is not None else "")
    inner = {nid: set(s) for nid, s in direct.items()}
    for n in reversed(nodes):
        if n.parent is not None:
            subtree[n.parent.id] |= subtree[n.id]
            inner[n.parent.id] |= subtree[n.id]
    # identical expansions share one def: bodies are keyed bottom-up, with each call site
    # naming its child's class by a token; names are given top-down, in order of appearance
    token: dict[str, str] = {}
    classes: dict[tuple[str, str, str], str] = {}
    bodies: dict[str, tuple[str, str, str]] = {}
    for n in reversed(nodes):  # children first
        if n.status != NodeStatus.DONE and n.parent is not None:
            continue
        sig, text = _body(n, items[n.id], direct[n.id], inner[n.id], token)
        key = (n.name, sig, text)
        if key not in classes:
            classes[key] = f"\x00{len(classes)}\x00"
            bodies[classes[key]] = key
        token[n.id] = classes[key]
    names: dict[str, str] = {}
    used: dict[str, int] = {}
    for n in nodes:
        tok = token.get(n.id)
        if tok is None or tok in names:
            continue
        used[n.name] = used.get(n.name, 0) + 1
        names[tok] = n.name if used[n.name] == 1 else f"{n.name}_{used[n.name]}"
    defs = [f"def {names[tok]}({bodies[tok][1]}):\n{bodies[tok][2]}" for tok in names]
    out = "\n\n\n".join([*defs, _call_site(run.root, run.root.call, token)])
    return re.sub("\x00\\d+\x00", lambda m: names[m.group(0)], out)


def _call_keywords(call_text: str) -> set[str]:
    parsed = _parse_call(call_text) if call_text else None
    return {k for k, _ in _keywords(parsed[1])} if parsed is not None else set()


def _body(node: Node, items: list[_Item], direct: set[str], inner: set[str],
          fname: dict[str, str]) -> tuple[str, str]:
    """Signature and indented body of a node's def.

    ``direct``: names the body itself assigns (declared global); ``inner``: names assigned
    anywhere below the call (such names cannot be parameters, which would shadow them).
    """
    parsed = _parse_call(node.call)
    call = parsed[1] if parsed is not None else None
    params: list[str] = []
    prologue: list[str] = []
    kw_via_dict = False
    glob_kw: set[str] = set()
    if call is not None:
        if any(isinstance(a, ast.Starred) for a in call.args):
            params.append("*_args")
        else:
            for i, arg in enumerate(call.args):
                if isinstance(arg, ast.Name) and arg.id not in inner and arg.id not in params:
                    params.append(arg.id)
                else:
                    params.append(f"_arg{i}")
        for key, _ in _keywords(call):
            if key in inner or key in params:
                kw_via_dict = True
                glob_kw.add(key)
                prologue.append(f"{key} = _kw[{key!r}]")
            else:
                params.append(key)
                prologue.append(f"globals()[{key!r}] = {key}  # keyword arguments are variables")
        if kw_via_dict or any(k.arg is None for k in call.keywords):
            params.append("**_kw")
    glob = sorted((direct | glob_kw) - {p.lstrip("*") for p in params})
    lines = [f"global {', '.join(glob)}"] if glob else []
    lines += prologue
    for item in items:
        code = item.code if item.child is None else _call_site(item.child, item.code, fname)
        lines.append(_flat(code))
    targets = node.targets
    if len(targets) == 1:
        lines.append(f"return {targets[0]}")
    elif targets:
        star = _starred_targets(node.call)
        lines.append("return " + ", ".join(f"*{t}" if t in star else t for t in targets))
    doc = f'"""{_one_line(node.call).replace(chr(34) * 3, "")}"""'
    text = textwrap.indent("\n".join([doc, *lines]), "    ", lambda line: True)
    return ", ".join(params), text


def _starred_targets(call_text: str) -> set[str]:
    parsed = _parse_call(call_text)
    if parsed is None or not isinstance(parsed[0], ast.Assign):
        return set()
    return {e.value.id for e in ast.walk(parsed[0].targets[0])
            if isinstance(e, ast.Starred) and isinstance(e.value, ast.Name)}


def _call_site(child: Node, code: str, fname: dict[str, str]) -> str:
    """The placeholder statement, calling the child's def; unevaluated arguments dropped."""
    parsed = _parse_call(code)
    if child.status == NodeStatus.SKIPPED and parsed is not None:
        binds = [f"{k} = {ast.unparse(v)}" for k, v in _keywords(parsed[1])]
        return "\n".join([*binds, f"# {_one_line(code)}  (skipped: the model wrote no code)"])
    if parsed is None or child.id not in fname:
        return f"# {_one_line(code)}  (not replayed)"
    stmt, call = parsed
    call.func = ast.Name(id=fname[child.id], ctx=ast.Load())
    # the engine never evaluates positional expressions (only names are read, keywords bound)
    call.args = [a if isinstance(a, (ast.Name, ast.Constant, ast.Starred)) else
                 ast.Constant(value=None) for a in call.args]
    return ast.unparse(stmt)
