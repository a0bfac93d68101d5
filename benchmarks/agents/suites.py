"""Run the evaluation suites (``tasks``, ``textworld``) and summarise them per configuration.

One configuration = one *label*: the engine's keyword arguments (``--engine-kw``) and the
backend's (``--llm-kw``) on top of the package defaults. The baseline is ``ReCode(llm, ns)``
with package defaults apart from the caps below. A row is one (item, repeat); rows live in
``results["suites"][suite][label]["items"]["<item>@<repeat>"]`` and are merged into the
results file after every item, so an interrupted run keeps what finished.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["CAPS", "attempt_counts", "backend_failed", "run_task", "run_textworld_recode",
           "summarize_suites", "suite_table", "tw_task_text"]

# caps of every suite run (package defaults otherwise): model calls and seconds per block
CAPS: dict[str, Any] = {"max_calls": 30, "timeout": 30.0}

_FORMAT_KINDS = {"format", "policy", "rewrite", "reask"}


def attempt_kind(a: Mapping[str, Any]) -> str:
    """``replan``, ``repair`` or ``format`` (a rejected reply) for one ``node.attempts`` entry.

    >>> attempt_kind({"reply": "x", "error": "FormatError: no code"})
    'format'
    >>> attempt_kind({"error": "ZeroDivisionError", "repair": 1})
    'repair'
    >>> attempt_kind({"kind": "replan", "error": "refused"})
    'replan'
    """
    kind = str(a.get("kind") or "")
    if kind == "replan" or "replan" in a:
        return "replan"
    if kind == "repair" or "repair" in a:
        return "repair"
    if kind in _FORMAT_KINDS or (not kind and a.get("error")):
        return "format"
    return kind or "other"


def attempt_counts(nodes: list[Any]) -> dict[str, int]:
    """Format errors (rejected replies), re-plans and repairs over all nodes of a run."""
    out = {"format_errors": 0, "replans": 0, "repairs": 0}
    for n in nodes:
        for a in getattr(n, "attempts", []) or []:
            kind = attempt_kind(a)
            if kind == "format":
                out["format_errors"] += 1
            elif kind == "replan":
                out["replans"] += 1
            elif kind == "repair":
                out["repairs"] += 1
    return out


def _tokens(usage: Mapping[str, int]) -> dict[str, int]:
    inp = sum(int(usage.get(k, 0)) for k in (
        "input_tokens", "cache_read_input_tokens", "replayed_input_tokens",
        "replayed_cache_read_input_tokens"))
    out = int(usage.get("output_tokens", 0)) + int(usage.get("replayed_output_tokens", 0))
    return {"input_tokens": inp, "output_tokens": out}


def _node_summary(n: Any) -> dict[str, Any]:
    return {"id": n.id, "name": n.name, "call": n.call, "depth": n.depth, "status": n.status,
            "code": n.code, "error": n.error, "llm_calls": n.llm_calls,
            "attempts": [{k: (str(v)[:600] if k in ("reply", "error") else v)
                          for k, v in a.items()} for a in n.attempts]}


def run_summary(run: Any, wall: float) -> dict[str, Any]:
    """The counters of one finished :class:`recode_magic.Run` (a results row, less outcome)."""
    nodes = run.nodes()
    stats = run.stats()
    return {"llm_calls": run.llm_calls, **attempt_counts(nodes), "usage": _tokens(run.usage),
            "status": str(getattr(run.status, "value", run.status)), "error": run.error,
            "wall_s": round(wall, 2),
            "stats": {k: stats.get(k) for k in ("nodes", "max_depth", "mean_branching",
                                                "primitive_calls", "placeholder_calls")},
            "tree": [_node_summary(n) for n in nodes]}


def run_task(task: Any, llm: Callable[[str], str], engine_kw: Mapping[str, Any] | None = None,
             *, output: bool = False, mark_pure: bool = False) -> dict[str, Any]:
    """Run one suite task with a fresh namespace; the row says whether ``task.check`` passed.

    ``output``: pass ``output="answer"`` (``%%recode -o answer``) when the task stores its
    result in `answer`. ``mark_pure``: mark the task's read-only primitives
    (``tasks_world.READ_ONLY``) ``@primitive(pure=True)`` as their author would.
    """
    from tasks_world import READ_ONLY

    from recode_magic import ReCode, primitive

    ns = task.setup()
    if mark_pure:
        for name in READ_ONLY & ns.keys():
            ns[name] = primitive(pure=True)(ns[name])
    engine = ReCode(llm, ns, **{**CAPS, **(engine_kw or {})})
    started = time.perf_counter()
    crash = None
    try:
        run = engine.run(task.text, inputs={k: ns[k] for k in task.inputs},
                         output="answer" if output and "`answer`" in task.text else None)
    except Exception as exc:  # a backend error (server down...): recorded, not solved
        crash = f"{type(exc).__name__}: {exc}"
        run = None
    wall = time.perf_counter() - started
    try:
        solved = bool(task.check(ns))
    except Exception:
        solved = False
    row: dict[str, Any] = ({"llm_calls": getattr(llm, "calls_made", 0), "format_errors": 0,
                            "replans": 0, "repairs": 0, "usage": {"input_tokens": 0,
                                                                  "output_tokens": 0},
                            "status": "crashed", "error": crash, "wall_s": round(wall, 2)}
                           if run is None else run_summary(run, wall))
    row.update({"solved": solved, "category": task.category, "task": task.id})
    if "answer" in ns:
        row["answer"] = repr(ns["answer"])[:300]
    return row


def tw_task_text(objective: str, first_room: str) -> str:
    """The task of a TextWorld game: its objective, then the first observation."""
    return f"{objective}\n\nFirst observation:\n{first_room}"


#: ``act``'s docstring with the shapes of commands instead of example objects
#: (``--act-doc generic``): with the concrete one a 1.5B model sent ``open wooden chest``,
#: the docstring's example, in a room with a box, four times.
GENERIC_ACT_DOC = ("Send one text command to the game and return what it says. A command is "
                   "a verb and the names the game used for things you have seen, e.g. "
                   "act('go east'), act('take KEY from SHELF'), act('open BOX'), "
                   "act('unlock BOX with KEY'), act('put THING on TABLE'), "
                   "act('insert THING into BOX') (the capitals stand for those names).")


def run_textworld_recode(game: Any, llm: Callable[[str], str],
                         engine_kw: Mapping[str, Any] | None = None, *,
                         act_check: bool = False, act_action: bool = False,
                         act_doc: str = "") -> dict[str, Any]:
    """Play ``game`` (already reset) with only ``act`` in the namespace; a results row.

    ``act_check``: ``act`` is marked ``@primitive(check=refused)`` as a user would, so a
    command the game refuses ("That's not a verb I recognise.") makes the engine re-plan.
    ``act_doc``: ``act``'s docstring in place of the one of ``tw_game`` ("" keeps it).
    """
    from tw_game import primitives, refused

    from recode_magic import ReCode, primitive

    act = primitives(game)["act"]
    if act_doc:
        act.__doc__ = act_doc
    if act_check or act_action:  # marked as a user would (issue 21: action=True, no check)
        act = primitive(check=refused if act_check else None, action=act_action)(act)
    ns: dict[str, Any] = {"act": act}
    engine = ReCode(llm, ns, **{**CAPS, **(engine_kw or {})})
    started = time.perf_counter()
    try:
        run = engine.run(tw_task_text(game.objective, game.first_room))
        row = run_summary(run, time.perf_counter() - started)
    except Exception as exc:
        row = {"llm_calls": 0, "format_errors": 0, "replans": 0, "repairs": 0,
               "usage": {"input_tokens": 0, "output_tokens": 0}, "status": "crashed",
               "error": f"{type(exc).__name__}: {exc}",
               "wall_s": round(time.perf_counter() - started, 2)}
    row.update(game.result())
    row["solved"] = row["won"]
    row["transcript"] = game.transcript
    return row


# -- summary -------------------------------------------------------------------------------

def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"


def summarize_label(items: Mapping[str, Mapping[str, Any]], group: str | None = None
                    ) -> dict[str, Any]:
    """Figures of one label's rows (optionally only rows whose ``set`` is ``group``).

    Rows that ended on a model-server error (server down or restarting) are not results:
    they are left out and counted as ``server_errors``.
    """
    rows = [r for r in items.values() if group is None or r.get("set") == group]
    failed = [r for r in rows if backend_failed(r)]
    rows = [r for r in rows if not backend_failed(r)]
    reps: dict[int, list[Mapping[str, Any]]] = {}
    for r in rows:
        reps.setdefault(int(r.get("repeat", 1)), []).append(r)
    solved = [r for r in rows if r.get("solved")]
    calls = sum(r.get("llm_calls", 0) for r in rows)
    fmt = sum(r.get("format_errors", 0) for r in rows)
    return {
        "items": len(rows), "repeats": len(reps),
        "solved_per_repeat": {k: f"{sum(bool(r.get('solved')) for r in v)}/{len(v)}"
                              for k, v in sorted(reps.items())},
        "solved": sum(bool(r.get("solved")) for r in rows),
        "solved_spread": _spread([sum(bool(r.get("solved")) for r in v) for v in reps.values()]),
        "llm_calls": calls,
        "calls_per_solved": round(sum(r.get("llm_calls", 0) for r in solved) / len(solved), 2)
        if solved else None,
        "format_errors": fmt,
        "format_error_rate": round(fmt / calls, 3) if calls else None,
        "replans": sum(r.get("replans", 0) for r in rows),
        "repairs": sum(r.get("repairs", 0) for r in rows),
        "input_tokens": sum(r.get("usage", {}).get("input_tokens", 0) for r in rows),
        "output_tokens": sum(r.get("usage", {}).get("output_tokens", 0) for r in rows),
        "wall_s": round(sum(r.get("wall_s", 0) for r in rows), 1),
        "server_errors": len(failed),
    }


def backend_failed(row: Mapping[str, Any]) -> bool:
    """A row that ended on a model-server error (down, timeout, restart), not a result."""
    return row.get("status") == "crashed" or "LLMError" in str(row.get("error") or "")


def summarize_suites(results: Mapping[str, Any]) -> dict[str, Any]:
    """``{suite: {label: figures}}``; TextWorld also per game set (``label[A]``, ``label[B]``)."""
    out: dict[str, Any] = {}
    for suite, labels in results.get("suites", {}).items():
        out[suite] = {}
        for label, entry in labels.items():
            items = entry.get("items", {})
            out[suite][label] = summarize_label(items)
            groups = {r.get("set") for r in items.values()
                      if r.get("set") and not backend_failed(r)}
            for group in sorted(groups):
                out[suite][f"{label}[{group}]"] = summarize_label(items, group)
    return out


def suite_table(results: Mapping[str, Any]) -> str:
    """The ablation table: one row per suite and label (and TextWorld game set)."""
    head = (f"{'suite':<9} {'label':<34} {'solved':>9} {'spread':>6} {'calls':>6} "
            f"{'calls/solv':>10} {'fmt':>4} {'fmt%':>5} {'replan':>6} {'repair':>6} "
            f"{'in_tok':>8} {'out_tok':>7} {'wall_s':>7}")
    lines = [head, "-" * len(head)]
    for suite, labels in summarize_suites(results).items():
        for label, s in labels.items():
            per = s["items"] // max(s["repeats"], 1)
            rate = "-" if s["format_error_rate"] is None else f"{100 * s['format_error_rate']:.1f}"
            cps = "-" if s["calls_per_solved"] is None else f"{s['calls_per_solved']:.1f}"
            lines.append(
                f"{suite:<9} {label:<34} {s['solved']:>4}/{s['items']:<4} "
                f"{s['solved_spread'] + '/' + str(per):>6} {s['llm_calls']:>6} {cps:>10} "
                f"{s['format_errors']:>4} {rate:>5} {s['replans']:>6} {s['repairs']:>6} "
                f"{s['input_tokens']:>8} {s['output_tokens']:>7} {s['wall_s']:>7.0f}")
    return "\n".join(lines)


def chat_via_cassette(cassette: Callable[[str], str]) -> Callable[[list[dict[str, str]]],
                                                                  tuple[str, dict[str, int]]]:
    """A ReAct ``chat(messages)`` recorded through a CassetteLLM (key: the messages' JSON)."""
    def chat(messages: list[dict[str, str]]) -> tuple[str, dict[str, int]]:
        text = cassette(json.dumps(messages, ensure_ascii=False))
        usage = getattr(cassette, "last_usage", None) or {}
        return text, _tokens(usage)
    return chat


class ChatAsPrompt:
    """``llm(prompt)`` over a ReAct chat function: the prompt is the messages' JSON."""

    def __init__(self, chat: Callable[[list[dict[str, str]]], tuple[str, dict[str, int]]],
                 model: str):
        self.chat, self.model = chat, model
        self.last_usage: dict[str, int] | None = None

    def __call__(self, prompt: str) -> str:
        text, usage = self.chat(json.loads(prompt))
        self.last_usage = dict(usage)
        return text
