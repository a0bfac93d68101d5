"""The magic in a real kernel (jupyter_client + ipykernel), as a notebook user runs it."""

from __future__ import annotations

import pytest
from kernel_helper import usage_error

pytestmark = pytest.mark.kernel

KERNEL_SETUP = '''
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
from recode_magic import ScriptedLLM

def add(a, b):
    """Add two numbers."""
    print(f"add({a}, {b})")
    return a + b

X = lambda code: f"<think>plan</think><execute>{code}</execute>"
llm = ScriptedLLM({
    "solve": X("s = sum_pair(task)\\nresult = double_it(s)"),
    "sum_pair": X("s = add_numbers(a=2, b=3)"),
    "add_numbers": X("s = add(a, b)"),
    "double_it": X("result = add(s, s)"),
})
'''


def test_three_level_run_with_output_and_printing_primitive(kernel):
    res = kernel.execute("%%recode --llm llm --no-widget -o result\nAdd 2 and 3, then double it.")
    assert res.status == "ok", res.error
    assert "add(2, 3)" in res.stdout and "add(5, 5)" in res.stdout  # primitive output shown
    assert kernel.value("_recode.status") == "done"
    assert kernel.value("result") == 10
    assert kernel.value("max(n.depth for n in _recode.nodes())") == 2
    assert kernel.value("[n.name for n in _recode.nodes()]") == [
        "solve", "sum_pair", "add_numbers", "double_it"]
    assert kernel.value("_recode.nodes()[2].stdout") == "add(2, 3)\n"
    assert "solve" in res.stdout and "add_numbers" in res.stdout  # the text tree


def test_bad_option_is_one_line_usage_error(kernel):
    res = kernel.execute("%%recode --max-depth lots\ntask")
    assert "--max-depth" in usage_error(res)


def test_unknown_llm_name_is_usage_error(kernel):
    res = kernel.execute("%%recode --llm no_such_thing\ntask")
    assert "unknown model or callable: 'no_such_thing'" in usage_error(res)


def test_missing_key_is_one_line_and_namespace_intact(kernel):
    kernel.execute("import os; os.environ.pop('ANTHROPIC_API_KEY', None); keep = 41")
    # Claude named: with no model named, no key and recode_magic[local] installed, the
    # embedded model would plan instead (tests/test_llms_local*.py)
    res = kernel.execute("%%recode --no-widget --llm claude-sonnet-5-5\nanything")
    assert res.status == "ok"
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "ANTHROPIC_API_KEY" in lines[0], res.stderr
    assert "or, with no key:" in lines[0] and "local" in lines[0], res.stderr
    assert kernel.value("_recode.status") == "error"
    assert kernel.value("keep") == 41


def test_line_magic_subcommands(kernel):
    kernel.execute("%%recode --llm llm --no-widget -o result\nAdd 2 and 3, then double it.")
    tree = kernel.execute("%recode tree --ascii")
    assert "`-- " in tree.stdout or "|-- " in tree.stdout
    exported = kernel.execute("%recode export")
    assert exported.status == "ok" and "add(" in (exported.next_input or "")
    stats = kernel.execute("%recode stats")
    assert "depth" in stats.stdout.lower()
    bad = kernel.execute("%recode frobnicate")
    assert "must be one of" in usage_error(bad)


def test_interrupt_in_primitive_then_resume(kernel):
    kernel.execute('''
import time
calls = []
def wait_a_bit(x):
    calls.append(x)
    if len(calls) == 1:
        time.sleep(30)
    return x
slow_llm = ScriptedLLM({"solve": X("a = step_one()\\nb = step_two(a)"),
                        "step_one": X("a = wait_a_bit(1)"),
                        "step_two": X("b = a + 1")})
''')
    res = kernel.execute("%%recode --llm slow_llm --no-widget\nslow task", interrupt_after=3)
    assert res.status == "ok", res.error
    assert "interrupted" in res.stderr and "%recode resume" in res.stderr
    assert kernel.value("_recode.status") == "interrupted"
    assert kernel.value("type(__import__('sys').stdout).__name__") == "OutStream"
    res = kernel.execute("%recode resume")
    assert kernel.value("_recode.status") == "done"
    assert kernel.value("b") == 2
    assert kernel.value("len(slow_llm.calls)") == 3
