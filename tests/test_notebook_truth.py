"""The notebook layer tells the truth: checks, notes, re-runs and the clock, in a real kernel.

Defects a new user still hit (round of 2026-12-07), each checked where the user looks:
the one writability check (save_dir, --cassette, batch --out); the output an ancestor
shows after a re-run of one of its nodes; a run's warnings as one note line each, once;
the live clock stands still while a --confirm box waits for you; a new user's first
mistakes (an option that is a lever or a setting, a huge cell, Ctrl-C during a primitive, a
regenerate, the first or the last drawing of the tree, a batch) each one clear line, with
the run ended with a status, ``_recode`` current and the namespace intact.
The tests share one kernel (``KERNEL_SETUP``); each also passes alone (``-k``).
"""

from __future__ import annotations

import re
import threading
import time

import pytest
from kernel_helper import usage_error

from recode_magic import ReCode, ScriptedLLM

KERNEL_SETUP = '''\
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
from recode_magic import ScriptedLLM
X = lambda code: f"<think>plan</think><execute>{code}</execute>"
llm = ScriptedLLM({"solve": X("a = 1")})
pure = ScriptedLLM({"solve": X("x = 3\\ny = twice(x)"), "twice": X("y = x * 2")})
two_blocks = ScriptedLLM({"solve": X("x = 3\\ny = twice(x)") + X("z = 0"),
                          "twice": X("y = x * 2")})
mine = {"keep": [1, 2]}
def slow(n):
    """Take a while."""
    import time
    time.sleep(30)
    return n
sleepy = ScriptedLLM({"solve": X("a = 2\\nb = slow(a)\\nc = 9")})
again = ScriptedLLM({"solve": X("a = 3")})
retry_slow = ScriptedLLM({"solve": X("r = step(2)\\nprint(r)"),
                          "step": [X("r = 2 + 3"), X("r = slow(3)"), X("r = 1 + 1")]})
two_tries = ScriptedLLM({"solve": X("x = step(2)\\nprint('root says', x)"),
                         "step": [X("print('first try')\\nx = 1"),
                                  X("print('second try')\\nx = 2")]})
'''


def X(code: str) -> str:  # noqa: N802 - the notebooks' name for a reply
    return f"<think>plan</think><execute>{code}</execute>"


@pytest.mark.kernel
def test_a_folder_nobody_can_write_is_refused_before_the_run(kernel):
    """``os.access`` says yes to root everywhere: the check tries instead (was: a run that
    saved nothing, and a --cassette run that ended ``error`` after its first model call)."""
    res = kernel.execute("%config ReCodeMagics.save_dir = '/proc/recode-runs'")
    assert res.status == "ok", res.error
    try:
        res = kernel.execute("%%recode --llm llm --no-widget\nset a")
        assert usage_error(res).startswith(
            "UsageError: cannot save runs to save_dir: cannot create files in '/proc' (")
    finally:
        kernel.execute("%config ReCodeMagics.save_dir = ''")
    res = kernel.execute("%%recode --llm llm --no-widget --cassette /proc/replies.json\nset a")
    assert usage_error(res).startswith("UsageError: --cassette: cannot create files in '/proc'")
    assert kernel.value("len(llm.calls)") == 0   # refused before any model call


# -- 2. a re-run's output reaches the ancestors ------------------------------------------------
@pytest.mark.kernel
def test_after_regenerate_the_root_shows_the_new_output(kernel):
    """The engine copies a node's output into its parent's: a re-run left the old one there."""
    assert kernel.execute("%%recode --llm two_tries\ngo").status == "ok"
    res = kernel.execute("%recode regenerate step")
    assert res.status == "ok", res.error
    html = res.data[-1]["text/html"]                      # the tree the cell leaves behind
    root_out = re.search(r"stdout</div><pre[^>]*>(.*?)</pre>", html, re.S)
    assert root_out is not None and root_out.group(1) == "second try\nroot says 1\n", html
    assert kernel.value("_recode.root.stdout") == "second try\nroot says 1\n"
    res = kernel.execute("%recode switch step a0")            # and back: the first output
    assert res.status == "ok", res.error
    assert kernel.value("_recode.root.stdout") == "first try\nroot says 1\n"


def test_every_ancestor_and_the_widget_follow_a_regenerate_and_a_switch():
    from recode_magic.notebook.widget_state import tree_json
    from recode_magic.steering.steer import regenerate, switch, watch

    llm = ScriptedLLM({"solve": X("print('r0')\nx = mid(n)\nprint('r1', x)"),
                       "mid": X("print('m0')\nx = leaf(n)"),
                       "leaf": [X("print('v1')\nx = n + 1"), X("print('v2')\nx = n + 2"),
                                X("x = 1 / 0")]})
    engine = ReCode(llm, max_retry=0)
    watch(engine)
    run = engine.run("t", inputs={"n": 1})
    leaf = run.nodes()[2]

    def outputs():
        return [n["stdout"] for n in tree_json(run)["nodes"]]

    assert outputs() == ["r0\nm0\nv1\nr1 2\n", "m0\nv1\n", "v1\n"]
    regenerate(run, leaf)
    assert outputs() == ["r0\nm0\nv2\nr1 2\n", "m0\nv2\n", "v2\n"]
    switch(run, leaf, "a0")
    assert outputs() == ["r0\nm0\nv1\nr1 2\n", "m0\nv1\n", "v1\n"]
    regenerate(run, leaf)            # fails: the previous version stays current, its output too
    assert run.status == "done" and leaf.current == "a0"
    assert outputs() == ["r0\nm0\nv1\nr1 2\n", "m0\nv1\n", "v1\n"]


# -- 4. warnings: one note line each, said once ----------------------------------------------
@pytest.mark.kernel
def test_a_run_warning_is_one_note_line_said_once(kernel):
    """samples=4 with a model that takes no temperature: one ``recode: warning:`` line on
    stdout (a note, as the others: no pink stderr box); a resume does not say it again."""
    assert kernel.execute("%config ReCodeMagics.levers = {'samples': 4}").status == "ok"
    try:
        res = kernel.execute("%%recode --llm pure\ntwice three")
    finally:
        kernel.execute("%config ReCodeMagics.levers = {}")
    assert res.status == "ok", res.error
    assert kernel.value("_recode.status") == "done"
    notes = [ln for ln in res.stdout.splitlines() if "warning" in ln]
    assert notes == ["recode: warning: samples=4: the model takes no per-call temperature, so "
                     "its candidates are the same prompt asked again (they may all be the "
                     "same)"], res.stdout
    assert res.lines == [], res.stderr
    # a run stopped by the depth limit, then resumed: its warning is said by the first cell
    res = kernel.execute("%%recode --llm two_blocks --max-depth 0 --no-widget\ntwice three")
    assert res.stdout.count("recode: warning: the reply for `solve` had 2 <execute>") == 1
    assert res.lines[0].startswith("recode: run limit: depth limit"), res.stderr
    res = kernel.execute("%recode resume --max-depth 3")
    assert res.status == "ok", res.error
    assert kernel.value("(_recode.status, y)") == ("done", 6)
    assert "warning" not in res.stdout + res.stderr, (res.stdout, res.stderr)


# -- 1. the live clock leaves out the wait for a --confirm decision --------------------------
def test_the_live_clock_leaves_out_the_time_a_confirm_box_waited(monkeypatch):
    """Two boxes, each answered after 1 s: what a view holds when the second box opens (and
    while it waits) is the run's busy time, not the 1 s the first box waited (it was)."""
    from test_widget import View, capture

    from recode_magic.notebook import confirm as confirm_mod
    from recode_magic.notebook.widget import ReCodeWidget

    widget = ReCodeWidget(trailing=False, keyframes=())
    sent = capture(widget)
    shown: list[float] = []

    def user_thinks(node, code, cost, render_timeout):  # the box, answered after 1 s
        view = View({"seq": 0, "run": {}, "nodes": []}).feed(sent)
        shown.append(view.run["elapsed"])
        time.sleep(1.0)
        return code

    monkeypatch.setattr(confirm_mod, "_ask_with_buttons", user_thinks)
    llm = ScriptedLLM({"solve": X("x = twice(3)"), "twice": X("x = 3 * 2")})
    engine = ReCode(llm, confirm=confirm_mod.confirm_with_buttons)
    widget.attach(engine)
    run = engine.run("twice three")
    assert run.status == "done" and run.elapsed >= 2.0        # the wall clock counts both
    assert len(shown) == 2 and shown[1] < 0.5, shown            # the view did not
    assert View({"seq": 0, "run": {}, "nodes": []}).feed(sent).run["elapsed"] < 0.5


# -- 5. a new user's first mistakes: one clear line each, nothing lost -------------------------
@pytest.mark.kernel
@pytest.mark.parametrize(("line", "says"), [
    ("--samples 4", "unrecognized arguments: --samples 4 (samples is a planning lever: "
                    "%config ReCodeMagics.levers = {'samples': ...})"),
    ("--max-calls 9", "unrecognized arguments: --max-calls 9 (max_calls is a setting: "
                      "%config ReCodeMagics.max_calls = ...)"),
    ("--bogus", "unrecognized arguments: --bogus"),
])
def test_an_option_that_lives_elsewhere_says_where(kernel, line, says):
    res = kernel.execute(f"%%recode --llm llm {line}\nset a")
    assert usage_error(res) == f"UsageError: {says}"


@pytest.mark.kernel
def test_a_huge_cell_and_ctrl_c_each_say_one_line_and_lose_nothing(kernel):
    res = kernel.execute("%%recode --llm llm\n" + "Add 2 and 3. " * 8000)   # 104 KB
    assert res.status == "ok" and res.lines == [], res.stderr
    notes = [ln for ln in res.stdout.splitlines() if ln.startswith("recode: ")]
    assert notes == ["recode: warning: the task is 103999 characters long; prompts show its "
                     "first 4000 (raise it with ReCode(task_limit=N), in a notebook %config "
                     "ReCodeMagics.levers = {'task_limit': N})"], res.stdout
    assert kernel.value("(_recode.status, len(_recode.task))") == ("done", 103999)
    res = kernel.execute("%%recode --llm sleepy\nslowly", interrupt_after=3, timeout=60)
    assert res.status == "ok", res.error
    assert res.lines == ["recode: run interrupted at `solve` (KeyboardInterrupt); %recode "
                         "resume continues"], res.stderr
    assert kernel.value("(_recode.status, _recode.task, a, mine)") == (
        "interrupted", "slowly", 2, {"keep": [1, 2]})
    assert kernel.value("'b' in globals() or 'c' in globals()") is False


@pytest.mark.kernel
def test_ctrl_c_during_a_regenerate_keeps_the_old_version_and_says_interrupted(kernel):
    """The re-run stopped half-way is kept as an alternative that reads ``interrupted`` (it
    read ``running``, in the note: 're-run of `step` ended running: interrupted here')."""
    assert kernel.execute("%%recode --llm retry_slow --no-widget\nAdd").status == "ok"
    res = kernel.execute("%recode regenerate step", interrupt_after=3, timeout=60)
    assert res.status == "ok" and res.lines == [], (res.error, res.stderr)
    assert ("recode: warning: re-run of `step` was interrupted; kept as alternative a1, the "
            "previous version a0 stays current") in res.stdout, res.stdout
    assert kernel.value("(_recode.status, r, mine)") == ("done", 5, {"keep": [1, 2]})
    res = kernel.execute("%recode alternatives step")
    rows = [ln.split()[:3] for ln in res.stdout.splitlines()[1:]]
    assert rows == [["*", "a0", "done"], ["a1", "interrupted", "1"]], res.stdout
    shown = kernel.value("[a['status'] for a in __import__('recode_magic.notebook.widget_state',"
                         " fromlist=['_']).tree_json(_recode)['nodes'][1]['alternatives']]")
    assert shown == ["done", "interrupted"]                 # the widget's alternatives table


SLOW_TREE = """\
import time
import recode_magic.notebook.widget_static as _ws
_html = _ws.render_html
def _slow_html(run, *args, **kwargs):
    if run.ended is not None:  # the static tree of an ended run
        time.sleep(3)
    return _html(run, *args, **kwargs)
_ws.render_html = _slow_html
"""


@pytest.mark.kernel
def test_a_second_ctrl_c_while_the_ended_run_is_drawn_is_one_line(kernel):
    """Ctrl-C twice: the 2nd lands while the ended run's static tree is drawn (``dot``; made
    3 s long here). It was a KeyboardInterrupt traceback, no stop line, and the names the run
    bound were not recorded: the next run was refused to rebind ``a`` ('defined before the
    run')."""
    assert kernel.execute(SLOW_TREE).status == "ok"
    kernel.execute("a = 0\ndel a")
    second = threading.Timer(3.5, kernel.km.interrupt_kernel)
    second.start()
    try:
        res = kernel.execute("%%recode --llm sleepy\nslowly", interrupt_after=2, timeout=60)
    finally:
        second.cancel()
        kernel.execute("_ws.render_html = _html")
    assert res.status == "ok", res.error
    assert res.lines == ["recode: run interrupted at `solve` (KeyboardInterrupt); %recode "
                         "resume continues"], res.stderr
    assert kernel.value("(_recode.status, a, mine)") == ("interrupted", 2, {"keep": [1, 2]})
    res = kernel.execute("%%recode --llm again --no-widget\nset a to 3")
    assert res.status == "ok" and res.lines == [], res.stderr
    assert kernel.value("(_recode.status, a)") == ("done", 3)


@pytest.mark.kernel
def test_ctrl_c_while_the_new_run_is_first_drawn_ends_it_interrupted(kernel):
    """Ctrl-C before the engine drove the run (the widget's first display; made 3 s long
    here): it was a traceback and ``_recode`` stayed ``pending`` for ever."""
    patch = SLOW_TREE.replace("if run.ended is not None:", "if str(run.status) == 'pending':")
    assert kernel.execute(patch).status == "ok"
    try:
        res = kernel.execute("%%recode --llm again\nset a to 3", interrupt_after=1.5,
                             timeout=60)
    finally:
        kernel.execute("_ws.render_html = _html")
    assert res.status == "ok", res.error
    assert res.lines == ["recode: run interrupted (KeyboardInterrupt); %recode resume "
                         "continues"], res.stderr
    assert kernel.value("(_recode.status, _recode.task, len(_recode.nodes()))") == (
        "interrupted", "set a to 3", 1)
    res = kernel.execute("%recode resume")
    assert res.status == "ok" and res.lines == [], (res.error, res.stderr)
    assert kernel.value("(_recode.status, a)") == ("done", 3)


BATCH = """\
def batch_setup(task):
    return {"slow": slow}
slow_jobs = [{"id": "t0", "task": "slow two"}, {"id": "t1", "task": "slow two"}]
batch_llm = ScriptedLLM({"solve": X("r = slow(2)")})
"""


@pytest.mark.kernel
@pytest.mark.slow
def test_ctrl_c_in_a_batch_does_not_call_a_running_task_not_run(kernel, tmp_path):
    """Ctrl-C while t0 runs (one worker) and t1 waits: t1 was not run, t0 was (its model was
    called, its primitive runs on in its thread): its row said 'not run' too."""
    assert kernel.execute(BATCH).status == "ok"
    res = kernel.execute(f"%recode batch slow_jobs --setup batch_setup --llm batch_llm "
                         f"--workers 1 --no-progress --out {tmp_path}/b -o tb",
                         interrupt_after=3, timeout=90)
    assert res.status == "ok" and res.lines == [], (res.error, res.stderr)
    rows = kernel.value("[(r['task_id'], r['status'], r['error']) for r in "
                        "tb.to_dict('records')]")
    assert rows[0][:2] == ("t0", "interrupted") and rows[0][2].startswith(
        "interrupted while it ran (it may still be running"), rows
    assert rows[1][:2] == ("t1", "interrupted"), rows            # never started
    assert "not run" in rows[1][2] or "cancelled" in rows[1][2], rows
    assert "1 interrupted while running: their model calls are not counted" in res.stdout
