"""The notebook layer tells the truth: checks, notes, re-runs and the clock, in a real kernel.

Defects a new user still hit (round of 2026-12-07), each checked where the user looks:
the one writability check (save_dir, --cassette, batch --out); the output an ancestor
shows after a re-run of one of its nodes; ...
"""

from __future__ import annotations

import re

import pytest
from kernel_helper import usage_error

from recode_magic import ReCode, ScriptedLLM

KERNEL_SETUP = '''\
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
from recode_magic import ScriptedLLM
X = lambda code: f"<think>plan</think><execute>{code}</execute>"
llm = ScriptedLLM({"solve": X("a = 1")})
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
