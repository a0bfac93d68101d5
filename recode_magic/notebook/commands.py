"""The ``%recode`` subcommands: one table, from which the help text and errors are built.

Each row of :data:`SUBCOMMANDS` is a :class:`Subcommand`: a name, a handler, a one-line help
and a usage string. ``%recode NAME ARGS...`` splits the line like a POSIX shell
(:func:`shlex.split`, so ``%recode load 'my run.json'`` gets ``my run.json``), finds the row and
calls ``handler(magics, argv)`` with the
:class:`~recode_magic.notebook.magics.ReCodeMagics` instance and the words after the name.
``%recode?`` lists the rows, and an unknown name gets a one-line error naming them.

Adding a subcommand (the hook other modules use)
------------------------------------------------
::

    from recode_magic.notebook.commands import register_subcommand

    def batch(magics, argv):
        '''Run many tasks (argv: the words after ``%recode batch``).'''
        ...

    register_subcommand("batch", batch, "run a list of tasks", usage="FILE [--jobs N]")

A handler raises :class:`~recode_magic.errors.RecodeError` (or IPython's ``UsageError``) for a
mistake of the user's; the magic's one boundary turns it into a one-line ``UsageError``.
Anything else is a bug and is shown as one. Useful helpers on ``magics``: ``pick_run(n)``
(the last run, or run ``n``), ``remember(run)`` (make it ``_recode``), ``show_run(run)``,
``resume_run(run, max_depth=None)``, ``shell``. :func:`parser` builds an option parser whose
errors are one-line ``UsageError``\\ s.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from ..errors import ConfigError
from .checks import no_run_line

if TYPE_CHECKING:  # pragma: no cover
    from ..runs.run import Run


class ReCodeMagics(Protocol):
    """What a handler is given: the magic's instance (``notebook.magics.ReCodeMagics``).

    Declared here so the subcommand table does not import the magic that dispatches to it
    (one-way imports); the config traits (``model``, ``max_depth``...) are read as attributes.
    """

    shell: Any
    runs: list[Run]

    def pick_run(self, n: int | None = None) -> Run: ...  # noqa: D102
    def remember(self, run: Run, *, widget: bool | None = None) -> None: ...  # noqa: D102
    def show_run(self, run: Run) -> Any: ...  # noqa: D102
    def __getattr__(self, name: str) -> Any: ...

__all__ = ["Subcommand", "SUBCOMMANDS", "register_subcommand", "dispatch", "help_text",
           "parse_budget", "parser", "split_line", "DEFAULT_SUBCOMMAND"]

Handler = Callable[["ReCodeMagics", "list[str]"], Any]

#: What a bare ``%recode`` does.
DEFAULT_SUBCOMMAND = "show"


@dataclass(frozen=True)
class Subcommand:
    """One row of the table: ``%recode NAME USAGE`` -- HELP."""

    name: str
    handler: Handler
    help: str
    usage: str = ""

    def line(self, width: int = 30) -> str:
        """The help line(s): usage, then the help (on a line of its own if the usage is long).

        >>> print(Subcommand("tree", print, "print the text tree", "[--ascii]").line())
          %recode tree [--ascii]           print the text tree
        """
        head = f"%recode {self.name} {self.usage}".rstrip()
        if len(head) > width:
            return f"  {head}\n  {'':<{width}}   {self.help}"
        return f"  {head:<{width}}   {self.help}"


#: name -> row; extend it with :func:`register_subcommand`, not by assigning to it.
SUBCOMMANDS: dict[str, Subcommand] = {}
_listeners: list[Callable[[], None]] = []


def register_subcommand(name: str, handler: Handler, help: str, usage: str = "", *,
                        replace: bool = False) -> Subcommand:
    """Add ``%recode NAME`` (the hook for other modules).

    Parameters
    ----------
    name : str
        A lower-case word (``[a-z][a-z0-9_-]*``).
    handler : callable
        ``handler(magics, argv) -> Any``; its return value is the cell's result.
    help : str
        One line for ``%recode?`` and the unknown-subcommand message.
    usage : str
        The arguments, e.g. ``"[--ascii] [-n N]"``.
    replace : bool
        Allow replacing an existing row (otherwise a second registration is an error).

    Raises
    ------
    ConfigError
        Bad name, a help text that is not one line, or the name is taken.

    Examples
    --------
    >>> row = register_subcommand("hello", lambda magics, argv: "hi", "say hi")
    >>> SUBCOMMANDS["hello"].help
    'say hi'
    >>> register_subcommand("hello", row.handler, "again")
    Traceback (most recent call last):
    ...
    recode_magic.errors.ConfigError: %recode subcommand 'hello' exists (pass replace=True)
    >>> del SUBCOMMANDS["hello"]
    """
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise ConfigError(f"bad %recode subcommand name: {name!r} (lower-case word)")
    if not callable(handler):
        raise ConfigError(f"handler of %recode {name} must be callable, got {handler!r}")
    if "\n" in help.strip() or not help.strip():
        raise ConfigError(f"help of %recode {name} must be one non-empty line")
    if name in SUBCOMMANDS and not replace:
        raise ConfigError(f"%recode subcommand {name!r} exists (pass replace=True)")
    row = Subcommand(name, handler, help.strip(), usage.strip())
    SUBCOMMANDS[name] = row
    for refresh in _listeners:
        refresh()
    return row


def on_change(callback: Callable[[], None]) -> None:
    """Call ``callback()`` after every registration (the magic rebuilds its docstring)."""
    _listeners.append(callback)


def help_text() -> str:
    """The subcommand list shown by ``%recode?``, one line per row."""
    return "\n".join(row.line() for row in SUBCOMMANDS.values())


def dispatch(magics: ReCodeMagics, line: str) -> Any:
    """Run ``%recode LINE``: split it, find the row, call its handler.

    Raises
    ------
    UsageError
        Unbalanced quotes or an unknown subcommand (the message lists the known ones).
    """
    argv = split_line(line)
    starts_with_option = bool(argv) and argv[0].startswith("-")
    later = next((w for w in argv if w in SUBCOMMANDS), None) if starts_with_option else None
    if later is not None:  # `%recode -n 2 tree`
        rest = " ".join(w for w in argv if w != later)
        raise UsageError(f"the subcommand comes first: %recode {later} {rest}")
    name = DEFAULT_SUBCOMMAND if not argv or argv[0].startswith("-") else argv.pop(0)
    row = SUBCOMMANDS.get(name)
    if row is None:
        raise UsageError(f"unknown %recode subcommand: {name!r} (must be one of "
                         f"{', '.join(SUBCOMMANDS)}; see %recode?; a task goes in a cell "
                         f"that starts with %%recode)")
    return row.handler(magics, argv)


def split_line(line: str) -> list[str]:
    """Split a magic's line like a shell: quotes group words and are removed.

    On Windows backslashes stay as they are (paths), and only the quotes are removed.

    >>> split_line("load 'my run.json' -n 2")
    ['load', 'my run.json', '-n', '2']
    """
    try:
        words = shlex.split(line, posix=os.name != "nt")
    except ValueError as exc:  # shlex's only error: unbalanced quotes
        raise UsageError(f"cannot read {line.strip()!r}: {exc}") from None
    if os.name == "nt":  # pragma: no cover - posix=False keeps the quotes
        words = [w[1:-1] if len(w) > 1 and w[0] == w[-1] and w[0] in "'\"" else w
                 for w in words]
    return words


def parser(name: str, usage: str = "") -> MagicArgumentParser:
    """An argparse parser for ``%recode NAME`` whose errors are one-line ``UsageError``\\ s."""
    return MagicArgumentParser(prog=f"%recode {name}", usage=f"%recode {name} {usage}".strip(),
                               add_help=False)


def _parse(name: str, argv: list[str], *options: tuple[tuple[str, ...], dict[str, Any]],
           which: bool = True) -> Any:
    p = parser(name, SUBCOMMANDS[name].usage if name in SUBCOMMANDS else "")
    if which:
        p.add_argument("-n", type=int, default=None, help="which run (0 = first)")
    for flags, kwargs in options:
        p.add_argument(*flags, **kwargs)
    return p.parse_args(argv)


# -- the built-in rows ------------------------------------------------------------------------

def _show(magics: ReCodeMagics, argv: list[str]) -> Any:
    args = _parse("show", argv)
    return magics.show_run(magics.pick_run(args.n))


def _tree(magics: ReCodeMagics, argv: list[str]) -> None:
    from .render import render_text

    args = _parse("tree", argv, (("--ascii",), {"action": "store_true"}))
    print(render_text(magics.pick_run(args.n), ascii=args.ascii))


def _graph(magics: ReCodeMagics, argv: list[str]) -> Any:
    from .render import to_digraph

    args = _parse("graph", argv)
    run = magics.pick_run(args.n)
    if shutil.which("dot") is None:
        raise UsageError("graphviz's `dot` program is not installed (apt-get install "
                         "graphviz, brew install graphviz or conda install graphviz)")
    return to_digraph(run)


def _export(magics: ReCodeMagics, argv: list[str]) -> None:
    args = _parse("export", argv, (("--inline",), {"action": "store_true"}),
                  (("--functions",), {"action": "store_true"}),
                  (("--pairs",), {"default": None, "metavar": "FILE"}))
    if args.pairs:  # training pairs as JSONL (issue 14)
        from ..steering.promote import write_pairs

        target = Path(args.pairs).expanduser()
        if target.is_dir():
            raise UsageError(f"--pairs {args.pairs!r} is a folder (give a .jsonl file)")
        run = magics.pick_run(args.n)
        try:
            count = write_pairs(run, target)
        except OSError as exc:
            raise UsageError(f"--pairs {args.pairs!r} cannot be written: "
                             f"{exc.strerror or exc}") from None
        print(f"recode: {count} training pair{'s' * (count != 1)} written to {str(target)!r}")
        return
    code = magics.pick_run(args.n).export(style="inline" if args.inline else "functions")
    if hasattr(magics.shell, "set_next_input"):
        magics.shell.set_next_input(code, replace=False)
    else:  # pragma: no cover - every IPython shell has it
        print(code)


def _stats(magics: ReCodeMagics, argv: list[str]) -> None:
    from ..runs.stats import format_stats

    args = _parse("stats", argv)
    print(format_stats(magics.pick_run(args.n).stats()))


def _cost(magics: ReCodeMagics, argv: list[str]) -> None:
    from ..llms.pricing import (
        cost_by_model,
        cost_report,
        format_cache_across_runs,
        format_cost,
        format_cost_by_model,
    )

    args = _parse("cost", argv, (("--runs",), {"action": "store_true"}))
    if args.runs:  # the fixed prompt read from the provider's cache, run after run
        magics.pick_run()  # none yet: the one line, not a table of zeros
        print(format_cache_across_runs(magics.runs))
        return
    run = magics.pick_run(args.n)
    print(format_cost(cost_report(run)))
    by_model = cost_by_model(run)
    if len(by_model) > 1:  # routed by depth: one line per model
        print()
        print(format_cost_by_model(by_model))


def _resume(magics: ReCodeMagics, argv: list[str]) -> None:
    args = _parse("resume", argv, (("--max-depth",), {"type": int, "default": None}),
                  (("--budget",), {"default": None}))
    if args.max_depth is not None and args.max_depth < 0:
        raise UsageError(f"--max-depth must be >= 0, got {args.max_depth}")
    if args.n is None and magics.cell_without_run and magics.runs:
        raise UsageError(f"the last %%recode cell stopped before its run started, so there is "
                         f"nothing new to resume (%recode resume -n {len(magics.runs) - 1} "
                         f"continues the previous run)")
    return magics.resume_run(magics.pick_run(args.n), max_depth=args.max_depth,
                             max_calls=magics.max_calls,  # %config, raised after its stop
                             **parse_budget(args.budget))


def _list(magics: ReCodeMagics, argv: list[str]) -> None:
    _parse("list", argv, which=False)
    if not magics.runs:
        print(no_run_line(magics.save_dir))
    for i, run in enumerate(magics.runs):
        print(f"{i}: {run.status:<11} {len(run.nodes()):>4} nodes  "  # saved notebooks show it
              f"{run.llm_calls:>3} calls  {run.task[:60]!r}")


def _load(magics: ReCodeMagics, argv: list[str]) -> Any:
    from ..runs.run import load_run

    args = _parse("load", argv, (("path",), {"nargs": "?", "default": None}), which=False)
    if not args.path:
        raise UsageError("%recode load needs a path to a saved run (.json)")
    path = Path(args.path).expanduser()
    if not path.is_file():
        raise UsageError(f"cannot load {args.path!r}: "
                         f"{'a folder' if path.is_dir() else 'no such file'}")
    if not os.access(path, os.R_OK):
        raise UsageError(f"cannot load {args.path!r}: permission denied")
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"cannot load {args.path!r}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"cannot load {args.path!r}: a saved run is a JSON object, this file "
                         f"holds a {type(data).__name__}")
    run = load_run(data)
    from .notes import said_all
    said_all(run)  # its warnings were said when it ran: a resume says only new ones
    magics.remember(run)
    return magics.show_run(run)


for _row in (
    ("show", _show, "the run's tree: the widget, or text with --no-widget runs", "[-n N]"),
    ("tree", _tree, "print the text tree", "[--ascii] [-n N]"),
    ("graph", _graph, "a graphviz Digraph (SVG); .render() it to save", "[-n N]"),
    ("export", _export, "plain Python that replays the run, in the next cell",
     "[--inline | --functions | --pairs FILE] [-n N]"),
    ("stats", _stats, "depth, branching factor, placeholder ratio, primitive calls", "[-n N]"),
    ("cost", _cost, "model calls, tokens and their price (--runs: cache reads across runs)",
     "[-n N] [--runs]"),
    ("resume", _resume, "continue an interrupted, failed or limited run",
     "[--max-depth N] [--budget B] [-n N]"),
    ("list", _list, "the runs of this session, numbered for -n", ""),
    ("load", _load, "read a saved run (.json) and make it _recode", "PATH"),
):
    register_subcommand(_row[0], _row[1], _row[2], _row[3])

# `batch` (batch_magic.py) and the steering rows (steer_magic.py) register themselves when
# the extension loads (recode_magic.load_ipython_extension): this table imports neither.


_BUDGET = re.compile(r"(?P<dollar>\$)?\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*"
                     r"(?P<scale>[km])?\s*(?P<tok>tok|toks|token|tokens)?")


def parse_budget(text: str | None) -> dict[str, Any]:
    """``--budget`` as ReCode keywords: dollars, or tokens with a ``tok`` suffix.

    Examples
    --------
    >>> parse_budget("$0.50"), parse_budget("20ktok"), parse_budget("1500 tokens")
    ({'budget_usd': 0.5}, {'budget_tokens': 20000}, {'budget_tokens': 1500})
    >>> parse_budget("")
    {}
    >>> parse_budget("lots")
    Traceback (most recent call last):
    ...
    IPython.core.error.UsageError: --budget must be dollars (0.50, $0.50) or tokens ...
    """
    raw = (text or "").strip().lower().replace(",", "").replace("_", "")
    if not raw:
        return {}
    m = _BUDGET.fullmatch(raw)
    value = math.nan
    if m:
        value = float(m["number"]) * {"": 1, "k": 1000, "m": 1_000_000}[m["scale"] or ""]
    tokens = bool(m and m["tok"])
    if not m or not math.isfinite(value) or value <= 0 or (m["dollar"] and tokens) \
            or (m["scale"] and not tokens):
        raise UsageError(f"--budget must be dollars (0.50, $0.50) or tokens (20000tok, "
                         f"20ktok), got {text!r}")
    return {"budget_tokens": int(value)} if tokens else {"budget_usd": value}
