"""recode_magic.steer: regenerate, edit, fork, switch, rollback, continuation (engine level)."""

from __future__ import annotations

import json

import pytest

from recode_magic import ReCode, ScriptedLLM, load_run
from recode_magic.errors import ConfigError, FormatError, ResumeError
from recode_magic.render import render_html, render_text
from recode_magic.steer import HINT_PREFIX, edit, regenerate, rerun, switch, watch
from tests.conftest import reply


def _engine(replies: dict, ns: dict | None = None) -> tuple[ReCode, ScriptedLLM]:
    llm = ScriptedLLM(replies)
    engine = ReCode(llm, namespace=ns)
    watch(engine)
    return engine, llm


def _counter_ns() -> dict:
    calls: list[int] = []

    def beep(x):
        """A primitive that counts its calls."""
        calls.append(x)
        return x

    return {"beep": beep, "calls": calls}


def test_regenerate_with_hint_forks_and_reruns_the_subtree():
    ns = _counter_ns()
    engine, llm = _engine({
        "solve": reply("total = 0\ntotal = add_some(total)\nlast = beep(total)"),
        "add_some": [reply("total = add_five(total)"), reply("total = total + 1")],
        "add_five": reply("total = beep(total + 5)"),
    }, ns)
    run = engine.run("add")
    assert run.status == "done" and ns["total"] == 5 and ns["calls"] == [5, 5]
    node = run.root.children[0]
    old_child = node.children[0]
    run = regenerate(run, node, hint="just add one")
    assert run.status == "done"
    # rolled back to 0 (the value when add_some started), then + 1: not 5 + 1
    assert ns["total"] == 1
    assert HINT_PREFIX + "just add one" in llm.calls[-1]
    assert [a.id for a in node.alternatives] == ["a0", "a1"] and node.current == "a1"
    a0, a1 = node.alternatives
    assert a0.code == "total = add_five(total)" and a0.children[0].name == "add_five"
    assert a0.llm_calls == 2 and a1.llm_calls == 1 and node.children == []
    assert a1.label == "regenerate: just add one"
    # the forked-away subtree left the run's index; later siblings were not run again
    assert old_child.id not in {n.id for n in run.nodes()}
    assert ns["calls"] == [5, 5] and ns["last"] == 5


def test_switch_back_and_forth_keeps_ids_unique():
    engine, _ = _engine({"solve": reply("x = step(1)"),
                         "step": [reply("x = inner(1)"), reply("x = other(2)")],
                         "inner": reply("x = 1"), "other": reply("x = 2")})
    run = engine.run("t")
    node = run.root.children[0]
    regenerate(run, node)
    new_ids = {n.id for n in run.nodes()}
    switch(run, node, "a0")
    assert node.code == "x = inner(1)" and node.children[0].name == "inner"
    assert node.current == "a0" and node.alternatives[1].children[0].name == "other"
    old_ids = {n.id for n in run.nodes()}
    assert len(new_ids | old_ids) == len(new_ids) + len(old_ids) - 2  # only solve, step shared
    switch(run, node, "a1")
    assert node.children[0].name == "other" and {n.id for n in run.nodes()} == new_ids
    with pytest.raises(ConfigError, match="no alternative 'a9'"):
        switch(run, node, "a9")


def test_edit_runs_hand_written_code_and_refuses_bad_code_before_any_change():
    ns = _counter_ns()
    engine, llm = _engine({"solve": reply("y = compute(3)"), "compute": reply("y = 3 * 3"),
                           "halve": reply("y = y / 2")}, ns)
    run = engine.run("t")
    node = run.root.children[0]
    with pytest.raises(FormatError):
        edit(run, node, "y = (")
    assert node.alternatives == [] and ns["y"] == 9
    calls = len(llm.calls)
    edit(run, node, "y = beep(4)\ny = halve(y)")
    assert ns["y"] == 2 and ns["calls"] == [4]
    assert len(llm.calls) == calls + 1  # only the new placeholder asked the model
    assert node.thought == "(edited by hand)" and node.alternatives[1].label == "edit"
    rerun(run, node)  # same code again: the primitive is called again
    assert ns["calls"] == [4, 4] and len(node.alternatives) == 3


def test_rollback_removes_names_the_subtree_created():
    engine, _ = _engine({"solve": reply("r = make(1)"),
                         "make": [reply("tmp = 41\nr = tmp + 1"), reply("r = 7")]})
    run = engine.run("t")
    assert run.namespace["tmp"] == 41
    regenerate(run, run.root.children[0])
    assert "tmp" not in run.namespace and run.namespace["r"] == 7


def test_an_errored_run_continues_after_the_regenerated_node():
    engine, llm = _engine({
        "solve": reply("a = first(task)\nb = second(a)"),
        "first": [reply("a = 1 / 0"), reply("a = 20")],
        "second": reply("b = a + 1"),
    })
    engine.settings = engine.settings.with_(max_retry=0)
    run = engine.run("t")
    assert run.status == "error"
    node = next(n for n in run.nodes() if n.name == "first")
    regenerate(run, node)
    assert run.status == "done", run.error
    assert run.namespace["b"] == 21
    assert [n.name for n in run.nodes()] == ["solve", "first", "second"]
    assert run.root.status == "done"


def test_json_load_render_carry_alternatives(tmp_path):
    engine, _ = _engine({"solve": reply("x = step(1)"),
                         "step": [reply("x = inner(1)"), reply("x = 5")],
                         "inner": reply("x = 1")})
    run = engine.run("t")
    node = run.root.children[0]
    regenerate(run, node)
    path = run.save(tmp_path / "run.json")
    data = json.loads(path.read_text())
    alts = data["nodes"][node.id]["alternatives"]
    assert [a["id"] for a in alts] == ["a0", "a1"] and data["nodes"][node.id]["current"] == "a1"
    assert alts[0]["subtree"]["nodes"][alts[0]["subtree"]["root_id"]]["code"] == "x = inner(1)"
    loaded = load_run(path)
    lnode = loaded.node(node.id)
    assert lnode.current == "a1" and lnode.alternatives[0].children[0].name == "inner"
    switch(loaded, lnode, "a0")
    assert lnode.children[0].name == "inner"
    assert "alternatives" in render_text(loaded) and "recode-alt" in render_html(loaded)
    with pytest.raises(ResumeError, match="cannot be re-run"):
        regenerate(loaded, lnode)


def test_regenerate_with_another_model_and_bad_hint():
    engine, llm = _engine({"solve": reply("x = step(1)"), "step": reply("x = 1")})
    run = engine.run("t")
    other = ScriptedLLM({"step": reply("x = 2")}, model="other-model")
    regenerate(run, "1", llm=other)
    assert run.namespace["x"] == 2 and len(other.calls) == 1
    assert run.node("1").alternatives[1].model == "other-model"
    assert run.state.llm is llm  # the run keeps its own model afterwards
    with pytest.raises(ConfigError, match="one non-empty line"):
        regenerate(run, "1", hint="two\nlines")
    with pytest.raises(ConfigError, match="no node '9'"):
        regenerate(run, "9")
