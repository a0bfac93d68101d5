"""Parallel expansion on the recorded agent suites (issue 15): wall time and wasted calls.

Every recorded real-model run of the notebook task suite and of the TextWorld games under
``benchmarks/agents/cassettes/<label>/{tasks,textworld}/<item>@<n>.json`` is replayed twice
through :class:`ReplayModel` -- the recorded replies served at a fixed latency per call by a
thread-safe backend -- once sequentially (``prefetch=0``) and once with parallel expansion
(``prefetch=4``), run as the suites ran it (``ReCode(llm, ns, **suites.CAPS)``, see
``benchmarks/agents/suites.py``). Per item: wall time of ``engine.run`` in both modes, calls
made, calls asked ahead / used / wasted (``run.meta["prefetch_stats"]``, counted by
:class:`recode_magic.engine.prefetch.Prefetcher`), and whether both replays give the same tree
(every node's name, call, code, status, error, prompt), the same outcome (solved, status,
answer) and, for TextWorld, the same game commands.

An item whose *sequential* replay misses the cassette (the package's prompts changed since
it was recorded) is counted and listed under ``missed``, never dropped silently, and left
out of the headline figures (its replay stops at the miss: it is not the recorded run). A
recorded row with no cassette on disk (a run the model server never answered) is counted
under ``no_cassette``. In the parallel replay a miss is an ordinary wasted call: a prompt
asked ahead that the sequential engine never sent.

    python -m benchmarks.suite_parallel                       # 1 s a call, both labels
    python -m benchmarks.suite_parallel --latency 0.01 --items data_group_sum@1
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recode_magic import ReCode
from recode_magic.llms.base import Reply
from recode_magic.llms.cassette import CassetteLLM

__all__ = ["ReplayModel", "Item", "LABELS", "SUITES", "items", "replay_item", "compare",
           "measure", "table", "main"]

AGENTS = Path(__file__).resolve().parent / "agents"
LABELS = ("t4-layout-ex2-out", "t4-layout-ex2-answers-actcheck")  # the current defaults
SUITES = ("tasks", "textworld")


class ReplayModel:
    """Recorded replies served at ``latency`` s a call; thread-safe, so the engine asks ahead.

    The wait happens outside the lock (concurrent calls overlap as with a server); the
    cassette lookup inside it. ``calls`` counts every call made, hits and misses alike.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "c.json")
    >>> m = ReplayModel(path, latency=0.0)
    >>> m.thread_safe, m.calls
    (True, 0)
    """

    thread_safe = True

    def __init__(self, path: str | Path, latency: float, *, strict: bool = False) -> None:
        self.cassette = CassetteLLM(None, path, mode="replay", strict=strict)
        self.model = self.cassette.model
        self.latency, self.calls = latency, 0
        self._lock = threading.Lock()

    def respond(self, prompt: str, *, on_text: Callable[[str], Any] | None = None,
                depth: int | None = None) -> Reply:
        """Wait ``latency`` s, then the recorded reply (CassetteMissError on a miss)."""
        with self._lock:
            self.calls += 1
        time.sleep(self.latency)
        with self._lock:
            return self.cassette.respond(prompt, depth=depth)

    def __call__(self, prompt: str) -> str:
        return self.respond(prompt).text


@dataclass
class Item:
    """One recorded run: suite, label, ``<item>@<n>`` key, its results row and cassette."""

    suite: str
    label: str
    key: str
    cassette: Path
    row: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The task id or game name (the key without ``@n``)."""
        return self.key.rsplit("@", 1)[0]


def items(labels: Sequence[str] = LABELS, suites: Sequence[str] = SUITES,
          only: Sequence[str] = ()) -> tuple[list[Item], list[str]]:
    """Recorded runs with a cassette on disk, and ``suite/label/key`` of rows without one.

    ``only``: keep keys matching one of these shell patterns (``data_*@1``).
    """
    results = json.loads((AGENTS / "results.json").read_text()).get("suites", {})
    found: list[Item] = []
    no_cassette: list[str] = []
    for suite in suites:
        for label in labels:
            entry = results.get(suite, {}).get(label, {})
            rows = entry.get("items", {})
            folder = AGENTS / "cassettes" / label / suite
            keys = sorted({p.stem for p in folder.glob("*@*.json")} | set(rows))
            for key in keys:
                if only and not any(fnmatch.fnmatchcase(key, pat) for pat in only):
                    continue
                path = folder / f"{key}.json"
                if not path.exists():
                    no_cassette.append(f"{suite}/{label}/{key}")
                    continue
                found.append(Item(suite, label, key, path, rows.get(key, {}),
                                  entry.get("config", {})))
    return found, no_cassette


def _tree(run: Any) -> list[tuple[Any, ...]]:
    return [(n.name, n.call, n.depth, str(n.status), n.code, n.error, n.prompt, n.llm_calls)
            for n in run.nodes()]


def _on_path() -> None:
    """Make ``benchmarks/agents`` importable (its modules import each other by name)."""
    if str(AGENTS) not in sys.path:
        sys.path.insert(0, str(AGENTS))


def _engine(llm: ReplayModel, ns: dict[str, Any], item: Item, prefetch: int) -> ReCode:
    import suites

    kw = {**suites.CAPS, **item.config.get("engine_kw", {}), "prefetch": prefetch}
    return ReCode(llm, ns, **kw)


def _play_task(item: Item, llm: ReplayModel, prefetch: int) -> dict[str, Any]:
    import tasks_suite

    task = tasks_suite.by_id(item.name)
    ns = task.setup()
    engine = _engine(llm, ns, item, prefetch)
    output = ("answer" if item.config.get("output") and "`answer`" in task.text else None)
    t0 = time.perf_counter()
    run = engine.run(task.text, inputs={k: ns[k] for k in task.inputs}, output=output)
    wall = time.perf_counter() - t0
    try:
        solved = bool(task.check(ns))
    except Exception:  # noqa: BLE001 - a failed check is "not solved", as in suites.run_task
        solved = False
    return {"run": run, "wall": wall, "solved": solved,
            "answer": repr(ns["answer"])[:300] if "answer" in ns else None, "commands": None}


def _game_file(name: str) -> Path:
    """The game's ``.z8``: from ``games/`` when made there, else made once under TMPDIR.

    ``benchmarks/agents/games/`` is not in git (``make_games.py`` writes it): a fresh clone
    builds only the games it replays, offline, from their fixed seeds.
    """
    manifest = AGENTS / "games" / "games.json"
    if manifest.exists():
        found = [g["path"] for g in json.loads(manifest.read_text()) if g["name"] == name]
        if found and (AGENTS / "games" / found[0]).exists():
            return AGENTS / "games" / found[0]
    import make_games

    out = Path(tempfile.gettempdir()) / "recode-bench-games"
    made = make_games.make(out, only={name})
    return out / made[0]["path"]


def _play_game(item: Item, llm: ReplayModel, prefetch: int) -> dict[str, Any]:
    import suites
    from tw_game import Game, primitives, refused

    from recode_magic import primitive

    game = Game(str(_game_file(item.name)))
    try:
        game.reset()
        act = primitives(game)["act"]
        ns: dict[str, Any] = {"act": primitive(check=refused)(act)
                              if item.config.get("act_check") else act}
        engine = _engine(llm, ns, item, prefetch)
        t0 = time.perf_counter()
        run = engine.run(suites.tw_task_text(game.objective, game.first_room))
        wall = time.perf_counter() - t0
        return {"run": run, "wall": wall, "solved": game.won, "answer": None,
                "commands": [t["command"] for t in game.transcript]}
    finally:
        game.close()


def replay_item(item: Item, latency: float, prefetch: int, *, strict: bool = False
                ) -> tuple[dict[str, Any], ReplayModel]:
    """One replay of ``item`` with ``prefetch`` calls asked ahead at most (0: sequential)."""
    _on_path()
    llm = ReplayModel(item.cassette, latency, strict=strict)
    play = _play_task if item.suite == "tasks" else _play_game
    return play(item, llm, prefetch), llm


def compare(item: Item, latency: float = 1.0, prefetch: int = 4, *, strict: bool = False
            ) -> dict[str, Any]:
    """Replay ``item`` sequentially, then in parallel; the side-by-side row."""
    seq, seq_llm = replay_item(item, latency, 0, strict=strict)
    par, par_llm = replay_item(item, latency, prefetch, strict=strict)
    stats = par["run"].meta.get("prefetch_stats", {})
    seq_run, par_run = seq["run"], par["run"]
    row: dict[str, Any] = {
        "suite": item.suite, "label": item.label, "key": item.key,
        "sequential_s": round(seq["wall"], 3), "parallel_s": round(par["wall"], 3),
        "sequential_calls": seq_llm.calls, "parallel_calls": par_llm.calls,
        "run_llm_calls": (seq_run.llm_calls, par_run.llm_calls),
        "nodes": len(seq_run.nodes()),
        "prefetched": stats.get("prefetched", 0), "used": stats.get("used", 0),
        "wasted": stats.get("wasted", 0), "cancelled": stats.get("cancelled", 0),
        "missed": list(seq_llm.cassette.missed), "loose_hits": seq_llm.cassette.loose_hits,
        "solved": (seq["solved"], par["solved"]),
        "status": (str(seq_run.status), str(par_run.status)),
        "error": (seq_run.error or "")[:160],
        "same_tree": _tree(seq_run) == _tree(par_run),
        "same_outcome": (seq["solved"], str(seq_run.status), seq["answer"])
        == (par["solved"], str(par_run.status), par["answer"]),
        "same_commands": seq["commands"] == par["commands"],
    }
    rec = item.row
    row["reproduces_recording"] = (not rec or (rec.get("solved"), rec.get("llm_calls"))
                                   == (seq["solved"], seq_run.llm_calls))
    return row


def _share(num: float, den: float) -> float | None:
    return round(num / den, 3) if den else None


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Totals over rows: wall times, their ratio, calls, wasted share, agreement counts."""
    seq = sum(r["sequential_s"] for r in rows)
    par = sum(r["parallel_s"] for r in rows)
    made = sum(r["parallel_calls"] for r in rows)
    wasted = sum(r["wasted"] for r in rows)
    # runs that hit the 30 s block timeout: generated code spinning, not waiting on the model
    quick = [r for r in rows if "BlockTimeoutError" not in r.get("error", "")]
    return {"items": len(rows), "sequential_s": round(seq, 2), "parallel_s": round(par, 2),
            "ratio": _share(par, seq),
            "ratio_without_timeouts": _share(sum(r["parallel_s"] for r in quick),
                                             sum(r["sequential_s"] for r in quick)),
            "block_timeouts": len(rows) - len(quick), "sequential_calls": sum(r["sequential_calls"]
                                                                 for r in rows),
            "parallel_calls": made, "prefetched": sum(r["prefetched"] for r in rows),
            "used": sum(r["used"] for r in rows), "wasted": wasted,
            "wasted_share": _share(wasted, made),
            "items_with_prefetch": sum(1 for r in rows if r["prefetched"]),
            "items_one_call": sum(1 for r in rows if r["sequential_calls"] <= 1),
            "different": [f"{r['suite']}/{r['label']}/{r['key']}" for r in rows
                          if not (r["same_tree"] and r["same_outcome"] and r["same_commands"])],
            "not_as_recorded": sum(1 for r in rows if not r["reproduces_recording"])}


def measure(labels: Sequence[str] = LABELS, suites: Sequence[str] = SUITES,
            latency: float = 1.0, prefetch: int = 4, only: Sequence[str] = (), *,
            strict: bool = False, verbose: bool = True) -> dict[str, Any]:
    """Every recorded run of ``labels`` x ``suites`` replayed both ways; rows and totals."""
    found, no_cassette = items(labels, suites, only)
    rows = []
    for item in found:
        row = compare(item, latency, prefetch, strict=strict)
        rows.append(row)
        if verbose:
            print(f"suite-parallel {item.suite}/{item.label}/{item.key}: "
                  f"{row['sequential_s']:.2f} vs {row['parallel_s']:.2f} s, calls "
                  f"{row['sequential_calls']}/{row['parallel_calls']}, wasted {row['wasted']}"
                  f"{', MISSED ' + str(row['missed']) if row['missed'] else ''}"
                  f"{'' if row['same_tree'] and row['same_outcome'] else ', DIFFERENT'}",
                  flush=True)
    full = [r for r in rows if not r["missed"]]
    return {"latency_s": latency, "prefetch": prefetch, "labels": list(labels),
            "suites": list(suites), "total": summarize(full),
            "by_suite": {s: summarize([r for r in full if r["suite"] == s]) for s in suites},
            "missed": [f"{r['suite']}/{r['label']}/{r['key']}" for r in rows if r["missed"]],
            "no_cassette": no_cassette, "rows": rows}


def table(result: dict[str, Any]) -> str:
    """A few lines: per suite and in total, wall times, ratio, calls and wasted share."""
    lines = [f"Parallel expansion on the recorded suites ({result['latency_s']:g} s a call, "
             f"sequential vs prefetch={result['prefetch']}; labels {', '.join(result['labels'])})"]
    for name, s in [*result["by_suite"].items(), ("total", result["total"])]:
        share = "-" if s["wasted_share"] is None else f"{s['wasted_share']:.1%}"
        lines.append(
            f"  {name:<9} {s['items']:>3} runs: {s['sequential_s']:>7.1f} vs "
            f"{s['parallel_s']:>7.1f} s (ratio {s['ratio']}; {s['ratio_without_timeouts']} "
            f"without the {s['block_timeouts']} runs that hit a block timeout),\n"
            f"{'':<17}calls {s['sequential_calls']} -> {s['parallel_calls']}, "
            f"asked ahead {s['prefetched']}, used {s['used']}, "
            f"wasted {s['wasted']} ({share}); {s['items_one_call']} runs of one call"
            f"{'; DIFFERENT: ' + ', '.join(s['different']) if s['different'] else ''}")
    lines.append(f"  replays that missed the cassette (left out above): "
                 f"{len(result['missed'])} {result['missed'] or ''}")
    lines.append(f"  recorded rows with no cassette: {len(result['no_cassette'])}; replays "
                 f"not matching the recorded outcome: {result['total']['not_as_recorded']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.suite_parallel``: print the table, optionally write JSON."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.suite_parallel",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--latency", type=float, default=1.0, help="seconds per model call")
    ap.add_argument("--prefetch", type=int, default=4, help="calls asked ahead at most")
    ap.add_argument("--labels", default=",".join(LABELS))
    ap.add_argument("--suites", default=",".join(SUITES))
    ap.add_argument("--items", default="", help="comma-separated key patterns, e.g. 'data_*@1'")
    ap.add_argument("--strict", action="store_true", help="exact cassette keys only")
    ap.add_argument("--out", help="write the rows and totals as JSON here")
    args = ap.parse_args(argv)
    result = measure(args.labels.split(","), args.suites.split(","), args.latency,
                     args.prefetch, [p for p in args.items.split(",") if p],
                     strict=args.strict)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1, default=str))
    print(table(result))
    return 0 if not result["total"]["different"] else 1


if __name__ == "__main__":
    sys.exit(main())
