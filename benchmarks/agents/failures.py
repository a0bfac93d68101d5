"""Failure classes of suite runs, read from the saved trees in ``results.json``.

    python benchmarks/agents/failures.py --suite tasks --label recode-default [--md]

Each unsolved row gets one class (the first that applies, most specific first) and the
class counts come with one example each (item, the node, its error or the last rejected
reply). Rejected replies (format errors) are also classed one by one over all rows.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

__all__ = ["classify_row", "classify_rejection", "report"]


def classify_rejection(error: str) -> str:
    """The class of one rejected reply, from its error text."""
    e = error or ""
    for pattern, name in (
            (r"calls itself|self-call|the step you are expanding", "self-call"),
            (r"rule ([\w-]+)", None),
            (r"no <execute>|no code|missing <execute>|empty", "no code block"),
            (r"SyntaxError|does not compile|invalid syntax|unexpected indent|unterminated",
             "syntax error"),
            (r"\bdef\b", "def refused"),
            (r"inside (a|an) (loop|condition|if|for|while|with|try|comprehension|expression)"
             r"|placeholder in", "placeholder in compound/expression"),
            (r"example", "example function called")):
        m = re.search(pattern, e, re.I)
        if m:
            return name or f"policy: {m.group(1)}"
    return "other: " + e.split(":")[0][:40]


def _rejections(row: Mapping[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for node in row.get("tree", []):
        for a in node.get("attempts", []):
            if "repair" not in a and a.get("kind") not in ("repair", "replan") and a.get("error"):
                out.append((node, a))
    return out


def _example_names() -> set[str]:
    """Functions called in the package's default few-shots (leak detection)."""
    import ast

    try:
        from recode_magic.prompting.prompts import FEW_SHOTS
    except ImportError:
        return set()
    names: set[str] = set()
    for block in re.findall(r"<execute>(.*?)</execute>", FEW_SHOTS, re.S):
        try:
            tree = ast.parse(block)
        except SyntaxError:
            continue
        names |= {n.func.id for n in ast.walk(tree)
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return names - {"print", "len", "sorted", "sum", "range", "min", "max", "list", "dict",
                    "set", "str", "int", "round", "enumerate", "zip", "any", "all"}


def classify_row(row: Mapping[str, Any], examples: Iterable[str] = ()) -> str:
    """One failure class for an unsolved row ('solved' when it was solved)."""
    if row.get("solved"):
        return "solved"
    err = str(row.get("error") or "")
    status = row.get("status", "")
    names = {n.get("name") for n in row.get("tree", [])}
    leaked = names & set(examples)
    if status == "crashed":
        return "crashed (backend error)"
    if "game" in row and row.get("actions", 0) == 0:
        return "textworld: never sent a game command" + (" (example leak)" if leaked else "")
    if "FormatError" in err or "no usable code" in err:
        rej = _rejections(row)
        last = classify_rejection(str(rej[-1][1].get("error", ""))) if rej else "?"
        return f"format errors exhausted ({last})"
    if "depth limit" in err:
        return "depth limit"
    if "model calls" in err or "max_calls" in err or "call limit" in err:
        return "model-call cap"
    if status == "error":
        kind = re.match(r"(\w+(Error|Exception|Interrupt))", err)
        return f"runtime error after repairs ({kind.group(1) if kind else err[:30]})"
    if "game" in row:
        if row.get("actions", 0) >= 40:
            return "textworld: action cap"
        return "textworld: plan finished, not won" + (" (example leak)" if leaked else "")
    if leaked:
        return "wrong answer (example functions called)"
    if row.get("category") in ("robot", "inventory"):
        return "wrong final state (side effects)"
    if row.get("answer") is None:
        return "finished without setting the answer/side effect"
    return "wrong answer"


def _example(row: Mapping[str, Any], key: str) -> str:
    rej = _rejections(row)
    bad = [n for n in row.get("tree", []) if n.get("error")]
    if bad:
        n = bad[-1]
        return f"{key}: node `{n.get('call')}`: {str(n.get('error'))[:220]!r}"
    if rej:
        n, a = rej[-1]
        return (f"{key}: node `{n.get('call')}` reply rejected: {str(a.get('error'))[:160]!r}; "
                f"reply {str(a.get('reply', ''))[:160]!r}")
    code = (row.get("tree") or [{}])[0].get("code") or ""
    return f"{key}: answer {row.get('answer')!r}; root code {code[:220]!r}"


def report(results: Mapping[str, Any], suite: str, label: str) -> str:
    """Markdown: counts and one example per failure class, then rejected-reply classes."""
    from suites import backend_failed

    every = results["suites"][suite][label]["items"]
    items = {k: r for k, r in every.items() if not backend_failed(r)}
    examples = _example_names()
    classes: Counter[str] = Counter()
    sample: dict[str, str] = {}
    rejected: Counter[str] = Counter()
    rej_sample: dict[str, str] = {}
    calls = 0
    for key, row in items.items():
        calls += row.get("llm_calls", 0)
        c = classify_row(row, examples)
        classes[c] += 1
        sample.setdefault(c, _example(row, key))
        for node, a in _rejections(row):
            r = classify_rejection(str(a.get("error", "")))
            rejected[r] += 1
            rej_sample.setdefault(r, f"{key} `{node.get('call')}`: "
                                     f"{str(a.get('error'))[:150]!r}")
    lines = [f"### {suite} / {label}: {classes['solved']}/{len(items)} solved, {calls} model "
             f"calls, {sum(rejected.values())} rejected replies"
             + (f" ({len(every) - len(items)} rows left out: model server down)"
                if len(every) > len(items) else ""), "",
             "| class | count | example |", "|---|---|---|"]
    for c, n in classes.most_common():
        if c != "solved":
            lines.append(f"| {c} | {n} | {sample[c]} |".replace("\n", "\\n"))
    lines += ["", "Rejected replies (format errors) by class:", "", "| class | count | example |",
              "|---|---|---|"]
    for c, n in rejected.most_common():
        lines.append(f"| {c} | {n} | {rej_sample[c]} |".replace("\n", "\\n"))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="tasks")
    ap.add_argument("--label", default="recode-default")
    ap.add_argument("--results", default=str(HERE / "results.json"))
    args = ap.parse_args()
    print(report(json.loads(Path(args.results).read_text()), args.suite, args.label))


if __name__ == "__main__":
    main()
