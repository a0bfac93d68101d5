# ruff: noqa  (P's issue-12 screening scripts, as they ran but for paths, now relative to this folder)
"""Screen a package variant on the tasks: PYTHONPATH=PKG_DIR python screen.py LABEL [tasks]."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent   # when run: a scratch folder
sys.path.insert(0, str(HERE))
from tasks import TASKS  # noqa: E402

import recode_magic  # noqa: E402
from recode_magic import ReCode  # noqa: E402
from recode_magic.llms.cassette import CassetteLLM  # noqa: E402

ANSWER = {"top_customer", "repeated_words", "free_slot", "path", "join_avg"}
label = sys.argv[1]
names = sys.argv[2].split(",") if len(sys.argv) > 2 else list(TASKS)
out = HERE / "results.jsonl"
cdir = HERE / "cassettes" / label
cdir.mkdir(parents=True, exist_ok=True)
print("package:", recode_magic.__file__, file=sys.stderr)
sys.path.insert(0, str(HERE.parent))
GAMES = HERE.parent / "games"


class PlainLLM:
    """Non-streaming chat call (the llama_cpp.server here streams nothing), stop at </execute>."""

    model = "qwen2.5-coder-1.5b-instruct-q4_k_m"

    def __init__(self):
        import openai
        self.client = openai.OpenAI(api_key="x", base_url="http://127.0.0.1:8080/v1",
                                    timeout=600, max_retries=1)
        self.last_usage = None

    def __call__(self, prompt):
        fixed = getattr(prompt, "fixed", "")
        rest = str(prompt)[len(fixed):]
        msgs = ([{"role": "system", "content": fixed}] if fixed else []) + [
            {"role": "user", "content": rest}]
        r = self.client.chat.completions.create(model=self.model, messages=msgs, max_tokens=384,
                                                temperature=0.0, stop=["</execute>"])
        u = r.usage
        self.last_usage = {"input_tokens": u.prompt_tokens, "output_tokens": u.completion_tokens}
        return r.choices[0].message.content or ""


def with_stop(inner):
    request = inner.request

    def req(prompt):
        kw = request(prompt)
        kw["stop"] = ["</execute>"]
        return kw
    inner.request = req
    return inner


for name in names:
    game = None
    if name.startswith("tw:"):
        from tw_game import Game, primitives
        game = Game(str(GAMES / f"{name[3:]}.z8"))
        objective, first = game.reset()
        ns = dict(primitives(game))
        tools, task, inputs = None, objective, {"observation": first}
        check = lambda ns: game.won  # noqa: E731
    else:
        ns, tools, task, inputs, check = TASKS[name]()
    live = PlainLLM()
    llm = CassetteLLM(live, cdir / f"{name.replace(':', '_')}.cassette.json", mode="auto")
    import os
    extra = {}
    if os.environ.get("FEW_SHOTS_FILE"):
        extra["few_shots"] = Path(os.environ["FEW_SHOTS_FILE"]).read_text()
    engine = ReCode(llm, namespace=ns, tools=tools, max_depth=6, max_rewrite=3, max_retry=2,
                    max_calls=20 if game is None else 30, timeout=20, **extra)
    t0 = time.time()
    try:
        run = engine.run(task, inputs=inputs, output="answer" if name in ANSWER else None)
        status, err = run.status, run.error
    except Exception as exc:  # noqa: BLE001
        run, status, err = None, "crash", repr(exc)
    ok = False
    try:
        ok = bool(check(ns))
    except Exception:  # noqa: BLE001
        pass
    if game is not None:
        game.close()
    nodes = run.nodes() if run else []
    attempts = [a for n in nodes for a in n.attempts]
    fmt = [a.get("error", "")[:200] for a in attempts if "repair" not in a]
    rep = [a.get("error", "")[-200:] for a in attempts if "repair" in a]
    row = {"label": label, "task": name, "solved": ok, "status": status, "error": (err or "")[:300],
           "calls": run.llm_calls if run else 0, "nodes": len(nodes),
           "expansions": sum(1 for n in nodes if n.llm_calls), "format_errors": len(fmt),
           "fmt": fmt, "repairs": rep, "wall": round(time.time() - t0, 1),
           "answer": repr(ns.get("answer"))[:100]}
    if run:
        run.save(str(cdir / f"{name.replace(':', '_')}.run.json"))
    with out.open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps({k: row[k] for k in ("task", "solved", "status", "calls", "format_errors", "wall")}),
          flush=True)
