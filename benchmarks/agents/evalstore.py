"""Where the evaluation keeps its results and cassettes, and the token counter it wraps models in.

Shared by ``run_eval.py`` (games, the command line) and ``suite_runner.py`` (task suites), so
neither imports the other's module at load time (no import cycle between them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
CASSETTES = HERE / "cassettes"


class _UsageFallback:
    """Wraps OpenAICompatLLM; if the server's stream carries no usage, counts tokens with
    the server's /extras/tokenize (llama-cpp-python) so the token figures are still real."""

    def __init__(self, inner: Any, base_url: str):
        self.inner, self.base_url = inner, base_url.rstrip("/")
        self.model = inner.model
        self.on_text = None
        self.last_usage: dict[str, int] | None = None

    @property
    def thread_safe(self) -> bool:
        """As the wrapped backend (its calls keep nothing on it; neither does respond)."""
        return bool(getattr(self.inner, "thread_safe", False))

    def __call__(self, prompt: str) -> str:
        self.inner.on_text = self.on_text
        reply = self.inner(prompt)
        self.last_usage = self.inner.last_usage or {
            "input_tokens": _count_tokens(self.base_url, prompt),
            "output_tokens": _count_tokens(self.base_url, reply), "estimated": 1}
        return reply

    def respond(self, prompt: str, **kw: Any) -> Any:
        """The backend's rich call (per-call temperature/seed pass through), usage filled in."""
        reply = self.inner.respond(prompt, **kw)
        if not any(reply.usage.get(k) for k in ("input_tokens", "output_tokens",
                                                 "cache_read_input_tokens")):
            reply.usage.update({"input_tokens": _count_tokens(self.base_url, prompt),
                                "output_tokens": _count_tokens(self.base_url, reply.text),
                                "estimated": 1})
        return reply


def _count_tokens(base_url: str, text: str) -> int:
    """Tokens of ``text`` counted by the server (llama-cpp-python, else llama.cpp); 0 if
    neither route answers."""
    import urllib.error
    import urllib.request
    root = base_url[:-3] if base_url.endswith("/v1") else base_url
    for route, body, read in (
            ("/extras/tokenize/count", {"input": text}, lambda d: d["count"]),
            ("/tokenize", {"content": text}, lambda d: len(d["tokens"]))):
        req = urllib.request.Request(f"{root}{route}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return int(read(json.load(r)))
        except (urllib.error.URLError, KeyError, ValueError, OSError):
            continue
    return 0


def load_results(path: Path) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())
    return {"meta": {}, "runs": {}}


def save_results(path: Path, results: dict[str, Any]) -> None:
    from suites import summarize_suites

    results["summary"] = summarize(results)
    results["suite_summary"] = summarize_suites(results)
    text = json.dumps(results, indent=1, ensure_ascii=False)
    # tracebacks name files by absolute path: keep them relative to the repository
    text = text.replace(str(HERE.parent.parent) + "/", "")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text + "\n")
    os.replace(tmp, path)


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for agent, games in results.get("runs", {}).items():
        rows = list(games.values())
        won = [r for r in rows if r["won"]]
        out[agent] = {
            "games": len(rows), "won": len(won),
            "score": sum(r["score"] for r in rows), "max_score": sum(r["max_score"] for r in rows),
            "llm_calls": sum(r["llm_calls"] for r in rows),
            "llm_calls_per_won_game": round(sum(r["llm_calls"] for r in won) / len(won), 2)
            if won else None,
            "actions": sum(r["actions"] for r in rows),
            "input_tokens": sum(r["usage"]["input_tokens"] for r in rows),
            "output_tokens": sum(r["usage"]["output_tokens"] for r in rows),
            "wall_s": round(sum(r["wall_s"] for r in rows), 1),
            "format_errors": sum(r.get("format_errors", 0) for r in rows),
            "repairs": sum(r.get("repairs", 0) for r in rows),
            "self_recursion_rejected": sum(r.get("self_recursion_rejected", 0) for r in rows),
            "repeated_commands": sum(_repeats(r) for r in rows),
        }
    return out


def _repeats(r: dict[str, Any]) -> int:
    """Commands sent again that were already sent earlier in the same game."""
    seen: set[str] = set()
    n = 0
    for t in r.get("transcript", []):
        n += t["command"] in seen
        seen.add(t["command"])
    return n
