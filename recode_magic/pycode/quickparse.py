"""The AST of a one-line call statement built directly, without the parser.

Most replies of a plan are one statement ``x = name(args)`` (a placeholder, or one primitive
call). :func:`quick_tree` builds exactly the tree :func:`ast.parse` gives for such a line
(same nodes, fields, positions and shared ``Load``/``Store`` objects) in a fraction of the
time, for a deliberately narrow, canonical shape:

- ``[target = ]name(args)``, ASCII, on one line, single spaces around ``=`` and after commas;
- each argument a name, a decimal integer (up to 18 digits) or a quoted string without
  backslashes, optionally as ``keyword=value``; positional arguments before keywords, no
  keyword twice;
- no name is a keyword or soft keyword, or starts with ``__``.

Anything else is None: the caller parses it as before. The equivalence is checked against
``ast.parse`` (``ast.dump`` with positions) in ``tests/test_speed_paths.py``.

>>> tree = quick_tree("v = step_1(x, k='a')")
>>> ast.dump(tree, include_attributes=True) == ast.dump(ast.parse("v = step_1(x, k='a')"),
...                                                     include_attributes=True)
True
>>> quick_tree("v = step_1(x)  # a comment") is None
True
"""

from __future__ import annotations

import ast
import keyword
import re

__all__ = ["quick_tree", "quick_stmt"]

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_LINE = re.compile(rf"(?:({_IDENT}) = )?({_IDENT})\(([ -~]*)\)")
# one argument and what follows it: [keyword=](name | integer | 'string' | "string")
_ARG = re.compile(rf"(?:({_IDENT})=)?(?:({_IDENT})|(0|[1-9][0-9]{{0,17}})(?![0-9A-Za-z_.])"
                  r"|'([ -&(-\[\]-~]*)'|\"([ !#-\[\]-~]*)\")(, |$)")
_RESERVED = frozenset([*keyword.kwlist, *keyword.softkwlist])
_LOAD = ast.parse("x").body[0].value.ctx  # type: ignore[attr-defined]
_STORE = ast.parse("x = 1").body[0].targets[0].ctx  # type: ignore[attr-defined]
_Name, _Constant, _Call, _keyword = ast.Name, ast.Constant, ast.Call, ast.keyword


def _at(node: ast.AST, start: int, end: int) -> ast.AST:
    node.lineno, node.col_offset, node.end_lineno, node.end_col_offset = 1, start, 1, end
    return node


def _ok(name: str) -> bool:
    return name not in _RESERVED and name[:2] != "__"


def quick_tree(code: str) -> ast.Module | None:
    """``ast.parse(code)`` for a canonical one-line call statement, else None (see above)."""
    stmt = quick_stmt(code)
    return None if stmt is None else ast.Module([stmt], [])


def quick_stmt(code: str) -> ast.stmt | None:
    """The one statement of :func:`quick_tree` (``ast.parse(code).body[0]``), else None."""
    line = _LINE.fullmatch(code)
    if line is None:
        return None
    target, fname, text = line.groups()
    if not _ok(fname) or (target is not None and not _ok(target)):
        return None
    start = line.start(2)
    args: list[ast.expr] = []
    keywords: list[ast.keyword] = []
    pos, base, end = 0, line.start(3), len(text)
    while pos < end:
        arg = _ARG.match(text, pos)
        if arg is None:
            return None
        kw, name, number, single, double, sep = arg.groups()
        at = base + arg.start(2 if name is not None else 3 if number is not None
                              else 4 if single is not None else 5)
        if name is not None:
            if not _ok(name):
                return None
            value: ast.expr = _at(_Name(name, _LOAD), at, at + len(name))  # type: ignore[assignment]
        elif number is not None:
            value = _at(_Constant(int(number), None), at, at + len(number))  # type: ignore[assignment]
        else:
            s = single if single is not None else double
            value = _at(_Constant(s, None), at - 1, at + len(s) + 1)  # type: ignore[assignment]
        if kw is not None:
            if not _ok(kw) or any(k.arg == kw for k in keywords):
                return None
            keywords.append(_at(_keyword(kw, value), base + pos, value.end_col_offset))  # type: ignore[arg-type]
        elif keywords:  # a positional argument after a keyword: the parser refuses it
            return None
        else:
            args.append(value)
        pos = arg.end()
        if not sep and pos < end:
            return None
        if sep == ", " and pos >= end:  # a trailing ", " before ")"
            return None
    n, stop = len(code), start + len(fname)
    func = _Name(fname, _LOAD)
    func.lineno, func.col_offset, func.end_lineno, func.end_col_offset = 1, start, 1, stop
    call = _Call(func, args, keywords)
    call.lineno, call.col_offset, call.end_lineno, call.end_col_offset = 1, start, 1, n
    if target is None:
        stmt: ast.stmt = ast.Expr(call)
    else:
        name = _Name(target, _STORE)
        name.lineno, name.col_offset, name.end_lineno, name.end_col_offset = 1, 0, 1, len(target)
        stmt = ast.Assign([name], call, None)
    stmt.lineno, stmt.col_offset, stmt.end_lineno, stmt.end_col_offset = 1, 0, 1, n
    return stmt
