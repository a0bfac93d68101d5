"""Recorded suite runs played again: the replay model, one run's record, how it is played.

What :mod:`benchmarks.suite_parallel` replays: :class:`ReplayModel` serves a cassette's
replies at a fixed latency per call; :func:`play_task` and :func:`play_game` run one
recorded item (:class:`Item`) as ``benchmarks/agents/suite_runner.py`` ran it, with the
configuration its label recorded in ``results.json``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recode_magic import ReCode, ScriptedLLM
from recode_magic.llms.base import Reply
from recode_magic.llms.cassette import CassetteLLM
from recode_magic.llms.routed import RoutedLLM

__all__ = ["AGENTS", "ReplayModel", "Item", "routes", "on_path", "play_task", "play_game"]

AGENTS = Path(__file__).resolve().parent / "agents"


class ReplayModel:
    """Recorded replies served at ``latency`` s a call; thread-safe, so the engine asks ahead.

    The wait happens outside the lock (concurrent calls overlap as with a server); the
    cassette lookup inside it. ``calls`` counts every call made, hits and misses alike;
    ``wait_s`` is the time at least one call was waiting (the rest of a run's wall time is
    the engine and the generated code). ``route``: ``{depth: model}`` of a routed recording.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "c.json")
    >>> m = ReplayModel(path, latency=0.0)
    >>> m.thread_safe, m.calls
    (True, 0)
    """

    thread_safe = True

    def __init__(self, path: str | Path, latency: float, *, strict: bool = False,
                 route: dict[int, str] | None = None) -> None:
        # a routed recording keys each call on the model of its depth: the same routes,
        # models that are never asked (a replay miss raises before reaching them)
        inner = (RoutedLLM({d: ScriptedLLM({}, model=m) for d, m in route.items()})
                 if route else None)
        self.cassette = CassetteLLM(inner, path, mode="replay", strict=strict)
        self.model = self.cassette.model
        self.latency, self.calls, self.wait_s = latency, 0, 0.0
        self._waiting, self._since = 0, 0.0
        self._lock = threading.Lock()

    def respond(self, prompt: str, *, on_text: Callable[[str], Any] | None = None,
                depth: int | None = None, temperature: float | None = None,
                seed: int | None = None) -> Reply:
        """Wait ``latency`` s, then the recorded reply (CassetteMissError on a miss).

        ``temperature``/``seed``: a sampled candidate's options, part of its cassette key.
        """
        with self._lock:
            self.calls += 1
            if not self._waiting:
                self._since = time.perf_counter()
            self._waiting += 1
        try:
            time.sleep(self.latency)
        finally:
            with self._lock:
                self._waiting -= 1
                if not self._waiting:
                    self.wait_s += time.perf_counter() - self._since
        with self._lock:
            return self.cassette.respond(prompt, depth=depth, temperature=temperature,
                                         seed=seed)

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


def on_path() -> None:
    """Make ``benchmarks/agents`` importable (its modules import each other by name)."""
    if str(AGENTS) not in sys.path:
        sys.path.insert(0, str(AGENTS))


def routes(config: dict[str, Any]) -> dict[int, str] | None:
    """A routed label's ``{depth: model}`` (``route`` ``'1:MODEL@URL'``), else None.

    >>> routes({"model": "big", "route": "1:small@http://127.0.0.1:8094/v1"})
    {0: 'big', 1: 'small'}
    >>> routes({"model": "big", "route": ""}) is None
    True
    """
    route = config.get("route") or ""
    if not route:
        return None
    depth, _, rest = route.partition(":")
    return {0: str(config.get("model", "")), int(depth): rest.partition("@")[0]}


def _engine(llm: ReplayModel, ns: dict[str, Any], item: Item, prefetch: int) -> ReCode:
    import suites

    kw = {**suites.CAPS, **item.config.get("engine_kw", {}), "prefetch": prefetch}
    return ReCode(llm, ns, **kw)


def play_task(item: Item, llm: ReplayModel, prefetch: int) -> dict[str, Any]:
    """Run the task of ``item`` as ``suites.run_task`` ran it, ``prefetch`` calls ahead at most.

    Returns
    -------
    dict
        ``run``, ``wall`` (seconds of ``engine.run``), ``solved``, ``answer`` (its repr, cut),
        ``commands`` (None: no game).
    """
    import tasks_suite
    from tasks_world import READ_ONLY

    from recode_magic import primitive

    task = tasks_suite.by_id(item.name)
    ns = task.setup()
    if item.config.get("mark_pure"):  # as suites.run_task marks them
        for name in READ_ONLY & ns.keys():
            ns[name] = primitive(pure=True)(ns[name])
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


def play_game(item: Item, llm: ReplayModel, prefetch: int) -> dict[str, Any]:
    """Play the game of ``item`` as ``suites.run_textworld_recode`` played it.

    Returns
    -------
    dict
        As :func:`play_task`, with ``solved`` the game won and ``commands`` those sent.
    """
    import suites
    from tw_game import Game, primitives, refused

    from recode_magic import primitive

    game = Game(str(_game_file(item.name)))
    try:
        game.reset()
        act, cfg = primitives(game)["act"], item.config
        if cfg.get("act_doc") == "generic":  # as suite_runner passes it
            act.__doc__ = suites.GENERIC_ACT_DOC
        if cfg.get("act_check") or cfg.get("act_action"):  # as suites.run_textworld_recode
            act = primitive(check=refused if cfg.get("act_check") else None,
                            action=bool(cfg.get("act_action")))(act)
        ns: dict[str, Any] = {"act": act}
        engine = _engine(llm, ns, item, prefetch)
        t0 = time.perf_counter()
        run = engine.run(suites.tw_task_text(game.objective, game.first_room))
        wall = time.perf_counter() - t0
        return {"run": run, "wall": wall, "solved": game.won, "answer": None,
                "commands": [t["command"] for t in game.transcript]}
    finally:
        game.close()


