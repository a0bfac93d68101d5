"""One walk over a statement: what it calls and binds, and what later checks may skip.

The engine looks at every statement of every reply several times (is it a placeholder,
what does it bind, may the policy refuse it, can it fail to compile). :func:`scan` walks
the statement's AST once and keeps the answers in :class:`Facts`, so the per-node path
walks each statement once (issue 24: the nested-placeholder analysis walked each
statement's AST several times, and :func:`ast.walk` is slow). :func:`simple_call` and
:func:`whole_call` tell a placeholder statement's shape (``targets = name(...)``).

Written by hand on purpose: :func:`ast.walk` visits every ``ctx`` node and goes through
``iter_fields``/``getattr`` generators per node; this walk skips what it never reads.

>>> f = scan(ast.parse("x, y = split(load(path), sep=',')").body[0])
>>> sorted(f.calls), sorted(f.binds), f.name_calls, f.compiles, f.plain
(['load', 'split'], ['x', 'y'], 2, True, True)
>>> scan(ast.parse("for i in xs:\\n    return i").body[0]).compiles
False
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Facts", "scan", "line_facts", "simple_call", "whole_call", "target_names",
           "MAX_SAFE_NODES"]

#: Statements and expressions that compile whenever they parse (at module level), apart
#: from the few cases :func:`scan` checks by name (``__debug__``, a repeated keyword).
_COMPILES = frozenset({
    ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Pass, ast.Delete,
    ast.Call, ast.Name, ast.Constant, ast.Attribute, ast.Subscript, ast.Slice, ast.keyword,
    ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.List, ast.Tuple,
    ast.Dict, ast.Set, ast.JoinedStr, ast.FormattedValue,
    *(c for base in (ast.operator, ast.unaryop, ast.boolop, ast.cmpop)
      for c in base.__subclasses__()),
})
#: Node types the guarded policy checks beyond names, attributes and calls.
_POLICY = frozenset({
    ast.Import, ast.ImportFrom, ast.ExceptHandler, ast.Global, ast.Nonlocal,
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.MatchAs, ast.MatchStar,
    ast.MatchMapping,
})
#: Node types the compiler may warn about (``x is 1``, ``assert (a, b)``, ``'ab'['x']``).
_WARNED = frozenset({ast.Is, ast.IsNot, ast.Assert, ast.Subscript})
#: Beyond this many nodes a statement is compiled to check it (deep trees can exhaust the
#: compiler's recursion limit although they parse).
MAX_SAFE_NODES = 400
_NOT_NODES = frozenset({"ctx", "id", "attr", "arg", "name", "asname", "module", "level",
                        "kind", "type_comment", "is_async", "conversion", "simple", "rest",
                        "kwd_attrs"})
_FIELDS: dict[type, tuple[str, ...]] = {}
_ATTRIBUTE = ast.Attribute
#: Node types :func:`scan` reads a name of (``import``: only ``from __future__`` counts)
_SPECIAL = {ast.Attribute: "attr", ast.alias: "alias", ast.arg: "arg",
            ast.ExceptHandler: "named", ast.MatchAs: "named", ast.MatchStar: "named",
            ast.FunctionDef: "named", ast.Global: "module", ast.Nonlocal: "module",
            ast.ImportFrom: "import"}


@dataclass(slots=True)
class Facts:
    """What one walk of a statement found.

    ``calls``: names called as ``name(...)``; ``binds``: names bound (assignment and loop
    targets, imports, ``except ... as``, arguments, ``def`` names); ``name_calls``: how many
    calls have a plain name as their function; ``names``: every name mentioned;
    ``dunder``: a name or attribute starts with ``__``; ``compiles``: it cannot fail to
    compile once parsed (no ``return``/``break``/``yield`` outside their place, no
    ``__debug__``...);
    ``plain``: no node the policy checks other than names, attributes and calls;
    ``module``: a ``global``, ``nonlocal`` or ``from __future__`` (checked with the module);
    ``kinds``: the node types in it; ``quiet``: the compiler cannot warn about it (no
    ``is`` comparison, ``assert``, subscript, or call of anything but a name or attribute:
    what its SyntaxWarnings are about).
    """

    calls: frozenset[str]
    binds: frozenset[str]
    name_calls: int
    names: frozenset[str]
    dunder: bool
    compiles: bool
    plain: bool
    module: bool
    kinds: frozenset[type]
    quiet: bool


def _fields(t: type) -> tuple[str, ...]:
    fields = _FIELDS.get(t)
    if fields is None:
        skip = _NOT_NODES | ({"names"} if t in (ast.Global, ast.Nonlocal) else set()) | (
            {"value"} if t in (ast.Constant, ast.MatchSingleton) else set())
        fields = _FIELDS[t] = tuple(f for f in t._fields if f not in skip)
    return fields


def _odd_keywords(keywords: list[ast.keyword]) -> bool:
    """A keyword given twice, or ``__debug__=``: the compiler refuses the call."""
    kw = [k.arg for k in keywords if k.arg]
    return len(set(kw)) < len(kw) or "__debug__" in kw


def scan(stmt: ast.AST) -> Facts:
    """Walk ``stmt`` once (see :class:`Facts`).

    The commonest statement, ``[names =] f(names or literals, k=...)``, is read directly
    (:func:`_call_facts`, the same facts as the walk).
    """
    t = type(stmt)
    if t is ast.Assign or t is ast.Expr:
        facts = _call_facts(stmt)  # type: ignore[arg-type]
        if facts is not None:
            return facts
    return _walk(stmt)


_Name, _Constant, _Call, _Tuple, _Assign = ast.Name, ast.Constant, ast.Call, ast.Tuple, ast.Assign
#: node kinds of a quick-read statement, by (statement type, tuple target, name argument,
#: literal argument, keyword): made once each (a statement's kinds are one of these 32)
_KINDS: dict[tuple[type, bool, bool, bool, bool], frozenset[type]] = {}


def _kinds(key: tuple[type, bool, bool, bool, bool]) -> frozenset[type]:
    stmt, tup, name, const, kw = key
    kinds = {stmt, ast.Call, ast.Name}
    for flag, kind in ((tup, ast.Tuple), (const, ast.Constant), (kw, ast.keyword)):
        if flag:
            kinds.add(kind)
    made = _KINDS[key] = frozenset(kinds)
    return made


def _call_facts(stmt: ast.Assign | ast.Expr) -> Facts | None:
    """The facts of ``[a[, b] =] f(x, 1, k=y)`` without a walk, else None (walk it)."""
    call = stmt.value
    if type(call) is not _Call or type(call.func) is not _Name:
        return None
    fname: str = call.func.id  # type: ignore[attr-defined]
    binds: list[str] = []
    tup = False
    if type(stmt) is _Assign:
        for target in stmt.targets:  # type: ignore[union-attr]
            t = type(target)
            if t is _Name:
                binds.append(target.id)  # type: ignore[attr-defined]
            elif t is _Tuple and all(type(e) is _Name for e in target.elts):  # type: ignore[attr-defined]
                binds += [e.id for e in target.elts]  # type: ignore[attr-defined]
                tup = True
            else:
                return None
    names = [fname, *binds]
    const = False
    args, keywords = call.args, call.keywords
    for v in args:
        t = type(v)
        if t is _Name:
            names.append(v.id)  # type: ignore[attr-defined]
        elif t is _Constant:
            const = True
        else:
            return None
    for k in keywords:
        v = k.value
        t = type(v)
        if k.arg is None:
            return None
        if t is _Name:
            names.append(v.id)  # type: ignore[attr-defined]
        elif t is _Constant:
            const = True
        else:
            return None
    key = (type(stmt), tup, len(names) > len(binds) + 1, const, bool(keywords))
    kinds = _KINDS.get(key) or _kinds(key)
    dunder = "__" in "".join(names) and any(x.startswith("__") for x in names)
    count = 3 + len(args) + 2 * len(keywords) + len(binds)  # stmt, call, func
    if tup:
        count += sum(type(t) is _Tuple for t in stmt.targets)  # type: ignore[union-attr]
    ok = not dunder and count <= MAX_SAFE_NODES and not (keywords and _odd_keywords(keywords))
    return Facts(frozenset((fname,)), frozenset(binds), 1, frozenset(names), dunder, ok, True,
                 False, kinds, True)


_NO_NAMES: frozenset[str] = frozenset()


def line_facts(fname: str, target: str | None, names: list[str], const: bool, args: int,
               keywords: int) -> Facts:
    """The facts :func:`scan` finds for a checked one-line ``[target = ]fname(args)``.

    For :mod:`~.quickparse`, which has read the line: no name in it starts with ``__``, no
    keyword is given twice; ``names``: the names passed (as arguments or keyword values),
    ``const``: a literal is passed, ``args``/``keywords``: how many of each. (Checked
    against :func:`scan` on generated lines in ``tests/test_speed_paths.py``.)
    """
    stmt = _Assign if target is not None else ast.Expr
    key = (stmt, False, bool(names), const, keywords > 0)
    kinds = _KINDS.get(key) or _kinds(key)
    binds = frozenset((target,)) if target is not None else _NO_NAMES
    every = (fname, target, *names) if target is not None else (fname, *names)
    size = 3 + args + 2 * keywords + (target is not None)  # as _call_facts counts them
    return Facts(frozenset((fname,)), binds, 1, frozenset(every), False,
                 size <= MAX_SAFE_NODES, True, False, kinds, True)


def _walk(stmt: ast.AST) -> Facts:
    """Walk ``stmt`` once (see :class:`Facts`)."""
    calls, binds, names, kinds = set[str](), set[str](), set[str](), set[type]()
    name_calls = count = 0
    odd = module = loud = dunder = False
    Name, Constant, Call, Load = ast.Name, ast.Constant, ast.Call, ast.Load
    stack: list[object] = [stmt]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        n = pop()
        if n is None:
            continue
        t = type(n)
        kinds.add(t)
        count += 1
        if t is Name:
            names.add(n.id)  # type: ignore[attr-defined]
            if type(n.ctx) is not Load:  # type: ignore[attr-defined]
                binds.add(n.id)  # type: ignore[attr-defined]
            continue
        if t is Constant:
            continue
        if t is Call:
            if type(n.func) is Name:  # type: ignore[attr-defined]
                calls.add(n.func.id)  # type: ignore[attr-defined]
                name_calls += 1
            elif type(n.func) is not _ATTRIBUTE:  # type: ignore[attr-defined]
                loud = True  # `(1, 2)(3)`: "perhaps you missed a comma?"
            if n.keywords and _odd_keywords(n.keywords):  # type: ignore[attr-defined]
                odd = True
        else:
            special = _SPECIAL.get(t)
            if special == "attr":
                if n.attr[:2] == "__":  # type: ignore[attr-defined]
                    dunder = True
            elif special == "alias":
                binds.add((n.asname or n.name).split(".")[0])  # type: ignore[attr-defined]
            elif special == "arg":
                binds.add(n.arg)  # type: ignore[attr-defined]
            elif special == "named":
                if n.name:  # type: ignore[attr-defined]
                    binds.add(n.name)  # type: ignore[attr-defined]
            elif special == "module" or (special == "import"
                                         and n.module == "__future__"):  # type: ignore[attr-defined]
                module = True
        fields = _FIELDS.get(t)
        for f in fields if fields is not None else _fields(t):
            v = getattr(n, f, None)
            if type(v) is list:
                extend(v)
            elif v is not None:
                push(v)
    dunder = dunder or any(x[:2] == "__" for x in names)
    compiles = not odd and not dunder and count <= MAX_SAFE_NODES and kinds <= _COMPILES
    frozen = frozenset(kinds)
    return Facts(frozenset(calls), frozenset(binds), name_calls, frozenset(names), dunder,
                 compiles, not (frozen & _POLICY), module, frozen,
                 not loud and not (frozen & _WARNED))


def simple_call(stmt: ast.stmt) -> tuple[ast.Call, list[str]] | None:
    """``(call, targets)`` when ``stmt`` is ``name(...)`` or ``targets = name(...)``."""
    if type(stmt) is _Assign:  # the commonest, `x = name(...)`, read by type (no isinstance)
        first, call = stmt.targets, stmt.value  # type: ignore[attr-defined]
        if (len(first) == 1 and type(first[0]) is _Name and type(call) is _Call
                and type(call.func) is _Name):
            return call, [first[0].id]
    value: ast.expr | None = None
    targets: list[str] | None = []
    if isinstance(stmt, ast.Expr):
        value = stmt.value
    elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        value, targets = stmt.value, target_names(stmt.targets[0])
    elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
        value, targets = stmt.value, [stmt.target.id]
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and targets is not None:
        return value, targets
    return None


def whole_call(stmt: ast.stmt, unknown: Callable[[str], bool], facts: Facts | None = None
               ) -> tuple[ast.Call, list[str]] | None:
    """``(call, targets)`` when ``stmt`` is a placeholder statement.

    That is: an unknown name called as the whole statement, no other unknown call inside
    (``facts``: the statement's, when it has no other call by name there is nothing to walk).
    """
    simple = simple_call(stmt)
    if simple is None or not unknown(simple[0].func.id):  # type: ignore[attr-defined]
        return None
    call = simple[0]
    if facts is not None and facts.name_calls == 1:
        return simple
    if any(isinstance(n, ast.Call) and n is not call and isinstance(n.func, ast.Name)
           and unknown(n.func.id) for n in ast.walk(call)):
        return None
    return simple


def target_names(target: ast.expr) -> list[str] | None:  # type: ignore[return]
    """The names an assignment target binds (``a``, ``a, *b``), None for anything else."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        names = []
        for elt in target.elts:
            inner = elt.value if isinstance(elt, ast.Starred) else elt
            if not isinstance(inner, ast.Name):
                return None
            names.append(inner.id)
        return names
    return None
