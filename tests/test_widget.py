"""The call-tree widget: synced JSON, coalesced updates, fallbacks, display_run."""

from __future__ import annotations

import json
import time

import pytest

from recode_magic import ReCode, ScriptedLLM
from recode_magic.render import render_text
from recode_magic.tree import Run
from recode_magic.widget import ReCodeWidget, display_run, tree_json


def X(code: str, thought: str = "t") -> str:
    return f"<think>{thought}</think><execute>{code}</execute>"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def capture(widget: ReCodeWidget) -> list[dict]:
    """Record every state update the widget sends to the front-end."""
    sent: list[dict] = []

    def fake_send(msg, buffers=None):
        if msg.get("method") == "update":
            sent.append(msg["state"])

    widget._send = fake_send
    return sent


def engine_run(widget: ReCodeWidget | None = None):
    ns = {"add": lambda a, b: a + b}
    llm = ScriptedLLM({"solve": X("x = step_one(task)\nprint(x)", "plan"),
                       "step_one": X("x = add(1, 2)", "just add")})
    engine = ReCode(llm, namespace=ns)
    if widget is not None:
        widget.attach(engine)
    return engine.run("add one and two")


def test_synced_json_after_a_run():
    w = ReCodeWidget(trailing=False)
    sent = capture(w)
    run = engine_run(w)
    tree = w.tree
    assert tree["run"]["status"] == "done" and w.status == "done"
    assert tree["run"]["n"] == 2 and tree["run"]["llm_calls"] == 2
    assert tree["run"]["counts"] == {"done": 2}
    assert tree["run"]["stats"]["max_depth"] == 1
    assert tree["run"]["text"] == render_text(run, header=False)
    root, child = tree["nodes"]
    assert (root["id"], root["parent"], root["children"]) == ("0", None, ["1"])
    assert root["thought"] == "plan" and root["code"] == "x = step_one(task)\nprint(x)"
    assert [s["kind"] for s in root["steps"]] == ["placeholder", "code"]
    assert root["steps"][0]["child"] == "1" and root["steps"][1]["stdout"] == "3\n"
    assert child == {**child, "name": "step_one", "call": "x = step_one(task)", "depth": 1,
                     "status": "done", "code": "x = add(1, 2)", "error": None}
    assert child["steps"][0]["primitives"] == ["add"]
    assert "def step_one(task):" in w.code
    assert sent[-1]["tree"] == json.loads(json.dumps(tree))
    assert tree == {**tree_json(run), "run": {**tree_json(run)["run"], **tree["run"]}}


def test_burst_of_1000_nodes_is_coalesced():
    run = Run("burst")
    run.status, run.started = "running", time.time()
    w = ReCodeWidget(trailing=False)
    sent = capture(w)
    w.on_event("run_start", run, None)
    parent = run.root
    t0 = time.perf_counter()
    for i in range(1000):
        node = run.new_node(f"s{i}", f"x{i} = s{i}(task)",
                            parent=run.root if i % 10 == 0 else parent)
        parent = node if i % 10 == 0 else parent
        w.on_event("node", run, node)
        node.status, node.code = "done", f"x{i} = add({i}, 1)"
        w.on_event("node", run, node)
    burst = time.perf_counter() - t0
    run.status, run.ended = "done", time.time()
    w.on_event("run_end", run, None)
    # at most one send per 50 ms of burst, plus run_start and run_end
    assert len(sent) <= 2 + burst / 0.05 + 1, (len(sent), burst)
    final = sent[-1]["tree"]
    assert final["run"]["status"] == "done" and len(final["nodes"]) == 1001
    assert all(n["status"] == "done" for n in final["nodes"][1:])


def test_at_most_20_updates_a_second_on_a_long_run():
    clock = Clock()
    run = Run("slow")
    run.status = "running"
    w = ReCodeWidget(trailing=False, clock=clock)
    sent = capture(w)
    w.on_event("run_start", run, None)
    for i in range(1000):  # 1,000 nodes over 10 simulated seconds, 2 events each
        node = run.new_node(f"s{i}", f"s{i}()", parent=run.root)
        clock.t += 0.005
        w.on_event("node", run, node)
        node.status = "done"
        clock.t += 0.005
        w.on_event("node", run, node)
    run.status = "done"
    w.on_event("run_end", run, None)
    # the interval may grow above 50 ms when serialising gets slow, never shrink below it
    assert 20 <= len(sent) <= 10 * 20 + 2
    assert sent[-1]["tree"]["run"]["counts"] == {"done": 1000, "pending": 1}


def test_trailing_update_when_events_stop():
    run = Run("quiet")
    run.status = "running"
    w = ReCodeWidget(interval=0.05)
    sent = capture(w)
    w.on_event("run_start", run, None)
    node = run.new_node("a", "a()", parent=run.root)
    w.on_event("node", run, node)  # within 50 ms of run_start: deferred
    assert len(sent) == 1
    deadline = time.time() + 2
    while len(sent) < 2 and time.time() < deadline:
        time.sleep(0.01)
    assert len(sent) == 2 and len(sent[1]["tree"]["nodes"]) == 2


def test_mimebundle_carries_static_fallbacks():
    w = ReCodeWidget(trailing=False)
    run = engine_run(w)
    data = w._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert data["text/plain"] == render_text(run)
    assert "<script" not in data["text/html"].lower()
    assert "x = step_one(task)" in data["text/html"]
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id


def test_front_end_requests_graph_and_export():
    w = ReCodeWidget(trailing=False)
    engine_run(w)
    w._on_front_msg(w, {"type": "export", "style": "inline"}, [])
    assert "x = add(1, 2)" in w.code and "def " not in w.code
    w._on_front_msg(w, {"type": "graph"}, [])
    assert ("<svg" in w.graph_svg) != bool(w.graph_error)


def test_a_failing_view_warns_and_the_run_goes_on(monkeypatch):
    w = ReCodeWidget(trailing=False)
    monkeypatch.setattr(w, "_flush", lambda final=False: 1 / 0)
    with pytest.warns(RuntimeWarning, match="widget update failed: ZeroDivisionError"):
        run = engine_run(w)
    assert run.status == "done"


def test_display_run_without_kernel_prints_text(capsys):
    run = engine_run()
    capsys.readouterr()
    assert display_run(run) is None
    assert capsys.readouterr().out == render_text(run) + "\n"
    ns = {"add": lambda a, b: a + b}
    engine = ReCode(ScriptedLLM({"solve": X("y = add(2, 2)")}), namespace=ns)
    assert display_run(engine=engine) is None
    assert capsys.readouterr().out == ""
    run = engine.run("t")
    assert capsys.readouterr().out.endswith(render_text(run) + "\n")


def test_widget_shows_a_loaded_run():
    run = engine_run()
    from recode_magic import load_run
    w = ReCodeWidget(load_run(run.to_dict()), trailing=False)
    assert [n["name"] for n in w.tree["nodes"]] == ["solve", "step_one"]
    assert w.status == "done"
