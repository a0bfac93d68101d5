"""The notebook layer tells the truth: checks, notes, re-runs and the clock, in a real kernel.

Defects a new user still hit (round of 2026-12-07), each checked where the user looks:
the one writability check (save_dir, --cassette, batch --out), ...
"""

from __future__ import annotations

import pytest
from kernel_helper import usage_error

pytestmark = pytest.mark.kernel

KERNEL_SETUP = '''\
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
from recode_magic import ScriptedLLM
X = lambda code: f"<think>plan</think><execute>{code}</execute>"
llm = ScriptedLLM({"solve": X("a = 1")})
'''


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
