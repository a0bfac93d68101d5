"""Reply text to code: the ``<execute>`` block, parsing, and where a ``def`` may stand."""

from __future__ import annotations

import ast
import re
import textwrap
import warnings

from ..errors import FormatError
from ..pycode.astlock import parse

__all__ = ["parse_reply", "parse_code", "syntax_error", "MAX_REPLY_CHARS"]

_THINK = re.compile(r"<think>(.*?)(?:</think>|(?=<execute>)|\Z)", re.S | re.I)
_EXECUTE_OPEN = re.compile(r"<execute>", re.I)
_EXECUTE = re.compile(r"<execute>(.*?)(?:</execute>|\Z)", re.S | re.I)
_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.S | re.I)
MAX_REPLY_CHARS = 200_000  # a longer reply is refused before parsing (parsing 1 MB takes s)
_NO_CODE_HINT = ("Answer with <think>...</think><execute>python code</execute>; "
                 "put all code inside one <execute> block.")


def parse_reply(reply: str) -> tuple[str, str]:
    """Split a reply into ``(thought, code)``.

    Takes the first ``<execute>`` block; failing that a fenced Python block; an unclosed
    ``<execute>`` at the end is read to the end (the model stopped early).

    >>> parse_reply("<think>easy</think><execute>x = 1</execute>")
    ('easy', 'x = 1')
    >>> parse_reply("<execute>x = 1</execute> Then: <execute>x = 2</execute>")
    ('', 'x = 1')
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
    # several <execute> blocks: the first one counts (what a stop sequence at </execute>
    # does; a small model often goes on writing more blocks after its answer)
    if _EXECUTE_OPEN.search(reply):
        code = _EXECUTE.search(reply).group(1)  # type: ignore[union-attr]
        fenced = _FENCE.match(code.lstrip())
        if fenced:
            code = fenced.group(1)
        elif "```" in code:  # a closing fence, then prose (the model ran on past its code)
            code = code[:code.index("```")]
    else:
        fenced = _FENCE.search(reply)
        if not fenced:
            raise FormatError("reply has no <execute> block and no ```python block",
                              reply=reply, hint=_NO_CODE_HINT)
        code = fenced.group(1)
    return thought, textwrap.dedent(code).strip("\n").rstrip()


def parse_code(code: str, filename: str = "<recode>") -> ast.Module:
    """Parse code; refuse ``class``, ``async def`` and a ``def`` that is not at the top level.

    Compile errors the parser does not see (``return`` outside a function...) are raised by
    :func:`split_blocks`, which compiles each statement.

    >>> parse_code("if x:\\n    def f(): pass")
    Traceback (most recent call last):
    recode_magic.errors.FormatError: line 2: `def f` is not allowed here (write a def only at ...
    """
    try:
        with warnings.catch_warnings():  # e.g. invalid escapes: not the user's concern here
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
