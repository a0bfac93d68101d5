"""A run that stops says where: the node it stopped in has the reason as its error.

Every way a run can stop with nodes unfinished (a limit: max_calls, max_nodes, the depth
limit, a budget; a rejected step; Ctrl-C in a primitive; an error outside the node's code,
such as a subscriber raising; Ctrl-C while candidates are sampled: tests/test_sampling.py)
is checked through the public API: the run's own status and error stay as they were, node
statuses stay the pinned seven (DESIGN.md: the node worked on ``running``/``pending``, the
ancestors waiting for it ``expanded``), the node worked on says ``stopped here: <why>`` in
``Run.to_dict()`` and the saved file, the text tree draws it ``interrupted``, and ``resume``
goes on exactly as before (no model call asked again), the error cleared.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import Priced
from conftest import reply as X

from recode_magic import ReCode, ScriptedLLM, load_run
from recode_magic.notebook.render import render_text

REPLIES = {"solve": X("a = one()\nb = two()"), "one": X("a = inner()"), "inner": X("a = 1"),
           "two": X("b = 2")}


def logged_act() -> tuple[Callable[[int], int], list[int]]:
    """A primitive ``act`` and the list of what it was called with."""
    log: list[int] = []

    def act(x: int) -> int:
        """Act on the world."""
        log.append(x)
        return x

    return act, log


def states(run) -> list[tuple[str, str, str | None]]:
    """(name, status, error) of each node, as ``Run.to_dict()`` writes them."""
    return [(d["name"], d["state"], d.get("error")) for d in run.to_dict()["nodes"].values()]


def watch(engine) -> list[tuple[str, str]]:
    """(name, status) of the node of every ``node`` event from now on."""
    seen: list[tuple[str, str]] = []
    engine.subscribe(lambda event, run, node: seen.append((node.name, str(node.status)))
                     if event == "node" and node is not None else None)
    return seen


def test_a_max_calls_stop_leaves_the_stack_interrupted_and_resume_goes_on(tmp_path):
    path = tmp_path / "run.json"
    llm = ScriptedLLM(dict(REPLIES))
    engine = ReCode(llm, max_calls=2, save_path=str(path))
    run = engine.run("t")
    why = "model call limit reached (max_calls=2)"
    assert (run.status, run.error) == ("limit", why)
    stopped = [("solve", "expanded", None), ("one", "expanded", None),
               ("inner", "running", f"stopped here: {why}")]
    assert states(run) == stopped
    saved = json.loads(path.read_text())
    assert [(d["name"], d["state"], d.get("error")) for d in saved["nodes"].values()] == stopped
    assert [str(n.status) for n in load_run(path).nodes()] == ["expanded", "expanded", "running"]
    tree = render_text(run, ascii=True, header=False)
    assert "[>]" not in tree and tree.count("# interrupted") == 1, tree
    seen = watch(engine)
    engine.resume(run, max_calls=10)
    assert run.status == "done" and run.error is None and run.namespace["b"] == 2
    assert len(llm.calls) == 4  # solve, one, inner, two: nothing asked again
    assert seen[0] == ("inner", "running") and run.nodes()[2].error is None
    assert {s for _, s in seen} <= {"pending", "running", "expanded", "done"}
    assert states(run) == [(n, "done", None) for n in ("solve", "one", "inner", "two")]


def test_a_node_limit_stop_marks_the_parent_it_stopped_in():
    run = ReCode(ScriptedLLM(dict(REPLIES)), max_nodes=2).run("t")
    why = "node limit reached (max_nodes=2)"
    assert (run.status, run.error) == ("limit", why)
    assert states(run) == [("solve", "expanded", None),
                           ("one", "running", f"stopped here: {why}")]


def test_a_budget_stop_marks_the_node_whose_call_would_pass_it():
    engine = ReCode(Priced(dict(REPLIES)), budget_tokens=6000)
    run = engine.run("t")
    assert run.status == "limit" and run.error.startswith("token budget:")
    assert states(run) == [("solve", "expanded", None), ("one", "expanded", None),
                           ("inner", "running", f"stopped here: {run.error}")]
    engine.resume(run, budget_tokens=None)
    assert run.status == "done" and run.llm_calls == 4
    assert {s for _, s, _ in states(run)} == {"done"}


def test_the_depth_limit_leaves_a_stub_below_expanded_ancestors():
    llm = ScriptedLLM(dict(REPLIES))
    engine = ReCode(llm, max_depth=2)
    run = engine.run("t")
    assert run.status == "limit" and run.error.startswith("depth limit reached")
    assert states(run) == [("solve", "expanded", None), ("one", "expanded", None),
                           ("inner", "stub", None)]
    engine.resume(run, max_depth=5)
    assert run.status == "done" and len(llm.calls) == 4
    assert {s for _, s, _ in states(run)} == {"done"}


def test_a_rejected_step_says_so_and_resume_asks_again():
    verdict = {"one": None}
    llm = ScriptedLLM({**REPLIES, "one": X("a = 1")})
    engine = ReCode(llm, confirm=lambda node, code: code if verdict.pop(node.name, code) else None)
    run = engine.run("t")
    assert run.status == "interrupted" and "rejected by the user" in run.error
    assert states(run) == [("solve", "expanded", None),
                           ("one", "running", f"stopped here: {run.error}")]
    engine.resume(run)
    assert run.status == "done" and [c.count("one") > 0 for c in llm.calls[1:3]] == [True] * 2
    assert {s for _, s, _ in states(run)} == {"done"}


def test_ctrl_c_in_a_primitive_says_where_and_a_resumed_node_keeps_no_error():
    """It read ``running`` with the error 'interrupted here', kept once resumed and done."""
    pressed = [True]

    def slow() -> int:
        """Take a while."""
        if pressed.pop() if pressed else False:
            raise KeyboardInterrupt
        return 1

    llm = ScriptedLLM({"solve": X("a = one()"), "one": X("a = slow()")})
    engine = ReCode(llm, namespace={"slow": slow})
    run = engine.run("t")
    assert (run.status, run.error) == ("interrupted", "interrupted (KeyboardInterrupt)")
    assert states(run) == [("solve", "expanded", None),
                           ("one", "running", "stopped here: interrupted (KeyboardInterrupt)")]
    engine.resume(run)
    assert run.status == "done" and run.namespace["a"] == 1 and len(llm.calls) == 2
    assert states(run) == [("solve", "done", None), ("one", "done", None)]


def test_a_failing_subscriber_ends_the_node_error_its_ancestors_waiting():
    """And once resumed, the node runs its remaining statements ``running`` (not ``pending``)."""
    def fragile(event, run, node):
        if event == "node" and node is not None and node.name == "one" and node.steps:
            raise RuntimeError("widget bug")

    llm = ScriptedLLM({"solve": X("a = one()"), "one": X("a = 1\nb = a + 1")})
    engine = ReCode(llm, on_event=fragile)
    run = engine.run("t")
    assert (run.status, run.error) == ("error", "RuntimeError: widget bug")
    assert states(run) == [("solve", "expanded", None), ("one", "error", run.error)]
    engine.unsubscribe()
    seen = watch(engine)
    engine.resume(run)
    assert run.status == "done" and run.namespace["b"] == 2 and len(llm.calls) == 2
    assert ("one", "pending") not in seen and seen[0] == ("one", "running"), seen


def test_a_regenerate_stopped_by_a_limit_says_why_and_keeps_the_old_version():
    """Its note read 'was interrupted' for a limit, and 'ended expanded: ...' for a stop
    below the re-run node; now the limit, and the stopped version is kept as it stopped."""
    from recode_magic.steering.steer import regenerate

    llm = ScriptedLLM({"solve": X("a = one()"), "one": [X("a = 1"), X("a = inner()")],
                       "inner": X("a = 2")})
    run = ReCode(llm, max_calls=3).run("t")
    assert run.status == "done" and run.namespace["a"] == 1
    regenerate(run, "one")
    assert (run.status, run.namespace["a"]) == ("done", 1)
    assert run.warnings[-1].startswith("re-run of `one` stopped: model call limit reached "
                                       "(max_calls=3); kept as alternative a1"), run.warnings
    one = run.nodes()[1]
    assert [(a.id, str(a.status)) for a in one.alternatives] == [("a0", "done"),
                                                                   ("a1", "expanded")]


@pytest.mark.parametrize("at", ["parent expanded", "child done"])
def test_a_subscriber_raising_between_parent_and_child_leaves_one_child_run_once(at):
    """A subscriber raising (or Ctrl-C) on the parent's ``expanded`` event left a child that
    was never pushed, ``pending`` forever in the saved tree (a second one made on resume); on
    the child's ``done`` event, the parent had not moved past the call: resume ran the child
    again (its primitives twice, one more model call)."""
    act, log = logged_act()
    armed = [True]

    def fragile(event, run, node):
        if event == "node" and node is not None and armed and (
                (node.name, str(node.status)) == ("solve", "expanded") if at == "parent expanded"
                else (node.name, str(node.status)) == ("one", "done")):
            armed.pop()
            raise RuntimeError("widget bug")

    llm = ScriptedLLM({"solve": X("a = one()\nb = act(2)"), "one": X("a = act(1)")})
    engine = ReCode(llm, namespace={"act": act}, on_event=fragile)
    run = engine.run("t")
    assert (run.status, run.error) == ("error", "RuntimeError: widget bug")
    assert "pending" not in {s for _, s, _ in states(run)}, states(run)
    engine.resume(run)
    assert run.status == "done" and log == [1, 2] and len(llm.calls) == 2
    assert states(run) == [("solve", "done", None), ("one", "done", None)]


def test_a_tree_saved_while_the_run_went_on_loads_with_its_running_node_failed(tmp_path):
    """The file of a run whose kernel died: the node that ran reads ``error`` (it may have
    ended the process), its ancestors ``expanded`` (pinned statuses only)."""
    path, copy = tmp_path / "run.json", tmp_path / "dead.json"

    def snap() -> int:
        """Copy the saved tree (as a kernel dying now would leave it)."""
        copy.write_bytes(path.read_bytes())
        return 1

    llm = ScriptedLLM({"solve": X("a = one()"), "one": X("a = inner()"),
                       "inner": X("a = snap()")})
    assert ReCode(llm, {"snap": snap}, save_path=str(path)).run("t").status == "done"
    dead = load_run(copy)
    assert str(dead.status) == "interrupted" and "kernel died" in dead.error
    assert [(n.name, str(n.status)) for n in dead.nodes()] == [
        ("solve", "expanded"), ("one", "expanded"), ("inner", "error")]


# -- a stop while the model is asked again (repair, world's answer, result check, decompose) --

def test_resume_after_a_stop_during_a_repair_asks_for_the_repair():
    """It ran the failing statement again (its primitive twice, one repair fewer)."""
    log: list[int] = []

    def flaky(x: int) -> int:
        """Read a sensor."""
        log.append(x)
        if len(log) == 1:
            raise RuntimeError("sensor offline")
        return x

    llm = ScriptedLLM({"solve": [X("v = flaky(3)"), X("v = flaky(4)")]})
    engine = ReCode(llm, namespace={"flaky": flaky}, max_calls=1)
    run = engine.run("t")
    assert run.status == "limit" and log == [3]
    engine.resume(run, max_calls=5)
    assert run.status == "done" and run.namespace["v"] == 4 and log == [3, 4]
    assert len(llm.calls) == 2 and "RuntimeError: sensor offline" in llm.calls[1]
    assert [a["kind"] for a in run.root.attempts] == ["repair"]


def test_resume_after_a_stop_while_the_world_answered_writes_the_rest_from_it():
    """It ran the rest of the plan as written, never asking with the world's answer."""
    from recode_magic import primitive

    sent: list[str] = []

    @primitive(action=True)
    def act(command: str) -> str:
        """Send a command to the game."""
        sent.append(command)
        return "You are in a sauna. You see a box."

    llm = ScriptedLLM({"solve": [X("act('go east')\nact('open chest')"), X("act('open box')")]})
    engine = ReCode(llm, {"act": act}, max_calls=1)
    run = engine.run("Go east and open what you find.")
    assert run.status == "limit" and sent == ["go east"]
    engine.resume(run, max_calls=5)
    assert run.status == "done" and sent == ["go east", "open box"]
    assert "You see a box." in llm.calls[1]


def test_resume_after_a_stop_during_the_result_check_asks_it_again():
    """It ended the node ``done`` with the empty result the check was asking about."""
    llm = ScriptedLLM({"solve": X("res = find()"), "find": [X("res = []"), X("res = [1]")]})
    engine = ReCode(llm, max_calls=2)
    run = engine.run("t")
    assert run.status == "limit"
    engine.resume(run, max_calls=5)
    assert run.status == "done" and run.namespace["res"] == [1] and len(llm.calls) == 3


def test_resume_after_a_stop_during_a_decomposition_asks_for_the_plan():
    """It ran the failing code again and, the decomposition counted as tried, ended error."""
    bad = X("answer = rows[0]['amout']")
    llm = ScriptedLLM({"solve": [bad, X("n = count_rows(rows)\nanswer = double(n)")],
                       "count_rows": X("n = len(rows)"), "double": X("answer = n * 2")})
    engine = ReCode(llm, max_retry=0, max_calls=1, decompose=True)
    run = engine.run("t", inputs={"rows": [{"amount": 1}]}, output="answer")
    assert run.status == "limit"
    engine.resume(run, max_calls=5)
    assert run.status == "done" and run.namespace["answer"] == 2, run.error
    assert [a["kind"] for a in run.root.attempts] == ["decompose"]


def test_resume_after_a_stopped_regenerate_asks_with_its_hint_even_at_the_depth_limit():
    """A regenerate of the stub at the depth limit, stopped by max_calls before the model
    answered: resume asked without the hint and, the node at the depth limit, stopped again
    (the re-run's way into the node was kept on the machine that stopped)."""
    from recode_magic.steering.steer import regenerate

    llm = ScriptedLLM(dict(REPLIES))
    run = ReCode(llm, max_calls=2, max_depth=2).run("t")
    assert run.status == "limit" and run.nodes()[-1].status == "stub"
    regenerate(run, "inner", hint="use five")
    assert (run.status, run.error) == ("limit", "model call limit reached (max_calls=2)")
    ReCode.for_run(run).resume(run, max_calls=10)
    assert run.status == "done", run.error
    assert len(llm.calls) == 4 and "use five" in llm.calls[2]


def test_a_stop_as_a_failed_child_is_reported_resumes_with_the_parents_repair():
    """A subscriber raising (or Ctrl-C) on the failed child's ``error`` event: resume made
    a new child for the same call (asked the model again, its primitives again) instead of
    repairing the parent with the child's failure."""
    act, log = logged_act()
    armed = [True]

    def fragile(event, run, node):
        if event == "node" and node is not None and armed \
                and (node.name, str(node.status)) == ("one", "error"):
            armed.pop()
            raise RuntimeError("widget bug")

    llm = ScriptedLLM({"solve": [X("a = one()"), X("a = 5")],
                       "one": [X("act(1)\na = 1 / 0"), X("act(2)\na = 1 / 0"), X("a = 7")]})
    engine = ReCode(llm, namespace={"act": act}, max_retry=1, on_event=fragile)
    run = engine.run("t")
    assert (run.status, run.error) == ("error", "RuntimeError: widget bug") and log == [1, 2]
    engine.resume(run)
    assert run.status == "done" and run.namespace["a"] == 5 and log == [1, 2]
    assert "placeholder `one` failed: ZeroDivisionError" in llm.calls[3]
    assert [(n.name, str(n.status)) for n in run.nodes()] == [("solve", "done"), ("one", "error")]


def test_a_process_that_dies_in_the_first_node_leaves_its_code_on_disk(tmp_path):
    """The root's code and its model call were never saved when its own statement ended the
    process (``os._exit``): the file had the root with no code, no step, 0 model calls."""
    import subprocess
    import sys

    path = tmp_path / "run.json"
    script = (
        "import os\n"
        "from recode_magic import ReCode, ScriptedLLM\n"
        "def add(a, b):\n    'Add.'\n    return a + b\n"
        "def die():\n    'End the process.'\n    os._exit(1)\n"
        "llm = ScriptedLLM({'solve': '<execute>s = add(1, 2)\\nb = die()</execute>'})\n"
        f"ReCode(llm, namespace={{'add': add, 'die': die}}, save_path={str(path)!r}).run('Die.')\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr
    saved = json.loads(path.read_text())
    root = saved["nodes"][saved["root_id"]]
    assert root["code"] == "s = add(1, 2)\nb = die()" and saved["llm_calls"] == 1, root
    assert [s["code"] for s in root["steps"]] == ["s = add(1, 2)"]
    assert str(load_run(path).status) == "interrupted"
