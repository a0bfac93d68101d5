"""Small checks and one-line messages of the magics (kept out of :mod:`.magics`)."""

from __future__ import annotations

import copy
import keyword
import re
import shlex
import sys
import tempfile
import warnings
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from traitlets import HasTraits, TraitError, validate
from traitlets.config import Config

from ..engine.recode import LEVERS
from ..engine.settings import Settings
from ..errors import ConfigError
from ..llms.base import DEFAULT_MODEL
from ..runs.run import Run

__all__ = ["names_list", "one_line", "option_hint", "cannot_write", "cassette_counts",
           "cassette_note", "check_levers", "check_variable", "stop_line", "MISSING",
           "OneLineConfig", "MagicSettings", "backend_options", "configured_model", "config_line",
           "no_run_line", "cell_task", "kept_runs"]

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
    """``line`` with where an unknown option lives: ``%%recode``'s line, a lever, a setting.

    An option of ``%%recode`` reaches here only from ``%recode`` (one ``%``), the line magic.

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
    found = re.match(r"unrecognized arguments: (--?([A-Za-z][\w-]*))", line)
    name = found.group(2).replace("-", "_") if found else ""
    cell_options = getattr(getattr(magics, "recode", None), "parser", None)
    if found and found.group(1) in getattr(cell_options, "_option_string_actions", ()):
        return (f"{line} ({found.group(1)} is an option of the cell magic: %%recode "
                f"{found.group(1)} ... on the first line, the task below it)")
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


def cell_task(cell: str, line: str, options: Collection[str]) -> str:
    """The task of a ``%%recode`` cell; refused when empty or when it starts with options.

    ``options``: the option strings of ``%%recode``. A first line such as ``--max-depth 2``
    was read as the task's first words (a model call paid, the option ignored).

    >>> cell_task("-o answer\\nAdd 2 and 3.", "--llm m", {"-o", "--llm"})
    Traceback (most recent call last):
    ...
    IPython.core.error.UsageError: options go on the %%recode line, not in the cell: \
%%recode --llm m -o answer (the task below it)
    """
    task = cell.strip()
    if not task:
        raise UsageError("%%recode needs a task: write it in the cell body")
    first = task.splitlines()[0].strip()
    word = first.split(maxsplit=1)[0].split("=", 1)[0]
    if word in options:
        raise UsageError(f"options go on the %%recode line, not in the cell: %%recode "
                         f"{' '.join([*line.split(), first])} (the task below it)")
    return task


def check_variable(name: str | None, option: str) -> None:
    """Refuse an option value that is not a variable name."""
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        raise UsageError(f"{option} needs a variable name, got {name!r}")


def check_levers(magics: HasTraits, levers: dict[str, Any] | None = None) -> dict[str, Any]:
    """``levers`` (default ``magics.levers``) if each is a planning lever, else a ``UsageError``.

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
    if levers is None:
        levers = magics.levers
    bad = sorted(set(levers) - LEVERS, key=str)
    if not bad:
        return levers
    own = (f"; it is a setting of its own: %config ReCodeMagics.{bad[0]} = ..."
           if isinstance(bad[0], str) and magics.has_trait(bad[0]) else "")
    raise UsageError(f"ReCodeMagics.levers: unknown setting {bad[0]!r} (planning levers: "
                     f"{', '.join(sorted(LEVERS))}){own}")


def backend_options(magics: Any) -> dict[str, Any]:
    """What the magic passes to the model backends it builds, from its settings.

    ``grammar`` and ``model_dir`` always; ``temperature`` and ``max_tokens`` when set (None
    leaves each backend its own default, and a backend of the user's its own signature).

    >>> from types import SimpleNamespace as S
    >>> backend_options(S(grammar="off", model_dir="", temperature=None, max_tokens=256))
    {'grammar': False, 'model_dir': None, 'max_tokens': 256}
    """
    options: dict[str, Any] = {
        "grammar": {"on": True, "off": False}.get(magics.grammar, magics.grammar),
        "model_dir": magics.model_dir or None}
    for name in ("temperature", "max_tokens"):
        if getattr(magics, name) is not None:
            options[name] = getattr(magics, name)
    return options


def configured_model(magics: Any) -> str | None:
    """The model the user set (``%config``, ``ipython_config.py``), or None if unset."""
    configured = "ReCodeMagics" in magics.config and "model" in magics.config["ReCodeMagics"]
    return str(magics.model) if configured or magics.model != DEFAULT_MODEL else None


def kept_runs(shell: Any) -> list[Run]:
    """The run a reloaded extension finds as ``_recode`` (``%reload_ext`` forgets the others).

    >>> from types import SimpleNamespace as S
    >>> [r.task for r in kept_runs(S(user_ns={"_recode": Run("t")}))]
    ['t']
    >>> kept_runs(S(user_ns={"_recode": 1}))
    []
    """
    run = getattr(shell, "user_ns", {}).get("_recode")
    return [run] if isinstance(run, Run) else []


def no_run_line(save_dir: str) -> str:
    """What ``%recode`` says when this kernel has no run yet: the last saved tree, if any.

    After a restart (a dead kernel) the runs are gone from memory but their trees are in
    ``save_dir``: the line names the newest one to load.

    >>> no_run_line("")
    'no recode run yet: run a %%recode cell first'
    """
    line = "no recode run yet: run a %%recode cell first"
    folder = Path(save_dir).expanduser() if save_dir else None
    if folder is None or not folder.is_dir():
        return line
    saved = [p for p in folder.glob("run-*.json") if p.is_file()]
    if not saved:
        return line
    last = max(saved, key=lambda p: p.stat().st_mtime)
    return (f"no recode run in this kernel yet: run a %%recode cell, or %recode load "
            f"{shlex.quote(str(Path(save_dir) / last.name))} (the newest of {len(saved)} "
            f"saved in {save_dir!r}, e.g. before a restart)")


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
_OUT_OF_RANGE = re.compile(r"The value of the '(\w+)' trait of an? \w+ instance should not be "
                           r"(less|greater) than (\S+), but a value of (.+) was specified\.?$")
_BAD_KEY = re.compile(r"Keys of the '(\w+)' trait of an? \w+ instance must be (.+?), but a "
                      r"value of (.+?) <class '\w+'> was specified\.?$")


def config_line(cls: str, text: str, current: Callable[[str], Any]) -> str:
    """The one line for traitlets' message of a refused ``%config`` value, saying what stays.

    >>> config_line("M", "The value of the 'max_tokens' trait of a M instance should not be "
    ...             "less than 1, but a value of 0 was specified", lambda name: None)
    'M.max_tokens must be >= 1, not 0; it stays None'
    >>> config_line("M", "Keys of the 'models' trait of a M instance must be an int, but a "
    ...             "value of 'a' <class 'str'> was specified.", lambda name: {})
    "M.models: keys must be depths (an int), not 'a'; it stays {}"
    >>> config_line("M", "The 'model' trait of a M instance expected a unicode string, not "
    ...             "the NoneType None.", lambda name: "qwen")
    "M.model expects a unicode string, not the NoneType None; it stays 'qwen' ('' unsets it)"
    """
    text = " ".join(text.split())
    if text.startswith(f"{cls}."):  # said by a validator of the class, already one line
        return f"{text}; it stays {current(text[len(cls) + 1:].split(':')[0])!r}"
    if found := _BAD_VALUE.match(text):
        name, says = found.group(1), f" expects {found.group(2)}"
    elif found := _OUT_OF_RANGE.match(text):
        name, op = found.group(1), ">=" if found.group(2) == "less" else "<="
        says = f" must be {op} {found.group(3)}, not {found.group(4)}"
    elif found := _BAD_KEY.match(text):
        name, says = found.group(1), f": keys must be depths ({found.group(2)}), not " \
                                     f"{found.group(3)}"
    else:
        return f"{cls}: {text}"
    unset = " ('' unsets it)" if says.endswith("string, not the NoneType None") else ""
    return f"{cls}.{name}{says}; it stays {current(name)!r}{unset}"


class OneLineConfig:
    """``%config`` mistakes as one line on stderr: a value of the wrong type, an unknown name.

    IPython's ``%config`` logs a value's ``TraitError`` on the root logger (``ERROR:root:The
    'max_depth' trait of a ReCodeMagics instance expected an int, ...``) and traitlets warns of
    an unknown name with a ``UserWarning`` that points into IPython's source. Both are caught
    in traitlets' public ``update_config``, which ``%config`` calls, and said in one line;
    the setting keeps its value. Other warnings pass through unchanged. A mixin, put before
    the ``Configurable`` it serves.

    A bad value in ``ipython_config.py`` made the constructor (``%load_ext``) raise: there
    the settings are loaded one by one, a refused one is said in one line and dropped from
    the config (a later ``%config`` reloads the config, and would trip on it again).

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

    def __init__(self, *args: Any, **kwargs: Any):
        try:
            super().__init__(*args, **kwargs)
        except TraitError:  # from the config, loaded last; every value was rolled back
            self._load_one_by_one()

    def _load_one_by_one(self) -> None:
        cls = type(self).__name__
        section = self.config[cls] if cls in self.config else {}  # type: ignore[attr-defined]
        for name in [n for n in list(section) if self.has_trait(n)]:  # type: ignore[attr-defined]
            value = section[name]
            if hasattr(value, "get_value"):  # a lazy value (append/update) or a CLI string
                value = value.get_value(getattr(self, name) if hasattr(value, "to_dict")
                                        else self.traits()[name])  # type: ignore[attr-defined]
            try:
                setattr(self, name, copy.deepcopy(value))
            except TraitError as exc:
                print(config_line(cls, str(exc), lambda n: getattr(self, n)), file=sys.stderr)
                del section[name]

    def update_config(self, config: Config) -> None:
        """Load ``config`` as traitlets does, saying a wrong value or unknown name in one line."""
        cls = type(self).__name__
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                super().update_config(config)  # type: ignore[misc]
            except TraitError as exc:
                print(config_line(cls, str(exc), lambda name: getattr(self, name)),
                      file=sys.stderr)
        for w in caught:
            text = " ".join(str(w.message).split())
            if w.category is UserWarning and text.startswith("Config option `"):
                print(text, file=sys.stderr)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


class MagicSettings(OneLineConfig):
    """:class:`OneLineConfig` plus the checks a trait's type cannot say (``levers``).

    The planning levers are checked as the engine will check them, when they are set.

    Before, ``%config ReCodeMagics.levers = {'samples': 'x'}`` was taken, and every later
    ``%%recode`` cell failed on it ("samples must be an int >= 1") without naming ``levers``.
    """

    @validate("levers")
    def _check_levers(self, proposal: Any) -> dict[str, Any]:
        value = dict(proposal["value"])
        try:
            Settings(**check_levers(self, value))  # type: ignore[arg-type]
        except UsageError as exc:  # says ReCodeMagics.levers itself
            raise TraitError(str(exc)) from None
        except ConfigError as exc:
            raise TraitError(f"{type(self).__name__}.levers: {exc}") from None
        return value
