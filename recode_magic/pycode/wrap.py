"""Calls of async and checked primitives, wrapped so the engine sees their results.

``f(x)`` becomes ``__recode_await__(f(x))`` for an ``async def`` primitive (run by
:func:`run_coroutine`) and ``__recode_observe__('f', f(x))`` for one with a ``check``; the two
helpers are in the namespace only while a block runs, and generated code cannot name dunders.
"""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
from typing import Any

__all__ = ["AWAIT", "OBSERVE", "wrap_calls", "run_coroutine"]

AWAIT = "__recode_await__"      # set in the namespace only while a block runs
OBSERVE = "__recode_observe__"


class _Wrapper(ast.NodeTransformer):
    def __init__(self, awaited: frozenset[str], checked: frozenset[str]) -> None:
        self.awaited, self.checked = awaited, checked

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        name = node.func.id if isinstance(node.func, ast.Name) else None
        out: ast.expr = node
        if name in self.awaited:
            out = ast.Call(ast.Name(AWAIT, ast.Load()), [out], [])
        if name in self.checked:
            out = ast.Call(ast.Name(OBSERVE, ast.Load()), [ast.Constant(name), out], [])
        return ast.copy_location(out, node)


def wrap_calls(stmt: ast.stmt, awaited: frozenset[str], checked: frozenset[str]) -> ast.stmt:
    """Wrap calls of async and checked primitives so the engine sees their results.

    ``f(x)`` becomes ``__recode_await__(f(x))`` for an ``async def`` primitive and
    ``__recode_observe__('f', f(x))`` for one with a ``check`` (the helpers are in the
    namespace only while the block runs; generated code cannot name dunders).
    """
    new = _Wrapper(awaited, checked).visit(stmt)
    return ast.fix_missing_locations(new)


def run_coroutine(value: Any) -> Any:
    """Run a coroutine to completion and return its result (anything else is returned as is).

    With no event loop running in this thread, ``asyncio.run``; in a kernel (whose loop is
    running) in a worker thread with its own loop, waiting for it.

    >>> async def two(): return 2
    >>> run_coroutine(two()), run_coroutine(3)
    (2, 3)
    """
    if not asyncio.iscoroutine(value):
        return value
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(value)
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="recode-await")
    try:
        return pool.submit(asyncio.run, value).result()
    finally:  # on Ctrl-C or --timeout, do not wait for the coroutine here
        pool.shutdown(wait=False, cancel_futures=True)
