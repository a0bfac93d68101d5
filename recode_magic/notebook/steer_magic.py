"""``%recode regenerate|edit|rerun|alternatives|switch|promote|compare`` and the widget's buttons.

::

    %recode regenerate NODE [--hint TEXT] [--llm NAME] [--confirm] [-n N]
    %recode edit NODE (--code TEXT | --from VAR) [--confirm] [-n N]
    %recode rerun NODE [--confirm] [-n N]
    %recode alternatives NODE [-n N]
    %recode switch NODE ALT [-n N]
    %recode promote NODE [NAME] [--keep-calls] [-n N]
    %recode compare A B [--node ID] [-n N]

``NODE`` is a node id (``%recode tree`` shows them) or a node name (the first one).
A re-run (regenerate, edit, rerun) says first that the primitives will be called again;
the rollback rule is :mod:`recode_magic.steering.steer`'s. ``compare A B``: each of A and B is a run
number (``%recode list``), a saved run (.json path) or a variable holding a run; with
``--node ID``, A and B are alternative ids of that node (``a0``, ``a1``...).

:func:`register` adds the rows to :mod:`recode_magic.notebook.commands` and gives every new widget
the handler of its details-pane buttons (``regenerate``, ``edit``, ``switch``, ``compare``,
``promote``): :func:`on_widget_action`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..errors import ConfigError, ResumeError
from ..steering import steer
from ..steering.compare import Comparison, compare
from ..steering.promote import promote_source
from .checks import backend_options
from .marks import version_status
from .notes import ended_run, say_warnings

if TYPE_CHECKING:  # pragma: no cover
    from ..runs.run import Run
    from .magics import ReCodeMagics
    from .widget import ReCodeWidget

__all__ = ["register", "on_widget_action", "ROWS"]


def _parse(name: str, argv: list[str], *options: tuple[tuple[str, ...], dict[str, Any]]) -> Any:
    from .commands import SUBCOMMANDS, parser

    p = parser(name, SUBCOMMANDS[name].usage if name in SUBCOMMANDS else "")
    p.add_argument("-n", type=int, default=None, help="which run (0 = first)")
    for flags, kwargs in options:
        p.add_argument(*flags, **kwargs)
    return p.parse_args(argv)


_NODE = (("node",), {"nargs": "?", "default": None})
_CONFIRM = (("--confirm",), {"action": "store_true"})


def _need(value: str | None, what: str, name: str) -> str:
    if not value:
        raise UsageError(f"%recode {name} needs {what} (see %recode?)")
    return value


def _confirm(magics: ReCodeMagics, wanted: bool) -> Any:
    if not wanted:
        return None
    from .confirm import confirm_for

    return confirm_for(bool(magics.widget), magics.confirm_render_timeout)


def _rerun(magics: ReCodeMagics, run: Run, node: Any, action: Any, **kwargs: Any) -> None:
    """Say what re-running does, show the run live, re-run, report."""
    from .display import display_run

    node = steer.find_node(run, node)
    steer.preflight(run, node, kwargs.get("code"), kwargs.get("hint"))  # errors first: before
    # the warning and the view
    # a note on stdout, flushed: the same stream as the primitives' prints, so it comes first
    print(f"recode: re-running `{node.name}` (node {node.id}): {steer.RERUN_WARNING}",
          flush=True)
    created: dict[str, Any] = {}
    with magics.task_bound(run.task):  # a 2nd Ctrl-C in the views after it ended: one line
        ended_run(lambda: action(run, node, created=created, **kwargs), magics, run)
    # like _finish after a run: names the re-run bound stay rebindable by later runs
    getattr(magics, "_created", {}).update(created)
    magics.remember(run)
    # shown when it ends: a saved notebook's static view is then the new tree (nbval does not
    # replay display updates); a widget clicked in follows the re-run live instead
    display_run(run, widget=None if magics.widget else False, static=True)  # no dead widget
    say_warnings(run)  # as after a run (magics._finish): notes, each once
    alt = next((a for a in node.alternatives if a.node is node), None)
    if alt is not None and alt is not node.alternatives[-1]:
        return  # the re-run failed and the previous version stayed current (said above)
    kept = f"; the previous version is alternative {node.alternatives[-2].id}" \
        if alt is not None and len(node.alternatives) > 1 else ""
    print(f"recode: `{node.name}` is now {alt.id if alt else '?'} ({node.status}); run "
          f"{run.status}{kept}")


def _regenerate(magics: ReCodeMagics, argv: list[str]) -> None:
    args = _parse("regenerate", argv, _NODE, (("--hint",), {"default": None}),
                  (("--llm",), {"default": None}), _CONFIRM)
    run = magics.pick_run(args.n)
    llm = None
    if args.llm:
        from ..llms import make_llm
        llm = make_llm(args.llm, namespace=magics.shell.user_ns,
                       base_url=magics.base_url or None, default_model=magics.model,
                       **backend_options(magics))
    _rerun(magics, run, _need(args.node, "a NODE (id or name)", "regenerate"),
           steer.regenerate, hint=args.hint, llm=llm, confirm=_confirm(magics, args.confirm))


def _edit(magics: ReCodeMagics, argv: list[str]) -> None:
    args = _parse("edit", argv, _NODE, (("--code",), {"default": None}),
                  (("--from",), {"dest": "source", "default": None}), _CONFIRM)
    node = _need(args.node, "a NODE (id or name)", "edit")
    if (args.code is None) == (args.source is None):
        raise UsageError("%recode edit needs the new code: --code 'x = f(y)' or --from VAR "
                         "(a str variable holding it)")
    code = _lines(args.code) if args.code is not None else None
    if args.source is not None:
        code = magics.shell.user_ns.get(args.source)
        if not isinstance(code, str):
            raise UsageError(f"--from names {args.source!r}, which is not a str in the "
                             f"notebook")
    _rerun(magics, magics.pick_run(args.n), node, steer.edit, code=code,
           confirm=_confirm(magics, args.confirm))


def _lines(code: str) -> str:
    r"""``--code`` text with ``\n`` between lines, as the ``--confirm`` prompt takes it.

    Kept as it is when it parses (a ``"\n"`` inside a string literal stays one); a
    ``SyntaxError`` either way is one line that also points to ``--from VAR``.

    >>> print(_lines(r"a = 1\nb = 2"))
    a = 1
    b = 2
    >>> print(_lines(r"s = 'x\ny'"))
    s = 'x\ny'
    """
    import ast

    try:
        ast.parse(code)
        return code
    except SyntaxError:
        pass
    split = code.replace("\\n", "\n")
    try:
        ast.parse(split)
    except SyntaxError as exc:
        raise UsageError(f"--code does not parse (SyntaxError: {exc.msg}, line "
                         f"{exc.lineno}); write \\n between lines, or put the code in a str "
                         f"variable and use --from VAR") from None
    return split


def _rerun_command(magics: ReCodeMagics, argv: list[str]) -> None:
    args = _parse("rerun", argv, _NODE, _CONFIRM)
    _rerun(magics, magics.pick_run(args.n), _need(args.node, "a NODE", "rerun"), steer.rerun,
           confirm=_confirm(magics, args.confirm))


def _alternatives(magics: ReCodeMagics, argv: list[str]) -> None:
    args = _parse("alternatives", argv, _NODE)
    run = magics.pick_run(args.n)
    node = steer.find_node(run, _need(args.node, "a NODE", "alternatives"))
    if not node.alternatives:
        print(f"`{node.name}` (node {node.id}) has no alternatives: %recode regenerate or "
              f"edit makes one")
        return
    print(f"alternatives of `{node.name}` (node {node.id}):")
    for a in node.alternatives:
        cost = "-" if a.cost_usd is None else f"${a.cost_usd:.4f}"
        mark = "*" if a.node is node else " "
        status = version_status(str(a.status), a.node is node)
        print(f" {mark} {a.id:<4} {status:<11} {a.llm_calls:>3} calls {a.tokens:>7} "
              f"tokens {cost:>9}  {a.label}")


def _switch(magics: ReCodeMagics, argv: list[str]) -> None:
    args = _parse("switch", argv, _NODE, (("alt",), {"nargs": "?", "default": None}))
    run = magics.pick_run(args.n)
    node = steer.find_node(run, _need(args.node, "a NODE", "switch"))
    steer.switch(run, node, _need(args.alt, "an alternative id (a0, a1...)", "switch"))
    print(f"recode: `{node.name}` now shows {node.current} (nothing ran; the namespace is "
          f"as the last run left it)")
    magics.show_run(run)


def _promote(magics: ReCodeMagics, argv: list[str]) -> None:
    args = _parse("promote", argv, _NODE, (("name",), {"nargs": "?", "default": None}),
                  (("--keep-calls",), {"action": "store_true"}))
    run = magics.pick_run(args.n)
    node = steer.find_node(run, _need(args.node, "a NODE", "promote"))
    source = promote_source(node, args.name, inline=not args.keep_calls)
    magics.shell.set_next_input(source, replace=False)


def _side(magics: ReCodeMagics, text: str) -> tuple[Any, str]:
    from ..runs.run import Run, load_run

    if text.isdigit():
        return magics.pick_run(int(text)), f"run {text}"
    value = magics.shell.user_ns.get(text)
    if isinstance(value, Run):
        return value, text
    if Path(text).expanduser().is_file():
        return load_run(Path(text).expanduser()), Path(text).name
    raise UsageError(f"cannot compare {text!r}: not a run number, a variable holding a run "
                     f"or a saved run (.json)")


def _compare(magics: ReCodeMagics, argv: list[str]) -> Comparison:
    args = _parse("compare", argv, (("a",), {"nargs": "?"}), (("b",), {"nargs": "?"}),
                  (("--node",), {"default": None}))
    if not args.a or not args.b:
        raise UsageError("%recode compare needs two things: A B (runs, or with --node ID "
                         "two alternative ids)")
    if args.node is not None:
        node = steer.find_node(magics.pick_run(args.n), args.node)
        alts = {a.id: a for a in node.alternatives}
        missing = [x for x in (args.a, args.b) if x not in alts]
        if missing:
            raise UsageError(f"no alternative {missing[0]!r} of `{node.name}` "
                             f"(alternatives: {', '.join(alts) or 'none'})")
        result = compare(alts[args.a], alts[args.b])
    else:
        (ra, la), (rb, lb) = _side(magics, args.a), _side(magics, args.b)
        result = compare(ra, rb, labels=(la, lb))
    magics.shell.user_ns["_recode_compare"] = result
    return result


def _magics() -> Any:
    """The shell's ReCodeMagics instance, if the extension is loaded."""
    from IPython import get_ipython

    ip = get_ipython()
    return None if ip is None else ip.magics_manager.registry.get("ReCodeMagics")


def on_widget_action(widget: ReCodeWidget, msg: dict[str, Any]) -> None:
    """Handle a details-pane button of ``widget`` (see ``ReCodeWidget.on_action``).

    ``regenerate`` / ``edit`` re-run the node (the widget follows live); ``switch`` changes
    the current alternative; ``compare`` leaves the
    :class:`~recode_magic.steering.compare.Comparison` in ``_recode_compare``; ``promote`` puts
    the function in the Code tab and in
    ``_recode_promoted`` (a new cell cannot be made from a button).
    """
    run = widget.run
    if run is None:
        raise ResumeError("this widget shows no run")
    action, node = msg.get("action"), steer.find_node(run, str(msg.get("node")))
    ns = run.namespace if run.namespace is not None else {}
    created = getattr(_magics(), "_created", {})  # names the re-run binds stay rebindable
    if action == "regenerate":
        steer.regenerate(run, node, hint=(msg.get("hint") or "").strip() or None,
                         on_event=[widget.on_event], created=created)
    elif action == "edit":
        steer.edit(run, node, str(msg.get("code", "")), on_event=[widget.on_event],
                   created=created)
    elif action == "switch":
        steer.switch(run, node, str(msg.get("alternative")))
        widget.on_event("node", run, node)
        widget.on_event("run_end", run, None)
    elif action == "compare":
        ids = list(msg.get("alternatives") or [])
        alts = {a.id: a for a in node.alternatives}
        if len(ids) != 2 or any(i not in alts for i in ids):
            raise ConfigError(f"compare needs two alternative ids of `{node.name}`, "
                                    f"got {ids!r}")
        ns["_recode_compare"] = compare(alts[ids[0]], alts[ids[1]])
    elif action == "promote":
        source = promote_source(node, msg.get("name") or None)
        ns["_recode_promoted"] = source
        widget.code = source


ROWS = (
    ("regenerate", _regenerate, "ask the model again for a node and re-run its subtree (a fork)",
     "NODE [--hint TEXT] [--llm NAME] [--confirm] [-n N]"),
    ("edit", _edit, "run your code as a node's expansion, then its subtree (a fork)",
     "NODE (--code TEXT | --from VAR) [--confirm] [-n N]"),
    ("rerun", _rerun_command, "run a node's subtree again (placeholders asked again)",
     "NODE [--confirm] [-n N]"),
    ("alternatives", _alternatives, "a node's versions (forks): status, calls, tokens, cost",
     "NODE [-n N]"),
    ("switch", _switch, "make another alternative of a node current (nothing runs)",
     "NODE ALT [-n N]"),
    ("promote", _promote, "a node's expansion as def NAME(...), in the next cell",
     "NODE [NAME] [--keep-calls] [-n N]"),
    ("compare", _compare, "two runs (or --node ID: two alternatives) side by side",
     "A B [--node ID] [-n N]"),
)


def register() -> None:
    """Add the rows to ``%recode`` and the button handler to every new widget."""
    from .commands import SUBCOMMANDS, register_subcommand

    for name, handler, help_, usage in ROWS:
        register_subcommand(name, handler, help_, usage, replace=name in SUBCOMMANDS)
    try:
        from .widget import register_action_handler
    except ImportError:  # pragma: no cover - a widget without the hook: buttons unavailable
        return
    register_action_handler(on_widget_action)
