"""Bounded texts for prompts, the tree and the user: reprs, clipped texts, tracebacks.

:func:`short_repr` is on the engine's per-node path (every variable a prompt shows, every
primitive call a step records), so the common small values (numbers, short strings,
``None``) skip :mod:`reprlib`, with the same text it would give.
"""

from __future__ import annotations

import functools
import os
import re
import reprlib
import traceback
from typing import Any

from ..errors import ConfigError

__all__ = ["short_repr", "clip_text", "describe_exception", "user_traceback"]

#: Types whose whole ``repr`` is what :mod:`reprlib` shows when it fits the limit.
_PLAIN = frozenset({int, float, bool, type(None), str})


@functools.lru_cache(maxsize=8)
def _repr_for(limit: int) -> reprlib.Repr:
    r = reprlib.Repr()
    r.fillvalue = "…"  # Python >= 3.11; on 3.10 the attribute is ignored and "..." is used
    r.maxstring = r.maxother = r.maxlong = limit
    r.maxlist = r.maxtuple = r.maxset = r.maxfrozenset = r.maxdeque = max(2, limit // 8)
    r.maxarray = max(2, limit // 8)
    r.maxdict = max(2, limit // 16)
    r.maxlevel = 3
    return r


def clip_text(text: str | None, limit: int | None) -> str:
    """``text`` cut to ``limit`` characters, the cut said at the end (None: kept whole).

    The one clipping rule for every text that leaves the kernel (saved trees, the widget).

    >>> clip_text("abcdef", 3)
    'abc… (3 more chars)'
    >>> clip_text(None, 3), clip_text("abc", None)
    ('', 'abc')
    """
    text = text or ""
    if limit is None or len(text) <= limit:
        return text
    return text[:limit] + f"… ({len(text) - limit} more chars)"


def short_repr(value: Any, limit: int = 200) -> str:
    """Return a repr of ``value`` of at most ``limit`` characters, ``…`` marking cuts.

    Strings, numbers and the built-in containers are summarised without building their full
    repr (:mod:`reprlib`); other objects use their own ``repr`` (so a huge custom object still
    pays for it once). Never raises: a failing ``__repr__`` gives a placeholder such as
    ``<TypeName instance at 0x…>``.

    Parameters
    ----------
    value : Any
        The object to show.
    limit : int
        Maximum length of the result (at least 1).

    Examples
    --------
    >>> short_repr(list(range(10**6)), limit=60)
    '[0, 1, 2, 3, 4, 5, 6, …]'
    >>> short_repr("x" * 10**6, limit=12)
    "'xxx…xxxx'"
    >>> short_repr({"a": 1})
    "{'a': 1}"
    """
    if limit < 1:
        raise ConfigError(f"limit must be >= 1, not {limit!r}")
    try:
        if type(value) in _PLAIN and (type(value) is not str or len(value) <= limit):
            text = repr(value)  # what reprlib gives when it fits (it cuts only longer ones)
            if len(text) <= limit:
                return text
        text = _repr_for(limit).repr(value)
    except Exception:  # a broken __repr__, an int over the str-digits limit, ...
        text = f"<{type(value).__name__} object>"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def describe_exception(exc: BaseException) -> str:
    """``Type: message`` on one line.

    >>> describe_exception(ZeroDivisionError("division by zero"))
    'ZeroDivisionError: division by zero'
    """
    return f"{type(exc).__name__}: {exc}"


_WRAPPER_FILE = f"{os.sep}recode_magic{os.sep}pycode{os.sep}calltally.py"


def user_traceback(exc: BaseException) -> str:
    """The traceback from the first frame of generated code on (no harness frames)."""
    tb = exc.__traceback__
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("<recode"):
        tb = tb.tb_next
    if tb is None:
        return _RUN_TOKEN.sub(r"\1>", describe_exception(exc))
    te = traceback.TracebackException(type(exc), exc, tb)
    # the engine's call-counting wrapper (calltally.py) sits between the code and a primitive
    te.stack = traceback.StackSummary.from_list(
        [f for f in te.stack if not f.filename.endswith(_WRAPPER_FILE)])
    return _RUN_TOKEN.sub(r"\1>", "".join(te.format()).rstrip())


# generated code is compiled as <recode:id:name:attempt@token>: the token keeps linecache
# keys apart between runs (in threads); the text shown and saved is the same for every run
_RUN_TOKEN = re.compile(r"(<recode:[^>\n]*)@[0-9a-f]+>")

