"""Model replies to runnable blocks: parsing, validation, placeholder detection.

A *block* is one top-level statement. A *placeholder* is a call to a name that is neither in
the namespace, nor a builtin, nor bound earlier; it must be a whole statement
``name(...)`` or ``targets = name(...)``. Everything here is static: nothing runs.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
import textwrap
import warnings
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from types import CodeType

from .errors import FormatError

__all__ = [
    "Block", "Placeholder", "parse_reply", "parse_code", "split_blocks", "find_placeholder",
    "plan_blocks", "called_names", "bound_names", "BUILTIN_NAMES", "placeholder_variables",
    "iter_literal_keywords", "MAX_REPLY_CHARS",
]

BUILTIN_NAMES = frozenset(dir(builtins))
_THINK = re.compile(r"<think>(.*?)(?:</think>|(?=<execute>)|\Z)", re.S | re.I)
_EXECUTE_OPEN = re.compile(r"<execute>", re.I)
_EXECUTE = re.compile(r"<execute>(.*?)(?:</execute>|\Z)", re.S | re.I)
_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.S | re.I)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # ast's line breaks only
MAX_REPLY_CHARS = 200_000  # a longer reply is refused before parsing (parsing 1 MB takes s)
_NO_CODE_HINT = ("Answer with <think>...</think><execute>python code</execute>; "
                 "put all code inside one <execute> block.")


@dataclass
class Placeholder:
    """A placeholder statement: ``targets = name(args)``."""

    name: str
    targets: list[str]
    call: ast.Call

    @functools.cached_property
    def signature(self) -> str:
        """Name and arguments, to spot a call of itself with the same arguments."""
        call = self.call
        return (self.name + ast.dump(ast.Tuple(elts=[*call.args,
                                                     *[k.value for k in call.keywords]]))
                + ",".join(str(k.arg) for k in call.keywords))


@dataclass
class Block:
    """One top-level statement with its source; compiled when first run.

    A placeholder statement is expanded, never run, so it is never compiled.
    """

    stmt: ast.stmt
    source: str
    calls: frozenset[str] = frozenset()
    binds: frozenset[str] = frozenset()
    placeholder: Placeholder | None = field(default=None, repr=False)  # found at plan time
    filename: str = "<recode>"
    _code: CodeType | None = field(default=None, repr=False)

    @property
    def code(self) -> CodeType:
        """The statement's code object."""
        if self._code is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)
                self._code = compile(ast.Module(body=[self.stmt], type_ignores=[]),
                                     self.filename, "exec")
        return self._code


def parse_reply(reply: str) -> tuple[str, str]:
    """Split a reply into ``(thought, code)``.

    Takes the ``<execute>`` block; failing that a fenced Python block; an unclosed
    ``<execute>`` at the end is read to the end (the model stopped early).

    >>> parse_reply("<think>easy</think><execute>x = 1</execute>")
    ('easy', 'x = 1')
    >>> parse_reply("Sure!\\n```python\\nprint(2)\\n```")
    ('', 'print(2)')
    >>> parse_reply("no code here")
    Traceback (most recent call last):
    recode_magic.errors.FormatError: reply has no <execute> block and no ```python block
    """
    if not isinstance(reply, str):
        raise FormatError(f"reply is a {type(reply).__name__}, not text", reply=None,
                          hint=_NO_CODE_HINT)
    if len(reply) > MAX_REPLY_CHARS:
        raise FormatError(f"reply is {len(reply):,} characters (limit {MAX_REPLY_CHARS:,}); "
                          f"write a short plan and leave details to placeholders",
                          reply=reply[:2000])
    think = _THINK.search(reply)
    thought = think.group(1).strip() if think else ""
    opens = len(_EXECUTE_OPEN.findall(reply))
    if opens > 1:
        raise FormatError(f"reply has {opens} <execute> blocks (expected one)", reply=reply,
                          hint=_NO_CODE_HINT)
    if opens == 1:
        code = _EXECUTE.search(reply).group(1)  # type: ignore[union-attr]
        fenced = _FENCE.search(code)
        if fenced:
            code = fenced.group(1)
    else:
        fenced = _FENCE.search(reply)
        if not fenced:
            raise FormatError("reply has no <execute> block and no ```python block",
                              reply=reply, hint=_NO_CODE_HINT)
        code = fenced.group(1)
    return thought, textwrap.dedent(code).strip("\n").rstrip()


def parse_code(code: str, filename: str = "<recode>") -> ast.Module:
    """Parse code and refuse ``def``, ``class`` and ``async def``.

    Compile errors the parser does not see (``return`` outside a function...) are raised by
    :func:`split_blocks`, which compiles each statement.

    >>> parse_code("def f(): pass")
    Traceback (most recent call last):
    recode_magic.errors.FormatError: line 1: `def f` is not allowed (write the steps as placeholder calls, not definitions)
    """
    try:
        with warnings.catch_warnings():  # e.g. invalid escapes: not the user's concern here
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(code, filename=filename)
    except SyntaxError as exc:
        raise _syntax(exc, code) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise FormatError(f"code cannot be compiled: {type(exc).__name__}: {exc}",
                          reply=code) from None
    for stmt in tree.body:
        if not isinstance(stmt, _SIMPLE):
            _check_defs(stmt, code)
    return tree


_SIMPLE = (ast.Assign, ast.Expr, ast.AugAssign, ast.AnnAssign, ast.Import, ast.ImportFrom,
           ast.Pass, ast.Delete)  # statements that cannot hold a def (no lambda bodies)


def _check_defs(stmt: ast.stmt, code: str) -> None:
    for node in ast.walk(stmt):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kind = "class" if isinstance(node, ast.ClassDef) else "def"
            raise FormatError(
                f"line {node.lineno}: `{kind} {node.name}` is not allowed (write the steps as "
                f"placeholder calls, not definitions)", reply=code)


def _syntax(exc: SyntaxError, code: str) -> FormatError:
    line = (exc.text or "").strip()
    return FormatError(f"line {exc.lineno}: SyntaxError: {exc.msg}"
                       + (f" in `{line[:80]}`" if line else ""), reply=code)


def _scan(stmt: ast.AST) -> tuple[frozenset[str], frozenset[str]]:
    """Names called as ``name(...)`` and names bound, in one walk of the statement."""
    calls: set[str] = set()
    binds: set[str] = set()
    for n in ast.walk(stmt):
        t = type(n)
        if t is ast.Call:
            if type(n.func) is ast.Name:  # type: ignore[attr-defined]
                calls.add(n.func.id)  # type: ignore[attr-defined]
        elif t is ast.Name:
            if type(n.ctx) is not ast.Load:  # type: ignore[attr-defined]
                binds.add(n.id)  # type: ignore[attr-defined]
        elif t is ast.alias:
            binds.add((n.asname or n.name).split(".")[0])  # type: ignore[attr-defined]
        elif t is ast.ExceptHandler or t is ast.MatchAs or t is ast.MatchStar:
            if n.name:  # type: ignore[attr-defined]
                binds.add(n.name)  # type: ignore[attr-defined]
        elif t is ast.arg:
            binds.add(n.arg)  # type: ignore[attr-defined]
    return frozenset(calls), frozenset(binds)


def called_names(node: ast.AST) -> set[str]:
    """Names called directly as ``name(...)`` anywhere inside ``node``."""
    return set(_scan(node)[0])


def bound_names(node: ast.AST) -> set[str]:
    """Names a statement binds: assignments, loop and comprehension targets, imports, etc."""
    return set(_scan(node)[1])


def split_blocks(tree: ast.Module, source: str, filename: str = "<recode>") -> list[Block]:
    """One :class:`Block` per top-level statement, each compiled on its own.

    Lines are split once (``ast.get_source_segment`` re-splits the whole source on every
    call, which is quadratic on a long reply).
    """
    lines = _LINE.findall(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        try:  # one compile finds what the parser does not (`return` outside a function...)
            whole = compile(tree, filename, "exec")
        except SyntaxError as exc:
            raise _syntax(exc, source) from None
        except (ValueError, RecursionError) as exc:
            raise FormatError(f"code cannot be compiled: {type(exc).__name__}: {exc}",
                              reply=source) from None
    blocks = []
    for stmt in tree.body:
        src = _segment(lines, stmt) or ast.unparse(stmt)
        calls, binds = _scan(stmt)
        blocks.append(Block(stmt=stmt, source=src, calls=calls, binds=binds,
                            filename=filename))
    if len(blocks) == 1:
        blocks[0]._code = whole
    return blocks


def _segment(lines: list[str], node: ast.stmt) -> str | None:
    """The source text of ``node`` (column offsets are UTF-8 byte offsets)."""
    end_lineno, end_col = node.end_lineno, node.end_col_offset
    if end_lineno is None or end_col is None:
        return None
    first, last = node.lineno - 1, end_lineno - 1
    if first < 0 or last >= len(lines):
        return None
    if first == last:
        return lines[first].encode()[node.col_offset:end_col].decode()
    head = lines[first].encode()[node.col_offset:].decode()
    tail = lines[last].encode()[:end_col].decode()
    return "".join([head, *lines[first + 1:last], tail])


def _construct(stmt: ast.stmt, name: str) -> str:
    for n in ast.walk(stmt):
        kind = {ast.For: "a for loop", ast.While: "a while loop", ast.If: "an if",
                ast.With: "a with block", ast.Try: "a try block", ast.Lambda: "a lambda",
                ast.ListComp: "a comprehension", ast.GeneratorExp: "a comprehension",
                ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
                ast.IfExp: "a conditional expression"}.get(type(n))
        if kind and name in called_names(n):
            return kind
    return "another expression"


def find_placeholder(block: Block, known: Callable[[str], bool]) -> Placeholder | None:
    """The placeholder this block is, None if it calls only known names.

    ``known(name)`` says whether a name is bound (namespace, builtins, earlier statements).
    Raises FormatError when an unknown call is not a whole statement.
    """
    unknown = sorted(n for n in block.calls if n not in block.binds and not known(n))
    if not unknown:
        return None
    cached = block.placeholder
    if cached is not None and unknown == [cached.name]:
        return cached
    stmt = block.stmt
    value, targets = None, []
    if isinstance(stmt, ast.Expr):
        value = stmt.value
    elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        value, targets = stmt.value, _target_names(stmt.targets[0])
    elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
        value, targets = stmt.value, [stmt.target.id]
    if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id in unknown and targets is not None):
        name = value.func.id
        inner = {n for n in unknown if n != name}
        nested = [n for n in inner if n in called_names(value)] or (
            [name] if sum(1 for n in ast.walk(value) if isinstance(n, ast.Call)
                          and isinstance(n.func, ast.Name) and n.func.id == name) > 1 else [])
        if not nested:
            return Placeholder(name=name, targets=targets, call=value)
        unknown = nested
    name = unknown[0]
    where = _construct(stmt, name)
    raise FormatError(
        f"placeholder `{name}` is inside {where}; a placeholder must be a whole statement "
        f"`out = {name}(...)` at the top level (put the loop or condition inside the "
        f"placeholder instead)", reply=block.source)


def _target_names(target: ast.expr) -> list[str] | None:  # type: ignore[return]
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


def plan_blocks(code: str, known: Callable[[str], bool], *, filename: str = "<recode>",
                forbidden_signatures: Collection[str] = (),
                recursive: Callable[[Placeholder], bool] | None = None) -> list[Block]:
    """Parse, split and check a node's code before any of it runs.

    Walks the blocks in order, as they will run: names bound by earlier blocks (and the
    targets of earlier placeholders) count as known. Raises FormatError for a nested
    placeholder or a placeholder that calls an ancestor again with the same arguments
    (its signature is in ``forbidden_signatures``, or ``recursive(placeholder)`` is true).

    >>> blocks = plan_blocks("x = plan_it(task)\\nprint(x)", known=lambda n: n == "task")
    >>> [b.source for b in blocks]
    ['x = plan_it(task)', 'print(x)']
    """
    tree = parse_code(code, filename)
    blocks = split_blocks(tree, code, filename)
    local: set[str] = set()

    def is_known(name: str) -> bool:
        return name in local or name in BUILTIN_NAMES or known(name)

    for block in blocks:
        ph = block.placeholder = find_placeholder(block, is_known)
        if ph is not None and ((forbidden_signatures and ph.signature in forbidden_signatures)
                               or (recursive is not None and recursive(ph))):
            raise FormatError(
                f"`{ph.name}` calls itself again with the same arguments, which never ends: "
                f"it repeats a step being expanded; write this step with the primitives, or "
                f"split it into different, more specific placeholders",
                reply=code)
        local |= block.binds
    return blocks


def placeholder_variables(ph: Placeholder) -> list[str]:
    """Variable names a placeholder call mentions (argument names, keyword names)."""
    names: list[str] = []
    for n in [*ph.call.args, *[k.value for k in ph.call.keywords]]:
        for sub in ast.walk(n):
            if isinstance(sub, ast.Name) and sub.id not in names:
                names.append(sub.id)
    for k in ph.call.keywords:
        if k.arg and k.arg not in names:
            names.append(k.arg)
    return names


def iter_literal_keywords(ph: Placeholder) -> Iterable[tuple[str, ast.expr]]:
    """Keyword arguments of the call (name, expression), skipping ``**kwargs``."""
    for k in ph.call.keywords:
        if k.arg is not None:
            yield k.arg, k.value
