"""``%%recode`` and ``%recode``: argument parsing, configuration, display.

A thin shell: parse the options, build a :class:`~recode_magic.engine.recode.ReCode`, run it, show
it. Every entry goes through :meth:`ReCodeMagics._boundary`, the one place where an error of the
user's (:class:`~recode_magic.errors.RecodeError`, IPython's ``UsageError``) becomes a one-line
``UsageError``. Any other exception is a bug and is shown as one; the run it interrupted is
already ``_recode`` (it is remembered when it starts), and the engine ends it with a status.
The ``%recode`` subcommands are the table in :mod:`recode_magic.notebook.commands`.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Dict, Float, Int, List, Unicode

from ..engine.recode import ReCode
from ..errors import RecodeError, ResumeError
from ..llms.base import DEFAULT_MODEL
from ..llms.default import pick_default
from ..runs.run import Run
from . import commands
from .checks import (
    MISSING,
    MagicSettings,
    backend_options,
    cannot_write,
    cassette_counts,
    cassette_note,
    cell_task,
    check_levers,
    check_variable,
    configured_model,
    kept_runs,
    names_list,
    no_run_line,
    one_line,
    option_hint,
    stop_line,
)
from .commands import parse_budget
from .notes import ended_run, say, say_warnings

__all__ = ["ReCodeMagics"]

_LINE_DOC = """Act on a run (the last one, ``_recode``, unless ``-n N`` picks another).

Subcommands (``%recode NAME``; a bare ``%recode`` is ``show``):

{table}

Arguments are split like a shell line: quote paths with spaces (``%recode load 'my run.json'``).

Examples
--------
::

    %recode tree --ascii  # text tree
    %recode graph         # graphviz Digraph (SVG); .render() it to save
    %recode export        # plain Python in the next cell
    %recode resume        # continue an interrupted run
    %recode load .recode/run-20261202-101500-0.json
"""


@magics_class
class ReCodeMagics(MagicSettings, Magics):
    """ReCode in the kernel: the model writes code that calls your functions.

    Configure defaults with ``%config ReCodeMagics.<name> = value`` or in
    ``ipython_config.py`` (``c.ReCodeMagics.model = "..."``).
    """

    model = Unicode(DEFAULT_MODEL, help="Model id used when --llm is not given "
                    "(claude-*, local:<model or .gguf path>, or openai:<model> with "
                    "base_url). Left unset: Claude when ANTHROPIC_API_KEY is set, else the "
                    "embedded local model if recode_magic[local] is installed.").tag(config=True)
    model_dir = Unicode("", help="Folder of the embedded (local:) models' weights (empty: "
                        "$RECODE_MAGIC_MODELS, else the user cache folder).").tag(config=True)
    base_url = Unicode("", help="Base URL of an OpenAI-compatible server (llama.cpp, "
                       "Ollama, vLLM); empty for Anthropic.").tag(config=True)
    models = Dict(key_trait=Int(), value_trait=Unicode(), default_value={},
                  help="Model routing by depth, e.g. {0: 'claude-...', 2: 'openai:qwen'}: the "
                  "model of the deepest key <= a node's depth expands it (used when --llm "
                  "is not given).").tag(config=True)
    grammar = Unicode("auto", help="Constrained decoding for OpenAI-compatible servers: "
                      "'auto' (on for local servers that accept it), 'on', 'off', or a GBNF "
                      "grammar.").tag(config=True)
    temperature = Float(None, allow_none=True, min=0.0, help="Sampling temperature sent to model "
                        "backends (None: the server's default; 0 for repeatable plans from "
                        "a local model).").tag(config=True)
    max_tokens = Int(None, allow_none=True, min=1, help="Longest model reply, in tokens (None: "
                     "the backend's own: 512 embedded, 4096 server or Claude).").tag(config=True)
    max_depth = Int(10, min=0, help="Placeholders at this depth are not expanded.").tag(config=True)
    max_retry = Int(2, min=0, help="Repairs of a node after a runtime error.").tag(config=True)
    max_rewrite = Int(3, min=0, help="Re-asks for an unusable reply.").tag(config=True)
    max_calls = Int(300, min=1, help="Model calls per run.").tag(config=True)
    timeout = Float(60.0, min=0.0, help="Seconds per block of generated code (0: "
                    "none).").tag(config=True)
    cassette = Unicode("", help="Default cassette file for model replies.").tag(config=True)
    widget = Bool(True, help="Show the live widget (False: text tree).").tag(config=True)
    trust = Bool(False, help="Lift the guarded policy (imports, dunders, exec, "
                 "rebinding).").tag(config=True)
    allowed_imports = List(Unicode(), default_value=None, allow_none=True,
                           help="Modules generated code may import (None: the built-in "
                           "allow-list).").tag(config=True)
    repr_limit = Int(200, min=1, help="Characters of each variable's value shown to the model "
                     "(the task text keeps up to 4000).").tag(config=True)
    save_dir = Unicode(".recode", help="Folder where each run's tree is saved after every "
                       "node (empty: don't save).").tag(config=True)
    budget = Unicode("", help="Default --budget of every run: dollars ('0.50') or tokens "
                     "('20000tok'); empty: no budget.").tag(config=True)
    check_results = Bool(True, help="Re-plan a step once when it ran without an error but "
                         "left the result its caller expects None or empty.").tag(config=True)
    levers = Dict(default_value={}, help="Planning levers of every run (issue 21), e.g. "
                  "{'samples': 4, 'examples': True}: README 'Evaluation'.").tag(config=True)
    confirm_render_timeout = Float(10.0, min=0.0, help="--confirm: seconds to wait for the "
                                   "buttons to show before asking in a text prompt."
                                   ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any):
        super().__init__(shell, **kwargs)
        self.runs: list[Run] = kept_runs(shell)  # %reload_ext: _recode stays current
        self._text_runs: weakref.WeakSet[Run] = weakref.WeakSet()  # shown as text, not widget
        #: names earlier runs bound -> the value they left: later runs may rebind them
        self._created: dict[str, Any] = {}
        #: True when the last %%recode cell stopped before its run started (set-up error).
        self.cell_without_run = False
        #: the line saying the embedded model is the default: shown once per session
        self._default_note: str | None = None
        self._default_said = False
        #: the line saying the user's own `task` was put back: once per session
        self._task_said = False

    # -- the one boundary --------------------------------------------------------------------
    def _boundary(self, entry: Callable[..., Any], *args: Any) -> Any:
        """Run one magic entry; a user's mistake becomes a one-line ``UsageError``."""
        try:
            return entry(*args)
        except (RecodeError, UsageError) as exc:
            raise UsageError(option_hint(one_line(exc), self)) from None

    # -- %%recode ---------------------------------------------------------------------------
    @magic_arguments()
    @argument("--llm", default=None, help="Model id (claude-..., openai:<model>) or the name "
              "of a callable llm(prompt) -> str in the notebook, e.g. a ScriptedLLM.")
    @argument("--max-depth", type=int, default=None, help="Depth limit (default 10).")
    @argument("--timeout", type=float, default=None, help="Seconds per block (0: none).")
    @argument("--tools", default=None, help="Comma-separated primitives to list (default: "
              "every function defined in the notebook).")
    @argument("--in", dest="inputs", default=None, help="Comma-separated variables passed "
              "to the root as arguments.")
    @argument("-o", "--out", default=None, help="Variable that receives the root's result.")
    @argument("--cassette", default=None, help="JSON file to record model replies to and "
              "replay them from.")
    @argument("--replay-only", action="store_true", help="Answer only from the cassette: "
              "a reply it lacks stops the run (no live model call).")
    @argument("--no-widget", action="store_true", help="Print a text tree instead of the "
              "widget.")
    @argument("--confirm", action="store_true", help="Show each expansion's code and ask "
              "before running it.")
    @argument("--trust", action="store_true", help="Lift the guarded policy for this run.")
    @argument("--budget", default=None, help="Spending limit of this run: dollars (0.50, "
              "$0.50) or tokens (20000tok, 20ktok); the run stops 'limit' before the model "
              "call that would pass it (%%recode resume --budget ... goes on).")
    @cell_magic
    def recode(self, line: str, cell: str) -> Any:
        """Run the cell text as a ReCode task in this kernel.

        The text becomes the root placeholder ``solve(task)``. The model's code runs HERE,
        in your kernel, with your rights: it calls your functions (the primitives) and new
        placeholder functions, which are expanded in turn. The run is kept as ``_recode``;
        ``%recode?`` lists what you can do with it afterwards.

        Examples
        --------
        ::

            %%recode --llm my_scripted_llm -o answer
            Add 2 and 3, then double the result.

            %%recode --in data --max-depth 6 --cassette replies.json
            Summarise the data.

            %%recode --cassette replies.json --replay-only
            Summarise the data.    (replays only: a changed prompt stops the run, no model call)

            %%recode --confirm --no-widget
            Tidy the files in data/ (ask before running each step).
        """
        return self._boundary(self._run_cell, line, cell)

    def _run_cell(self, line: str, cell: str) -> None:
        # until the run starts: a bare `%recode resume` must not pick up an older run
        self.cell_without_run = True
        args = self.recode.parser.parse_args(commands.split_line(line))
        task = cell_task(cell, line, self.recode.parser._option_string_actions)
        check_variable(args.out, "-o")
        ns = self.shell.user_ns
        inputs = {}
        for name in names_list(args.inputs):
            if name == "task":
                raise UsageError("--in task: the cell text is bound to `task` already "
                                 "(pass another variable)")
            if name not in ns:
                raise UsageError(f"--in names {name!r}, which is not defined in the notebook")
            inputs[name] = ns[name]
        widget = self.widget and not args.no_widget
        engine = self._engine(args, widget)
        if self._default_note and not self._default_said:
            self._default_said = True
            print(self._default_note)  # a note, not an error: stdout (stderr shows pink)
        cassette_entries = cassette_counts(engine.llm)
        self._follow(engine, widget)
        with self.task_bound(task, say=True):
            run = ended_run(lambda: engine.run(task, inputs=inputs, output=args.out), self)
        self._finish(run, engine, cassette_entries)

    # -- %recode ----------------------------------------------------------------------------
    @line_magic("recode")
    def recode_line(self, line: str) -> Any:  # noqa: D102 - the docstring is built below
        return self._boundary(commands.dispatch, self, line)

    # -- for subcommand handlers ----------------------------------------------------------------
    def pick_run(self, n: int | None = None) -> Run:
        """Run ``n`` of this session (0 = first), or the last one; ``UsageError`` if none."""
        if not self.runs:
            raise UsageError(no_run_line(self.save_dir))
        try:
            return self.runs[-1 if n is None else n]
        except IndexError:
            raise UsageError(f"no run number {n} (there are {len(self.runs)})") from None

    def remember(self, run: Run, *, widget: bool | None = None) -> None:
        """Make ``run`` the last run (``_recode``); ``widget=False`` shows it as text."""
        if run not in self.runs:
            self.runs.append(run)
        if widget is False:
            self._text_runs.add(run)
        self.shell.user_ns["_recode"] = run

    def show_run(self, run: Run) -> None:
        """Display ``run``: the widget, or the text tree for a ``--no-widget`` run."""
        from .display import display_run

        if not self._widget_for(run):
            from .render import render_text
            print(render_text(run))
            return None
        display_run(run, engine=None, widget=None)
        return None

    def resume_run(self, run: Run, *, max_depth: int | None = None, **changes: Any) -> None:
        """Continue ``run`` where it stopped, shown as it was (widget or text).

        Raises :class:`~recode_magic.errors.ResumeError` when there is nothing to resume.
        """
        engine = ReCode.for_run(run)
        if run.state is None or not run.state.frames:
            raise ResumeError(f"nothing to resume: the run ended {str(run.status)!r} with no "
                              f"unfinished node (start a new run instead)")
        self._follow(engine, self._widget_for(run), run)
        entries = cassette_counts(engine.llm)
        with self.task_bound(run.task):
            run = ended_run(lambda: engine.resume(run, max_depth=max_depth, **changes), self, run)
        self._finish(run, engine, entries)

    @contextlib.contextmanager
    def task_bound(self, text: str, *, say: bool = False) -> Iterator[None]:
        """Bind ``task`` to the run's text; put the user's own ``task`` back afterwards.

        The user's own: a value no run bound. ``say``: said once per session.
        """
        ns = self.shell.user_ns
        old = ns.get("task", MISSING)
        mine = old is not MISSING and old is not text and not any(
            old is r.task for r in self.runs)
        ns["task"] = text
        try:
            yield
        except BaseException:  # no run (a set-up error): `task` as it was, nothing said
            if old is MISSING:
                ns.pop("task", None)
            else:
                ns["task"] = old
            raise
        if mine:
            ns["task"] = old
            if say and not self._task_said:
                self._task_said = True
                print("recode: your variable `task` was put back after the run (runs read "
                      "the cell text as `task`; it is in _recode.task)")

    # -- helpers ----------------------------------------------------------------------------
    def _widget_for(self, run: Run) -> bool:
        return self.widget and run not in self._text_runs

    def _engine(self, args: Any, widget: bool) -> ReCode:
        max_depth = self.max_depth if args.max_depth is None else args.max_depth
        timeout = self.timeout if args.timeout is None else args.timeout
        if max_depth < 0:
            raise UsageError(f"--max-depth must be >= 0, got {max_depth}")
        if not math.isfinite(timeout) or timeout < 0:
            raise UsageError(f"--timeout must be a finite number of seconds >= 0 (0: none), "
                             f"got {timeout:g}")
        confirm = None
        if args.confirm:  # buttons, else a text prompt; refused if neither can answer
            from .confirm import confirm_for
            confirm = confirm_for(widget, self.confirm_render_timeout)
        llm = self._llm(args)
        save = None
        if self.save_dir:
            why = cannot_write(Path(self.save_dir).expanduser(), folder=True)
            if why:
                raise UsageError(f"cannot save runs to save_dir: {why} (%config "
                                 f"ReCodeMagics.save_dir = '' turns saving off)")
            save = str(Path(self.save_dir) / f"run-{time.strftime('%Y%m%d-%H%M%S')}"
                                             f"-{len(self.runs)}.json")
        return ReCode(llm, namespace=self.shell.user_ns, max_depth=max_depth,
                      max_rewrite=self.max_rewrite, max_retry=self.max_retry,
                      timeout=timeout or None, tools=names_list(args.tools) or None,
                      trust=self.trust or args.trust, allowed_imports=self.allowed_imports,
                      max_calls=self.max_calls, confirm=confirm, save_path=save,
                      repr_limit=self.repr_limit, rebindable=dict(self._created),
                      check_results=self.check_results, **check_levers(self),
                      **parse_budget(args.budget if args.budget is not None else self.budget))

    def _llm(self, args: Any) -> Callable[[str], str]:
        from ..llms import make_llm

        cassette = args.cassette if args.cassette is not None else self.cassette
        if args.replay_only and not cassette:
            raise UsageError("--replay-only needs a cassette (--cassette PATH)")
        if cassette:
            why = cannot_write(Path(cassette).expanduser(), folder=False)
            if why:
                raise UsageError(f"--cassette: {why}")
        spec: Any = args.llm if args.llm is not None else (dict(self.models) or None)
        default, self._default_note = pick_default(configured_model(self),
                                                   model_dir=self.model_dir or None)
        # backends read the key on their first live call: a cassette hit needs none
        llm = make_llm(spec, namespace=self.shell.user_ns, cassette=cassette or None,
                       mode="replay" if args.replay_only else "auto",
                       base_url=self.base_url or None, default_model=default,
                       **backend_options(self))
        if spec is not None or getattr(getattr(llm, "inner", llm), "model", None) != default:
            self._default_note = None  # not the embedded default (or a pure cassette replay)
        return llm

    def _follow(self, engine: ReCode, widget: bool, run: Run | None = None) -> None:
        """Remember the run as soon as it starts and show it (widget, or text at the end).

        Nothing is displayed before the run starts, so an error in the set-up is one line
        with no empty widget above it.
        """
        from .display import display_run

        engine.unsubscribe()  # a resumed run gets one fresh view, not two
        from ..steering.steer import watch
        watch(engine)  # per-node snapshots: the rollback of %recode regenerate/edit (issue 14)

        def on_event(event: str, started: Run, _node: Any) -> None:
            if event == "run_start":
                self.cell_without_run = False
                self.remember(started, widget=widget)
                display_run(started, engine=engine, widget=None if widget else False)

        if run is None:
            engine.subscribe(on_event)
        else:
            self.remember(run, widget=widget)
            display_run(run, engine=engine, widget=None if widget else False)

    def _finish(self, run: Run, engine: ReCode, cassette: tuple[int, int] = (0, 0)) -> None:
        self._created.update(engine.created)
        self._created.pop("_recode", None)  # set by the magic during the run, not by the code
        self.remember(run)
        say_warnings(run)  # notes (stdout), each once: a resume says only its new ones
        say(cassette_note(engine.llm, *cassette))  # what the cassette did, if worth a note
        if run.status != "done":
            print(stop_line(run), file=sys.stderr)


def _refresh_line_doc() -> None:
    ReCodeMagics.recode_line.__doc__ = _LINE_DOC.format(table=commands.help_text())


_refresh_line_doc()
commands.on_change(_refresh_line_doc)

