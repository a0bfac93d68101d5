"""Small checks and one-line messages of the magics (kept out of :mod:`.magics`)."""

from __future__ import annotations

import keyword
import re
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from traitlets import HasTraits, TraitError
from traitlets.config import Config

from ..engine.recode import LEVERS
from ..runs.run import Run

__all__ = ["names_list", "one_line", "option_hint", "cannot_write", "cassette_counts",
           "cassette_note", "check_levers", "check_variable", "stop_line", "MISSING",
           "OneLineConfig"]

#: "not bound" (a user's ``task`` that did not exist before a run)
MISSING: Any = object()


def names_list(text: str | None) -> list[str]:
    """A comma-separated list of names (``--tools``, ``--in``)."""
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def one_line(exc: BaseException) -> str:
    """An error as the one line the magic shows."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    return lines[-1] if isinstance(exc, UsageError) else " ".join(lines)


def option_hint(line: str, magics: HasTraits) -> str:
    """``line`` with where an unknown option lives when it is a lever or a setting.

    >>> from traitlets import HasTraits, Int
    >>> class M(HasTraits):
    ...     max_calls = Int(300).tag(config=True)
    >>> option_hint("unrecognized arguments: --samples 4", M())
    "unrecognized arguments: --samples 4 (samples is a planning lever: %config \
ReCodeMagics.levers = {'samples': ...})"
    >>> option_hint("unrecognized arguments: --max-calls 9", M())
    'unrecognized arguments: --max-calls 9 (max_calls is a setting: %config \
ReCodeMagics.max_calls = ...)'
    """
    found = re.match(r"unrecognized arguments: --?([A-Za-z][\w-]*)", line)
    name = found.group(1).replace("-", "_") if found else ""
    if name in LEVERS:
        return (f"{line} ({name} is a planning lever: %config ReCodeMagics.levers = "
                f"{{{name!r}: ...}})")
    if name and magics.has_trait(name) and magics.trait_metadata(name, "config"):
        return f"{line} ({name} is a setting: %config ReCodeMagics.{name} = ...)"
    return line


def cannot_write(path: Path, *, folder: bool) -> str | None:
    """Why ``path`` (a folder to create, or a file to write) cannot be written, or None.

    Tried, not guessed: a temporary file is made and removed at once in the folder that
    would receive the writes (``path`` for an existing folder, else the nearest existing
    folder above it: a cassette or a tree is written beside its target, then renamed), so
    root, read-only file systems and ACLs answer truly (``os.access`` says yes to root
    everywhere). Nothing is created: no folder, no file. The one check of ``save_dir``,
    ``--cassette`` and ``%recode batch --out``.

    >>> cannot_write(Path("/etc/hostname/runs"), folder=True)
    "'/etc/hostname' is a file, not a folder"
    >>> cannot_write(Path("/proc/recode-runs"), folder=True)  # doctest: +ELLIPSIS
    "cannot create files in '/proc' (...)"
    """
    if path.exists() and folder != path.is_dir():
        return f"{str(path)!r} is a {'file' if folder else 'folder'}, not a " \
               f"{'folder' if folder else 'file'}"
    where = path if folder else path.parent
    while not where.exists():
        where = where.parent
    if not where.is_dir():
        return f"{str(where)!r} is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=where, prefix=".recode-probe-"):
            pass
    except OSError as exc:
        return f"cannot create files in {str(where)!r} ({exc.strerror or exc})"
    return None


def cassette_counts(llm: Any) -> tuple[int, int]:
    """(entries, misses) of a cassette before a run, (0, 0) for other models."""
    if not hasattr(llm, "missed"):
        return 0, 0
    return len(llm), llm.misses


def cassette_note(llm: Any, entries: int, misses: int) -> str | None:
    """One line when a replay was not one, or only almost (``entries``/``misses``: before).

    A new recording says nothing; a miss under ``--replay-only`` is the run's own error line.
    """
    summary = getattr(llm, "summary", None)
    note = summary() if callable(summary) and entries else None
    if not note:
        return None
    live = llm.misses > misses and llm.mode != "replay"
    if not (live or llm.loose_hits):
        return None
    return note + (" (--replay-only forbids live calls)" if live else "")


def check_variable(name: str | None, option: str) -> None:
    """Refuse an option value that is not a variable name."""
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        raise UsageError(f"{option} needs a variable name, got {name!r}")


def check_levers(magics: HasTraits) -> dict[str, Any]:
    """``magics.levers`` if every name is a planning lever, else a one-line ``UsageError``.

    A setting the magic passes itself (``max_depth``, ``trust``, ...) would reach ``ReCode``
    twice (a ``TypeError``), another keyword of ``ReCode`` would pass unchecked; one of the
    magic's own settings is named in the message.

    >>> from traitlets import Dict, HasTraits, Int
    >>> class M(HasTraits):
    ...     levers, max_depth = Dict({"max_depth": 3}), Int(10)
    >>> check_levers(M())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    IPython.core.error.UsageError: ReCodeMagics.levers: unknown setting 'max_depth' (...); \
it is a setting of its own: %config ReCodeMagics.max_depth = ...
    """
    levers: dict[str, Any] = magics.levers
    bad = sorted(set(levers) - LEVERS, key=str)
    if not bad:
        return levers
    own = (f"; it is a setting of its own: %config ReCodeMagics.{bad[0]} = ..."
           if isinstance(bad[0], str) and magics.has_trait(bad[0]) else "")
    raise UsageError(f"ReCodeMagics.levers: unknown setting {bad[0]!r} (planning levers: "
                     f"{', '.join(sorted(LEVERS))}){own}")


def stop_line(run: Run) -> str:
    """The one line said when a run did not end ``done``: where, why, and how to go on.

    >>> run = Run("t"); run.status, run.error = "limit", "token budget: ... (budget_tokens=9)"
    >>> stop_line(run)
    'recode: run limit: token budget: ... (budget_tokens=9); %recode resume --budget B continues'
    >>> run.status, run.error = "interrupted", "interrupted (KeyboardInterrupt)"
    >>> stop_line(run)
    'recode: run interrupted (KeyboardInterrupt); %recode resume continues'
    """
    where = next((n for n in reversed(run.nodes()) if n.error), None)
    at = f" at `{where.name}`" if where is not None else ""
    error = run.error or ""
    hint = {"interrupted": "; %recode resume continues"}.get(str(run.status), "")
    if run.status == "limit":
        hint = ("; %recode resume --budget B continues" if "budget" in error else
                "; %recode resume --max-depth N continues" if "depth limit" in error else
                "; raise %config ReCodeMagics.max_calls, then %recode resume continues"
                if "max_calls" in error else "; %recode resume continues")
    if run.status == "error" and run.state is not None and run.state.frames:
        hint = "; fix the cause, then %recode resume continues"
    if run.status == "interrupted" and error.startswith("interrupted ("):
        return f"recode: run interrupted{at} {error[len('interrupted '):]}{hint}"  # once
    return f"recode: run {run.status}{at}: {error}{hint}"


_BAD_VALUE = re.compile(r"The '(\w+)' trait of an? \w+ instance expected (.+?)\.?$")


class OneLineConfig:
    """``%config`` mistakes as one line on stderr: a value of the wrong type, an unknown name.

    IPython's ``%config`` logs a value's ``TraitError`` on the root logger (``ERROR:root:The
    'max_depth' trait of a ReCodeMagics instance expected an int, ...``) and traitlets warns of
    an unknown name with a ``UserWarning`` that points into IPython's source. Both are caught
    in traitlets' public ``update_config``, which ``%config`` calls, and said in one line;
    the setting keeps its value. Other warnings pass through unchanged. A mixin, put before
    the ``Configurable`` it serves.

    >>> from traitlets import Int
    >>> from traitlets.config import Configurable
    >>> class M(OneLineConfig, Configurable):
    ...     max_depth = Int(10).tag(config=True)
    >>> m = M()
    >>> m.update_config(Config({"M": {"max_depth": "deep"}}))  # doctest: +SKIP
    M.max_depth expects an int, not the str 'deep'; it stays 10
    >>> m.max_depth
    10
    """

    def update_config(self, config: Config) -> None:
        """Load ``config`` as traitlets does, saying a wrong value or unknown name in one line."""
        cls = type(self).__name__
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                super().update_config(config)  # type: ignore[misc]
            except TraitError as exc:
                found = _BAD_VALUE.match(" ".join(str(exc).split()))
                line = (f"{cls}.{found.group(1)} expects {found.group(2)}; it stays "
                        f"{getattr(self, found.group(1))!r}" if found else f"{cls}: {exc}")
                print(line, file=sys.stderr)
        for w in caught:
            text = " ".join(str(w.message).split())
            if w.category is UserWarning and text.startswith("Config option `"):
                print(text, file=sys.stderr)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
