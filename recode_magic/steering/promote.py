"""Turn expansions into reusable things: a node as a real function, a run as training pairs.

:func:`promote_source` writes a node's expansion as ``def name(params):`` (its thought as
the docstring). Placeholder children are inlined (one self-contained function, the default)
or kept as calls with a ``def`` of their own each (``inline=False``). Defined in a notebook
cell, the function is a primitive of every later run: a skill library that grows with the
notebook, and a later run that calls it asks the model for none of its subtree.

:func:`training_pairs` yields one ``{prompt, reply, node, depth, name, source}`` record per
node that ended ``done``, at every level of the tree (``source`` is ``model``, or ``human``
for code written by hand with ``%recode edit``).

>>> from recode_magic import ReCode, ScriptedLLM
>>> llm = ScriptedLLM({"solve": "<execute>y = double(n)</execute>",
...                    "double": "<think>Twice n.</think><execute>y = n + n</execute>"})
>>> run = ReCode(llm).run("double it", inputs={"n": 2})
>>> print(promote_source(run.root.children[0]))
def double(n):
    \"\"\"Twice n.\"\"\"
    y = n + n
    return y
>>> [(p["name"], p["depth"]) for p in training_pairs(run)]
[('solve', 0), ('double', 1)]
"""

from __future__ import annotations

import ast
import re
import textwrap

from ..errors import ConfigError
from ..pycode.astlock import parse
from ..runs.pairs import training_pairs, write_pairs
from ..runs.status import NodeStatus
from ..runs.tree import Node

__all__ = ["promote_source", "function_params", "training_pairs", "write_pairs"]

# training pairs are a view of the run as data; re-exported here, where users met them first

_INDENT = "    "
#: the thought of a node whose code was written by hand (``%recode edit``)
HAND_EDITED = "(edited by hand)"


def _call(node: Node) -> ast.Call | None:
    try:
        tree = parse(node.call)
    except SyntaxError:
        return None
    stmt = tree.body[0] if tree.body else None
    value = getattr(stmt, "value", None)
    return value if isinstance(value, ast.Call) else None


def function_params(node: Node) -> list[str]:
    """Parameter names of the promoted function: the names its call passes.

    A positional argument that is a variable keeps its name (``f(items)`` -> ``items``),
    another expression becomes ``arg0``...; a keyword argument keeps its keyword.
    """
    call = _call(node)
    if call is None:
        return []
    params: list[str] = []
    for i, arg in enumerate(call.args):
        name = arg.id if isinstance(arg, ast.Name) else f"arg{i}"
        params.append(name if name not in params else f"arg{i}")
    params += [k.arg for k in call.keywords if k.arg and k.arg not in params]
    return params


def _statements(node: Node) -> list[tuple[str, Node | None]]:
    """What ran in the node: ``(statement, child or None)``, errored statements left out."""
    if not node.steps:
        return [(node.code, None)] if node.code.strip() else []
    kids = {c.id: c for c in node.children}
    out: list[tuple[str, Node | None]] = []
    for step in node.steps:
        if step.error:
            continue
        out.append((step.code, kids.get(step.child or "") if step.kind == "placeholder"
                    else None))
    return out


def _keyword_bindings(child: Node) -> list[str]:
    call = _call(child)
    if call is None:
        return []
    return [f"{k.arg} = {ast.unparse(k.value)}" for k in call.keywords
            if k.arg and not (isinstance(k.value, ast.Name) and k.value.id == k.arg)]


def _inlined(node: Node) -> list[str]:
    lines: list[str] = []
    for code, child in _statements(node):
        if child is None:
            lines.append(code)
        elif child.status == NodeStatus.DONE:
            lines += [f"# {child.name}", *_keyword_bindings(child), *_inlined(child)]
        else:
            lines.append(f"# {child.name}: {child.status}, not inlined\n{code}")
    return lines


def _def(node: Node, name: str, body: list[str]) -> str:
    doc = node.thought.strip()
    if not doc or doc == HAND_EDITED:  # a marker for the tree, not a description
        by_hand = " (written by hand)" if doc else ""
        doc = f"Promoted from the ReCode expansion of `{node.call}`{by_hand}."
    doc = doc.replace('"""', "'''").replace("\\", "\\\\")
    lines = [f'"""{doc}"""' if "\n" not in doc else f'"""{doc}\n"""', *body]
    if node.targets:
        lines.append(f"return {', '.join(node.targets)}")
    if len(lines) == 1:
        lines.append("pass")
    text = textwrap.indent("\n".join(lines), _INDENT)
    return f"def {name}({', '.join(function_params(node))}):\n{text}"


def promote_source(node: Node, name: str | None = None, *, inline: bool = True) -> str:
    """The node's expansion as Python source: ``def name(params): ...``.

    Parameters
    ----------
    node : Node
        A node that ended ``done``.
    name : str, optional
        The function's name (default: the node's).
    inline : bool
        Inline placeholder children (default); False keeps their calls and writes one
        ``def`` per node of the subtree, children first.

    Raises
    ------
    ConfigError
        A node that did not end ``done``, a ``name`` that is not an identifier, or one the
        promoted code calls (``%recode promote step add`` when the step calls your ``add``:
        the new ``def add`` would replace it and call itself).
    """
    if node.status != NodeStatus.DONE:
        raise ConfigError(f"`{node.name}` (node {node.id}) ended {str(node.status)!r}: only a "
                          f"node that ended 'done' can be promoted")
    name = name or node.name
    if not name.isidentifier():
        raise ConfigError(f"a function name must be an identifier, got {name!r}")
    source = _def(node, name, _inlined(node)) if inline else _kept_calls(node, name)
    if name in _called_by(source, name):
        raise ConfigError(f"the promoted code calls `{name}`: a function named {name!r} would "
                          f"replace it and call itself (pick another name)")
    return source


def _called_by(source: str, name: str) -> set[str]:
    """The plain names called in the body of ``def name`` in ``source``."""
    try:
        tree = parse(source)
    except SyntaxError:  # an odd expansion: shown as it is, as before
        return set()
    for d in tree.body:
        if isinstance(d, ast.FunctionDef) and d.name == name:
            return {c.func.id for c in ast.walk(d) if isinstance(c, ast.Call)
                    and isinstance(c.func, ast.Name)}
    return set()


def _kept_calls(node: Node, name: str) -> str:
    """One ``def`` per distinct expansion, children first; a call names its child's def.

    Expansions that share a name but differ get ``name_2``, ``name_3``... (as
    :func:`~recode_magic.runs.export.export_run` does); identical ones share one ``def``.
    """
    nodes = [n for n in node.walk() if n.status == NodeStatus.DONE]
    token: dict[str, str] = {}  # node id -> its class of identical expansions
    bodies: dict[tuple[str, str], tuple[Node, list[str]]] = {}
    classes: dict[tuple[str, str], str] = {}
    for n in reversed(nodes):  # children first: a body names its children's classes
        body = [code if child is None or child.id not in token else
                _renamed(code, child.name, token[child.id]) for code, child in _statements(n)]
        key = (n.name, "\n".join(body) + "\x00" + n.thought)
        if n is node:
            key = (name, "\x00root")
        if key not in classes:
            classes[key] = f"\x00{len(classes)}\x00"
            bodies[key] = (n, body)
        token[n.id] = classes[key]
    names: dict[str, str] = {}
    used: dict[str, int] = {}
    for n in nodes:  # names in order of appearance: the first keeps the plain name
        tok = token[n.id]
        if tok not in names:
            base = name if n is node else n.name
            used[base] = used.get(base, 0) + 1
            names[tok] = base if used[base] == 1 else f"{base}_{used[base]}"
    defs = [_def(n, names[classes[key]], body) for key, (n, body) in bodies.items()]
    return re.sub("\x00\\d+\x00", lambda m: names[m.group(0)], "\n\n\n".join(defs))


def _renamed(code: str, old: str, new: str) -> str:
    """``code`` with its call of ``old`` calling ``new`` instead."""
    try:
        tree = parse(code)
    except SyntaxError:
        return code
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) \
                and call.func.id == old:
            call.func.id = new
    return ast.unparse(tree)
