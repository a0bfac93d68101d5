"""Granularity statistics of a run."""

from __future__ import annotations

import pytest

from recode_magic import ReCode, ScriptedLLM
from recode_magic.runs.run import Run
from recode_magic.runs.stats import format_stats, plot_depths, run_stats


def X(code: str) -> str:
    return f"<execute>{code}</execute>"


def test_engine_run_figures():
    ns = {"add": lambda a, b: a + b, "act": lambda s: s}
    llm = ScriptedLLM({
        "solve": X("a = one(task)\nb = two(a)\nact('end')"),
        "one": X("a = add(1, 2)"),
        "two": X("c = three(a)\nb = add(c, 1)"),
        "three": X("c = add(a, 1)\nact('x')"),
    })
    run = ReCode(llm, namespace=ns).run("t")
    s = run.stats()
    assert s["nodes"] == 4
    assert s["max_depth"] == 2
    assert s["mean_depth"] == pytest.approx((0 + 1 + 1 + 2) / 4)
    assert s["mean_leaf_depth"] == pytest.approx(1.5)
    assert s["mean_branching"] == pytest.approx((2 + 1) / 2)
    assert s["placeholder_calls"] == 3
    assert s["primitive_calls"] == 5
    assert s["placeholder_ratio"] == pytest.approx(3 / 8, abs=1e-4)
    assert s["primitives"] == {"add": 3, "act": 2}
    assert s["by_status"] == {"done": 4}
    assert s["per_depth"] == [1, 2, 1]
    assert s["llm_calls"] == 4
    assert s["mean_steps"] == pytest.approx((3 + 1 + 2 + 2) / 4)


def test_single_node_and_plan_without_steps():
    s = run_stats(Run("t"))
    got = (s["nodes"], s["max_depth"], s["mean_branching"], s["placeholder_ratio"])
    assert got == (1, 0, 0.0, 0.0)
    run = Run("t")
    run.new_node("a", "a()", parent=run.root)
    run.new_node("b", "b()", parent=run.root)
    assert run_stats(run)["placeholder_calls"] == 2  # no steps: counted from the tree


def test_format_stats_lines():
    text = format_stats(run_stats(Run("t")))
    assert text.splitlines()[0] == "nodes              1"
    assert "nodes per depth    0:1" in text
    assert "placeholder ratio  0.00" in text


def test_plot_depths():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    ax = plot_depths(run_stats(Run("t")))
    assert ax.get_xlabel() == "depth"
