"""A new user's pass of 7 Dec 2026: options in the wrong place, in a real kernel.

Options in the cell's first line were read as the task's first words (a model call paid, the
option ignored); a ``%%recode`` option given to ``%recode`` was pointed to a setting; a task
given to ``%recode`` did not say where a task goes.
"""

from __future__ import annotations

import pytest
from kernel_helper import usage_error

pytestmark = pytest.mark.kernel

KERNEL_SETUP = r'''
%load_ext recode_magic
%config ReCodeMagics.widget = False
%config ReCodeMagics.save_dir = ""
from recode_magic import ScriptedLLM
sl = ScriptedLLM({"solve": "<execute>a = 1</execute>"})
'''


@pytest.mark.parametrize("first, says", [
    ("-o a", "%%recode --llm sl -o a (the task below it)"),
    ("--max-depth 2 --no-widget", "%%recode --llm sl --max-depth 2 --no-widget (the task"),
    ("--budget=20ktok", "%%recode --llm sl --budget=20ktok (the task below it)"),
])
def test_options_in_the_cell_are_refused_before_any_model_call(kernel, first, says):
    calls = kernel.value("len(sl.calls)")
    said = usage_error(kernel.execute(f"%%recode --llm sl\n{first}\nSet a to 1."))
    assert said.startswith("UsageError: options go on the %%recode line, not in the cell: "), said
    assert says in said
    assert kernel.value("len(sl.calls)") == calls


def test_a_task_that_starts_with_a_dash_still_runs(kernel):
    res = kernel.execute("%%recode --llm sl -o a\n- set a to 1\n- nothing else")
    assert res.status == "ok" and not res.stderr, res.stderr
    assert kernel.value("_recode.task") == "- set a to 1\n- nothing else"


@pytest.mark.parametrize("line, says", [
    ("--max-depth 3", "(--max-depth is an option of the cell magic: %%recode --max-depth ... "
                      "on the first line, the task below it)"),
    ("-o a", "(-o is an option of the cell magic: %%recode -o ... on the first line, the "
             "task below it)"),
    ("Set a to 1", "see %recode?; a task goes in a cell that starts with %%recode)"),
])
def test_a_cell_magic_option_or_task_given_to_the_line_magic_says_where_it_goes(kernel, line,
                                                                                 says):
    said = usage_error(kernel.execute(f"%recode {line}"))
    assert said.endswith(says), said
