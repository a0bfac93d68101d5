"""Fuzz ``%%recode`` and ``%recode`` in a real IPython InteractiveShell (issue 22).

Hypothesis builds option lists and subcommand lines from the documented options, their
edge values (negative, NaN, huge, unknown names, unwritable paths, unbalanced quotes) and
random words. Every input must end in success or ONE ``UsageError`` line: never another
exception, never a traceback; and when it ends in a ``UsageError`` the model was not called
by that input (validation comes before any call).
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.terminal.interactiveshell import TerminalInteractiveShell

TMP = Path(tempfile.mkdtemp(prefix="recode-fuzz-"))
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck),
                derandomize=True)

SETUP = f'''
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
%config ReCodeMagics.widget = False
fz_calls = []

def fz(prompt):
    """The fuzz model: counts its calls, answers one statement (written by hand)."""
    fz_calls.append(1)
    return "<execute>fz_out = 1</execute>"

def fz_setup(task):
    return {{"x": 1}}

fz_tasks = ["a", "b"]
fz_code = "fz_out = 2"
not_a_function = 3
fz_dir = {str(TMP)!r}
'''

WORDS = st.sampled_from(["x", "fz", "nosuch", "0", "1", "-1", "99", "a0", "a1", "solve",
                         "nan", "inf", "-0.5", "1e309", "é", "'", '"', "--", "-", "=", ";",
                         "fz_out", "fz_code", "not_a_function", "fz_tasks", "fz_setup",
                         str(TMP / "out"), "/proc/x", "/etc/hostname", str(TMP),
                         "claude-nosuch", "openai:", "fz, 1:fz", "20ktok", "$0.5", "lots",
                         "a b", "\\n", "x = (", "x = 1\\ny = 2", "", " "])
OPTIONS = {
    "--llm": WORDS, "--max-depth": WORDS, "--timeout": WORDS, "--tools": WORDS,
    "--in": WORDS, "-o": WORDS, "--out": WORDS, "--cassette": WORDS, "--replay-only": None,
    "--no-widget": None, "--confirm": None, "--trust": None, "--budget": WORDS,
    "-n": WORDS, "--ascii": None, "--inline": None, "--functions": None, "--pairs": WORDS,
    "--runs": None, "--hint": WORDS, "--code": WORDS, "--from": WORDS, "--keep-calls": None,
    "--node": WORDS, "--setup": WORDS, "--workers": WORDS, "--check": WORDS,
    "--task-timeout": WORDS, "--no-progress": None, "--bogus": None,
}
SUBCOMMANDS = ["show", "tree", "graph", "export", "stats", "cost", "resume", "list", "load",
               "batch", "regenerate", "edit", "rerun", "alternatives", "switch", "promote",
               "compare", "nosuch", ""]


@st.composite
def arguments(draw: st.DrawFn) -> str:
    """Options (some with a value), positional words, in any order; quoted or raw."""
    out: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            name = draw(st.sampled_from(sorted(OPTIONS)))
            out.append(name)
            if OPTIONS[name] is not None and draw(st.integers(0, 9)):
                out.append(draw(OPTIONS[name]))
        else:
            out.append(draw(WORDS))
    return shlex.join(out) if draw(st.booleans()) else " ".join(out)


@pytest.fixture(scope="module")
def shell():
    """The process's InteractiveShell, working in a temporary folder (files land there).

    Not ``start_ipython()``: it returns None once called, and test_magic calls it.
    """
    ip = TerminalInteractiveShell.instance()
    ip.run_cell(SETUP)
    here = os.getcwd()
    os.chdir(TMP)
    try:
        yield ip
    finally:
        os.chdir(here)


def _run(shell, source: str) -> tuple[object, str]:
    """Run one cell; returns the ``run_cell`` result and everything printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = shell.run_cell(source)
    return result, out.getvalue() + err.getvalue()


def _check(shell, source: str) -> None:
    calls = len(shell.user_ns["fz_calls"])
    result, printed = _run(shell, source)
    error = result.error_in_exec or result.error_before_exec
    assert "Traceback" not in printed, (source, printed[-2000:])
    if error is None:
        return
    assert isinstance(error, UsageError), (source, repr(error))
    lines = [ln for ln in printed.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("UsageError"), (source, printed)
    assert len(shell.user_ns["fz_calls"]) == calls, ("a model call before", source)


@FUZZ
@given(args=arguments(), body=st.sampled_from(["", "task", "Do it.", "é\n  two lines"]))
def test_cell_magic_options(shell, args, body):
    shell.user_ns["fz_calls"].clear()
    _check(shell, f"%%recode --llm fz {args}\n{body}")


@FUZZ
@given(sub=st.sampled_from(SUBCOMMANDS), args=arguments())
def test_line_magic_subcommands(shell, sub, args):
    if not shell.user_ns.get("_recode"):  # something to act on, most of the time
        _run(shell, "%%recode --llm fz\nmake one")
    if "--dask" in args:  # would start a cluster
        return
    _check(shell, f"%recode {sub} {args}")
