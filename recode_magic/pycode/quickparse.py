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
from typing import Any

from .scan import Facts, line_facts

__all__ = ["quick_tree", "quick_stmt", "quick_line"]


_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_LINE = re.compile(rf"(?:({_IDENT}) = )?({_IDENT})\(([ -~]*)\)")
# one argument and what follows it: [keyword=](name | integer | 'string' | "string")
_ARG = re.compile(rf"(?:({_IDENT})=)?(?:({_IDENT})|(0|[1-9][0-9]{{0,17}})(?![0-9A-Za-z_.])"
                  r"|'([ -&(-\[\]-~]*)'|\"([ !#-\[\]-~]*)\")(, |$)")
_RESERVED = frozenset([*keyword.kwlist, *keyword.softkwlist])
_LOAD = ast.parse("x").body[0].value.ctx  # type: ignore[attr-defined]
_STORE = ast.parse("x = 1").body[0].targets[0].ctx  # type: ignore[attr-defined]
_Name, _Constant, _Call, _keyword = ast.Name, ast.Constant, ast.Call, ast.keyword
_Assign = ast.Assign
_new = ast.AST.__new__


def _node(cls: type, fields: dict[str, Any]) -> Any:
    """A node of ``cls`` holding ``fields`` (in the parser's order: fields, then positions).

    Set as a whole ``__dict__``: what the parser's nodes hold, at a third of the cost of the
    constructor and four attribute stores.
    """
    node = _new(cls)
    node.__dict__ = fields
    return node


def _expr(cls: type, first: str, value: Any, second: str, other: Any, start: int,
          end: int) -> Any:
    return _node(cls, {first: value, second: other, "lineno": 1, "col_offset": start,
                       "end_lineno": 1, "end_col_offset": end})


def _ok(name: str) -> bool:
    return name not in _RESERVED and name[:2] != "__"


def _plain_arguments(text: str, base: int) -> tuple[list[Any], list[Any]] | None:
    """Arguments without quotes: names and integers, ``, ``-separated (None: not that)."""
    args: list[Any] = []
    keywords: list[Any] = []
    at = base
    for part in text.split(", "):
        kw, eq, value = part.rpartition("=")
        start = at + len(kw) + len(eq)
        if value.isidentifier():  # ASCII here (the line's pattern)
            if not _ok(value):
                return None
            node = _expr(_Name, "id", value, "ctx", _LOAD, start, start + len(value))
        elif value.isdigit() and len(value) <= 18 and (value[0] != "0" or value == "0"):
            node = _expr(_Constant, "value", int(value), "kind", None, start,
                         start + len(value))
        else:
            return None
        if eq:
            if not (kw.isidentifier() and _ok(kw)) or any(k.arg == kw for k in keywords):
                return None
            keywords.append(_expr(_keyword, "arg", kw, "value", node, at, at + len(part)))
        elif keywords:  # a positional argument after a keyword: the parser refuses it
            return None
        else:
            args.append(node)
        at += len(part) + 2
    return args, keywords


def _arguments(text: str, base: int) -> tuple[list[Any], list[Any]] | None:
    """Arguments that may hold quoted strings, read with :data:`_ARG` (None: not that)."""
    args: list[Any] = []
    keywords: list[Any] = []
    pos, end = 0, len(text)
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
            value = _expr(_Name, "id", name, "ctx", _LOAD, at, at + len(name))
        elif number is not None:
            value = _expr(_Constant, "value", int(number), "kind", None, at, at + len(number))
        else:
            s = single if single is not None else double
            value = _expr(_Constant, "value", s, "kind", None, at - 1, at + len(s) + 1)
        if kw is not None:
            if not _ok(kw) or any(k.arg == kw for k in keywords):
                return None
            keywords.append(_expr(_keyword, "arg", kw, "value", value, base + pos,
                                  value.end_col_offset))
        elif keywords:  # a positional argument after a keyword: the parser refuses it
            return None
        else:
            args.append(value)
        pos = arg.end()
        if not sep and pos < end:
            return None
        if sep == ", " and pos >= end:  # a trailing ", " before ")"
            return None
    return args, keywords


def quick_tree(code: str) -> ast.Module | None:
    """``ast.parse(code)`` for a canonical one-line call statement, else None (see above)."""
    stmt = quick_stmt(code)
    return None if stmt is None else ast.Module([stmt], [])


def quick_stmt(code: str) -> ast.stmt | None:
    """The one statement of :func:`quick_tree` (``ast.parse(code).body[0]``), else None."""
    read = quick_line(code)
    return None if read is None else read[0]


def quick_line(code: str) -> tuple[ast.stmt, Facts] | None:
    """:func:`quick_stmt` and its :func:`~.scan.scan` facts (read from the line), else None."""
    line = _LINE.fullmatch(code)
    if line is None:
        return None
    target, fname, text = line.groups()
    if fname in _RESERVED or fname[:2] == "__" or (target is not None and not _ok(target)):
        return None
    start = 0 if target is None else len(target) + 3  # `target = ` before the name
    stop = start + len(fname)  # `(` right after it
    if "'" in text or '"' in text:  # a string may hold ", ": read argument by argument
        read = _arguments(text, stop + 1)
    else:
        read = _plain_arguments(text, stop + 1) if text else ([], [])
    if read is None:
        return None
    args, keywords = read
    values = [*args, *[k.value for k in keywords]] if keywords else args
    names = [v.id for v in values if type(v) is _Name] if values else []
    facts = line_facts(fname, target, names, len(names) < len(values), len(args),
                       len(keywords))
    n = len(code)
    func = _new(_Name)  # the nodes as _node makes them, written out (the per-node path)
    func.__dict__ = {"id": fname, "ctx": _LOAD, "lineno": 1, "col_offset": start,
                     "end_lineno": 1, "end_col_offset": stop}
    call = _new(_Call)
    call.__dict__ = {"func": func, "args": args, "keywords": keywords, "lineno": 1,
                     "col_offset": start, "end_lineno": 1, "end_col_offset": n}
    if target is None:
        return _node(ast.Expr, {"value": call, "lineno": 1, "col_offset": 0, "end_lineno": 1,
                                "end_col_offset": n}), facts
    stored = _new(_Name)
    stored.__dict__ = {"id": target, "ctx": _STORE, "lineno": 1, "col_offset": 0,
                       "end_lineno": 1, "end_col_offset": start - 3}
    stmt = _new(_Assign)
    stmt.__dict__ = {"targets": [stored], "value": call, "type_comment": None, "lineno": 1,
                     "col_offset": 0, "end_lineno": 1, "end_col_offset": n}
    return stmt, facts
