"""The measurements behind ``python -m benchmarks``, one function per section."""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recode_magic import ReCode

from .trees import chain, fan, primitives

ROOT = Path(__file__).resolve().parents[1]
BIG = 10**7
# CPU time of this process: on a shared 2-core machine it moves far less with other load
# than wall time does, and a zero-latency model makes the run CPU-bound anyway.
_clock = time.process_time


def machine() -> dict[str, Any]:
    """The machine a run measured: Python, platform, CPUs, memory, date, and a note.

    ``RECODE_BENCH_MACHINE`` says what else ran (a shared machine: other work, a model).
    """
    pages = os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "memory_gib": round(pages * os.sysconf("SC_PAGE_SIZE") / 2**30, 1) if pages else None,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "note": os.environ.get("RECODE_BENCH_MACHINE", "")}


def _best(fn: Callable[[], float], repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def _engine_seconds(make_llm: Callable[[], Any], n: int, *, widget: bool = False,
                    timeout: float | None = None,
                    clock: Callable[[], float] = _clock) -> tuple[float, Any, dict[str, int]]:
    ns = primitives()
    engine = ReCode(make_llm(), namespace=ns, max_depth=n + 5, max_calls=BIG, max_nodes=BIG,
                    timeout=timeout)
    sent = {"messages": 0, "bytes": 0}
    if widget:
        from recode_magic.notebook.widget import ReCodeWidget

        w = ReCodeWidget(trailing=False)

        def count(msg: Any, buffers: Any = None) -> None:
            sent["messages"] += 1
            sent["bytes"] += len(json.dumps(msg, default=str))
        w._send = count  # type: ignore[method-assign]
        w.attach(engine)
    gc.collect()
    t0 = clock()
    run = engine.run("benchmark")
    seconds = clock() - t0
    assert run.status == "done", run.error
    return seconds, run, sent


def _export_seconds(run: Any) -> float:
    code = compile(run.export("inline"), "<export>", "exec")
    ns = primitives()
    t0 = _clock()
    exec(code, ns)  # noqa: S102 - our own exported program
    return _clock() - t0


def overhead(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """Engine ms per node (placeholder expansion) with a zero-latency scripted model."""
    rows = []
    for shape, make in (("chain", chain), ("fan", fan)):
        for n in sizes:
            rep = 3 if n <= 1000 else 1
            def build(make: Any = make, n: int = n) -> Any:
                return make(n)
            secs = [_engine_seconds(build, n) for _ in range(rep)]
            plain, run, _ = min(secs, key=lambda s: s[0])
            timed = min(_engine_seconds(build, n, timeout=60)[0] for _ in range(rep))
            widget_s, _, sent = _engine_seconds(build, n, widget=True)
            export_s = _best(lambda run=run: _export_seconds(run), rep)
            rows.append({
                "shape": shape, "nodes": n, "ms_per_node": 1000 * plain / n,
                "ms_per_node_timeout": 1000 * timed / n,
                "ms_per_node_widget": 1000 * widget_s / n,
                "export_ms": 1000 * export_s, "engine_ms": 1000 * plain,
                "ratio_to_export": plain / export_s if export_s else None,
                "widget_messages": sent["messages"], "widget_bytes": sent["bytes"]})
            print(f"overhead {shape:5} {n:5}: {rows[-1]['ms_per_node']:.4f} ms/node", flush=True)
    return rows


def reference(path: str, quick: bool = False) -> list[dict[str, Any]]:
    """The reference agent on the same shapes (in a subprocess: it changes cwd)."""
    cases = [("chain", 10), ("chain", 100), ("chain", 1000), ("chain", 2000),
             ("fan", 10), ("fan", 100), ("fan", 300)]
    if quick:
        cases = [c for c in cases if c[1] <= 100]
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "sys.setrecursionlimit(1000)\n"
        "from benchmarks.reference import load_reference, run_reference\n"
        f"A = load_reference({path!r})\n"
        "out = []\n"
        f"for shape, n in {cases!r}:\n"
        "    r = run_reference(A, shape, n, max_depth=n + 5)\n"
        "    out.append({'shape': shape, 'nodes': n, **r})\n"
        "print(json.dumps(out))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        return [{"error": proc.stderr.strip().splitlines()[-1:]}]
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    for r in rows:
        r["ms_per_node"] = 1000 * r["seconds"] / r["nodes"]
        print(f"reference {r['shape']:5} {r['nodes']:5}: {r['ms_per_node']:.3f} ms/node "
              f"{r['error'] or ''}", flush=True)
    return rows


def _tokenizer() -> Callable[[str], int]:
    import bpe_openai

    enc = bpe_openai.get_encoding("o200k_base")
    return lambda text: len(enc.encode(text))


def _demo_llm() -> Any:
    """A 6-expansion tidy-the-room tree with realistic replies (hand-written)."""
    from recode_magic import ScriptedLLM

    def x(thought: str, code: str) -> str:
        return f"<think>{thought}</think><execute>{code}</execute>"

    return ScriptedLLM({
        "solve": x("Find what is out of place, put it away, then report.",
                   "items = find_misplaced(room)\nplaces = choose_places(items)\n"
                   "moved = put_all_away(items, places)\nreport = summarise(moved)"),
        "find_misplaced": x("Looking is one primitive call; filtering is plain Python.",
                            "items = [o for o in look(room) if o not in ('bed', 'desk')]"),
        "choose_places": x("Each item has a usual place; a dict comprehension does it.",
                           "places = {i: usual_place(i) for i in items}"),
        "put_all_away": x("Two primitive calls per item, in a loop.",
                          "moved = []\nfor i in items:\n    take(i)\n    put(i, places[i])\n"
                          "    moved.append(i)"),
        "summarise": x("Say how many moved.", "report = summary_line(count=len(moved))"),
        "summary_line": x("A formatted string.", "report = f'moved {count} things'"),
    })


def _demo_ns() -> dict[str, Any]:
    def look(room):
        """Objects visible in a room."""
        return ["bed", "sock", "desk", "cup", "book"]

    def usual_place(obj):
        """Where an object belongs."""
        return {"sock": "drawer", "cup": "kitchen", "book": "shelf"}.get(obj, "box")

    def take(obj):
        """Pick an object up."""

    def put(obj, place):
        """Put the held object somewhere."""

    return {"look": look, "usual_place": usual_place, "take": take, "put": put,
            "room": "bedroom"}


def _reference_prompts(path: str, ours: Any) -> list[str]:
    """Our run's expansions written in the reference's own prompt format (its files)."""
    sys.path.insert(0, path)
    try:
        from agents.recode.resources.prompts.default_new import (  # type: ignore[import-not-found]
            EXPAND_PROMPT,
        )
    finally:
        sys.path.pop(0)
    base = Path(path) / "agents/recode/resources"
    actions = (base / "prompts/alfworld/actions.txt").read_text()
    shots = (base / "fewshots/alfworld/put.txt").read_text()
    prompts = []
    for node in ours.nodes():
        variables = node.prompt.split("Variables:\n", 1)[-1].split("\n\n")[0]
        prompts.append(EXPAND_PROMPT.format(available_actions=actions, examples=shots,
                                            task=node.call, variables=variables))
    return prompts


def tokens(reference_path: str | None) -> dict[str, Any]:
    """Prompt tokens per expansion (o200k as a proxy) and billable input with caching."""
    count = _tokenizer()
    llm = _demo_llm()
    run = ReCode(llm, namespace=_demo_ns()).run("Tidy the bedroom and say what moved.",
                                                output="report")
    assert run.status == "done", run.error
    prompts = [str(p) for p in llm.calls]
    fixed = count(llm.calls[0].fixed)
    per = [count(p) for p in prompts]
    uncached = sum(per)
    cached = 1.25 * fixed + 0.1 * fixed * (len(per) - 1) + sum(p - fixed for p in per)
    out: dict[str, Any] = {
        "tokenizer": "o200k_base (bpe-openai, offline) as a proxy for Claude's tokenizer",
        "expansions": len(per), "ours_mean": statistics.mean(per), "ours_fixed": fixed,
        "ours_fixed_share": fixed / statistics.mean(per),
        "billable_uncached": uncached, "billable_cached": cached,
        "cache_saving": 1 - cached / uncached,
    }
    out.update(_fake_server_usage())
    if reference_path:
        ref = [count(p) for p in _reference_prompts(reference_path, run)]
        out.update({"reference_mean": statistics.mean(ref), "reference_min": min(ref),
                    "reference_max": max(ref)})
    print(f"tokens: ours {out['ours_mean']:.0f}/expansion, cache saving "
          f"{out['cache_saving']:.0%}", flush=True)
    return out


def _fake_server_usage() -> dict[str, Any]:
    """The same tree through the real anthropic SDK and the loopback fake API."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from fakeapi import TEST_KEY, serve
    finally:
        sys.path.pop(0)
    from recode_magic.llms.anthropic_llm import AnthropicLLM
    from recode_magic.llms.pricing import billable_input_tokens

    replies = {name: r for name, r in _demo_llm().replies.items()}
    os.environ["ANTHROPIC_API_KEY"] = TEST_KEY
    try:
        with serve(replies, min_cache_tokens=1024) as fake:
            llm = AnthropicLLM("claude-sonnet-5-5", base_url=fake.url, max_retries=0)
            run = ReCode(llm, namespace=_demo_ns()).run("Tidy the bedroom.", output="report")
    finally:
        os.environ.pop("ANTHROPIC_API_KEY", None)
    usage = run.usage
    return {"server_usage": usage,
            "server_billable_cached": billable_input_tokens(usage),
            "server_billable_uncached": billable_input_tokens(usage, cached=False)}


def replay() -> dict[str, Any]:
    """Cassette re-run: model calls and wall time vs the exported program."""
    from recode_magic.llms.cassette import CassetteLLM

    rows = {}
    for label, work in (("trivial primitives", None),
                        ("1 ms primitives", lambda: time.sleep(0.001))):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "c.json"
            n = 100
            live = ReCode(CassetteLLM(fan(n), path, mode="record"),
                          namespace=primitives(work), max_calls=BIG).run("t")
            best_replay, calls = float("inf"), 0
            for _ in range(3):
                cas = CassetteLLM(None, path, mode="replay")
                t0 = time.perf_counter()
                run = ReCode(cas, namespace=primitives(work), max_calls=BIG).run("t")
                best_replay = min(best_replay, time.perf_counter() - t0)
                calls = cas.recorded
            assert run.status == "done"
            code = compile(live.export("inline"), "<export>", "exec")

            def exported(work: Any = work, code: Any = code) -> float:
                ns = primitives(work)
                t0 = time.perf_counter()
                exec(code, ns)  # noqa: S102
                return time.perf_counter() - t0
            ex = _best(exported, 3)
            rows[label] = {"nodes": n, "model_calls": calls, "replay_ms": 1000 * best_replay,
                           "export_ms": 1000 * ex, "ratio": best_replay / ex}
            print(f"replay {label}: ratio {rows[label]['ratio']:.2f}", flush=True)
    return rows


def widget(browser: bool = True) -> dict[str, Any]:
    """Comm messages and bytes per run with a 5 ms model, and browser render time."""
    from recode_magic import ScriptedLLM

    out: dict[str, Any] = {}
    for n in (100, 1000):
        replies = fan(n).replies

        def slow(prompt: str, _r: dict[str, Any] = replies) -> str:
            time.sleep(0.005)
            return _r[prompt.placeholder]  # type: ignore[attr-defined]
        llm = ScriptedLLM({k: slow for k in replies})
        seconds, _, sent = _engine_seconds(lambda llm=llm: llm, n, widget=True,
                                           clock=time.perf_counter)  # wall: messages/s
        out[f"fan_{n}"] = {"seconds": seconds, **sent,
                           "messages_per_s": sent["messages"] / seconds}
        print(f"widget {n}: {sent['messages']} messages in {seconds:.1f} s", flush=True)
    if browser:
        try:
            from .browser import render_time
            out["browser_render_ms_1000"] = render_time(1000)
        except Exception as exc:  # the table says why, the run goes on
            out["browser_render_ms_1000"] = f"not measured: {type(exc).__name__}: {exc}"
    return out


def memory(n: int) -> dict[str, Any]:
    """Peak traced memory of an n-node run (tracemalloc) and the process's max RSS."""
    import resource

    llm = fan(n)
    gc.collect()
    tracemalloc.start()
    ReCode(llm, namespace=primitives(), max_calls=BIG, max_nodes=BIG).run("t")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory {n}: peak {peak / 2**20:.1f} MiB traced", flush=True)
    return {"nodes": n, "peak_traced_mib": peak / 2**20, "max_rss_mib": rss}


_STARTUP = ("import time\nfrom IPython.core.interactiveshell import InteractiveShell\n"
            "ip = InteractiveShell.instance()\nt = time.perf_counter()\n"
            "ip.run_line_magic('load_ext', {ext!r})\nprint(time.perf_counter() - t)\n")


def _load_ext_seconds(python: str, ext: str) -> float:
    times = []
    for _ in range(3):
        proc = subprocess.run([python, "-c", _STARTUP.format(ext=ext)], capture_output=True,
                              text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1])
        times.append(float(proc.stdout.strip().splitlines()[-1]))
    return min(times)


def startup() -> dict[str, Any]:
    """``%load_ext`` time in a fresh process, ours vs jupyter_ai_magics if available."""
    out: dict[str, Any] = {"recode_magic_s": _load_ext_seconds(sys.executable, "recode_magic")}
    jai = os.environ.get("RECODE_BENCH_JAI_PYTHON")
    if jai:
        try:
            out["jupyter_ai_magics_s"] = _load_ext_seconds(jai, "jupyter_ai_magics")
        except Exception as exc:
            out["jupyter_ai_magics_s"] = f"not measured: {exc}"
    print(f"startup: {out}", flush=True)
    return out
