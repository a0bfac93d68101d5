"""Instructions per node on the reference's trees, counted by valgrind (not timed).

``python -m benchmarks.speed_instructions [--root PATH] [chain:99 fan:333 ...]``

On a shared, loaded machine CPU time per node moves by 10-50% from one minute to the next;
the number of instructions a run executes does not (within 0.01% from run to run). Each
tree is run in a child process under ``valgrind --tool=cachegrind``, once with one measured
run and once with 1 + k (both after two warm-up runs, the same hash seed; k runs make about
2,000 nodes: 20 of a chain of 99, 4 of 499), and the difference is divided by the k runs'
nodes: imports and warm-up cancel out. The objects alive before the measured runs are
frozen (``gc.freeze``): the collector's work on the run's own objects is counted, not
whether a full collection of the interpreter's whole heap fell into one run or the other
(without both, one commit's chain of 99 measured 265k and 365k a node). ``--root``
measures another checkout of the package (an A/B of two commits). Slow (valgrind runs
Python about 50 times slower): ~30 s a tree.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_CHILD = (
    "import gc, sys; sys.path.insert(0, {root!r})\n"
    "from benchmarks.sections import BIG, primitives\n"
    "from benchmarks.trees import chain, fan\n"
    "from recode_magic import ReCode\n"
    "def once():\n"
    "    make = chain if {shape!r} == 'chain' else fan\n"
    "    engine = ReCode(make({n}), namespace=primitives(), max_depth={n} + 5,\n"
    "                    max_calls=BIG, max_nodes=BIG)\n"
    "    assert engine.run('benchmark').status == 'done'\n"
    "once(); once(); gc.collect(); gc.freeze()\n"
    "for _ in range({k}): once()\n")
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")
NODES = 2000  # nodes measured per tree (the runs of a small tree vary more)


def _instructions(root: str, shape: str, n: int, k: int) -> int:
    code = _CHILD.format(root=root, shape=shape, n=n, k=k)
    proc = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, "-c", code], capture_output=True, text=True, cwd="/tmp",
        env={**os.environ, "PYTHONHASHSEED": "0"}, timeout=3600)
    found = _REFS.search(proc.stderr)
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"valgrind run failed: {proc.stderr.strip()[-300:]}")
    return int(found.group(1).replace(",", ""))


def per_node(root: str, shape: str, n: int) -> int:
    """Instructions one node of the ``shape`` tree of ``n`` nodes costs the engine at ``root``."""
    runs = max(2, round(NODES / n))  # about NODES nodes measured, whatever the tree's size
    return ((_instructions(root, shape, n, 1 + runs) - _instructions(root, shape, n, 1))
            // (runs * n))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.speed_instructions",
                                 description=__doc__)
    ap.add_argument("trees", nargs="*", default=["chain:99", "fan:333"],
                    help="shape:nodes, e.g. chain:99 fan:333")
    ap.add_argument("--root", default=str(ROOT), help="checkout whose package is measured")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 1
    for tree in args.trees:
        shape, _, n = tree.partition(":")
        print(f"{shape} {n}: {per_node(args.root, shape, int(n)):,} instructions per node",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
