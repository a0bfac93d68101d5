"""The notes a cell prints: one ``recode: ...`` line each, on stdout; a run's warnings once.

Also :func:`ended_run`: a second Ctrl-C that lands after the run ended is not a traceback.

Notes are not errors: on stdout, JupyterLab draws them as plain output, where stderr would
be a pink box (the stop line of a run that did not end ``done`` is the one line on stderr).
A run's warnings (``run.warnings``) are said after the cell that caused them, each once:
a ``%recode resume`` or a re-run says only the warnings it added.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..runs.status import RunStatus

if TYPE_CHECKING:
    from ..runs.run import Run

__all__ = ["say", "say_warnings", "said_all", "flat", "ended_run"]

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


def ended_run(call: Callable[[], Run], magics: Any, run: Run | None = None) -> Run:
    """``call()`` (a run, a resume, a re-run); the run it ended if a Ctrl-C cut its showing.

    The engine ends a run it is interrupted in with its status, then tells the views, which
    draw the static tree (``dot`` may take a second): a second Ctrl-C meant for the run
    lands there, after the run has ended. That run (``run``, else the one the cell started:
    ``magics.runs[-1]``) is returned then, so the cell says how it ended in one line with no
    traceback and the bookkeeping after it (what it bound, its warnings) is done; the live
    view keeps its last state. A Ctrl-C in the views' first display, before the engine
    drove the run (still ``pending``, its root frame waiting), ends it ``interrupted``
    there: ``%recode resume`` starts it. Any other ``KeyboardInterrupt`` propagates.
    """
    try:
        return call()
    except KeyboardInterrupt:
        if run is None and magics.runs and not magics.cell_without_run:
            run = magics.runs[-1]
        if run is not None and run.status == RunStatus.PENDING and run.state is not None \
                and run.state.frames and run.ended is None:  # never driven: nothing ran
            run.status, run.error = RunStatus.INTERRUPTED, "interrupted (KeyboardInterrupt)"
            run.ended = time.time()
        if run is None or run.ended is None or str(run.status) in ("running", "pending"):
            raise
        return run
