"""Blocks and placeholders: a reply's top-level statements, and the calls that become nodes.

:func:`split_blocks` cuts a parsed reply into :class:`Block` objects (the statement, its
source text, the names it calls and binds), checking with the compiler only the statements
that may fail to compile; a block is compiled when it first runs. A :class:`Placeholder` is
the call a block stands for. Both are re-exported by :mod:`recode_magic.pycode.code`, which
finds the placeholders.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from types import CodeType

from ..errors import FormatError
from .astlock import compile_ast
from .scan import Facts, scan
from .source import syntax_error

__all__ = ["Block", "Placeholder", "split_blocks"]

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # ast's line breaks only


@dataclass(slots=True)
class Placeholder:
    """A placeholder statement: ``targets = name(args)``.

    A *compound* placeholder is a whole statement with placeholders nested in a loop, a
    condition, a comprehension...: ``name`` is made up (``loop_step``), ``call`` is
    ``name(*names the statement reads)``, ``targets`` the names it binds that later
    statements read, ``inner`` the unknown names it calls.
    """

    name: str
    targets: list[str]
    call: ast.Call
    compound: bool = False
    inner: tuple[str, ...] = ()
    _variables: tuple[str, ...] | None = field(default=None, repr=False, compare=False)
    _signature: str | None = field(default=None, repr=False, compare=False)

    @property
    def variables(self) -> tuple[str, ...]:
        """Variable names the call mentions (argument names, keyword names), in order."""
        if self._variables is None:
            self._variables = self._names()
        return self._variables

    def _names(self) -> tuple[str, ...]:
        names: dict[str, None] = {}
        call = self.call
        for n in (call.args if not call.keywords
                  else [*call.args, *[k.value for k in call.keywords]]):
            if type(n) is ast.Name:  # the commonest arguments: a name or a literal
                names.setdefault(n.id)
                continue
            if type(n) is ast.Constant:
                continue
            for sub in ast.walk(n):
                if isinstance(sub, ast.Name):
                    names.setdefault(sub.id)
        for k in call.keywords:
            if k.arg:
                names.setdefault(k.arg)
        return tuple(names)

    @property
    def signature(self) -> str:
        """Name and arguments, to spot a call of itself with the same arguments."""
        if self._signature is None:
            call = self.call
            self._signature = (self.name + ast.dump(ast.Tuple(
                elts=[*call.args, *[k.value for k in call.keywords]]))
                + ",".join(str(k.arg) for k in call.keywords))
        return self._signature


@dataclass(slots=True)
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
    #: what one walk of ``stmt`` found (:mod:`recode_magic.pycode.scan`); None: walk again
    facts: Facts | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, stmt: ast.stmt, source: str, filename: str) -> Block:
        """The block of ``stmt``, its names from one walk."""
        facts = scan(stmt)
        return cls(stmt=stmt, source=source, calls=facts.calls, binds=facts.binds,
                   filename=filename, facts=facts)

    @property
    def code(self) -> CodeType:
        """The statement's code object."""
        if self._code is None and self.facts is not None and self.facts.quiet:
            self._code = compile_ast(_module(self.stmt), self.filename, "exec")
        if self._code is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)
                self._code = compile_ast(_module(self.stmt), self.filename, "exec")
        return self._code


def _module(stmt: ast.stmt) -> ast.Module:
    return ast.Module(body=[stmt], type_ignores=[])


def split_blocks(tree: ast.Module, source: str, filename: str = "<recode>") -> list[Block]:
    """One :class:`Block` per top-level statement, checked by the compiler.

    A statement that cannot fail to compile once parsed (see :mod:`~.scan`) is compiled
    when it first runs, a placeholder never; the others are compiled now, each on its own
    (the block keeps its code). A failure, or a ``global``/``nonlocal``/``__future__``
    (checked across statements), compiles the whole reply, whose error is the one reported.
    Lines are split once (``ast.get_source_segment`` re-splits the whole source on every
    call, which is quadratic on a long reply).
    """
    lines = _LINE.findall(source) if "\n" in source or "\r" in source else [source]
    ascii_ = source.isascii()  # column offsets are then character offsets too
    blocks = []
    check = []  # the statements that may fail to compile
    for stmt in tree.body:
        facts = scan(stmt)
        block = Block(stmt, _segment(lines, stmt, ascii_) or ast.unparse(stmt), facts.calls,
                      facts.binds, None, filename, None, facts)
        blocks.append(block)
        if not facts.compiles:
            check.append(block)
    if not check:
        return blocks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        try:
            if len(blocks) == 1 or any(b.facts.module for b in check):  # type: ignore[union-attr]
                whole = _compile_whole(tree, source, filename)
                if len(blocks) == 1:
                    blocks[0]._code = whole
                return blocks
            for block in check:
                block.code  # noqa: B018 - compiled now, kept for when it runs
        except (SyntaxError, ValueError, RecursionError) as exc:
            _compile_whole(tree, source, filename)  # the whole reply's error, as it was
            raise _compile_error(exc, source) from None
    return blocks


def _compile_whole(tree: ast.Module, source: str, filename: str) -> CodeType:
    try:
        return compile_ast(tree, filename, "exec")
    except (SyntaxError, ValueError, RecursionError) as exc:
        raise _compile_error(exc, source) from None


def _compile_error(exc: Exception, source: str) -> FormatError:
    if isinstance(exc, SyntaxError):
        return syntax_error(exc, source)
    return FormatError(f"code cannot be compiled: {type(exc).__name__}: {exc}", reply=source)


def _segment(lines: list[str], node: ast.stmt, ascii_: bool = False) -> str | None:
    """The source text of ``node`` (column offsets are UTF-8 byte offsets).

    ``ascii_``: the source is ASCII, so byte offsets are character offsets.
    """
    end_lineno, end_col = node.end_lineno, node.end_col_offset
    if end_lineno is None or end_col is None:
        return None
    first, last = node.lineno - 1, end_lineno - 1
    if first < 0 or last >= len(lines):
        return None
    if ascii_:
        if first == last:
            return lines[first][node.col_offset:end_col]
        return "".join([lines[first][node.col_offset:], *lines[first + 1:last],
                        lines[last][:end_col]])
    if first == last:
        return lines[first].encode()[node.col_offset:end_col].decode()
    head = lines[first].encode()[node.col_offset:].decode()
    tail = lines[last].encode()[:end_col].decode()
    return "".join([head, *lines[first + 1:last], tail])
