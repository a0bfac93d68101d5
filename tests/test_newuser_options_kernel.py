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


def test_promote_under_the_name_of_a_function_it_calls_is_one_line(kernel):
    """`%recode promote step add` wrote `def add(arg0): s = add(1, 1)`: run, it replaced the
    user's primitive with a function that calls itself."""
    kernel.execute('def add(a, b):\n    """Add."""\n    return a + b\n'
                   'two = ScriptedLLM({"solve": "<execute>s = step(1)\\nb = add(s, 1)</execute>",'
                   ' "step": "<execute>s = add(1, 1)</execute>"})')
    assert kernel.execute("%%recode --llm two -o b\nSet b.").status == "ok"
    said = usage_error(kernel.execute("%recode promote step add"))
    assert said == ("UsageError: the promoted code calls `add`: a function named 'add' would "
                    "replace it and call itself (pick another name)")
    res = kernel.execute("%recode promote step add_one")
    assert res.status == "ok" and res.next_input.startswith("def add_one(arg0):"), res.next_input
