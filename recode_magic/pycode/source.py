"""Model code to an AST: :func:`parse_code` (where a ``def`` may stand) and syntax errors.

Both raise :class:`~recode_magic.errors.FormatError`, whose message is written for the model
(it goes back to it as a rewrite request).
"""

from __future__ import annotations

import ast
import re
import warnings

from ..errors import FormatError
from .astlock import parse
from .quickparse import quick_tree

__all__ = ["parse_code", "syntax_error"]

#: What the parser's SyntaxWarnings are about: an escape in a string (``"\d"``), a number
#: running into a name (``1if``, ``0x1for``, ``1.else``); code without either cannot warn.
_MAY_WARN = re.compile(r"\\|\d\.?[A-Za-z_]")


def parse_code(code: str, filename: str = "<recode>") -> ast.Module:
    """Parse code; refuse ``class``, ``async def`` and a ``def`` that is not at the top level.

    Compile errors the parser does not see (``return`` outside a function...) are raised by
    :func:`split_blocks`, which compiles each statement.

    >>> parse_code("if x:\\n    def f(): pass")
    Traceback (most recent call last):
    recode_magic.errors.FormatError: line 2: `def f` is not allowed here (write a def only at ...
    """
    quick = quick_tree(code)  # `x = name(args)` on one line: built without the parser
    if quick is not None:
        return quick
    try:
        if _MAY_WARN.search(code) is None:  # no filter to set up (it costs as much again)
            tree = parse(code, filename=filename)
        else:
            with warnings.catch_warnings():  # invalid escapes...: not the user's concern here
                warnings.simplefilter("ignore", SyntaxWarning)
                tree = parse(code, filename=filename)
    except SyntaxError as exc:
        raise syntax_error(exc, code) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise FormatError(f"code cannot be compiled: {type(exc).__name__}: {exc}",
                          reply=code) from None
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef):
            for inner in stmt.body:
                _check_defs(inner, code, nested_def=True)
        elif not isinstance(stmt, _SIMPLE):
            _check_defs(stmt, code)
    return tree


_SIMPLE = (ast.Assign, ast.Expr, ast.AugAssign, ast.AnnAssign, ast.Import, ast.ImportFrom,
           ast.Pass, ast.Delete)  # statements that cannot hold a def (no lambda bodies)


def _check_defs(stmt: ast.stmt, code: str, nested_def: bool = False) -> None:
    for node in ast.walk(stmt):
        if nested_def and type(node) is ast.FunctionDef:
            continue  # a helper inside a top-level def
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kind = "class" if isinstance(node, ast.ClassDef) else "def"
            where = (" here (write a def only at the top level, or write the steps as "
                     "placeholder calls)" if type(node) is ast.FunctionDef else
                     " (write the steps as placeholder calls, not definitions)")
            raise FormatError(f"line {node.lineno}: `{kind} {node.name}` is not allowed{where}",
                              reply=code)


def syntax_error(exc: SyntaxError, code: str) -> FormatError:
    """The FormatError for a SyntaxError in ``code``: line, message, the line's text."""
    line = (exc.text or "").strip()
    return FormatError(f"line {exc.lineno}: SyntaxError: {exc.msg}"
                       + (f" in `{line[:80]}`" if line else ""), reply=code)
