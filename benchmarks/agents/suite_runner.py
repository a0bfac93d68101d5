"""``run_eval.py --suite tasks|textworld``: live runs, cassettes, merged results.

Every live model call goes through a :class:`~recode_magic.llms.CassetteLLM` in record mode,
one cassette per (label, suite, item, repeat) under ``cassettes/<label>/<suite>/``. Results
are re-read and merged after every item (another evaluation may write the same file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import evalstore
import suites

__all__ = ["add_arguments", "run_suite", "engine_origin"]


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The suite options of ``run_eval.py``."""
    ap.add_argument("--suite", choices=("tasks", "textworld"),
                    help="run a suite: the notebook tasks or the TextWorld games (sets A+B)")
    ap.add_argument("--tasks", default="all",
                    help="suite items: comma-separated task ids or categories (tasks), game "
                         "names or sets A/B (textworld); default all")
    ap.add_argument("--engine-kw", default="{}",
                    help="JSON keyword arguments for ReCode(...), e.g. '{\"few_shots\": \"\"}'")
    ap.add_argument("--llm-kw", default="{}",
                    help="JSON keyword arguments for OpenAICompatLLM(...), e.g. "
                         "'{\"grammar\": false}' (defaults: max_tokens 512, temperature 0)")
    ap.add_argument("--output", action="store_true",
                    help="tasks: name the answer variable as a user would with "
                         "`%%%%recode -o answer` (engine.run(..., output='answer')) when the "
                         "task text stores its result in `answer`")
    ap.add_argument("--act-check", action="store_true",
                    help="textworld: mark `act` with @primitive(check=refused), so a refused "
                         "command makes the engine re-plan with the game's answer")
    ap.add_argument("--act-action", action="store_true",
                    help="textworld: mark `act` with @primitive(action=True): after each "
                         "command the rest of the step is written from the game's answer")
    ap.add_argument("--route", default="",
                    help="routed row (issue 21): 'DEPTH:MODEL@BASE_URL', e.g. "
                         "'1:qwen2.5-coder-0.5b@http://127.0.0.1:8094/v1': nodes from that "
                         "depth on are asked to the second model (the root keeps --model)")
    ap.add_argument("--extend", default="",
                    help="paired ablation: start each item's cassette from this label's "
                         "cassette for the same item and repeat, replay its calls and ask "
                         "the live model only for prompts it lacks (a lever that adds calls "
                         "is then compared on the same first answers; wall seconds then "
                         "count only the new calls)")
    ap.add_argument("--act-doc", choices=("game", "generic"), default="game",
                    help="textworld: act's docstring: the game harness's (example objects) "
                         "or suites.GENERIC_ACT_DOC (command shapes with capitals)")
    ap.add_argument("--mark-pure", action="store_true",
                    help="tasks: mark the read-only primitives (tasks_world.READ_ONLY) "
                         "@primitive(pure=True), so steps calling them may be sampled")
    ap.add_argument("--repeat", type=int, default=1, help="run each item N times")
    ap.add_argument("--resume", action="store_true",
                    help="skip items already in the results for this label and repeat "
                         "(except those that ended on a model-server error)")
    ap.add_argument("--transport", choices=("plain", "stream"), default="plain",
                    help="ReCode backend requests: 'stream' as the package sends them, or "
                         "'plain' (default): the same request without streaming. "
                         "llama-cpp-python's server (interrupt_requests=True, its default) "
                         "cuts a streamed reply to '' when another client's request waits")


def engine_origin() -> str:
    """Which recode_magic ran: the repository's working tree at a commit, or a snapshot."""
    import recode_magic

    snap = os.environ.get("RECODE_SNAPSHOT")
    if snap:
        return f"snapshot of main at {snap}"
    path = Path(recode_magic.__file__).resolve().parent
    root = evalstore.HERE.parent.parent
    if path.parent != root:
        return "a copy outside the repository"
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "recode_magic"], capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "repository working tree"
    files = [line[3:] for line in dirty.splitlines()]
    return f"working tree at {sha}" + (f" + uncommitted {', '.join(files)}" if files else "")


def _items(args: argparse.Namespace) -> list[Any]:
    if args.suite == "tasks":
        import tasks_suite
        return tasks_suite.select(args.tasks)
    manifest = json.loads((Path(args.games_dir) / "games.json").read_text())
    if args.tasks in ("", "all"):
        return manifest
    wanted = set(args.tasks.split(","))
    return [g for g in manifest if g["name"] in wanted or g.get("set") in wanted]


def _live(args: argparse.Namespace, llm_kw: dict[str, Any]) -> Any:
    route = getattr(args, "route", "")
    if not route:
        return _one_live(args.model, args.base_url, args, llm_kw)
    from recode_magic.llms.routed import RoutedLLM

    depth, _, rest = route.partition(":")
    model, _, url = rest.partition("@")
    return RoutedLLM({0: _one_live(args.model, args.base_url, args, llm_kw),
                      int(depth): _one_live(model, url or args.base_url, args, llm_kw)})


def _one_live(model: str, base_url: str, args: argparse.Namespace,
              llm_kw: dict[str, Any]) -> Any:
    from recode_magic.llms.openai_llm import OpenAICompatLLM

    kw = {"max_tokens": 512, "temperature": 0.0, "timeout": 600, **llm_kw}
    live = OpenAICompatLLM(model, base_url=base_url, **kw)
    if args.transport == "plain":
        import openai

        live._client = _PlainClient(openai.OpenAI(
            base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
            timeout=kw["timeout"],
            max_retries=getattr(live, "max_retries", 2)))
    return evalstore._UsageFallback(live, base_url)


class _PlainClient:
    """An ``openai.OpenAI`` whose streamed chat requests are sent unstreamed and replayed to
    the caller as a stream of three chunks (text, finish reason, usage)."""

    def __init__(self, client: Any):
        self._real = client
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def _create(self, **kwargs: Any) -> Any:
        if not kwargs.get("stream"):
            return self._real.chat.completions.create(**kwargs)
        kw = {k: v for k, v in kwargs.items() if k not in ("stream", "stream_options")}
        resp = self._real.chat.completions.create(**kw)
        choice = resp.choices[0]
        return iter([
            SimpleNamespace(usage=None, choices=[SimpleNamespace(
                delta=SimpleNamespace(content=choice.message.content or ""),
                finish_reason=None)]),
            SimpleNamespace(usage=None, choices=[SimpleNamespace(
                delta=SimpleNamespace(content=None), finish_reason=choice.finish_reason)]),
            SimpleNamespace(usage=resp.usage, choices=[])])


def wait_for_server(base_url: str, limit: float = 1800.0) -> None:
    """Block until ``GET <base_url>/models`` answers (the shared server may be restarting)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + limit
    while True:
        try:
            with urllib.request.urlopen(f"{base_url.rstrip('/')}/models", timeout=300):
                return
        except urllib.error.HTTPError:  # it answered (401, 404...): it is up
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"no model server at {base_url} for {limit:.0f} s") from None
            time.sleep(15)


def _save_row(path: Path, suite: str, label: str, config: dict[str, Any], key: str,
              row: dict[str, Any]) -> None:
    results = evalstore.load_results(path)
    entry = results.setdefault("suites", {}).setdefault(suite, {}).setdefault(label, {})
    entry["config"] = config
    entry.setdefault("items", {})[key] = row
    evalstore.save_results(path, results)


def run_suite(args: argparse.Namespace) -> None:
    """Run ``args.suite`` for every agent, item and repeat; merge each row into the results."""
    engine_kw = json.loads(args.engine_kw or "{}")
    llm_kw = json.loads(args.llm_kw or "{}")
    agents = [a.strip() for a in args.agents.split(",") if a.strip()]
    if args.suite == "tasks" and agents != ["recode"]:
        raise SystemExit("--suite tasks runs the recode agent only (--agents recode)")
    results_path = Path(args.results)
    items = _items(args)
    origin = engine_origin()
    for agent in agents:
        label = (args.label or "recode-default") if agent == "recode" else agent
        config = {"agent": agent, "engine_kw": engine_kw, "llm_kw": llm_kw,
                  "output": bool(getattr(args, "output", False)),
                  "act_check": bool(getattr(args, "act_check", False)),
                  "act_action": bool(getattr(args, "act_action", False)),
                  "caps": suites.CAPS, "model": args.model, "engine": origin,
                  "llm_defaults": {"max_tokens": 512, "temperature": 0.0},
                  "transport": args.transport, "route": getattr(args, "route", ""),
                  "extends": getattr(args, "extend", ""),
                  "mark_pure": bool(getattr(args, "mark_pure", False)),
                  "act_doc": getattr(args, "act_doc", "game"),
                  "updated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        for rep in range(1, args.repeat + 1):
            for item in items:
                name = item.id if args.suite == "tasks" else item["name"]
                key = f"{name}@{rep}"
                done = evalstore.load_results(results_path).get("suites", {}).get(
                    args.suite, {}).get(label, {}).get("items", {})
                if args.resume and key in done and not suites.backend_failed(done[key]):
                    continue
                for _attempt in range(3):  # a server restart mid-item: wait, run it again
                    wait_for_server(args.base_url)
                    row = _run_item(args, agent, label, key, item, engine_kw, llm_kw)
                    if not suites.backend_failed(row):
                        break
                _save_row(results_path, args.suite, label, config, key, row)
                print(f"{label:<24} {key:<22} solved={row['solved']!s:<5} "
                      f"calls={row['llm_calls']:>2} fmt={row.get('format_errors', 0)} "
                      f"rep={row.get('repairs', 0)} wall={row['wall_s']:.0f}s "
                      f"{str(row.get('status') or row.get('stop') or '')[:12]} "
                      f"{str(row.get('error') or '')[:70]!r}", flush=True)
    print()
    print(suites.suite_table(evalstore.load_results(results_path)))


def _run_item(args: argparse.Namespace, agent: str, label: str, key: str, item: Any,
              engine_kw: dict[str, Any], llm_kw: dict[str, Any]) -> dict[str, Any]:
    """One item, recorded to its cassette; the results row."""
    from recode_magic.llms.cassette import CassetteLLM

    cassette = evalstore.CASSETTES / label / args.suite / f"{key}.json"
    cassette.unlink(missing_ok=True)
    base = evalstore.CASSETTES / args.extend / args.suite / f"{key}.json"
    if getattr(args, "extend", "") and base.exists():
        cassette.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(base, cassette)
    started = time.perf_counter()
    if agent == "recode":
        llm = CassetteLLM(_live(args, llm_kw), cassette,  # routed: keyed by depth
                          mode="auto" if getattr(args, "extend", "") else "record",
                          model=None if getattr(args, "route", "") else args.model)
        row = (suites.run_task(item, llm, engine_kw, output=args.output,
                               mark_pure=getattr(args, "mark_pure", False))
               if args.suite == "tasks"
               else _play_recode(args, item, llm, engine_kw))
    elif agent == "react" and args.suite == "textworld":
        try:
            row = _play_react(args, item, cassette)
        except Exception as exc:  # server down mid-game: a row, run again by the caller
            row = {"solved": False, "won": False, "llm_calls": 0, "status": "crashed",
                   "error": f"{type(exc).__name__}: {exc}", "wall_s": 0.0}
    else:
        raise SystemExit(f"unknown agent {agent!r} for suite {args.suite}")
    row.update({"repeat": int(key.rsplit("@", 1)[1]),
                "cassette": os.path.relpath(cassette, evalstore.HERE),
                "wall_total_s": round(time.perf_counter() - started, 2)})
    return row


def _play_recode(args: argparse.Namespace, g: dict[str, Any], llm: Any,
                 engine_kw: dict[str, Any]) -> dict[str, Any]:
    from tw_game import Game

    game = Game(str(Path(args.games_dir) / g["path"]))
    try:
        game.reset()
        row = suites.run_textworld_recode(
            game, llm, engine_kw, act_check=args.act_check,
            act_action=getattr(args, "act_action", False),
            act_doc=suites.GENERIC_ACT_DOC if getattr(args, "act_doc", "") == "generic" else "")
        row["objective"] = game.objective
    finally:
        game.close()
    row.update({"game": g["name"], "set": g.get("set", "A")})
    return row


def _play_react(args: argparse.Namespace, g: dict[str, Any], cassette: Path) -> dict[str, Any]:
    import openai
    from react import openai_chat, run_react
    from tw_game import Game

    from recode_magic.llms.cassette import CassetteLLM

    client = openai.OpenAI(base_url=args.base_url, api_key="not-needed", timeout=600)
    recorder = CassetteLLM(suites.ChatAsPrompt(openai_chat(client, args.model), args.model),
                           cassette, mode="record", model=args.model)
    game = Game(str(Path(args.games_dir) / g["path"]))
    try:
        game.reset()
        row = run_react(game, suites.chat_via_cassette(recorder))
        row.update(game.result())
        row["transcript"] = game.transcript
        row["objective"] = game.objective
    finally:
        game.close()
    row.update({"solved": row["won"], "game": g["name"], "set": g.get("set", "A")})
    return row
