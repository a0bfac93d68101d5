"""``python -m benchmarks.layout [REV]``: the package's structure measured from its imports.

Modules per folder, the longest import chain inside the package, import cycles (type-only and
lazy imports counted, as import-linter counts them), the largest modules and functions. With
``REV`` (a git revision) the same figures for that commit, read with ``git show``, side by
side: the before/after table of the layout work (issue 23). Only :mod:`ast` and git are used,
so any checkout can reproduce the figures.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = "recode_magic"


def _sources(rev: str | None) -> dict[str, str]:
    """``{module name: source}`` of the package at ``rev`` (None: the working tree)."""
    if rev is None:
        files = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
                 for p in (ROOT / PKG).rglob("*.py")}
    else:
        names = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, PKG], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.split()
        files = {n: subprocess.run(["git", "show", f"{rev}:{n}"], cwd=ROOT, check=True,
                                   capture_output=True, text=True).stdout
                 for n in names if n.endswith(".py")}
    out = {}
    for path, src in files.items():
        mod = path[:-3].replace("/", ".")
        out[mod.removesuffix(".__init__")] = src
    return out


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level else []
    return ".".join(base + ([node.module] if node.module else []))


def imports(sources: dict[str, str]) -> dict[str, set[str]]:
    """Which package modules each module imports (anywhere in it: lazy and type-only too)."""
    graph: dict[str, set[str]] = {m: set() for m in sources}
    for mod, src in sources.items():
        is_pkg = any(other.startswith(mod + ".") for other in sources)
        for node in ast.walk(ast.parse(src)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, is_pkg, node) if node.level else (node.module or "")
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in sources else base
                           for a in node.names]
            for t in targets:
                while t and t not in sources:
                    t = t.rpartition(".")[0]
                if t and t != mod and t.startswith(PKG):
                    graph[mod].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, explicit stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on, stack, out = set(), [], []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def longest_chain(graph: dict[str, set[str]]) -> int:
    """Modules on the longest import path, each cycle counted as all of its modules."""
    comp = {m: m for m in graph}
    for c in cycles(graph):
        for m in c:
            comp[m] = c[0]
    weight = Counter(comp.values())
    dag: dict[str, set[str]] = {c: set() for c in weight}
    for m, targets in graph.items():
        dag[comp[m]] |= {comp[t] for t in targets if comp[t] != comp[m]}
    best: dict[str, int] = {}
    for start in dag:  # iterative post-order: no recursion limit
        todo = [(start, False)]
        while todo:
            v, done = todo.pop()
            if v in best:
                continue
            if done:
                best[v] = weight[v] + max((best[w] for w in dag[v]), default=0)
                continue
            todo.append((v, True))
            todo.extend((w, False) for w in dag[v] if w not in best)
    return max(best.values(), default=0)


def sizes(sources: dict[str, str]) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Modules by lines and functions by lines of code (docstrings left out), largest first."""
    mods = sorted(((src.count("\n"), m) for m, src in sources.items()), reverse=True)
    funcs = []
    for m, src in sources.items():
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                first = node.body[0]
                if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                        and isinstance(first.value.value, str)):
                    n -= first.end_lineno - first.lineno + 1  # the docstring is not code
                funcs.append((n, f"{m}.{node.name}"))
    return mods, sorted(funcs, reverse=True)


def script_cycles() -> list[list[str]]:
    """Import cycles among the evaluation scripts of ``benchmarks/agents`` (bare-name imports
    of sibling files: not a package, so import-linter does not see them)."""
    folder = ROOT / "benchmarks" / "agents"
    names = {p.stem for p in folder.glob("*.py")}
    graph: dict[str, set[str]] = {n: set() for n in names}
    for n in names:
        for node in ast.walk(ast.parse((folder / f"{n}.py").read_text(encoding="utf-8"))):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                    [node.module] if isinstance(node, ast.ImportFrom) and not node.level else [])
            graph[n] |= {m for m in mods if m in names and m != n}
    return cycles(graph)


def report(rev: str | None) -> dict[str, object]:
    """The figures for one revision."""
    src = _sources(rev)
    graph = imports(src)
    mods, funcs = sizes(src)
    top = Counter(m.split(".")[1] if m.count(".") >= 1 else "(facade)" for m in src)
    return {"modules": len(src), "top-level entries": len({m.split(".")[1] for m in src
                                                          if m.count(".") >= 1}) + 1,
            "modules per folder": dict(sorted(top.items())),
            "import arrows": sum(len(v) for v in graph.values()),
            "longest chain": longest_chain(graph), "cycles": cycles(graph),
            "modules > 400 lines": [f"{m} {n}" for n, m in mods if n > 400],
            "largest modules": [f"{m} {n}" for n, m in mods[:5]],
            "functions > 60 lines": [f"{f} {n}" for n, f in funcs if n > 60],
            "largest functions": [f"{f} {n}" for n, f in funcs[:5]]}


def main(argv: list[str]) -> int:
    revs = [argv[0], None] if argv else [None]
    for rev in revs:
        print(f"== {rev or 'working tree'}")
        for k, v in report(rev).items():
            print(f"{k}: {v}")
    print(f"cycles among benchmarks/agents scripts (working tree): {script_cycles()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
