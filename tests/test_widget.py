"""The call-tree widget: synced JSON, coalesced updates, fallbacks, display_run."""

from __future__ import annotations

import json
import time

import pytest

from recode_magic import ReCode, ScriptedLLM
from recode_magic.notebook.display import display_run
from recode_magic.notebook.render import render_text
from recode_magic.notebook.widget import ReCodeWidget, tree_json
from recode_magic.runs.run import Run


def X(code: str, thought: str = "t") -> str:
    return f"<think>{thought}</think><execute>{code}</execute>"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def capture(widget: ReCodeWidget) -> list[dict]:
    """Record every custom message (patches, snapshots, action results) the widget sends."""
    sent: list[dict] = []

    def fake_send(msg, buffers=None):
        if msg.get("method") == "custom":
            sent.append(json.loads(json.dumps(msg["content"], default=repr)))

    widget._send = fake_send
    return sent


def apply(obj: dict, d: dict) -> dict:
    """What tree.js does with one delta (kept in step with its ``apply``)."""
    out = dict(obj)
    for k, v in d.items():
        if k == "-":
            for gone in v:
                out.pop(gone, None)
        elif k[0] == "+":
            out[k[1:]] = out.get(k[1:], "") + v
        elif k[0] == "@":
            out[k[1:]] = out.get(k[1:], [])[: v[0]] + v[1]
        else:
            out[k] = v
    return out


class View:
    """A front-end replica: applies patches in order, asks for a snapshot on a gap."""

    def __init__(self, snapshot: dict) -> None:
        self.seq, self.run = snapshot["seq"], snapshot["run"]
        self.nodes = {n["id"]: n for n in snapshot["nodes"]}
        self.asked = False

    def feed(self, msgs: list[dict]) -> View:
        for m in msgs:
            if m["kind"] == "snapshot":
                self.__init__(m)
            elif m["kind"] == "patch" and m["seq"] > self.seq:
                if m.get("reset"):
                    self.run, self.nodes = {}, {}
                elif m["seq"] != self.seq + 1:
                    self.asked = True
                    continue
                self.seq = m["seq"]
                self.run = apply(self.run, m["run"])
                for i, d in m["nodes"].items():
                    self.nodes[i] = apply(self.nodes.get(i, {}), d)
                for i in m.get("drop", []):
                    del self.nodes[i]
        return self

    def state(self) -> dict:
        return {"seq": self.seq, "run": self.run, "nodes": self.nodes}


def as_view(widget: ReCodeWidget) -> dict:
    st = json.loads(json.dumps(widget.state(), default=repr))
    return {**st, "nodes": {n["id"]: n for n in st["nodes"]}}


def engine_run(widget: ReCodeWidget | None = None):
    ns = {"add": lambda a, b: a + b}
    llm = ScriptedLLM({"solve": X("x = step_one(task)\nprint(x)", "plan"),
                       "step_one": X("x = add(1, 2)", "just add")})
    engine = ReCode(llm, namespace=ns)
    if widget is not None:
        widget.attach(engine)
    return engine.run("add one and two")


def test_patches_rebuild_the_tree_after_a_run():
    w = ReCodeWidget(trailing=False)
    sent = capture(w)
    run = engine_run(w)
    view = View({"seq": 0, "run": {}, "nodes": []}).feed(sent)
    assert view.state() == as_view(w) and not view.asked
    assert [m["seq"] for m in sent] == list(range(1, len(sent) + 1))
    assert sent[0]["reset"] is True
    tree = view.state()
    assert tree["run"]["status"] == "done" and w.status == "done"
    assert tree["run"]["n"] == 2 and tree["run"]["llm_calls"] == 2
    assert tree["run"]["counts"] == {"done": 2}
    assert tree["run"]["stats"]["max_depth"] == 1
    root, child = tree["nodes"]["0"], tree["nodes"]["1"]
    assert ("parent" not in root, root["children"]) == (True, ["1"])  # empty values stay home
    assert root["thought"] == "plan" and root["code"] == "x = step_one(task)\nprint(x)"
    assert [s["kind"] for s in root["steps"]] == ["placeholder", "code"]
    assert root["steps"][0]["child"] == "1" and root["steps"][1]["stdout"] == "3\n"
    assert child == {**child, "name": "step_one", "call": "x = step_one(task)", "depth": 1,
                     "state": "done", "code": "x = add(1, 2)"}
    assert "error" not in child and "stdout" not in child
    assert "prompt" not in child and "reply" not in child
    assert child["steps"][0]["primitives"] == ["add"]
    assert "def step_one(task):" in w.code
    assert list(tree["nodes"].values()) == tree_json(run)["nodes"]


def test_a_patch_carries_only_what_changed():
    w = ReCodeWidget(trailing=False, keyframes=())
    sent = capture(w)
    engine_run(w)
    last = sent[-1]
    assert set(last["run"]) <= {"status", "ended", "elapsed", "counts", "stats", "llm_calls", "n",
                                "usage"}
    seen: set[str] = set()
    for m in sent:  # a node travels whole once, then only its changed fields
        for i, d in m["nodes"].items():
            assert ("id" in d) == (i not in seen), (m["seq"], i, d)
            seen.add(i)
    assert seen == {"0", "1"}


def test_late_view_gets_the_whole_state_once_then_patches():
    run = Run("late")
    run.status = "running"
    clock = Clock()
    w = ReCodeWidget(trailing=False, clock=clock, keyframes=())
    sent = capture(w)
    w.on_event("run_start", run, None)
    for i in range(5):
        clock.t += 1
        w.on_event("node", run, run.new_node(f"s{i}", f"s{i}()", parent=run.root))
    snap = json.loads(w.get_state()["snapshot"])   # what a second tab gets when it asks the kernel
    assert snap["seq"] == sent[-1]["seq"] and len(snap["nodes"]) == 6
    late = View(snap)
    mark = len(sent)
    node = run.new_node("s5", "s5()", parent=run.root)
    clock.t += 1
    w.on_event("node", run, node)
    node.stdout = "hello"
    clock.t += 1
    w.on_event("node", run, node)
    run.status = "done"
    w.on_event("run_end", run, None)
    early = View({"seq": 0, "run": {}, "nodes": []}).feed(sent)
    late.feed(sent[mark:])
    assert late.state() == early.state() == as_view(w) and not late.asked
    # a view that missed patches asks, and the snapshot message puts it right
    lost = View(json.loads(json.dumps(snap))).feed(sent[mark + 1:])
    assert lost.asked
    w._on_front_msg(w, {"type": "snapshot"}, [])
    assert sent[-1]["kind"] == "snapshot"
    assert lost.feed(sent[-1:]).state() == as_view(w)


def test_appended_output_travels_as_a_tail():
    run = Run("out")
    run.status = "running"
    clock = Clock()
    w = ReCodeWidget(trailing=False, clock=clock, keyframes=())
    sent = capture(w)
    w.on_event("run_start", run, None)
    run.root.stdout = "a" * 1000
    clock.t += 1
    w.on_event("node", run, run.root)
    run.root.stdout += "tail"
    clock.t += 1
    w.on_event("node", run, run.root)
    assert sent[-1]["nodes"]["0"] == {"+stdout": "tail"}


def test_values_leaving_the_kernel_are_clipped():
    big = list(range(3_000_000))
    w = ReCodeWidget(trailing=False)
    sent = capture(w)
    llm = ScriptedLLM({"solve": X("print(data)\nn = len(data)")})
    run = ReCode(llm, namespace={}).run("t" * 100_000, inputs={"data": big})
    w.set_run(run)
    size = sum(len(json.dumps(m)) for m in sent)
    assert w.status == "done" and size < 150_000, size
    assert len(json.loads(w.get_state()["snapshot"])["nodes"][0]["stdout"]) < 21_000
    assert w.sent_bytes >= size


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
    # at most one send per 50 ms of burst, plus run_start and run_end (+ keyframes)
    assert len(sent) <= 2 + 3 + burst / 0.05 + 1, (len(sent), burst)
    final = View({"seq": 0, "run": {}, "nodes": []}).feed(sent).state()
    assert final["run"]["status"] == "done" and len(final["nodes"]) == 1001
    assert all(n["state"] == "done" for i, n in final["nodes"].items() if i != "0")
    assert sum(len(json.dumps(m)) for m in sent) < 1_000_000


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
    final = View({"seq": 0, "run": {}, "nodes": []}).feed(sent).state()
    assert final["run"]["counts"] == {"done": 1000, "pending": 1}


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
    assert len(sent) == 2 and sorted(sent[1]["nodes"]) == ["0", "1"]
    assert sent[1]["nodes"]["0"] == {"@children": [0, ["1"]]} or sent[1]["nodes"]["0"] == {
        "children": ["1"]}


def test_mimebundle_carries_static_fallbacks():
    w = ReCodeWidget(trailing=False)
    run = engine_run(w)
    data = w._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert data["text/plain"] == render_text(run) + "\n"  # ends its line (plain-text views)
    assert "<script" not in data["text/html"].lower()
    assert "x = step_one(task)" in data["text/html"]
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id


def test_a_big_run_s_static_html_is_its_text_tree(monkeypatch):
    import recode_magic.notebook.widget_static as widget_mod

    monkeypatch.setattr(widget_mod, "HTML_FALLBACK_NODES", 1)
    w = ReCodeWidget(trailing=False)
    engine_run(w)                           # 2 nodes: over the (lowered) limit
    data = w._repr_mimebundle_()
    html = (data[0] if isinstance(data, tuple) else data)["text/html"]
    assert "<details" not in html and "2 nodes: the static copy is the text tree" in html
    assert "└── ✔ x = step_one(task)" in html and "<script" not in html.lower()
    monkeypatch.setattr(widget_mod, "HTML_FALLBACK_NODES", 2)   # at the limit: the HTML tree
    data = w._repr_mimebundle_()
    assert "<details" in (data[0] if isinstance(data, tuple) else data)["text/html"]


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
    snap = json.loads(w.get_state()["snapshot"])
    assert [n["name"] for n in snap["nodes"]] == ["solve", "step_one"]
    assert w.status == "done"


def test_action_messages_reach_on_action_and_the_view_hears_back(monkeypatch):
    import recode_magic.notebook.widget as widget_module
    monkeypatch.setattr(widget_module, "_DEFAULT_ACTIONS", [])  # no %load_ext handlers
    w = ReCodeWidget(trailing=False)
    sent = capture(w)
    engine_run(w)
    w._on_front_msg(w, {"action": "regenerate", "node": "1", "hint": "use add"}, [])
    assert sent[-1] == {"kind": "action_result", "action": "regenerate", "node": "1",
                        "ok": False,
                        "error": "regenerate is not available here (no handler registered)"}
    got: list[dict] = []
    w.on_action(got.append)
    for msg in ({"action": "regenerate", "node": "1", "hint": "use add"},
                {"action": "edit", "node": "1", "code": "x = 4"},
                {"action": "switch", "node": "1", "alternative": "a0"},
                {"action": "compare", "node": "1", "alternatives": ["a0", "a1"]}):
        w._on_front_msg(w, msg, [])
        assert sent[-1]["ok"] is True and sent[-1]["action"] == msg["action"]
    assert got[0] == {"action": "regenerate", "node": "1", "hint": "use add"}
    assert [m["action"] for m in got] == ["regenerate", "edit", "switch", "compare"]

    def broken(msg: dict) -> None:
        raise KeyError("no node 9")
    w.on_action(got.append, remove=True)
    w.on_action(broken)
    w._on_front_msg(w, {"action": "edit", "node": "9", "code": ""}, [])
    assert sent[-1]["ok"] is False and sent[-1]["error"] == "KeyError: 'no node 9'"
    w._on_front_msg(w, {"action": "frobnicate", "node": "1"}, [])
    assert sent[-1]["error"].startswith("unknown action: 'frobnicate' (must be one of")


def test_a_handler_registered_for_every_widget_gets_the_widget(monkeypatch):
    import recode_magic.notebook.widget as widget_module
    monkeypatch.setattr(widget_module, "_DEFAULT_ACTIONS", [])
    got: list[tuple] = []
    widget_module.register_action_handler(lambda widget, msg: got.append((widget, msg)))
    w = ReCodeWidget(trailing=False)
    sent = capture(w)
    w._on_front_msg(w, {"action": "promote", "node": "1"}, [])
    assert got == [(w, {"action": "promote", "node": "1"})] and sent[-1]["ok"] is True


def test_alternatives_travel_and_show_in_fallbacks():
    w = ReCodeWidget(trailing=False)
    run = engine_run()
    node = run.root.children[0]
    node.alternatives = [
        {"id": "a0", "label": "first try", "status": "error", "llm_calls": 1,
         "usage": {"input_tokens": 100, "output_tokens": 20}, "code": "x = add(1, 1)"},
        {"id": "a1", "label": "with hint", "status": "done", "llm_calls": 2, "tokens": 250,
         "code": "x = add(1, 2)", "current": True}]
    sent = capture(w)
    w.set_run(run)
    d = View({"seq": 0, "run": {}, "nodes": []}).feed(sent).nodes["1"]
    assert d["current"] == "a1"
    assert d["alternatives"][0] == {"id": "a0", "label": "first try", "status": "error",
                                    "llm_calls": 1, "tokens": 120, "code": "x = add(1, 1)"}
    assert d["alternatives"][1]["tokens"] == 250
    assert render_text(run, header=False).splitlines()[1] == (
        "└── ✔ x = step_one(task)  [2 alternatives: first try, with hint●]")
    assert render_text(run, ascii=True, header=False).splitlines()[1].endswith(
        "[2 alternatives: first try, with hint*]")
    data = w._repr_mimebundle_()
    html = (data[0] if isinstance(data, tuple) else data)["text/html"]
    assert 'data-alt="a0"' in html and "with hint</code> <b>(current)</b>" in html
    assert "x = add(1, 1)" in html
    assert "alternatives" not in View({"seq": 0, "run": {}, "nodes": []}).feed(sent).nodes["0"]


def test_a_view_that_says_where_it_is_gets_a_snapshot_only_if_behind():
    w = ReCodeWidget(trailing=False)
    sent = capture(w)
    engine_run(w)
    n = len(sent)
    w._on_front_msg(w, {"type": "snapshot", "seq": w.seq}, [])
    assert len(sent) == n  # up to date: nothing to send
    w._on_front_msg(w, {"type": "snapshot", "seq": 0}, [])
    assert sent[-1]["kind"] == "snapshot" and sent[-1]["seq"] == w.seq
    assert View({"seq": 0, "run": {}, "nodes": []}).feed(sent[-1:]).state() == as_view(w)


def test_forks_made_by_steer_show_in_the_widget_and_the_text_tree():
    from recode_magic.steering import steer

    w = ReCodeWidget(trailing=False)
    sent = capture(w)
    run = engine_run(w)
    steer.edit(run, run.root.children[0], "x = add(2, 2)", on_event=[w.on_event])
    node = View({"seq": 0, "run": {}, "nodes": []}).feed(sent).nodes["1"]
    assert [(a["id"], a["label"], a["code"]) for a in node["alternatives"]] == [
        ("a0", "original", "x = add(1, 2)"), ("a1", "edit", "x = add(2, 2)")]
    assert node["current"] == "a1" and node["code"] == "x = add(2, 2)"
    assert render_text(run).splitlines()[-1] == (
        "└── ✔ x = step_one(task)  [2 alternatives: original, edit●]")


def capture_snapshots(widget: ReCodeWidget) -> list[dict]:
    """Every snapshot the widget pushed as synced state (what a late view loads)."""
    got: list[dict] = []
    inner = widget._send

    def fake_send(msg, buffers=None):
        state = msg.get("state") or {}
        if msg.get("method") == "update" and state.get("snapshot"):
            got.append(json.loads(state["snapshot"]))
        inner(msg, buffers)

    widget._send = fake_send
    return got


def test_the_final_state_is_in_the_synced_state_when_the_run_ends():
    w = ReCodeWidget(trailing=False)
    capture(w)
    snaps = capture_snapshots(w)
    engine_run(w)
    assert snaps, "no snapshot was pushed"
    last = snaps[-1]
    assert last["run"]["status"] == "done" and last["seq"] == w.seq
    assert {n["id"]: n["state"] for n in last["nodes"]} == {"0": "done", "1": "done"}
    assert View(last).state() == as_view(w)  # a view built from the state alone


class Handle:
    def __init__(self) -> None:
        self.updates: list[tuple[object, bool]] = []

    def update(self, obj, raw: bool = False) -> None:
        self.updates.append((obj, raw))


def test_a_followed_run_s_output_becomes_its_static_tree_at_run_end():
    w = ReCodeWidget(trailing=False, static_at_end=True)
    capture(w)
    w._handle = handle = Handle()
    engine_run(w)
    bundle, raw = handle.updates[-1]
    assert raw and set(bundle) == {"text/plain", "text/html"}   # no widget mime type left
    assert "recode-static" in bundle["text/html"] and "%recode show" in bundle["text/html"]
    assert bundle["text/plain"].startswith("ReCode run: done") and bundle["text/plain"][-1] == "\n"


def test_a_button_s_own_run_end_keeps_the_live_view():
    w = ReCodeWidget(trailing=False, static_at_end=True)
    capture(w)
    w._handle = handle = Handle()
    run = engine_run(w)
    w.on_action(lambda msg: w.on_event("run_end", run, None))
    w._dispatch({"action": "regenerate", "node": "1"})
    assert handle.updates[-1] == (w, False)


def test_confirm_marks_show_waiting_then_rejected_with_the_code():
    from recode_magic.notebook.widget_state import mark_node

    seen: list[str] = []
    w = ReCodeWidget(trailing=False)
    capture(w)
    snaps = capture_snapshots(w)

    def confirm(node, code):
        mark_node(node, "waiting", code)
        seen.append(snaps[-1]["nodes"][0].get("state", ""))
        mark_node(node, "rejected", code)
        return None

    llm = ScriptedLLM({"solve": X("x = 1")})
    engine = ReCode(llm, confirm=confirm)
    w.attach(engine)
    run = engine.run("t")
    assert seen == ["waiting"]
    root = View(snaps[-1]).nodes[run.root.id]
    assert root["state"] == "rejected" and root["code"] == "x = 1"
    assert snaps[-1]["run"]["status"] == "interrupted"


def test_the_header_time_leaves_out_idle_time_between_steering_actions():
    from recode_magic.notebook.widget_state import busy_seconds

    run = engine_run()
    a, b = run.root, run.root.children[0]
    a.started, a.ended, b.started, b.ended = 100.0, 101.0, 100.5, 100.8
    run.started, run.ended = 100.0, 500.0        # steered again 400 s later
    assert busy_seconds(run, [a, b]) == pytest.approx(1.0)
    b.started, b.ended = 499.0, 500.0            # the re-run node: a second span, later
    assert busy_seconds(run, [a, b]) == pytest.approx(2.0)
    assert tree_json(run)["run"]["elapsed"] == pytest.approx(2.0)


def test_unused_replies_travel_with_their_kind():
    run = engine_run()
    run.root.attempts.append({"kind": "repair", "error": "ZeroDivisionError"})
    root = tree_json(run)["nodes"][0]
    assert root["attempts"] == [{"kind": "repair"}]


@pytest.mark.kernel
def test_the_magic_s_trees_leave_no_widget_in_the_notebook(kernel):
    """A followed run turns static at its end; ``%recode show`` stays live until the next cell."""
    res = kernel.execute(
        "%load_ext recode_magic\nfrom recode_magic import ScriptedLLM\n"
        "llm = ScriptedLLM({'solve': '<execute>x = 1</execute>'})")
    assert res.status == "ok", res.error
    res = kernel.execute("%%recode --llm llm\nset x")
    assert res.status == "ok", res.error
    assert res.widget_views == 1                 # live while the run went on ...
    last = res.data[-1]                          # ... then its static tree (an update)
    assert "recode-static" in last["text/html"] and set(last) == {"text/plain", "text/html"}
    res = kernel.execute("%recode show")
    assert res.widget_views == 1                 # the way back: a live view
    res = kernel.execute("y = 2")                # the next cell: the live view turns static
    assert [set(d) for d in res.data] == [{"text/plain", "text/html"}], res.data
    assert "recode-static" in res.data[0]["text/html"]
    res = kernel.execute("y = 3")                # once
    assert res.data == []


def test_the_header_time_leaves_out_the_wait_for_a_confirm_decision(monkeypatch):
    """Static header and widget: one busy time, without the time a --confirm box waited."""
    from recode_magic.notebook import confirm as confirm_mod
    from recode_magic.notebook.render import render_html

    def user_thinks(node, code, cost, render_timeout):  # the box, answered after 1.5 s
        time.sleep(1.5)
        return code

    monkeypatch.setattr(confirm_mod, "_ask_with_buttons", user_thinks)
    llm = ScriptedLLM({"solve": X("x = add(1, 2)", "plan")})
    engine = ReCode(llm, namespace={"add": lambda a, b: a + b},
                    confirm=confirm_mod.confirm_with_buttons)
    run = engine.run("add one and two")
    assert run.status == "done" and run.elapsed >= 1.5   # the wall clock counts the wait
    shown = tree_json(run)["run"]["elapsed"]
    assert shown < 1.0, shown                              # the widget's header does not
    header = render_text(run).splitlines()[0]               # nor the static one: the same
    assert abs(float(header.rsplit("· ", 1)[1].rstrip(" s")) - shown) <= 0.01, header
    assert header.rsplit("· ", 1)[1] in render_html(run)
