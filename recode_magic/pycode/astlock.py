"""``ast.parse`` and ``compile`` of ASTs under one lock: CPython 3.11 is not thread-safe there.

CPython before 3.11.8 / 3.12.1 kept the AST converter's recursion depth in interpreter-wide
state, so two threads parsing at once can fail with ``SystemError: AST constructor recursion
depth mismatch`` (python/cpython#106905, seen here with batch runs and parallel expansion on
3.11.7). Every parse and AST compile of the package goes through these two functions; the
lock costs microseconds per node and nothing on a fixed interpreter (where it is skipped).

>>> parse("x = 1").body[0].targets[0].id
'x'
>>> eval(compile_ast(parse("1 + 1", mode="eval"), "<doc>", "eval"))
2
"""

from __future__ import annotations

import ast
import sys
import threading
from contextlib import nullcontext
from types import CodeType
from typing import Any

__all__ = ["parse", "compile_ast", "AST_LOCK"]

_FIXED = sys.version_info >= (3, 12, 1) or (3, 11, 8) <= sys.version_info < (3, 12)
AST_LOCK: Any = nullcontext() if _FIXED else threading.RLock()
_ONLY_AST = ast.PyCF_ONLY_AST


def parse(source: str, filename: str = "<unknown>", mode: str = "exec") -> Any:
    """:func:`ast.parse`, safe to call from several threads."""
    with AST_LOCK:  # what ast.parse does, without its Python frame
        return compile(source, filename, mode, _ONLY_AST, True)  # inherit no __future__


def compile_ast(tree: ast.AST, filename: str, mode: str) -> CodeType:
    """:func:`compile` of an AST, safe to call from several threads."""
    with AST_LOCK:
        return compile(tree, filename, mode)
