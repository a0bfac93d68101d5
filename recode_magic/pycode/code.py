"""Model replies to runnable blocks: parsing, validation, placeholder detection.

A *block* is one top-level statement. A *placeholder* is a call to a name that is neither in
the namespace, nor a builtin, nor bound earlier. Everything here is static: nothing runs.

Where a placeholder may stand (no reply is refused for it; nothing in a statement runs
before its placeholders are expanded):

- a whole statement ``name(...)`` or ``targets = name(...)``: a node of its own;
- evaluated exactly once inside an expression (``avg = round(mean(xs), 1)``, the test of an
  ``if``, the iterable of a ``for``): *hoisted* into a statement of its own before it,
  ``mean_result = mean(xs)``, then ``avg = round(mean_result, 1)``;
- anywhere else (a loop or ``if`` body, a comprehension, a lambda, a ``with``/``try`` body):
  the whole statement is a *compound* placeholder, a node whose call text is the statement,
  expanded into code before any of it runs.

A top-level ``def`` is accepted when its body calls only names that exist (where a ``def``
may stand: :mod:`recode_magic.pycode.source`, re-exported here). :class:`Block`,
:class:`Placeholder` and :func:`split_blocks` live in :mod:`recode_magic.pycode.blocks`
(re-exported here).
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
from collections.abc import Callable, Collection, Iterable

from ..errors import FormatError
from .astlock import parse
from .blocks import Block, Placeholder, split_blocks
from .nesting import compound_parts, hoist, loaded_names
from .quickparse import quick_line
from .scan import scan
from .scan import simple_call as _simple
from .scan import whole_call as _whole
from .source import parse_code

__all__ = [
    "Block", "Placeholder", "parse_code", "split_blocks", "find_placeholder",
    "plan_blocks", "called_names", "bound_names", "BUILTIN_NAMES", "placeholder_variables",
    "iter_literal_keywords", "is_compound_call",
]

BUILTIN_NAMES = frozenset(dir(builtins))


def called_names(node: ast.AST) -> set[str]:
    """Names called directly as ``name(...)`` anywhere inside ``node``."""
    return set(scan(node).calls)


def bound_names(node: ast.AST) -> set[str]:
    """Names a statement binds: assignments, loop and comprehension targets, imports, etc."""
    return set(scan(node).binds)


def find_placeholder(block: Block, known: Callable[[str], bool], *,
                     later: Collection[str] | None = None) -> Placeholder | None:
    """The placeholder this block is, None if it calls only known names.

    ``known(name)`` says whether a name is bound (namespace, builtins, earlier statements).
    A statement with unknown calls that is not ``[targets =] name(...)`` (with no other
    unknown call inside) is a compound placeholder; ``later``: names read by the statements
    after it, to choose its targets. A ``def`` calling an unknown name is a FormatError.
    """
    binds, calls, cached = block.binds, block.calls, block.placeholder
    if len(calls) == 1:  # the commonest statement: one call by name
        (name,) = calls
        if name in binds or known(name):
            return None
        if cached is not None and not cached.compound and cached.name == name:
            return cached
        unknown = [name]
    else:
        unknown = [n for n in calls if n not in binds and not known(n)]
        if not unknown:
            return None
        unknown.sort()
    if cached is not None and unknown == ([*cached.inner] if cached.compound
                                          else [cached.name]):
        return cached
    stmt = block.stmt
    if isinstance(stmt, ast.FunctionDef):
        raise FormatError(
            f"`def {stmt.name}` calls `{unknown[0]}`, which does not exist: a function you "
            f"define may call only the primitives, builtins and names defined before it "
            f"(or write `out = {unknown[0]}(...)` as a step of its own, outside the def)",
            reply=block.source)
    whole = _whole(stmt, unknown.__contains__, block.facts)
    if whole is not None:
        call, targets = whole
        return Placeholder(name=call.func.id, targets=targets, call=call)  # type: ignore[attr-defined]
    cname, reads, targets = compound_parts(stmt, unknown, later)
    call = ast.Call(func=ast.Name(id=cname, ctx=ast.Load()),
                    args=[ast.Name(id=r, ctx=ast.Load()) for r in reads], keywords=[])
    return Placeholder(name=cname, targets=targets, call=call, compound=True,
                       inner=tuple(unknown))


@functools.lru_cache(maxsize=1024)  # a pure function of the text; the root's is asked each run
def is_compound_call(call: str) -> bool:
    """True when a node's call text is a whole statement, not ``[targets =] name(...)``.

    >>> is_compound_call("x = step(a)"), is_compound_call("for a in b:\\n    step(a)")
    (False, True)
    """
    try:
        body = parse(call).body
    except SyntaxError:
        return False
    return not (len(body) == 1 and _simple(body[0]) is not None)


def plan_blocks(code: str, known: Callable[[str], bool], *, filename: str = "<recode>",
                forbidden_signatures: Collection[str] = (),
                recursive: Callable[[Placeholder], bool] | None = None,
                step: str | None = None) -> list[Block]:
    """Parse, split and check a node's code before any of it runs.

    Walks the blocks in order, as they will run: names bound by earlier blocks (and the
    targets of earlier placeholders) count as known. Unknown calls evaluated once inside a
    statement are hoisted into placeholder statements before it (see
    :mod:`recode_magic.pycode.nesting`); other nested ones make the statement a compound
    placeholder. Raises FormatError for a placeholder that calls an ancestor again with the
    same arguments (its signature is in ``forbidden_signatures``, or
    ``recursive(placeholder)`` is true). ``step``: the call text of the step being expanded
    (``answer = solve(task)``); a reply that defines that function and never calls it (a
    small model's habit) gets the step's own call appended, which runs it.

    >>> blocks = plan_blocks("x = plan_it(task)\\nprint(x)", known=lambda n: n == "task")
    >>> [b.source for b in blocks]
    ['x = plan_it(task)', 'print(x)']
    >>> [b.source for b in plan_blocks("print(len(find(task)))", known=lambda n: n == "task")]
    ['find_result = find(task)', 'print(len(find_result))']
    """
    blocks = _one_line(code, filename)
    quick = _quick_placeholder(blocks[0], known) if blocks is not None else False
    if quick is not False:  # `[target = ]name(args)` (quickparse): nothing to hoist, no def
        ph = blocks[0].placeholder = quick  # type: ignore[index]
        if ph is not None and ((forbidden_signatures and ph.signature in forbidden_signatures)
                               or (recursive is not None and recursive(ph))):
            raise FormatError(_self_call_message(ph), reply=code)
        return blocks  # type: ignore[return-value]
    if blocks is None:
        blocks = split_blocks(parse_code(code, filename), code, filename)
    local: set[str] = set()

    def is_known(name: str) -> bool:
        return name in local or name in BUILTIN_NAMES or known(name)

    fresh: Callable[[str], str] | None = None  # made when a statement may be hoisted
    out: list[Block] = []
    for i, block in enumerate(blocks):
        quick = _quick_placeholder(block, is_known)
        if quick is not False:  # `[targets =] name(...)` with no other call by name
            ph = block.placeholder = quick  # type: ignore[assignment]
            if ph is not None and ((forbidden_signatures and ph.signature in forbidden_signatures)
                                   or (recursive is not None and recursive(ph))):
                raise FormatError(_self_call_message(ph), reply=code)
            local |= block.binds
            out.append(block)
            continue
        if fresh is None:
            fresh = _namer(is_known)
        for part in _hoisted(block, is_known, fresh):
            later = None  # the last statement: all it assigns (the caller may read them)
            if (i + 1 < len(blocks) and not isinstance(part.stmt, ast.FunctionDef)
                    and any(n not in part.binds and not is_known(n) for n in part.calls)
                    and _simple(part.stmt) is None):  # it may be a compound placeholder
                later = {n for b in blocks[i + 1:] for n in loaded_names(b.stmt)}
            ph = part.placeholder = find_placeholder(part, is_known, later=later)
            if ph is not None and ((forbidden_signatures and ph.signature in forbidden_signatures)
                                   or (recursive is not None and recursive(ph))):
                raise FormatError(_self_call_message(ph), reply=code)
            local |= part.binds
            out.append(part)
    for b in out:  # a loop, not any(): no generator on the per-node path
        if type(b.stmt) is ast.FunctionDef:
            if step is not None:
                out.extend(_call_own_def(out, step, filename))
            _check_defs_used(out, code)
            break
    return out


def _namer(is_known: Callable[[str], bool]) -> Callable[[str], str]:
    """``fresh(base)``: ``base``, else ``base_2``, ``base_3``... not known nor given before."""
    taken: set[str] = set()

    def fresh(base: str) -> str:
        name, i = base, 1
        while is_known(name) or name in taken:
            i += 1
            name = f"{base}_{i}"
        taken.add(name)
        return name

    return fresh


def _one_line(code: str, filename: str) -> list[Block] | None:
    """What ``split_blocks(parse_code(code))`` gives for a one-line call statement (else None).

    The statement is built without the parser (:mod:`~.quickparse`), its source is the
    whole line, and it cannot fail to compile (else None: the general path checks it).
    """
    read = quick_line(code)
    if read is None:
        return None
    stmt, facts = read
    if not facts.compiles:
        return None
    return [Block(stmt, code, facts.calls, facts.binds, None, filename, None, facts)]


def _quick_placeholder(block: Block,
                       is_known: Callable[[str], bool]) -> Placeholder | None | bool:
    """What :func:`plan_blocks` finds for a statement ``[targets =] name(...)``.

    With no other call by name there is nothing to hoist and no compound: its placeholder,
    or None; False for any other statement. The same answer as the general path
    (:func:`_hoisted` then :func:`find_placeholder`), without walking the statement again.
    """
    facts = block.facts
    if facts is None or facts.name_calls != 1:
        return False
    simple = _simple(block.stmt)
    if simple is None:
        return False
    call, targets = simple
    name = call.func.id  # type: ignore[attr-defined]
    if name in block.binds or name in BUILTIN_NAMES or is_known(name):
        return None
    return Placeholder(name, targets, call)  # name, targets, call (positional: faster)


def _call_own_def(blocks: list[Block], step: str, filename: str) -> list[Block]:
    """``[step's own call]`` when ``blocks`` define the step's function and never call it."""
    try:
        (stmt,) = parse(step).body
    except (SyntaxError, ValueError):
        return []
    simple = _simple(stmt)
    if simple is None:
        return []
    name = simple[0].func.id  # type: ignore[attr-defined]
    for i, block in enumerate(blocks):
        if isinstance(block.stmt, ast.FunctionDef) and block.stmt.name == name:
            if any(name in b.calls or name in loaded_names(b.stmt) for b in blocks[i + 1:]):
                return []
            return [Block.of(stmt, step, filename)]
    return []


def _check_defs_used(blocks: list[Block], code: str) -> None:
    """A ``def`` nothing after it uses is a step the model wrapped and never ran."""
    for i, block in enumerate(blocks):
        stmt = block.stmt
        if isinstance(stmt, ast.FunctionDef) and not any(
                stmt.name in b.calls or stmt.name in loaded_names(b.stmt) for b in blocks[i + 1:]):
            raise FormatError(
                f"`def {stmt.name}` is never called, so it would do nothing: write the step "
                f"as plain statements at the top level (or call the function)", reply=code)


def _self_call_message(ph: Placeholder) -> str:
    if ph.compound:
        return (f"you wrote the statement you are expanding again (it calls "
                f"{', '.join(f'`{n}`' for n in ph.inner)}, which does not exist): write what "
                f"it does with the primitives and builtins instead")
    return (f"`{ph.name}` calls itself again with the same arguments, which never ends: "
            f"it repeats a step being expanded; write this step with the primitives, or "
            f"split it into different, more specific placeholders")


def _hoisted(block: Block, is_known: Callable[[str], bool],
             fresh: Callable[[str], str]) -> list[Block]:
    """``block``, or the placeholder statements hoisted out of it and then its rest."""
    def unknown(name: str) -> bool:
        return name not in block.binds and not is_known(name)

    if not any(unknown(n) for n in block.calls) or isinstance(block.stmt, ast.FunctionDef):
        return [block]
    if _whole(block.stmt, unknown, block.facts) is not None:
        return [block]
    try:
        pre, rest = hoist(copy.deepcopy(block.stmt), unknown,
                          lambda s: _whole(s, unknown) is not None, fresh)
        if not pre:
            return [block]
        return [Block.of(stmt, ast.unparse(stmt), block.filename) for stmt in [*pre, rest]]
    except RecursionError:  # an expression nested hundreds deep (a fuzzer's, not a model's)
        raise FormatError("code cannot be analysed: an expression is nested too deeply "
                          "(RecursionError); write it in several statements",
                          reply=block.source) from None


def placeholder_variables(ph: Placeholder) -> list[str]:
    """Variable names a placeholder call mentions (argument names, keyword names)."""
    return list(ph.variables)


def iter_literal_keywords(ph: Placeholder) -> Iterable[tuple[str, ast.expr]]:
    """Keyword arguments of the call (name, expression), skipping ``**kwargs``."""
    for k in ph.call.keywords:
        if k.arg is not None:
            yield k.arg, k.value
