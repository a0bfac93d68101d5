"""Placeholders nested in a statement: hoisting them out, or making the statement one node.

Two deterministic treatments, both static (nothing runs), both keeping the promise that
nothing in a statement runs before its placeholders are expanded:

- :func:`hoist`: an unknown call evaluated exactly once whenever its statement runs (inside
  an expression, the test of an ``if``, the iterable of a ``for``, a ``with`` item) moves to
  a statement of its own just before: ``avg = round(mean(xs), 1)`` becomes
  ``mean_result = mean(xs)`` then ``avg = round(mean_result, 1)``.
- :func:`compound_parts`: an unknown call that may run zero or many times (a loop or ``if``
  body, a comprehension, a lambda, a ``try``/``with`` body, a short-circuit operand) makes
  the whole statement a node of its own, expanded by the model into code.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Iterator

__all__ = ["eager_calls", "hoist", "compound_parts", "construct", "loaded_names"]

_DEFERRED = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
             ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_KIND = {ast.For: "a for loop", ast.While: "a while loop", ast.If: "an if",
         ast.With: "a with block", ast.Try: "a try block", ast.Lambda: "a lambda",
         ast.ListComp: "a comprehension", ast.GeneratorExp: "a comprehension",
         ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
         ast.IfExp: "a conditional expression", ast.BoolOp: "an and/or"}
_WORD = {"a for loop": "loop", "a while loop": "loop", "a comprehension": "loop",
         "an if": "branch", "a conditional expression": "branch", "an and/or": "branch",
         "a with block": "with", "a try block": "try", "a lambda": "lambda"}


def _eager_roots(stmt: ast.stmt) -> list[ast.expr]:
    """The parts of a statement evaluated exactly once, first, whenever it runs."""
    if isinstance(stmt, (ast.Expr, ast.Assign, ast.AugAssign)):
        return [stmt.value]
    if isinstance(stmt, ast.AnnAssign):
        return [stmt.value] if stmt.value is not None else []
    if isinstance(stmt, ast.If):
        return [stmt.test]
    if isinstance(stmt, ast.For):
        return [stmt.iter]
    if isinstance(stmt, ast.With):
        return [item.context_expr for item in stmt.items]
    return []


def eager_calls(stmt: ast.stmt) -> Iterator[ast.Call]:
    """Calls ``name(...)`` evaluated exactly once whenever ``stmt`` runs.

    >>> [c.func.id for c in eager_calls(ast.parse("y = f(g(x)) or h([k(i) for i in x])").body[0])]
    ['f', 'g']
    """
    stack = list(reversed(_eager_roots(stmt)))
    while stack:
        node = stack.pop()
        if isinstance(node, _DEFERRED):
            continue
        if isinstance(node, ast.IfExp):
            stack.append(node.test)
            continue
        if isinstance(node, ast.BoolOp):
            stack.append(node.values[0])
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            yield node
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _has_unknown(node: ast.AST, unknown: Callable[[str], bool], skip: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and n is not skip and isinstance(n.func, ast.Name)
               and unknown(n.func.id) for n in ast.walk(node))


class _Replace(ast.NodeTransformer):
    def __init__(self, old: ast.AST, new: ast.expr):
        self.old, self.new = old, new

    def visit(self, node: ast.AST) -> ast.AST:
        return self.new if node is self.old else super().visit(node)


def hoist(stmt: ast.stmt, unknown: Callable[[str], bool],
          is_placeholder: Callable[[ast.stmt], bool],
          fresh: Callable[[str], str]) -> tuple[list[ast.Assign], ast.stmt]:
    """Move eagerly evaluated unknown calls out of ``stmt``, innermost and leftmost first.

    ``stmt`` must be a copy the caller may change. Stops when the statement is itself a
    placeholder statement (``is_placeholder``) or has no eager unknown call left.
    Returns the new assignments (in order) and the rewritten statement.

    >>> tree = ast.parse("avg = round(mean(xs), 1)").body[0]
    >>> pre, rest = hoist(tree, lambda n: n == "mean", lambda s: False, str)
    >>> [ast.unparse(s) for s in pre], ast.unparse(rest)
    (['mean_result = mean(xs)'], 'avg = round(mean_result, 1)')
    """
    out: list[ast.Assign] = []
    while not is_placeholder(stmt):
        flat = [c for c in eager_calls(stmt) if unknown(c.func.id)  # type: ignore[attr-defined]
                and not _has_unknown(c, unknown, skip=c)]
        if not flat:
            break
        call = flat[0]
        name = fresh(f"{call.func.id}_result")  # type: ignore[attr-defined]
        stmt = _Replace(call, ast.Name(id=name, ctx=ast.Load())).visit(stmt)
        assign = ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=call)
        out.append(ast.fix_missing_locations(ast.copy_location(assign, stmt)))
        ast.fix_missing_locations(stmt)
    return out, stmt


def construct(stmt: ast.stmt, name: str) -> str:
    """The construct the call of ``name`` is nested in (``"a for loop"``...)."""
    for n in ast.walk(stmt):
        kind = _KIND.get(type(n))
        if kind and any(isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
                        and c.func.id == name for c in ast.walk(n)):
            return kind
    return "another expression"


def loaded_names(node: ast.AST) -> list[str]:
    """Names read (not called) in ``node``, in order of appearance, each once."""
    called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    updated = {id(n.target) for n in ast.walk(node) if isinstance(n, ast.AugAssign)}
    seen: dict[str, None] = {}
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and id(n) not in called and (
                isinstance(n.ctx, ast.Load) or id(n) in updated):
            seen.setdefault(n.id)
    return list(seen)


def _assigned(stmt: ast.stmt) -> list[str]:
    """Names the statement assigns outside comprehensions and lambdas, in order."""
    seen: dict[str, None] = {}
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, _DEFERRED) and node is not stmt:
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            seen.setdefault(node.id)
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return list(seen)


def compound_parts(stmt: ast.stmt, inner: list[str], later: Collection[str] | None
                   ) -> tuple[str, list[str], list[str]]:
    """``(name, reads, targets)`` of a compound placeholder statement.

    ``name`` is ``<kind>_<first unknown>`` (``loop_handle``); ``reads`` the names the
    statement reads; ``targets`` the names it assigns that ``later`` statements read (all
    of them when ``later`` is None), except loop variables.

    >>> stmt = ast.parse("for x in xs:\\n    total += price(x)").body[0]
    >>> compound_parts(stmt, ["price"], {"total"})
    ('loop_price', ['xs', 'total'], ['total'])
    """
    word = _WORD.get(construct(stmt, inner[0]), "step")
    loops: set[str] = set()
    for n in ast.walk(stmt):
        if isinstance(n, (ast.For, ast.comprehension)):
            loops |= {t.id for t in ast.walk(n.target) if isinstance(t, ast.Name)}
        elif isinstance(n, ast.arg):
            loops.add(n.arg)
    targets = [n for n in _assigned(stmt) if n not in loops and (later is None or n in later)]
    reads = [n for n in loaded_names(stmt) if n not in inner and n not in loops]
    return f"{word}_{inner[0]}", reads, targets
