"""Issue 24's measurements: per-node time next to the reference, a shared-keyword fan.

``python -m benchmarks.speed [--reference PATH] [--quick]`` runs both; ``python -m
benchmarks`` runs them as its ``reference_trees`` and ``shared_keyword`` sections.

- :func:`reference_trees`: our engine and the reference implementation on the reference's
  tree shapes (chains of 9/99/499 nodes, fans of 33/333/1,000), a zero-latency scripted
  model, CPU time per node (``time.process_time``: the machine is shared and noisy), each
  tree's two engines measured back to back in one run, best of repeats (ours 30, 10 or 5
  by size; the reference 5, once for its fans of 333 and 1,000: seconds to minutes each).
- :func:`shared_keyword`: a fan of 8 siblings sharing a keyword name (``r0 = part_0(n=0)``
  ... ``r7 = part_7(n=7)``) through the real Anthropic SDK against the loopback fake
  Messages API (``tests/fakeapi.py``) answering 0.5 s after each request, sequential
  (``prefetch=0``) vs parallel (``prefetch=8``): wall time, and the same tree, the same
  primitive calls in the same order and the same prompts (what a cassette keys) checked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TREES = (("chain", 9), ("chain", 99), ("chain", 499), ("fan", 33), ("fan", 333), ("fan", 1000))
_REF = (
    "import json, sys; sys.path.insert(0, {root!r})\n"
    "sys.setrecursionlimit(1000)\n"
    "from benchmarks.reference import load_reference, run_reference\n"
    "A = load_reference({path!r})\n"
    "runs = [run_reference(A, {shape!r}, {n}, max_depth={n} + 5) for _ in range({repeat})]\n"
    "print(json.dumps(min(runs, key=lambda r: r['seconds'])))\n")


def _reference_seconds(path: str, shape: str, n: int, repeat: int) -> dict[str, Any]:
    code = _REF.format(root=str(ROOT), path=path, shape=shape, n=n, repeat=repeat)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _ours_seconds(shape: str, n: int, repeat: int) -> float:
    from .sections import _engine_seconds
    from .trees import chain, fan

    make = chain if shape == "chain" else fan
    return min(_engine_seconds(lambda: make(n), n)[0] for _ in range(repeat))


def reference_trees(path: str | None, quick: bool = False) -> list[dict[str, Any]]:
    """CPU ms per node, ours and the reference's, on the reference's trees (one run)."""
    rows = []
    for shape, n in TREES:
        if quick and n > 100:
            continue
        # best of more repeats for the small trees: one run of a few ms meets more of the
        # machine's noise (other work, a model server) than the spread of the engine itself
        repeat = 30 if n < 100 else 10 if n < 500 else 5
        row: dict[str, Any] = {"shape": shape, "nodes": n}
        if path:  # the reference's fan is quadratic (its prompt holds the whole tree)
            ref = _reference_seconds(path, shape, n, 1 if n * (shape == "fan") > 300 else 5)
            row["reference_ms"] = (None if ref.get("error") or "seconds" not in ref
                                   else round(1000 * ref["seconds"] / n, 4))
            row["reference_error"] = ref.get("error")
        row["ours_ms"] = round(1000 * _ours_seconds(shape, n, repeat) / n, 4)
        if row.get("reference_ms"):
            row["ratio"] = round(row["reference_ms"] / row["ours_ms"], 2)
        rows.append(row)
        print(f"reference trees {shape:5} {n:5}: {row}", flush=True)
    return rows


def _fan_replies(n: int) -> dict[str, str]:
    from .trees import X

    return {"solve": X("\n".join(f"r{i} = part_{i}(n={i})" for i in range(n))),
            **{f"part_{i}": X(f"r{i} = act(n * 10)") for i in range(n)}}


def _through_fake_api(replies: dict[str, str], prefetch: int, latency: float
                      ) -> tuple[float, Any, list[Any], list[str]]:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from fakeapi import TEST_KEY, serve
    finally:
        sys.path.pop(0)
    from recode_magic import ReCode
    from recode_magic.llms.anthropic_llm import AnthropicLLM

    log: list[Any] = []

    def act(x: Any) -> Any:
        """Do one action."""
        log.append(x)
        return x

    old = os.environ.get("ANTHROPIC_API_KEY")
    os.environ["ANTHROPIC_API_KEY"] = TEST_KEY
    try:
        with serve(replies) as fake:
            fake.delay = latency
            llm = AnthropicLLM("claude-sonnet-5-5", base_url=fake.url, max_retries=0)
            t0 = time.perf_counter()
            run = ReCode(llm, namespace={"act": act}, prefetch=prefetch).run("the task")
            seconds = time.perf_counter() - t0
            prompts = sorted(json.dumps(r["body"].get("messages"), sort_keys=True)
                             for r in fake.model_requests())
    finally:
        if old is None:
            os.environ.pop("ANTHROPIC_API_KEY", None)
        else:
            os.environ["ANTHROPIC_API_KEY"] = old
    return seconds, run, log, prompts


def shared_keyword(latency: float = 0.5, siblings: int = 8) -> dict[str, Any]:
    """Wall seconds of the shared-keyword fan, sequential vs parallel, and what matched."""
    replies = _fan_replies(siblings)
    out: dict[str, Any] = {"latency_s": latency, "siblings": siblings}
    _through_fake_api(_fan_replies(1), 0, 0.0)  # import the SDK, open a first connection
    seen = []
    for mode, prefetch in (("sequential", 0), ("parallel", siblings)):
        tries = [_through_fake_api(replies, prefetch, latency) for _ in range(2)]
        seconds, run, log, prompts = min(tries, key=lambda t: t[0])
        assert run.status == "done", run.error
        out[f"{mode}_s"] = round(seconds, 2)
        out[f"{mode}_calls"] = len(prompts)
        if prefetch:
            out["prefetch_stats"] = run.meta.get("prefetch_stats", {})
        seen.append(([(n.name, n.call, n.code, n.prompt) for n in run.nodes()], log, prompts))
    out["same_tree"] = seen[0][0] == seen[1][0]
    out["same_primitive_calls"] = seen[0][1] == seen[1][1]
    out["same_prompts"] = seen[0][2] == seen[1][2]
    print(f"shared keyword fan: {out}", flush=True)
    return out


def table(r: dict[str, Any]) -> list[str]:
    """The printed lines of both sections."""
    lines: list[str] = []
    rows = r.get("reference_trees")
    if rows:
        lines += ["", "Per node on the reference's trees (CPU ms per node, one run, best of "
                      "repeats; zero-latency scripted model)",
                  f"  {'tree':<7}{'nodes':>6}{'ours':>9}{'reference':>11}{'ref/ours':>10}"]
        for row in rows:
            ref = row.get("reference_ms")
            lines.append(f"  {row['shape']:<7}{row['nodes']:>6}{row['ours_ms']:>9.4f}"
                         f"{(f'{ref:.4f}' if ref else row.get('reference_error') or '-'):>11}"
                         f"{(str(row['ratio']) + 'x') if 'ratio' in row else '-':>10}")
    k = r.get("shared_keyword")
    if k:
        lines += ["", f"Fan of {k['siblings']} siblings sharing a keyword name, Anthropic SDK "
                      f"against the loopback fake API at {k['latency_s']:g} s a call (wall s)",
                  f"  sequential {k['sequential_s']:.2f} ({k['sequential_calls']} calls), "
                  f"parallel {k['parallel_s']:.2f} ({k['parallel_calls']} calls; "
                  f"{k['prefetch_stats']}); same tree {k['same_tree']}, same primitive "
                  f"calls {k['same_primitive_calls']}, same prompts {k['same_prompts']}"]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__)
    ap.add_argument("--reference", default=os.environ.get("RECODE_REFERENCE"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args(argv)
    from .sections import machine

    results = {"machine": machine(),
               "reference_trees": reference_trees(args.reference, args.quick),
               "shared_keyword": shared_keyword()}
    print("\n".join(table(results)))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
