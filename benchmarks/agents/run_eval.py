"""Evaluate recode_magic (ReCode) against a ReAct baseline on TextWorld games, local model.

    # 1. games (offline, fixed seeds) and a model server (see serve_model.sh)
    python benchmarks/agents/make_games.py
    bash benchmarks/agents/serve_model.sh /path/to/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf &
    # 2. both agents on every game; results.json + a table; ReCode cassettes recorded
    python benchmarks/agents/run_eval.py --agents react,recode
    python benchmarks/agents/run_eval.py --table          # print the table of results.json
    # 3. the suites (issue 12): notebook tasks and TextWorld sets A+B, per configuration label
    python benchmarks/agents/run_eval.py --suite tasks --agents recode --label recode-default
    python benchmarks/agents/run_eval.py --suite textworld --agents react,recode
    python benchmarks/agents/run_eval.py --suite tasks --label no-shots \
        --engine-kw '{"few_shots": ""}' --llm-kw '{"grammar": false}' --tasks data,graph
    python benchmarks/agents/run_eval.py --table          # + the ablation table of the suites

Per game and agent it records: won, score / max score (read from the game), model calls,
game actions, input/output tokens, wall time, tree depth/branching (``Run.stats()``),
format errors (rewrites) and repairs. Caps per game: 40 actions, 30 model calls.
Temperature 0. Results are merged into ``results.json`` after every game, so an
interrupted evaluation keeps what finished.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from agent_examples import RECODE_FEW_SHOTS, RECODE_FEW_SHOTS_CHECK, RECODE_FEW_SHOTS_V1  # noqa: E402
from evalstore import (  # noqa: E402  (re-exported: results, cassettes, the token counter)
    CASSETTES,
    RESULTS,
    _UsageFallback,
    load_results,
    save_results,
    summarize,
)
from tw_game import MAX_ACTIONS, MAX_CALLS, Game  # noqa: E402

MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"
BASE_URL = "http://127.0.0.1:8080/v1"
GAMES = HERE / "games"

# ReCode settings of the evaluation (the CI replay test uses the same ones)
RECODE_SETTINGS = {"max_depth": 8, "max_calls": MAX_CALLS, "max_rewrite": 3, "max_retry": 2,
                   "timeout": 60.0, "repr_limit": 1500}


def few_shots_for(name: str) -> str:
    if name == "game":
        return RECODE_FEW_SHOTS
    if name == "game-check":
        return RECODE_FEW_SHOTS_CHECK
    if name == "game-v1":
        return RECODE_FEW_SHOTS_V1
    if name == "default":
        from recode_magic.prompting.prompts import FEW_SHOTS
        return FEW_SHOTS
    path = Path(name)
    if path.exists():
        return path.read_text()
    raise SystemExit(f"--few-shots must be 'game', 'default' or a file, got {name!r}")


def run_recode(game: Game, llm: Callable[[str], str], few_shots: str = RECODE_FEW_SHOTS,
               strict: bool = False, **settings: Any) -> dict[str, Any]:
    """Play ``game`` (already reset) with the product's engine; returns counters and tree."""
    from tw_game import primitives

    from recode_magic import ReCode

    opts = {**RECODE_SETTINGS, **settings}
    engine = ReCode(llm, namespace=dict(primitives(game, strict=strict)), few_shots=few_shots,
                    **opts)
    started = time.perf_counter()
    run = engine.run(game.objective, inputs={"observation": game.first_room})
    wall = time.perf_counter() - started
    stats = run.stats()
    nodes = run.nodes()
    attempts = [a for n in nodes for a in n.attempts]
    rewrites = [a for a in attempts if "repair" not in a]
    usage = run.usage
    input_tokens = (usage.get("input_tokens", 0) + usage.get("cache_read_input_tokens", 0)
                    + usage.get("replayed_input_tokens", 0)
                    + usage.get("replayed_cache_read_input_tokens", 0))
    output_tokens = usage.get("output_tokens", 0) + usage.get("replayed_output_tokens", 0)
    same_name = sum(1 for n in nodes if _ancestor_named(n, n.name))
    return {
        "llm_calls": run.llm_calls,
        "format_errors": len(rewrites),
        "self_recursion_rejected": sum(1 for a in rewrites
                                       if "calls itself again" in str(a.get("error", ""))),
        "repairs": sum(1 for a in attempts if "repair" in a),
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        "status": run.status, "error": run.error,
        "depth_limit_hit": bool(run.error and "depth limit" in run.error),
        "nodes_named_like_an_ancestor": same_name,
        "stats": {k: stats[k] for k in ("nodes", "max_depth", "mean_depth", "mean_branching",
                                        "placeholder_ratio", "primitive_calls",
                                        "placeholder_calls", "per_depth")},
        "tree": [_node_summary(n) for n in nodes],
        "wall_s": round(wall, 2),
    }


def _ancestor_named(node: Any, name: str) -> bool:
    cur = node.parent
    while cur is not None:
        if cur.name == name:
            return True
        cur = cur.parent
    return False


def _node_summary(n: Any) -> dict[str, Any]:
    return {"id": n.id, "name": n.name, "call": n.call, "depth": n.depth, "status": n.status,
            "code": n.code, "error": n.error, "llm_calls": n.llm_calls,
            "attempts": [{k: (str(v)[:400] if k == "reply" else v) for k, v in a.items()}
                         for a in n.attempts]}


def stop_at_execute(inner: Any) -> Any:
    """Make an OpenAICompatLLM stop generating at ``</execute>`` (a proposed backend change).

    Without it the 1.5B model often keeps writing after the first ``</execute>`` (more
    ``<execute>`` blocks: a format error, and 300+ decoded tokens, ~25 s here, per reply).
    The engine's parser reads an unclosed ``<execute>`` to the end, so the cut reply parses.
    """
    request = inner.request

    def with_stop(prompt: str) -> dict[str, Any]:
        kwargs = request(prompt)
        kwargs["stop"] = ["</execute>"]
        return kwargs

    inner.request = with_stop
    return inner


_MARK = "\nYour previous answer for this placeholder could not be used:\n"


class ReaskWithPreviousAnswer:
    """Simulates a proposed engine change (benchmark side, the engine is not edited).

    The engine re-asks a rejected expansion (format, policy, self-call) or a repair with the
    same prompt plus only the error text, so a temperature-0 model answers the same code again
    (seen: 4 identical replies in a row). This wrapper rewrites such a prompt to also show the
    previous answer's code, the attempt number, and for a self-call the exact instruction
    (use the primitives for this step). Everything else is the engine's prompt unchanged.
    Put the cassette *inside* it so replays see the same rewritten prompts.
    """

    def __init__(self, inner: Callable[[str], str]):
        self.inner = inner
        self.model = getattr(inner, "model", "")
        self.on_text = None
        self.last_usage: dict[str, int] | None = None
        self._last: dict[str, str] = {}
        self._count: dict[str, int] = {}
        self.rewritten = 0

    def __call__(self, prompt: str) -> str:
        from recode_magic.prompting.prompts import Prompt
        from recode_magic.prompting.reply import parse_reply

        fixed = getattr(prompt, "fixed", "")
        name = getattr(prompt, "placeholder", "")
        base, _, feedback = str(prompt).partition(_MARK)
        sent: str = prompt
        if feedback and base in self._last:
            n = self._count[base] = self._count.get(base, 0) + 1
            try:
                prev = parse_reply(self._last[base])[1]
            except Exception:
                prev = self._last[base][:800]
            extra = ""
            if "calls itself again" in feedback:
                extra = (f"`{name}` is the step you are expanding: do not call it. Write this "
                         f"step with the primitives (act, look, inventory) instead.\n")
            dynamic = (base[len(fixed):] + f"\nYour previous answer (attempt {n}) could not be "
                       f"used. It was:\n<execute>{prev}</execute>\nProblem:\n{feedback.rstrip()}"
                       f"\n{extra}Do not repeat that code; write different code.\n")
            sent = Prompt.join(fixed, dynamic, name)
            self.rewritten += 1
        if hasattr(self.inner, "on_text"):
            self.inner.on_text = self.on_text
        reply = self.inner(sent)
        self.last_usage = getattr(self.inner, "last_usage", None)
        self._last[base] = reply
        return reply


def _engine_origin() -> str:
    """Where recode_magic was imported from ('repo' or the path of a patched copy)."""
    import recode_magic
    path = Path(recode_magic.__file__).resolve().parent.parent
    return "repo" if path == HERE.parent.parent else "a patched copy outside the repository"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version
    out = {}
    for name in ("recode_magic", "textworld", "openai", "llama_cpp_python"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not in this venv"
    return out


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version()}


def _stop_text(r: dict[str, Any]) -> str:
    """Why the agent stopped, short."""
    if r["won"]:
        return "won"
    if r.get("lost"):
        return "lost"
    if "status" not in r:                       # ReAct
        return r.get("stop", "")
    if r["status"] == "done":
        return "plan finished, not won"
    if r["status"] == "interrupted":
        return "action cap" if r["actions"] >= MAX_ACTIONS else "interrupted"
    return f"{r['status']}: {(r.get('error') or '')[:48]}"


def table(results: dict[str, Any]) -> str:
    head = (f"{'agent':<16} {'game':<17} {'won':<4} {'score':>5} {'calls':>5} {'acts':>4} "
            f"{'in_tok':>7} {'out_tok':>7} {'wall_s':>7} {'depth':>5} {'branch':>6} "
            f"{'fmt':>3} {'rep':>3}  stop")
    lines = [head, "-" * len(head)]
    for agent, games in results.get("runs", {}).items():
        for name, r in games.items():
            st = r.get("stats") or {}
            lines.append(
                f"{agent:<16} {name:<17} {'yes' if r['won'] else 'no':<4} "
                f"{r['score']:>2}/{r['max_score']:<2} {r['llm_calls']:>5} {r['actions']:>4} "
                f"{r['usage']['input_tokens']:>7} {r['usage']['output_tokens']:>7} "
                f"{r['wall_s']:>7.1f} {st.get('max_depth', '-'):>5} "
                f"{st.get('mean_branching', '-'):>6} {r.get('format_errors', 0):>3} "
                f"{r.get('repairs', 0):>3}  {_stop_text(r)}")
    lines.append("")
    lines.append(f"{'agent':<16} {'won':>7} {'score':>7} {'calls':>6} {'calls/won':>9} "
                 f"{'actions':>7} {'in_tok':>8} {'out_tok':>8} {'wall_s':>8} {'fmt':>4} "
                 f"{'rep':>4} {'selfcall':>8} {'repeats':>7}")
    for agent, s in summarize(results).items():
        cpw = "-" if s["llm_calls_per_won_game"] is None else f"{s['llm_calls_per_won_game']:.1f}"
        lines.append(f"{agent:<16} {s['won']:>3}/{s['games']:<3} "
                     f"{s['score']:>3}/{s['max_score']:<3} "
                     f"{s['llm_calls']:>6} {cpw:>9} {s['actions']:>7} {s['input_tokens']:>8} "
                     f"{s['output_tokens']:>8} {s['wall_s']:>8.1f} {s['format_errors']:>4} "
                     f"{s['repairs']:>4} {s['self_recursion_rejected']:>8} "
                     f"{s['repeated_commands']:>7}")
    return "\n".join(lines)


def matrix(results: dict[str, Any]) -> str:
    """Markdown: one row per game, one column per agent: won?, model calls, actions."""
    runs = results.get("runs", {})
    agents = list(runs)
    games = sorted({g for a in runs.values() for g in a})
    lines = ["| game | " + " | ".join(agents) + " |", "|---|" + "---|" * len(agents)]
    for g in games:
        cells = []
        for a in agents:
            r = runs[a].get(g)
            cells.append("" if r is None else
                         f"{'**won**' if r['won'] else 'no'} {r['score']}/{r['max_score']}, "
                         f"{r['llm_calls']} calls, {r['actions']} acts")
        lines.append(f"| {g} | " + " | ".join(cells) + " |")
    summ = summarize(results)
    lines.append("| **total** | " + " | ".join(
        f"**{summ[a]['won']}/{summ[a]['games']} won**, {summ[a]['llm_calls']} calls, "
        f"{summ[a]['llm_calls_per_won_game'] or '-'} calls/won" for a in agents) + " |")
    return "\n".join(lines)


def main() -> None:
    import suite_runner
    from suites import suite_table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", default="all", help="'all' or comma-separated game names")
    ap.add_argument("--agents", default="react,recode",
                    help="comma-separated: react, react-chat, recode")
    ap.add_argument("--label", default="", help="name of the ReCode variant in the results "
                                                "(default 'recode', or 'recode-<few-shots>')")
    ap.add_argument("--few-shots", default="game",
                    help="ReCode few-shots: 'game' (the example game), 'default' (the "
                         "product's FEW_SHOTS) or a file")
    ap.add_argument("--base-url", default=BASE_URL)
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--max-tokens", type=int, default=384,
                    help="per ReCode expansion (legacy games run; suites: --llm-kw)")
    ap.add_argument("--strict-act", action="store_true",
                    help="ReCode: act() raises when the game refuses a command (engine repairs)")
    ap.add_argument("--reask", action="store_true",
                    help="ReCode: simulate the proposed re-ask prompt (previous answer shown)")
    ap.add_argument("--no-stop", action="store_true",
                    help="ReCode: do not stop generation at </execute> (the backend as shipped)")
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--games-dir", default=str(GAMES))
    ap.add_argument("--table", action="store_true", help="only print the table of --results")
    ap.add_argument("--matrix", action="store_true",
                    help="only print a markdown games x agents table of --results")
    suite_runner.add_arguments(ap)
    args = ap.parse_args()

    results_path = Path(args.results)
    results = load_results(results_path)
    if args.table:
        if not args.suite:
            print(table(results))
            print()
        print(suite_table(results))
        return
    if args.suite:
        suite_runner.run_suite(args)
        return
    if args.matrix:
        print(matrix(results))
        return

    manifest = json.loads((Path(args.games_dir) / "games.json").read_text())
    wanted = None if args.games == "all" else set(args.games.split(","))
    games = [g for g in manifest if wanted is None or g["name"] in wanted]
    agents = [a.strip() for a in args.agents.split(",") if a.strip()]

    import openai
    from react import openai_chat, run_react

    from recode_magic.llms.cassette import CassetteLLM
    from recode_magic.llms.openai_llm import OpenAICompatLLM

    client = openai.OpenAI(base_url=args.base_url, api_key="not-needed", timeout=600)
    server_model = args.model
    results.setdefault("meta", {}).update({
        "model": args.model, "model_file": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf "
        "(Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, sha256 cc324af0...b046)",
        "server": "llama-cpp-python server (serve_model.sh: n_ctx 8192, 2 threads, loopback), "
                  "temperature 0", "machine": machine(), "versions": _versions(),
        "caps": {"actions": MAX_ACTIONS, "model_calls": MAX_CALLS},
        "recode_settings": RECODE_SETTINGS, "updated": dt.datetime.utcnow().isoformat() + "Z"})

    for g in games:
        path = str(Path(args.games_dir) / g["path"])
        for agent in agents:
            game = Game(path)
            game.reset()
            if agent in ("react", "react-chat"):
                label = agent
                out = run_react(game, openai_chat(client, server_model),
                                style="chat" if agent == "react-chat" else "system")
            elif agent == "recode":
                label = args.label or ("recode" if args.few_shots == "game"
                                       else f"recode-{Path(args.few_shots).stem}") + (
                                           "-nostop" if args.no_stop else "") + (
                                           "-strict" if args.strict_act else "") + (
                                           "-reask" if args.reask else "")
                cassette = CASSETTES / label / f"{g['name']}.json"
                cassette.unlink(missing_ok=True)
                live = OpenAICompatLLM(server_model, base_url=args.base_url,
                                       max_tokens=args.max_tokens, temperature=0.0,
                                       timeout=600)
                if not args.no_stop:
                    live = stop_at_execute(live)
                llm = CassetteLLM(_UsageFallback(live, args.base_url), cassette, mode="record",
                                  model=server_model)
                if args.reask:
                    llm = ReaskWithPreviousAnswer(llm)
                out = run_recode(game, llm, few_shots_for(args.few_shots),
                                 strict=args.strict_act)
                out["cassette"] = os.path.relpath(cassette, HERE)
                out["settings"] = {"few_shots": args.few_shots, "stop_at_execute":
                                   not args.no_stop, "max_tokens": args.max_tokens,
                                   "strict_act": args.strict_act, "reask": args.reask,
                                   "engine": _engine_origin()}
                out["stop"] = f"{out['status']}: {out['error'] or ''}"
            else:
                raise SystemExit(f"unknown agent {agent!r}")
            out.update(game.result())
            out["transcript"] = game.transcript
            out["game"] = g["name"]
            out["objective"] = game.objective
            game.close()
            # re-read before writing: another evaluation may have saved in the meantime
            meta = results["meta"]
            results = load_results(results_path)
            results["meta"] = meta
            results.setdefault("runs", {}).setdefault(label, {})[g["name"]] = out
            save_results(results_path, results)
            print(f"{label:<16} {g['name']:<17} won={out['won']!s:<5} "
                  f"score={out['score']}/{out['max_score']} calls={out['llm_calls']} "
                  f"actions={out['actions']} wall={out['wall_s']:.0f}s  {out.get('stop', '')[:60]}",
                  flush=True)
    print()
    print(table(results))


if __name__ == "__main__":
    main()
