"""``%%recode`` and ``%recode``: argument parsing, configuration, display.

A thin shell: parse the options, build a :class:`~recode_magic.engine.ReCode`, run it, show it.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Float, Int, List, Unicode

from .engine import ReCode
from .errors import RecodeError
from .tree import Run, load_run

__all__ = ["ReCodeMagics"]

_SUBCOMMANDS = ("show", "tree", "graph", "export", "stats", "cost", "resume", "list", "load")


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


@magics_class
class ReCodeMagics(Magics):
    """ReCode in the kernel: the model writes code that calls your functions.

    Configure defaults with ``%config ReCodeMagics.<name> = value`` or in
    ``ipython_config.py`` (``c.ReCodeMagics.model = "..."``).
    """

    model = Unicode("claude-sonnet-5-5", help="Model id used when --llm is not given "
                    "(claude-*, or openai:<model> with base_url).").tag(config=True)
    base_url = Unicode("", help="Base URL of an OpenAI-compatible server (llama.cpp, "
                       "Ollama, vLLM); empty for Anthropic.").tag(config=True)
    max_depth = Int(10, help="Placeholders at this depth are not expanded.").tag(config=True)
    max_retry = Int(2, help="Repairs of a node after a runtime error.").tag(config=True)
    max_rewrite = Int(3, help="Re-asks for an unusable reply.").tag(config=True)
    max_calls = Int(300, help="Model calls per run.").tag(config=True)
    timeout = Float(60.0, help="Seconds per block of generated code (0: none).").tag(config=True)
    cassette = Unicode("", help="Default cassette file for model replies.").tag(config=True)
    widget = Bool(True, help="Show the live widget (False: text tree).").tag(config=True)
    trust = Bool(False, help="Lift the guarded policy (imports, dunders, exec, "
                 "rebinding).").tag(config=True)
    allowed_imports = List(Unicode(), default_value=None, allow_none=True,
                           help="Modules generated code may import (None: the built-in "
                           "allow-list).").tag(config=True)
    repr_limit = Int(200, help="Characters of each variable's value shown to the model "
                     "(the task text keeps up to 4000).").tag(config=True)
    save_dir = Unicode(".recode", help="Folder where each run's tree is saved after every "
                       "node (empty: don't save).").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any):
        super().__init__(shell, **kwargs)
        self.runs: list[Run] = []
        self._engines: dict[int, ReCode] = {}
        self._created: set[str] = set()  # names earlier runs bound: later runs may rebind them

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
    @argument("--no-widget", action="store_true", help="Print a text tree instead of the "
              "widget.")
    @argument("--confirm", action="store_true", help="Show each expansion's code and ask "
              "before running it.")
    @argument("--trust", action="store_true", help="Lift the guarded policy for this run.")
    @cell_magic
    def recode(self, line: str, cell: str) -> Any:
        """Run the cell text as a ReCode task in this kernel.

        The text becomes the root placeholder ``solve(task)``. The model's code runs HERE,
        in your kernel, with your rights: it calls your functions (the primitives) and new
        placeholder functions, which are expanded in turn. The run is kept as ``_recode``.

        Examples
        --------
        ::

            %%recode --llm my_scripted_llm -o answer
            Add 2 and 3, then double the result.

            %%recode --in data --max-depth 6 --cassette replies.json
            Summarise the data.
        """
        args = self._parse(self.recode, line)
        task = cell.strip()
        if not task:
            raise UsageError("%%recode needs a task: write it in the cell body")
        ns = self.shell.user_ns
        inputs = {}
        for name in _names(args.inputs):
            if name not in ns:
                raise UsageError(f"--in names {name!r}, which is not defined in the notebook")
            inputs[name] = ns[name]
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"-o needs a variable name, got {args.out!r}")
        engine = self._engine(args)
        show = self._display(args, engine)
        try:
            run = engine.run(task, inputs=inputs, output=args.out)
        except (RecodeError, ValueError) as exc:  # set-up errors (--tools, --in names)
            raise UsageError(str(exc)) from None
        return self._finish(run, engine, show)

    # -- %recode ----------------------------------------------------------------------------
    @magic_arguments()
    @argument("command", nargs="?", default="show", help="show | tree | graph | export | "
              "stats | cost | resume | list | load")
    @argument("path", nargs="?", default=None, help="For load: a saved run's JSON file.")
    @argument("--inline", action="store_true", help="export: inline placeholders.")
    @argument("--functions", action="store_true", help="export: placeholders become defs.")
    @argument("--ascii", action="store_true", help="tree: ASCII guides.")
    @argument("--max-depth", type=int, default=None, help="resume: new depth limit.")
    @argument("-n", type=int, default=None, help="Which run (0 = first; default: last).")
    @line_magic("recode")
    def recode_line(self, line: str) -> Any:
        """Act on the last run (``_recode``): show, tree, graph, export, stats, cost, resume.

        Examples
        --------
        ::

            %recode tree          # text tree
            %recode graph         # graphviz Digraph (SVG); .render() it to save
            %recode export        # plain Python in the next cell
            %recode stats         # depth, branching factor, placeholder ratio
            %recode resume        # continue an interrupted run
        """
        args = self._parse(self.recode_line, line)
        cmd = args.command
        if cmd not in _SUBCOMMANDS:
            raise UsageError(f"unknown %recode command: {cmd!r} (must be one of "
                             f"{', '.join(_SUBCOMMANDS)})")
        if cmd == "list":
            for i, run in enumerate(self.runs):
                print(f"{i}: {run.status:<11} {len(run.nodes()):>4} nodes  "
                      f"{run.llm_calls:>3} calls  {run.task[:60]!r}")
            return None
        if cmd == "load":
            if not args.path:
                raise UsageError("%recode load needs a path to a saved run (.json)")
            try:
                run = load_run(args.path)
            except (OSError, ValueError, KeyError) as exc:
                raise UsageError(f"cannot load {args.path!r}: {exc}") from None
            self._remember(run)
            return self._show_static(run)
        run = self._pick(args.n)
        try:
            return self._subcommand(cmd, run, args)
        except RecodeError as exc:
            raise UsageError(str(exc)) from None

    def _subcommand(self, cmd: str, run: Run, args: Any) -> Any:
        from . import render

        if cmd == "show":
            return self._show_static(run)
        if cmd == "tree":
            print(render.render_text(run, ascii=args.ascii))
            return None
        if cmd == "graph":
            if shutil.which("dot") is None:
                raise UsageError("graphviz's `dot` program is not installed (apt-get install "
                                 "graphviz, brew install graphviz or conda install graphviz)")
            return render.to_digraph(run)
        if cmd == "export":
            code = run.export(style="inline" if args.inline else "functions")
            if hasattr(self.shell, "set_next_input"):
                self.shell.set_next_input(code, replace=False)
            else:  # pragma: no cover - every IPython shell has it
                print(code)
            return None
        if cmd == "stats":
            from .stats import format_stats
            print(format_stats(run.stats()))
            return None
        if cmd == "cost":
            from .llms.pricing import cost_report, format_cost
            print(format_cost(cost_report(run)))
            return None
        engine = self._engines.get(id(run))
        if engine is None:
            raise UsageError("this run cannot be resumed (it was loaded from a file or its "
                             "kernel restarted); start a new %%recode run")
        if args.max_depth is not None:
            engine.max_depth = args.max_depth
        show = self._display(None, engine, run)
        run = engine.resume(run)
        return self._finish(run, engine, show)

    # -- helpers ----------------------------------------------------------------------------
    def _parse(self, fn: Callable[..., Any], line: str) -> Any:
        try:
            return parse_argstring(fn, line)
        except UsageError as exc:
            msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else "bad arguments"
            raise UsageError(msg) from None

    def _engine(self, args: Any) -> ReCode:
        llm = self._llm(args)
        max_depth = self.max_depth if args.max_depth is None else args.max_depth
        timeout = self.timeout if args.timeout is None else args.timeout
        if max_depth < 0:
            raise UsageError(f"--max-depth must be >= 0, got {max_depth}")
        if timeout < 0:
            raise UsageError(f"--timeout must be >= 0 seconds, got {timeout:g}")
        save = None
        if self.save_dir:
            save = str(Path(self.save_dir) / f"run-{time.strftime('%Y%m%d-%H%M%S')}"
                                             f"-{len(self.runs)}.json")
        confirm = None
        if args.confirm:  # buttons in a widget-capable kernel, else an input() prompt
            from .confirm import pick_confirm
            confirm = pick_confirm(widget=self.widget and not args.no_widget)
        try:
            return ReCode(llm, namespace=self.shell.user_ns, max_depth=max_depth,
                          max_rewrite=self.max_rewrite, max_retry=self.max_retry,
                          timeout=timeout or None, tools=_names(args.tools) or None,
                          trust=self.trust or args.trust, allowed_imports=self.allowed_imports,
                          max_calls=self.max_calls, confirm=confirm, save_path=save,
                          repr_limit=self.repr_limit,
                          rebindable=self._created)
        except (TypeError, ValueError) as exc:
            raise UsageError(str(exc)) from None

    def _llm(self, args: Any) -> Callable[[str], str]:
        from .llms import resolve_llm

        spec = args.llm
        cassette = args.cassette if args.cassette is not None else self.cassette
        try:
            # backends read the key on their first live call: a cassette hit needs none
            llm = resolve_llm(spec, self.shell.user_ns, default_model=self.model,
                              base_url=self.base_url or None)
            if cassette:
                from .llms.cassette import CassetteLLM
                model = getattr(llm, "model", None) or spec or self.model
                llm = CassetteLLM(llm, cassette, model=model)
        except RecodeError as exc:
            raise UsageError(str(exc)) from None
        return llm  # type: ignore[return-value]

    def _display(self, args: Any, engine: ReCode, run: Run | None = None) -> Any:
        allowed = self.widget and not (args is not None and args.no_widget)
        engine.unsubscribe()  # a resumed run gets one fresh view, not two
        if not allowed:  # text tree at the end; no widget import at all
            from .render import render_text

            def print_at_end(event: str, run: Run, _node: Any) -> None:
                if event == "run_end":
                    print(render_text(run))
            engine.subscribe(print_at_end)
            return None
        from .widget import display_run
        return display_run(run, engine=engine, widget=None)

    def _finish(self, run: Run, engine: ReCode, show: Any) -> None:
        self._engines[id(run)] = engine
        self._created |= engine.rebindable
        self._remember(run)
        if run.status != "done":
            where = next((n for n in reversed(run.nodes()) if n.error), None)
            at = f" at `{where.name}`" if where is not None else ""
            hint = {"interrupted": "; %recode resume continues",
                    "limit": "; %recode resume --max-depth N continues"}.get(run.status, "")
            if run.status == "error" and getattr(run, "_state", None) is not None \
                    and run._state.frames:  # type: ignore[attr-defined]
                hint = "; fix the cause, then %recode resume continues"
            print(f"recode: run {run.status}{at}: {run.error}{hint}", file=sys.stderr)
        return None

    def _remember(self, run: Run) -> None:
        if run not in self.runs:
            self.runs.append(run)
        self.shell.user_ns["_recode"] = run

    def _pick(self, n: int | None) -> Run:
        if not self.runs:
            raise UsageError("no recode run yet: run a %%recode cell first")
        try:
            return self.runs[-1 if n is None else n]
        except IndexError:
            raise UsageError(f"no run number {n} (there are {len(self.runs)})") from None

    def _show_static(self, run: Run) -> Any:
        if not self.widget:
            from .render import render_text
            print(render_text(run))
            return None
        from .widget import display_run
        display_run(run, engine=None, widget=None)
        return None
