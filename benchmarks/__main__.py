"""``python -m benchmarks``: engine overhead, prompt tokens, replay, widget, memory, start-up.

Prints one table and writes ``benchmarks/results.json``. Ratios are measured side by side in
one run (the machines are shared and noisy); nothing here is asserted by the test suite.
Sections: overhead, reference, tokens, replay, widget, reference_trees and shared_keyword
(:mod:`benchmarks.speed`), parallel and parallel_suite (:mod:`benchmarks.parallel`),
memory, startup, batch, local (:mod:`benchmarks.local`, the embedded model). Optional:
``--reference PATH`` (a checkout of FoundationAgents/ReCode: its agent runs on the same trees
and its prompt format is counted),
``RECODE_BENCH_MACHINE`` (what the machine is and what else ran, printed with the figures)
and ``RECODE_BENCH_JAI_PYTHON`` (a Python with jupyter_ai_magics installed, for the start-up
comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from . import parallel, report, sections, speed

OUT = Path(__file__).with_name("results.json")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--reference", default=os.environ.get("RECODE_REFERENCE"),
                    help="path of a FoundationAgents/ReCode checkout (optional)")
    ap.add_argument("--quick", action="store_true", help="smaller trees (a smoke run)")
    ap.add_argument("--no-browser", action="store_true", help="skip the browser render time")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    results: dict[str, Any] = {"machine": sections.machine()}
    sizes = (10, 100, 1000) if args.quick else (10, 100, 1000, 5000)
    results["overhead"] = sections.overhead(sizes)
    if args.reference:
        results["reference"] = sections.reference(args.reference, quick=args.quick)
    results["tokens"] = sections.tokens(args.reference)
    results["replay"] = sections.replay()
    results["widget"] = sections.widget(browser=not args.no_browser)
    results["reference_trees"] = speed.reference_trees(args.reference, quick=args.quick)
    results["shared_keyword"] = speed.shared_keyword(0.5)
    results["parallel"] = parallel.parallel(0.2 if args.quick else 1.0)
    results["parallel_suite"] = parallel.parallel_suite(0.2 if args.quick else 1.0, args.quick)
    results["memory"] = sections.memory(1000 if args.quick else 5000)
    results["startup"] = sections.startup()
    results["batch"] = __import__("benchmarks.batch").batch.section(quick=args.quick)
    from . import local  # the embedded model (issue 20); skipped without recode_magic[local]

    results["local"] = local.section(quick=args.quick)
    results["seconds"] = round(time.perf_counter() - t0, 1)
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(report.table(results))
    print()
    print(local.table(results["local"]))
    print(f"\nwrote {args.out} in {results['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
