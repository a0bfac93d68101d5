"""The notes a cell prints: one ``recode: ...`` line each, on stdout; a run's warnings once.

Notes are not errors: on stdout, JupyterLab draws them as plain output, where stderr would
be a pink box (the stop line of a run that did not end ``done`` is the one line on stderr).
A run's warnings (``run.warnings``) are said after the cell that caused them, each once:
a ``%recode resume`` or a re-run says only the warnings it added.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..runs.run import Run

__all__ = ["say", "say_warnings", "said_all", "flat"]

#: How many of each run's warnings were said already.
_SAID: weakref.WeakKeyDictionary[Run, int] = weakref.WeakKeyDictionary()


def flat(text: str) -> str:
    """``text`` on one line: its non-blank lines, stripped, joined by a space.

    >>> flat("  could not save:\\n\\n  disk full ")
    'could not save: disk full'
    """
    return " ".join(ln.strip() for ln in text.splitlines() if ln.strip())


def say(text: str | None) -> None:
    """Print the note ``text`` as one ``recode: ...`` line on stdout (flushed); None: nothing."""
    if text:
        print(f"recode: {flat(text)}", flush=True)


def say_warnings(run: Run) -> None:
    """Say the warnings of ``run`` not said yet, one ``recode: warning: ...`` line each."""
    start = _SAID.get(run, 0)
    _SAID[run] = len(run.warnings)
    for note in run.warnings[start:]:
        say(f"warning: {note}")


def said_all(run: Run) -> None:
    """Count every warning ``run`` holds as said (a run loaded from a file: said back then)."""
    _SAID.setdefault(run, len(run.warnings))
