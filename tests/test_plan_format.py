"""Our JSON format and the reference's ``recode.plan.v1``: round trips, and shown in the widget."""

from __future__ import annotations

import json

from conftest import reply as X

from recode_magic import ReCode, ScriptedLLM, load_run
from recode_magic.notebook.render import render_text
from recode_magic.notebook.widget import ReCodeWidget

PLAN_V1 = {  # the reference's shape: one node per statement, placeholders have children
    "version": "recode.plan.v1",
    "meta": {"instruction": "put a clean mug in the coffee machine", "env": "alfworld"},
    "root_id": "n0",
    "nodes": {
        "n0": {"code": "solve(instruction, observation)", "thought": "two steps",
               "status": "COMPLETED", "depth": 0, "observations": [], "error": None},
        "n1": {"code": "mug = find_and_clean('mug')", "thought": "find it first",
               "status": "COMPLETED", "depth": 1, "observations": [], "error": None},
        "n3": {"code": "run('take mug 1 from countertop 1')", "thought": None,
               "status": "COMPLETED", "depth": 2,
               "observations": ["You pick up the mug 1."], "error": None},
        "n4": {"code": "mug = 'mug 1'", "thought": None, "status": "COMPLETED", "depth": 2,
               "observations": [], "error": None},
        "n2": {"code": "put_in(mug, 'coffeemachine 1')", "thought": None, "status": "ERROR",
               "depth": 1, "observations": [], "error": "NameError: name 'put_in' is not defined"},
    },
    "edges": [["n0", "n1"], ["n1", "n3"], ["n1", "n4"], ["n0", "n2"]],
}


def engine_run():
    ns = {"add": lambda a, b: a + b}
    llm = ScriptedLLM({"solve": X("x = step_one(task)\nprint(x)"),
                       "step_one": X("x = add(1, 2)")})
    return ReCode(llm, namespace=ns).run("add")


def test_ours_round_trips_exactly(tmp_path):
    run = engine_run()
    data = run.to_dict()
    assert data["version"] == "recode_magic.run.v1"
    again = load_run(json.loads(json.dumps(data)))
    assert again.to_dict() == data
    path = run.save(tmp_path / "run.json")
    assert load_run(path).to_dict() == data
    assert render_text(again) == render_text(run)
    assert again.export() == run.export()


def test_ours_carries_plan_v1_fields():
    data = engine_run().to_dict()
    assert set(data) >= {"version", "meta", "root_id", "nodes", "edges"}
    for node in data["nodes"].values():
        assert set(node) >= {"code", "thought", "status", "depth", "observations", "error"}
        assert node["status"] in {"PENDING", "COMPLETED", "STUB", "ERROR", "SKIP"}
    assert data["edges"] == [["0", "1"]]


def test_plan_v1_loads_statements_as_steps():
    run = load_run(PLAN_V1)
    assert run.task == "put a clean mug in the coffee machine"
    assert [(n.name, n.status, n.depth) for n in run.nodes()] == [
        ("solve", "done", 0), ("find_and_clean", "done", 1)]
    root, child = run.nodes()
    assert [(s.kind, s.error is not None) for s in root.steps] == [
        ("placeholder", False), ("code", True)]
    assert child.stdout == "You pick up the mug 1."
    stats = run.stats()
    assert stats["nodes"] == 2 and stats["max_depth"] == 1 and stats["placeholder_calls"] == 1


def test_plan_v1_round_trip_from_an_engine_run():
    run = engine_run()
    plan = json.loads(json.dumps(run.to_plan_v1()))
    again = load_run(plan)
    assert again.to_plan_v1()["nodes"] == plan["nodes"]
    assert again.to_plan_v1()["edges"] == plan["edges"]
    assert [(n.name, n.status, n.call) for n in again.nodes()] == [
        (n.name, n.status, n.call) for n in run.nodes()]
    assert render_text(again, header=False) == render_text(run, header=False)
    ns = {"add": lambda a, b: a + b}
    exec(again.export(), ns)
    assert ns["x"] == 3


def test_plan_v1_in_widget_and_static_views():
    run = load_run(PLAN_V1)
    w = ReCodeWidget(run, trailing=False)
    nodes = w.tree["nodes"]
    assert [n["name"] for n in nodes] == ["solve", "find_and_clean"]
    assert [s["kind"] for s in nodes[0]["steps"]] == ["placeholder", "code"]
    assert nodes[1]["code"] == "run('take mug 1 from countertop 1')\nmug = 'mug 1'"
    data = w._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert "find_and_clean" in data["text/plain"] and "find_and_clean" in data["text/html"]
    src = run.export()
    compile(src, "<export>", "exec")
    assert "def find_and_clean(_arg0):" in src
    ns = {"run": lambda action: None}
    exec(src, ns)
    assert ns["mug"] == "mug 1" and ns["instruction"] == ns["task"]
    assert "put_in" not in src.split('"""', 2)[2]  # the failed statement is not replayed
