"""A new user's pass of 7 Dec 2026: a kernel that died mid-run, then ``%recode`` after restart.

The runs are gone from memory, their trees are in ``save_dir``: every ``%recode`` subcommand
says so in one line, naming the newest tree to load.
"""

from __future__ import annotations

import re
import shlex

import pytest
from kernel_helper import usage_error

pytestmark = pytest.mark.kernel

SETUP = r'''
%load_ext recode_magic
%config ReCodeMagics.widget = False
%config ReCodeMagics.save_dir = "saved runs"
import os
from recode_magic import ScriptedLLM
def add(a, b):
    """Add two numbers."""
    return a + b
def die():
    """Stop the kernel."""
    os._exit(1)
'''


@pytest.fixture(scope="module")
def restarted(tmp_path_factory):
    """A kernel whose run killed it, restarted, the extension loaded again."""
    from conftest import start_kernel

    k = start_kernel(tmp_path_factory, SETUP)
    try:
        k.execute('ok = ScriptedLLM({"solve": "<execute>a = add(1, 2)</execute>"})\n')
        assert k.execute("%%recode --llm ok -o a\nAdd.").status == "ok"
        k.execute('dl = ScriptedLLM({"solve": "<execute>s = add(1, 2)\\nb = die()</execute>"})')
        try:
            k.execute("%%recode --llm dl\nDie.", timeout=10)
        except TimeoutError:  # the kernel died: no reply comes
            pass
        k.km.restart_kernel(now=True)
        k.kc.wait_for_ready(timeout=60)
        assert k.execute("%load_ext recode_magic\n"
                         '%config ReCodeMagics.save_dir = "saved runs"').status == "ok"
        yield k
    finally:
        k.stop()


NO_RUN = re.compile(r"no recode run in this kernel yet: run a %%recode cell, or %recode load "
                    r"('saved runs/run-[\d-]+\.json') \(the newest of 2 saved in 'saved runs', "
                    r"e\.g\. before a restart\)$")


@pytest.mark.parametrize("line", ["show", "tree", "resume", "cost", "cost --runs", "export"])
def test_after_a_restart_a_subcommand_names_the_newest_saved_tree(restarted, line):
    said = usage_error(restarted.execute(f"%recode {line}"))
    assert NO_RUN.match(said.removeprefix("UsageError: ")), said


def test_after_a_restart_list_says_so_and_the_named_tree_loads(restarted):
    res = restarted.execute("%recode list")
    assert res.status == "ok" and not res.stderr, res.stderr
    found = NO_RUN.match(res.stdout.strip())
    assert found, res.stdout  # was: nothing at all
    path = shlex.split(found.group(1))[0]
    res = restarted.execute(f"%recode load {found.group(1)}")
    assert res.status == "ok", res.stderr
    assert restarted.value("str(_recode.status)") == "interrupted"
    assert restarted.value("_recode.task") == "Die."
    assert path.startswith("saved runs/")


def test_no_saved_tree_keeps_the_short_line(kernel):
    """The conftest kernel: no run, no save_dir folder yet."""
    kernel.execute("%load_ext recode_magic")
    said = usage_error(kernel.execute("%recode show"))
    assert said == "UsageError: no recode run yet: run a %%recode cell first"
    res = kernel.execute("%recode list")
    assert res.stdout.strip() == "no recode run yet: run a %%recode cell first"


def test_reload_ext_keeps_the_last_run_current(kernel):
    """%reload_ext made a new magics object with no runs while _recode stayed: %recode show
    said 'no recode run in this kernel yet'."""
    kernel.execute('%load_ext recode_magic\n%config ReCodeMagics.widget = False\n'
                   'from recode_magic import ScriptedLLM\n'
                   'sl = ScriptedLLM({"solve": "<execute>a = 1</execute>"})')
    assert kernel.execute("%%recode --llm sl -o a\nSet a.").status == "ok"
    assert kernel.execute("%reload_ext recode_magic").status == "ok"
    res = kernel.execute("%recode list")
    assert res.stdout.startswith("0: done"), res.stdout + res.stderr
    res = kernel.execute("%recode tree --ascii")
    assert res.status == "ok" and "a = solve(task)" in res.stdout, res.stderr
