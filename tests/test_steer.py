"""steering.steer: regenerate, edit, fork, switch, rollback, continuation (engine level)."""

from __future__ import annotations

import json

import pytest

from recode_magic import ReCode, ScriptedLLM, load_run
from recode_magic.errors import ConfigError, FormatError, ResumeError
from recode_magic.notebook.render import render_html, render_text
from recode_magic.steering.steer import HINT_PREFIX, edit, regenerate, rerun, switch, watch
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


# -- promote, training pairs, compare ---------------------------------------------------------
def _tea_replies() -> dict:
    return {"solve": reply("cup = make_tea(task)"),
            "make_tea": reply("water = heat(task)\ncup = serve(water, size=2)",
                              "Heat water, then serve it."),
            "heat": reply("water = boil('water')"),
            "serve": reply("cup = pour(water) * size")}


def _tea_ns() -> dict:
    def boil(x):
        """Boil."""
        return f"hot {x}"

    def pour(x):
        """Pour."""
        return f"[{x}]"

    return {"__name__": "__main__", "boil": boil, "pour": pour}


def test_promoted_function_is_a_primitive_of_a_later_run_with_fewer_calls():
    from recode_magic.steering.promote import promote_source

    ns = _tea_ns()
    first = ReCode(ScriptedLLM(_tea_replies()), namespace=ns).run("tea for Ann")
    source = promote_source(first.root.children[0], "brew")
    assert source.startswith('def brew(task):\n    """Heat water, then serve it."""')
    assert "size = 2" in source and source.rstrip().endswith("return cup")
    ns = _tea_ns()  # a later session: the notebook holds the promoted cell
    exec(compile(source, "<cell>", "exec"), ns)  # what running the new cell does
    without = ReCode(ScriptedLLM(_tea_replies()), namespace=dict(_tea_ns())).run("tea for Bob")
    replies = {**_tea_replies(), "solve": reply("cup = brew(task)")}
    llm = ScriptedLLM(replies)
    later = ReCode(llm, namespace=ns).run("tea for Bob")
    assert later.status == "done" and ns["cup"] == "[hot water][hot water]"
    assert "brew(task)" in llm.calls[0]  # listed as a primitive in the prompt
    assert (later.llm_calls, without.llm_calls) == (1, 4)


def test_promote_keep_calls_and_refusals():
    from recode_magic.errors import ConfigError as CE
    from recode_magic.steering.promote import promote_source

    run = ReCode(ScriptedLLM(_tea_replies()), namespace=_tea_ns()).run("t")
    text = promote_source(run.root.children[0], inline=False)
    assert [line for line in text.splitlines() if line.startswith("def ")] == [
        "def serve(water, size):", "def heat(task):", "def make_tea(task):"]
    assert "cup = serve(water, size=2)" in text
    with pytest.raises(CE, match="identifier"):
        promote_source(run.root, "not a name")
    run.root.children[0].status = "error"
    with pytest.raises(CE, match="only a node that ended 'done'"):
        promote_source(run.root.children[0])


def test_training_pairs_every_level_and_human_edits(tmp_path):
    from recode_magic.steering.promote import write_pairs

    engine, _ = _engine(_tea_replies(), _tea_ns())
    run = engine.run("t")
    pairs = run.to_training_pairs()
    assert [(p["name"], p["depth"], p["source"]) for p in pairs] == [
        ("solve", 0, "model"), ("make_tea", 1, "model"), ("heat", 2, "model"),
        ("serve", 2, "model")]
    assert pairs[2]["reply"] == reply("water = boil('water')")
    assert "water = heat(task)" in pairs[2]["prompt"]
    edit(run, "3", "cup = pour(water)")
    human = [p for p in run.to_training_pairs() if p["source"] == "human"]
    assert [h["name"] for h in human] == ["serve"] and "cup = serve(water" in human[0]["prompt"]
    assert write_pairs(run, tmp_path / "p.jsonl") == 4
    run.root.children[0].children[0].status = "error"
    assert [p["name"] for p in run.to_training_pairs()] == ["solve", "make_tea", "serve"]


def test_compare_two_depths_and_two_alternatives():
    from recode_magic.steering.compare import compare

    flat = ReCode(ScriptedLLM({"solve": reply("cup = pour(boil('water'))")}),
                  namespace=_tea_ns()).run("t")
    deep = ReCode(ScriptedLLM(_tea_replies()), namespace=_tea_ns()).run("t")
    c = compare(flat, deep, labels=("flat", "deep"))
    assert c.stats["max depth"] == (0, 2) and c.stats["model calls"] == (1, 4)
    assert c.stats["placeholder ratio"][0] == 0 and c.stats["placeholder ratio"][1] > 0
    assert [(r.depth, r.a and r.a.name, r.b and r.b.name) for r in c.rows] == [
        (0, "solve", "solve"), (1, None, "make_tea"), (2, None, "heat"), (2, None, "serve")]
    text, html = str(c), c._repr_html_()
    assert "flat" in text and "mean branching" in text and "make_tea" in text
    assert "<table" in html and "make_tea" in html
    engine, _ = _engine({**_tea_replies(), "make_tea": [
        reply("water = heat(task)\ncup = serve(water, size=2)"), reply("cup = pour('x')")]},
        _tea_ns())
    run = engine.run("t")
    regenerate(run, "1")
    a0, a1 = run.node("1").alternatives
    c = compare(a0, a1)
    assert c.stats["model calls"] == (3, 1) and c.stats["nodes"] == (3, 1)
    assert "-water = heat(task)" in c.diff and "+cup = pour('x')" in c.diff


def test_regenerate_the_root_and_a_node_on_the_stack_of_a_limited_run():
    engine, _ = _engine({"solve": [reply("a = one(1)\nb = two(a)"), reply("a = 5\nb = 6")],
                         "one": reply("a = 1"), "two": reply("b = a + 1")})
    engine.settings = engine.settings.with_(max_depth=1)
    run = engine.run("t")
    assert run.status == "limit" and run.root.children[0].status == "stub"
    stub = run.root.children[0]
    regenerate(run, stub)  # on the stack: it is expanded, then the root goes on like resume
    assert stub.status == "done" and run.namespace["a"] == 1
    assert run.status == "limit" and [n.name for n in run.nodes()] == ["solve", "one", "two"]
    regenerate(run, run.root)
    assert run.status == "done" and (run.namespace["a"], run.namespace["b"]) == (5, 6)
    assert [n.name for n in run.nodes()] == ["solve"] and run.root.current == "a1"
    assert len(run.root.alternatives[0].children) == 2


def test_an_edited_root_records_the_prompt_the_model_is_shown():
    llm = ScriptedLLM({"solve": reply("x = 1")})
    engine = ReCode(llm)
    run = engine.run("Set x to two.")
    edit(run, run.root, "x = 2")
    assert run.namespace["x"] == 2
    assert run.root.prompt == llm.calls[0]  # the same layout: the task as text above its call
    assert "Task:\nSet x to two.\n" in run.root.prompt
