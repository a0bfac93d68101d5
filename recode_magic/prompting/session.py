"""Steps that ended ``done`` in earlier runs of the session, as worked examples (lever 4).

An earlier run in the same namespace that is still alive (the magic keeps every run of the
kernel session in ``%recode list``; a user may keep runs as variables) holds expansions that
ran to the end in this very kernel. A leaf among them (code with no placeholder of its own)
whose calls all exist now is a verified example of this session; :mod:`.nearest` ranks it
with the built-in library and shows it when it is the nearest. Nothing in it is made up: it
calls real functions only, so it leaks no name.

The engine tells :func:`remember` of each run it expands; the runs are held weakly (a run
nobody keeps is forgotten with it), and :func:`earlier_runs` gives back those of one
namespace.
"""

from __future__ import annotations

import ast
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from ..pycode.astlock import parse
from ..pycode.code import is_compound_call
from .examples import SESSION, Example

__all__ = ["MAX_SESSION", "done_steps", "DoneNode", "EarlierRun", "remember", "earlier_runs"]

#: At most this many steps of earlier runs are kept (the latest ones).
MAX_SESSION = 40
_LONGEST = 1500  # characters of task or code: a longer step is no short example
_VARIABLES = re.compile(r"Placeholder: .*\nVariables:\n(.*?)(?:\n\n|\nYour previous|\Z)", re.S)


class DoneNode(Protocol):
    """What is read of a node of an earlier run (:class:`recode_magic.runs.node.Node`)."""

    call: str
    code: str
    thought: str
    prompt: str
    status: str
    children: Sequence[object]


class EarlierRun(Protocol):
    """What is read of an earlier run (:class:`recode_magic.runs.tree.RunData`)."""

    task: str
    namespace: dict[str, Any] | None
    state: Any
    started: float | None

    def nodes(self) -> Sequence[DoneNode]:  # noqa: D102 - the run's nodes, pre-order
        ...


_RUNS: weakref.WeakSet[Any] = weakref.WeakSet()  # every run expanded, while it is alive
_LOCK = threading.Lock()  # batch runs expand in threads


def remember(run: EarlierRun) -> None:
    """Note ``run`` (held weakly) so that later runs in its namespace can read its steps."""
    with _LOCK:
        _RUNS.add(run)


def earlier_runs(namespace: dict[str, Any], state: Any) -> list[EarlierRun]:
    """The remembered runs of ``namespace``, oldest first, but the one of ``state``."""
    with _LOCK:
        runs = [r for r in _RUNS if r.namespace is namespace and r.state is not state]
    return sorted(runs, key=lambda r: r.started or 0.0)


def done_steps(runs: Iterable[EarlierRun], known: Callable[[str], bool]) -> tuple[Example, ...]:
    """The leaves of ``runs`` that ended done and call only names ``known`` now, as examples.

    >>> from types import SimpleNamespace as N
    >>> shown = "Placeholder: s = add_up(xs)\\nVariables:\\n- xs (list): [1]"
    >>> leaf = N(call="s = add_up(xs)", code="s = sum(xs)", thought="Sum.", status="done",
    ...          children=[], prompt=shown)
    >>> plan = N(call="solve(task)", code="s = add_up(xs)", thought="", status="done",
    ...          children=[leaf], prompt="")
    >>> run = N(task="add up xs", nodes=lambda: [plan, leaf])
    >>> [(ex.call, ex.code, ex.shown) for ex in done_steps([run], lambda n: n == "sum")]
    [('s = add_up(xs)', 's = sum(xs)', ('- xs (list): [1]',))]
    >>> done_steps([run], lambda n: False)  # `sum` is not known there: nothing
    ()
    """
    out: list[Example] = []
    for run in runs:
        for node in run.nodes():
            ex = _example(run.task, node, known)
            if ex is not None:
                out.append(ex)
    return tuple(out[-MAX_SESSION:])


def _example(task: str, node: DoneNode, known: Callable[[str], bool]) -> Example | None:
    if (str(node.status) != "done" or node.children or not node.code.strip()
            or len(node.code) > _LONGEST or len(task) > _LONGEST
            or is_compound_call(node.call)):
        return None
    try:
        tree = parse(node.code)
    except (SyntaxError, ValueError):
        return None
    if any(not known(n) for n in _free_calls(tree)):
        return None  # a placeholder's name, or a function that no longer exists
    shown = _VARIABLES.search(node.prompt or "")
    return Example(SESSION, task, node.call, {}, node.thought.strip(), node.code.strip(), {},
                   shown=tuple(shown.group(1).splitlines()) if shown else ())


def _free_calls(tree: ast.AST) -> set[str]:
    """Functions called by name in ``tree`` that it does not bind itself (imports included)."""
    called = {n.func.id for n in ast.walk(tree)
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store)}
    bound |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
              if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    return called - bound
