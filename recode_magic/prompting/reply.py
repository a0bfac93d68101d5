"""Reply text to code: the ``<think>`` and ``<execute>`` blocks of a model's answer.

Parsing the code itself (and where a ``def`` may stand) is :mod:`recode_magic.pycode.source`.
"""

from __future__ import annotations

import re
import textwrap

from ..errors import FormatError

__all__ = ["parse_reply", "MAX_REPLY_CHARS"]

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
    quick = _plain(reply)
    return quick if quick is not None else _general(reply)


def _general(reply: str) -> tuple[str, str]:
    """What :func:`parse_reply` does, for any reply (checked text, under the size limit)."""
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


def _plain(reply: str) -> tuple[str, str] | None:
    """:func:`parse_reply` of ``<think>T</think><execute>C</execute>...`` read by position.

    Only when no ``<`` stands in ``T`` or ``C`` (so no other tag, in any case, comes first),
    ``C`` holds no fence and is one line not starting with a space or tab (``dedent`` would
    leave it as it is); None for anything else (the regular expressions read it).
    """
    if not reply.startswith("<think>"):
        return None
    end = reply.find("</think>", 7)
    if end < 0 or not reply.startswith("<execute>", end + 8) or "<" in reply[7:end]:
        return None
    start = end + 17
    close = reply.find("</execute>", start)
    if close < 0:
        return None
    code = reply[start:close]
    if "<" in code or "`" in code or "\n" in code or code[:1] in (" ", "\t"):
        return None
    return reply[7:end].strip(), code.rstrip()  # no newline in it: strip("\n") is a no-op
