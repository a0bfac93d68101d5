"""Export round trip: the exported program replays the run's primitive calls and variables."""

from __future__ import annotations

import types

import pytest
from conftest import reply as X

from recode_magic import ReCode, ScriptedLLM
from recode_magic.runs.export import export_run


def make_primitives(log: list) -> dict:
    def add(a, b):
        """Add two numbers."""
        log.append(("add", a, b))
        return a + b

    def act(name):
        """Do an action."""
        log.append(("act", name))
        print("did", name)
        return f"did {name}"

    def boom(x):
        """Fail on negative input."""
        log.append(("boom", x))
        if x < 0:
            raise ValueError("negative")
        return x * 2

    return {"add": add, "act": act, "boom": boom}


def variables(ns: dict) -> dict:
    return {k: v for k, v in ns.items()
            if not k.startswith("__") and not isinstance(v, (types.FunctionType, types.ModuleType))}


SCRIPTS = {
    "flat": {"solve": X("x = add(1, 2)\nact('a')")},
    "nested_kwargs": {
        "solve": X("a = first_part(task)\nb = second_part(a, scale=3)\nact('end')"),
        "first_part": X("act('p1')\na = leaf_one(k=2)"),
        "leaf_one": X("a = add(k, 1)"),
        "second_part": X("tmp = add(a, scale)\nb = add(tmp, 10)"),
    },
    "same_name_twice": {
        "solve": X("x = inc(task)\ny = twice(x)\nz = inc(y)"),
        "inc": ["<execute>x = add(len(task), 1)</execute>", "<execute>z = add(y, 1)</execute>"],
        "twice": X("y = add(x, x)"),
    },
    "tuple_targets_and_reassign": {
        "solve": X("lo, hi = bounds(task)\nlo = shrink(lo, hi)\nact(str(lo))"),
        "bounds": X("lo = add(0, 1)\nhi = add(lo, 5)"),
        "shrink": X("lo = add(lo, hi)\nhi = add(hi, -1)"),
    },
    "multiline_string": {
        "solve": X('msg = """two\nlines"""\nout = shout(msg)'),
        "shout": X('out = act(msg + """\nend""")'),
    },
    "repair": {
        "solve": ["<execute>y = boom(-1)</execute>", "<execute>y = boom(4)</execute>"],
    },
}


@pytest.mark.parametrize("style", ["functions", "inline"])
@pytest.mark.parametrize("case", sorted(SCRIPTS))
def test_round_trip(case, style):
    log: list = []
    ns = make_primitives(log)
    run = ReCode(ScriptedLLM(SCRIPTS[case]), namespace=ns).run("task text")
    assert run.status == "done", run.error
    src = export_run(run, style=style)
    compile(src, "<export>", "exec")
    run_calls = [c for c in log if not (case == "repair" and c == ("boom", -1))]
    log.clear()
    fresh = make_primitives(log)
    exec(src, fresh)
    assert log == run_calls
    assert variables(fresh) == variables(ns)


def test_functions_style_shape():
    ns = make_primitives([])
    run = ReCode(ScriptedLLM(SCRIPTS["nested_kwargs"]), namespace=ns).run("t")
    src = run.export()
    assert "def first_part(task):" in src
    assert "def leaf_one(k):" in src
    assert "def second_part(a, scale):" in src
    assert "    return b\n" in src
    assert src.startswith('"""Replay of a ReCode run: t')
    assert "\ntask = 't'\n" in src
    assert src.rstrip().endswith("solve(task)")


def test_same_name_expanded_differently_gets_two_defs():
    ns = make_primitives([])
    run = ReCode(ScriptedLLM(SCRIPTS["same_name_twice"]), namespace=ns).run("abc")
    src = run.export()
    assert "def inc(task):" in src and "def inc_2(y):" in src
    assert "z = inc_2(y)" in src


def test_inputs_and_output_set_at_top():
    log: list = []
    ns = make_primitives(log)
    ns["n"] = 5
    llm = ScriptedLLM({"solve": X("res = bump(n)"), "bump": X("res = add(n, 1)")})
    run = ReCode(llm, namespace=ns).run("bump n", inputs={"n": 5}, output="res")
    assert run.status == "done", run.error
    src = run.export()
    assert "\nn = 5\n" in src
    assert "res = solve(task, n)" in src
    fresh = make_primitives([])
    exec(src, fresh)
    assert fresh["res"] == 6


def test_skipped_placeholder_is_a_comment():
    ns = make_primitives([])
    llm = ScriptedLLM({"solve": X("nothing(k=1)\nx = add(1, 1)"), "nothing": "<execute></execute>"})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done", run.error
    src = run.export()
    assert "# nothing(k=1)  (skipped" in src
    fresh = make_primitives([])
    exec(src, fresh)
    assert fresh["k"] == 1 and fresh["x"] == 2


def test_unknown_style():
    ns = make_primitives([])
    run = ReCode(ScriptedLLM(SCRIPTS["flat"]), namespace=ns).run("t")
    with pytest.raises(ValueError, match="unknown export style: 'x'"):
        export_run(run, style="x")
