"""``--confirm``: the input() prompt and the Run / Edit / Reject buttons, in a real kernel.

The button tests play the front-end: they read the widgets' ``comm_open`` messages on IOPub
and send the ``comm_msg`` a browser sends for a click (or for typing into the Textarea).
The JupyterLab version of the same is ``tests/browser/test_confirm_browser.py``.
"""

from __future__ import annotations

import queue
import time
from typing import Any

import pytest
from confirm_setup import SETUP
from kernel_helper import Kernel, Result

from recode_magic.notebook.confirm import (
    ConfirmBox,
    ConfirmUnavailable,
    confirm_in_notebook,
    pick_confirm,
)
from recode_magic.runs.tree import Node

KERNEL_SETUP = SETUP  # the conftest `kernel` fixture runs it
RUN = "%%recode --llm llm --confirm -o out\nMake a value from 3 and double it."
QUESTION = "run this code? [y]es / [n]o (stop the run) / [e]dit: "


@pytest.fixture
def fresh(kernel):
    """Forget the last run's traces; choose the prompt (widget False) by default."""
    res = kernel.execute("calls.clear(); llm.calls.clear(); out = None\n"
                         "%config ReCodeMagics.widget = False")
    assert res.status == "ok", res.error
    return kernel


# -- no kernel ---------------------------------------------------------------------------------

def test_pick_confirm_outside_a_kernel_is_the_prompt():
    assert pick_confirm() is confirm_in_notebook
    assert pick_confirm(widget=False) is confirm_in_notebook


def test_box_records_the_first_choice_and_shows_the_decision():
    node = Node(id="1", name="make_value", call="v = make_value(n=3)", depth=1)
    box = ConfirmBox(node, "v = record(n) + 1")
    assert "make_value(n=3)" in box.header.value and "depth 1" in box.header.value
    box.edit_button.click()
    assert box.edit_area.layout.display == "flex" and box.choice is None
    box.editor.value = "v = 7"
    box.run_edited_button.click()
    box.reject_button.click()  # too late: the first click decided
    assert box.choice == ("edit", "v = 7")
    box.finish("edit")
    assert all(b.disabled for b in box.interactive)
    assert "ran edited code" in box.status.value
    assert "[ran edited code]" in box.bundle()["text/plain"]


def test_box_gives_up_when_the_front_end_never_shows_it():
    box = ConfirmBox(Node(id="0", name="solve", call="solve(task)"), "x = 1",
                     render_timeout=0.01)
    since = time.monotonic()
    assert box.waiting(since)
    time.sleep(0.02)
    with pytest.raises(ConfirmUnavailable, match="did not show the buttons"):
        box.waiting(since)
    box.rendered.set()  # shown: wait for a click as long as it takes
    assert box.waiting(since)
    box.run_button.click()
    assert not box.waiting(since)


def test_prompt_without_stdin_is_confirm_unavailable():
    from IPython.core.error import StdinNotImplementedError

    from recode_magic.notebook.confirm import make_confirm

    def no_stdin(_q):
        raise StdinNotImplementedError("raw_input was called, but this frontend does not "
                                       "support input requests.")
    confirm = make_confirm(ask=no_stdin, show=lambda s: None)
    with pytest.raises(ConfirmUnavailable, match="--confirm cannot ask"):
        confirm(Node(id="0", name="solve", call="solve(task)"), "x = 1")


def test_code_is_escaped_in_the_box():
    box = ConfirmBox(Node(id="0", name="solve", call="solve(task)"), "s = '<b>&'")
    assert "&lt;b&gt;&amp;" in box.code_view.value and "<b>&'" not in box.code_view.value


def test_interrupt_while_waiting_propagates(monkeypatch):
    import recode_magic.notebook.confirm_box as C

    def waiter(_box, _poll):
        raise KeyboardInterrupt
    monkeypatch.setattr(C, "_waiter", lambda: waiter)
    box = ConfirmBox(Node(id="0", name="solve", call="solve(task)"), "x = 1")
    with pytest.raises(KeyboardInterrupt):
        box.wait()
    assert box.decision.startswith("interrupted") and box.run_button.disabled


# -- input() prompt in a real kernel ----------------------------------------------------------

@pytest.mark.kernel
def test_prompt_approve_runs_the_code(fresh):
    res = fresh.execute(RUN, stdin=["y", "y"])
    assert res.status == "ok", res.error
    assert res.stdout.count(QUESTION) == 2
    assert "solve(task)  (depth 0) wants to run:\nv = make_value(n=3)" in res.stdout
    assert "(depth 1) wants to run:\nv = record(n) + 1" in res.stdout
    assert "---\ncost so far: 1 model call, " in res.stdout  # ScriptedLLM: no price
    assert "price unknown" in res.stdout and "projection: this code calls 1 placeholder" \
        in res.stdout
    assert fresh.value("_recode.status") == "done"
    assert fresh.value("out") == 62 and fresh.value("calls") == [3]


@pytest.mark.kernel
def test_prompt_edit_runs_the_edited_code(fresh):
    res = fresh.execute(RUN, stdin=["y", "e", "w = record(n)\\nv = w + 100"])
    assert res.status == "ok", res.error
    assert fresh.value("_recode.status") == "done"
    assert fresh.value("out") == 260 and fresh.value("calls") == [3]
    assert "v = w + 100" in fresh.value("_recode.nodes()[1].code")


@pytest.mark.kernel
def test_prompt_reject_stops_with_nothing_run_and_resume_asks_again(fresh):
    res = fresh.execute(RUN, stdin=["n"])
    assert res.status == "ok", res.error
    assert res.stdout.count(QUESTION) == 1
    assert "rejected by the user" in res.stderr and "%recode resume" in res.stderr
    assert fresh.value("_recode.status") == "interrupted"
    assert fresh.value("calls") == [] and fresh.value("out") is None

    res = fresh.execute("%recode resume", stdin=["y", "y"])
    assert res.status == "ok", res.error
    assert res.stdout.count(QUESTION) == 2  # asked again, for both expansions
    assert fresh.value("_recode.status") == "done"
    assert fresh.value("out") == 62 and fresh.value("calls") == [3]


@pytest.mark.kernel
def test_prompt_reject_deeper_then_resume_asks_only_for_the_rest(fresh):
    res = fresh.execute(RUN, stdin=["y", "n"])
    assert fresh.value("_recode.status") == "interrupted"
    assert fresh.value("calls") == []
    res = fresh.execute("%recode resume", stdin=["y"])
    assert res.status == "ok", res.error
    assert res.stdout.count(QUESTION) == 1  # solve's code was approved and is not re-asked
    assert fresh.value("out") == 62 and fresh.value("calls") == [3]


# -- buttons in a real kernel (we play the front-end) -------------------------------------------

def run_with_clicks(k: Kernel, code: str, actions: list[Any], timeout: float = 60) -> dict:
    """Execute ``code``; for each confirm box displayed, do the next action.

    An action is ``"run"``, ``"reject"`` or ``("edit", new_code)``. Returns what was seen:
    the boxes' final text/plain copies and the number of boxes.
    """
    msg_id = k.kc.execute(code)
    widgets: dict[str, dict] = {}  # comm_id -> state
    seen: dict[str, Any] = {"boxes": 0, "texts": {}, "stderr": ""}
    shown: dict[str, str] = {}  # display id -> the box's model id
    actions = list(actions)
    deadline = time.monotonic() + timeout

    def send(comm_id: str, data: dict) -> None:
        k.kc.shell_channel.send(k.kc.session.msg("comm_msg", {"comm_id": comm_id,
                                                              "data": data}))

    def click(comm_id: str) -> None:
        send(comm_id, {"method": "custom", "content": {"event": "click"}})

    while True:
        try:
            msg = k.kc.iopub_channel.get_msg(timeout=0.1)
        except queue.Empty:
            assert time.monotonic() < deadline, f"no idle after {timeout} s: {seen}"
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "comm_open":
            widgets[content["comm_id"]] = state = content["data"].get("state", {})
            if "rc-confirm-probe" in state.get("_dom_classes", ()):  # a front-end renders it
                send(content["comm_id"], {"method": "custom",
                                          "content": {"event": "rendered"}})
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if kind == "stream" and content["name"] == "stderr":
            seen["stderr"] += content["text"]
        if kind == "update_display_data":  # a decided box: one line, no widget any more
            box_id = shown.get(content.get("transient", {}).get("display_id"))
            if box_id is not None:
                seen["texts"][box_id] = content["data"]["text/plain"]
            continue
        if kind == "display_data":
            view = content["data"].get("application/vnd.jupyter.widget-view+json")
            box = widgets.get(view["model_id"], {}) if view else {}
            if "recode-confirm" not in box.get("_dom_classes", ()):
                continue
            seen["texts"][view["model_id"]] = content["data"]["text/plain"]
            shown[content.get("transient", {}).get("display_id")] = view["model_id"]
            seen["boxes"] += 1
            ids = _box_widgets(widgets, view["model_id"])
            action = actions.pop(0)
            if action == "run":
                click(ids["Run"])
            elif action == "reject":
                click(ids["Reject"])
            elif action != "wait":
                click(ids["Edit"])
                send(ids["Textarea"], {"method": "update", "state": {"value": action[1]},
                                       "buffer_paths": []})
                click(ids["Run edited"])
        if kind == "status" and content["execution_state"] == "idle":
            break
    while k.kc.get_shell_msg(timeout=10)["parent_header"].get("msg_id") != msg_id:
        pass  # a late kernel_info_reply from start-up
    return seen


def _box_widgets(widgets: dict[str, dict], box_id: str) -> dict[str, str]:
    """comm ids of a confirm box's buttons (by description) and its Textarea."""
    out: dict[str, str] = {}

    def walk(model_id: str) -> None:
        state = widgets[model_id]
        if state.get("_model_name") == "ButtonModel":
            out[state["description"]] = model_id
        elif state.get("_model_name") == "TextareaModel":
            out["Textarea"] = model_id
        for child in state.get("children", []):
            walk(child.removeprefix("IPY_MODEL_"))
    walk(box_id)
    return out


@pytest.mark.kernel
def test_buttons_run_then_edit(fresh):
    res = fresh.execute("%config ReCodeMagics.widget = True\n"
                        "from recode_magic.notebook.confirm import (pick_confirm,\n"
                        "    confirm_with_buttons)\n"
                        "print(pick_confirm() is confirm_with_buttons)")
    assert res.stdout.strip() == "True", res
    t0 = time.monotonic()
    seen = run_with_clicks(fresh, RUN, ["run", ("edit", "w = record(n)\nv = w + 100")])
    assert seen["boxes"] == 2, seen
    assert fresh.value("_recode.status") == "done"
    assert fresh.value("out") == 260 and fresh.value("calls") == [3]
    finals = list(seen["texts"].values())
    assert finals[0].startswith("✔ recode --confirm: ran · out = solve(task)"), finals
    assert "recode --confirm: ran edited code" in finals[1], finals
    assert "\ncost so far: 1 model call, " in finals[0]
    assert "\ncost so far: 2 model calls, " in finals[1]
    assert time.monotonic() - t0 < 20


@pytest.mark.kernel
def test_buttons_reject_then_resume(fresh):
    fresh.execute("%config ReCodeMagics.widget = True")
    seen = run_with_clicks(fresh, RUN, ["reject"])
    assert seen["boxes"] == 1
    assert "✘ recode --confirm: rejected" in list(seen["texts"].values())[0]
    assert "rejected by the user" in seen["stderr"]
    assert fresh.value("_recode.status") == "interrupted"
    assert fresh.value("calls") == [] and fresh.value("out") is None
    seen = run_with_clicks(fresh, "%recode resume", ["run", "run"])
    assert seen["boxes"] == 2
    assert fresh.value("out") == 62 and fresh.value("calls") == [3]


@pytest.mark.kernel
def test_kernel_interrupt_while_the_buttons_wait(fresh):
    fresh.execute("%config ReCodeMagics.widget = True")
    # stdin allowed, as JupyterLab sends it (a front-end without stdin is refused --confirm)
    res: Result = fresh.execute(RUN, interrupt_after=2.0, timeout=30, stdin=[])
    assert res.status == "ok", res.error  # the engine turns Ctrl-C into an interrupted run
    assert fresh.value("_recode.status") == "interrupted"
    assert fresh.value("calls") == [] and fresh.value("out") is None
    texts = [d.get("text/plain", "") for d in res.data]
    assert any("recode --confirm: interrupted (nothing ran)" in t for t in texts), texts
    # the kernel still answers and the next run works
    seen = run_with_clicks(fresh, RUN, ["run", "run"])
    assert seen["boxes"] == 2 and fresh.value("out") == 62
