"""Issue 13, what a new user breaks, as a notebook user sees it: one real kernel per module.

Each test runs the cells a user would type and checks what the notebook shows (one line, no
traceback, no empty widget) and what the kernel keeps (``_recode``, the saved tree, the
user's variables).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kernel_helper import one_line, usage_error

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[1]

KERNEL_SETUP = r'''
%load_ext recode_magic
%config ReCodeMagics.save_dir = "runs"
%config ReCodeMagics.widget = False
import sys, time
from recode_magic import ScriptedLLM
X = lambda code: f"<think>t</think><execute>{code}</execute>"
def act(name):
    """Do an action."""
    return name
def leave_now():
    """A primitive that exits."""
    sys.exit(2)
ok_llm = ScriptedLLM({"solve": X("a = step()"), "step": X("a = act(1)")})
'''


def older_run(kernel) -> int:
    """Leave an interrupted run behind (the one a careless resume would continue)."""
    kernel.execute('older = ScriptedLLM({"solve": X("a = first()\\nb = second()"), '
                   '"first": X("a = act(1)"), "second": X("b = act(2)")})\n'
                   "older_llm = older")
    res = kernel.execute("%%recode --llm older --max-depth 1\nolder task")
    assert kernel.value("_recode.status") == "limit", res.stderr
    return kernel.value("len(older.calls)")


def assert_no_older_resume(kernel, calls: int) -> None:
    """``%recode resume`` after the failure does not continue the older run."""
    res = kernel.execute("%recode resume")
    assert kernel.value("len(older.calls)") == calls, res.stderr
    assert kernel.value("[r for r in get_ipython().magics_manager.registry['ReCodeMagics'].runs "
                        "if r.task == 'older task'][-1].status") == "limit"
    if kernel.value("_recode.task") == "older task":  # the failed cell started no run
        assert "stopped before its run started" in usage_error(res)
    else:
        assert res.error is None or res.error["ename"] == "UsageError", res.error


def saved_status(kernel) -> str:
    """Status in the newest saved tree (the run's file, written when it ended)."""
    files = sorted((Path(kernel.cwd) / "runs").glob("run-*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(files[-1].read_text())["status"]


# -- (1) -o NAME that the run never assigns -------------------------------------------------------

def test_output_never_assigned_is_not_success(kernel):
    kernel.execute('answer = "old"\nllm1 = ScriptedLLM({"solve": X("a = act(1)")})')
    res = kernel.execute("%%recode --llm llm1 -o answer\ncompute the answer")
    line = one_line(res)
    assert kernel.value("_recode.status") == "error"
    assert "answer" in line
    assert kernel.value("answer") == "old"


# -- (2) the model, the code or the files fail ----------------------------------------------------

MODEL_FAILURES = {
    "model RuntimeError": ('def bad_model(prompt):\n    raise RuntimeError("model exploded")',
                           "--llm bad_model", "model exploded"),
    "model ConnectionError": ('def bad_model(prompt):\n    raise ConnectionError("no route")',
                              "--llm bad_model", "no route"),
    "SystemExit in generated code": ('bad_model = ScriptedLLM({"solve": X("raise SystemExit(3)")})',
                                     "--llm bad_model", "SystemExit"),
    "SystemExit in a primitive": ('bad_model = ScriptedLLM({"solve": X("leave_now()")})',
                                  "--llm bad_model", "SystemExit"),
}


@pytest.mark.parametrize("case", list(MODEL_FAILURES))
def test_failure_during_the_run_is_one_line_and_the_run_is_current(kernel, case):
    define, options, text = MODEL_FAILURES[case]
    calls = older_run(kernel)
    kernel.execute(define)
    res = kernel.execute(f"%%recode {options}\nfailing task {case}")
    line = one_line(res)
    assert line.startswith("recode: run "), line
    assert text in line, line
    assert kernel.value("_recode.task") == f"failing task {case}"
    assert kernel.value("_recode.status") in ("error", "interrupted")
    assert saved_status(kernel) in ("error", "interrupted")
    assert kernel.value("callable(act)")  # the kernel is still alive and intact
    assert_no_older_resume(kernel, calls)


def _cassette_cases(tmp: Path) -> dict[str, tuple[str, str]]:
    (tmp / "a_file").write_text("x")
    (tmp / "a_dir").mkdir(exist_ok=True)
    (tmp / "corrupt.json").write_text("{not json")
    (tmp / "list.json").write_text("[1, 2]")
    (tmp / "shape.json").write_text('{"entries": [{"no key": 1}]}')
    return {
        "cassette under a file": (f"--cassette {tmp / 'a_file' / 'c.json'}", "a_file"),
        "cassette is a folder": (f"--cassette {tmp / 'a_dir'}", "folder"),
        "cassette corrupt JSON": (f"--cassette {tmp / 'corrupt.json'}", "corrupt.json"),
        "cassette a JSON list": (f"--cassette {tmp / 'list.json'}", "list.json"),
        "cassette wrong shape": (f"--cassette {tmp / 'shape.json'}", "shape.json"),
    }


@pytest.mark.parametrize("case", ["cassette under a file", "cassette is a folder",
                                  "cassette corrupt JSON", "cassette a JSON list",
                                  "cassette wrong shape"])
def test_bad_cassette_is_one_line_and_resume_does_not_pick_an_older_run(kernel, case,
                                                                         tmp_path):
    options, text = _cassette_cases(tmp_path)[case]
    calls = older_run(kernel)
    res = kernel.execute(f"%%recode --llm ok_llm {options}\ncassette task")
    line = one_line(res)
    assert text in line, line
    if kernel.value("_recode.task") == "cassette task":  # refused during the run
        assert kernel.value("_recode.status") in ("error", "interrupted")
    assert_no_older_resume(kernel, calls)


def test_unwritable_save_dir_is_one_line_before_any_model_call(kernel):
    calls = older_run(kernel)
    kernel.execute("open('plain_file', 'w').close(); ok_llm.calls.clear()\n"
                   "%config ReCodeMagics.save_dir = 'plain_file/runs'")
    try:
        res = kernel.execute("%%recode --llm ok_llm\nsave me")
    finally:
        kernel.execute("%config ReCodeMagics.save_dir = 'runs'")
    line = usage_error(res)
    assert "plain_file" in line and "save_dir" in line, line
    assert kernel.value("len(ok_llm.calls)") == 0
    assert_no_older_resume(kernel, calls)


def test_kernel_interrupt_saves_the_tree_and_resume_continues_that_run(kernel):
    older_run(kernel)
    kernel.execute('''
armed = [True]
def sleepy():
    """Sleeps the first time."""
    if armed[0]:
        armed[0] = False
        time.sleep(30)
    return 1
slow = ScriptedLLM({"solve": X("a = sleepy()\\nb = act(a)")})''')
    res = kernel.execute("%%recode --llm slow --timeout 0\nslow task", interrupt_after=2)
    assert one_line(res).startswith("recode: run interrupted")
    assert kernel.value("_recode.task") == "slow task"
    assert saved_status(kernel) == "interrupted"
    kernel.execute("%recode resume")
    assert kernel.value("_recode.task") == "slow task"
    assert kernel.value("_recode.status") == "done"


# -- (5) a big input does not flood the notebook --------------------------------------------------

def test_three_million_item_input_is_clipped_everywhere(kernel):
    kernel.execute('%config ReCodeMagics.widget = True\nbig = list(range(3_000_000))\n'
                   'big_llm = ScriptedLLM({"solve": X("n = len(big)")})')
    try:
        run = kernel.execute("%%recode --llm big_llm --in big -o n\ncount the items")
        assert run.status == "ok", run.error
        assert kernel.value("n") == 3_000_000
        show = kernel.execute("%recode show")
        export = kernel.execute("%recode export")
        tree = kernel.execute("%recode tree")
    finally:
        kernel.execute("%config ReCodeMagics.widget = False")
    limit = 200_000  # the list's repr is 23 MB
    assert run.comm_bytes + len(run.text) < limit, run.comm_bytes
    assert show.comm_bytes + len(show.text) < limit, show.comm_bytes
    assert len(export.next_input or "") < limit and "n = len(big)" in export.next_input
    assert len(tree.stdout) < limit


# -- (6) the README example when the user already has an `x` --------------------------------------

def test_readme_example_with_an_existing_x(kernel):
    text = (ROOT / "README.md").read_text().split("## Ten lines", 1)[1]
    python, magic = re.findall(r"```(?:python)?\n(.*?)```", text, re.S)[:2]
    kernel.execute("x = 'mine'\n" + python.replace("%load_ext recode_magic\n", ""))
    res = kernel.execute(magic)
    assert res.status == "ok" and res.lines == [], res.stderr
    assert kernel.value("_recode.status") == "done"
    assert kernel.value("result") == 10


# -- (9) options, --confirm, widgets, load --------------------------------------------------------

@pytest.mark.parametrize("options, text", [
    ("--timeout nan", "--timeout must be a finite number"),
    ("--timeout inf", "--timeout must be a finite number"),
    ("-o class", "-o needs a variable name, got 'class'"),
    ("--bogus", "unrecognized arguments: --bogus"),
    ("--replay-only", "--replay-only needs a cassette"),
])
def test_bad_options_refused_before_any_model_call(kernel, options, text):
    kernel.execute("ok_llm.calls.clear()")
    res = kernel.execute(f"%%recode --llm ok_llm {options}\ntask")
    assert text in usage_error(res)
    assert kernel.value("len(ok_llm.calls)") == 0


def test_confirm_no_widget_without_stdin_is_one_line(kernel):
    kernel.execute("ok_llm.calls.clear()")
    res = kernel.execute("%%recode --llm ok_llm --confirm --no-widget\ntask")  # no stdin
    assert "--confirm" in usage_error(res)
    assert kernel.value("len(ok_llm.calls)") == 0


def test_confirm_in_a_frontend_without_widgets_does_not_hang(kernel):
    """This client renders no widget: the buttons are given up on, then the text prompt."""
    kernel.execute("%config ReCodeMagics.widget = True\n"
                   "%config ReCodeMagics.confirm_render_timeout = 1.5")
    try:
        kernel.execute('asked = ScriptedLLM({"solve": X("c_val = step()"), '
                       '"step": X("c_val = act(1)")})')
        res = kernel.execute("%%recode --llm asked --confirm -o c_val\nask me", timeout=30,
                             stdin=["y", "y"])
        assert res.status == "ok", res.error
        assert kernel.value("_recode.status") == "done" and kernel.value("c_val") == 1
        assert "did not show the buttons" in res.text
        kernel.execute("c_val = None")
        res = kernel.execute("%%recode --llm asked --confirm -o c_val\nask me", timeout=30)
        line = one_line(res)  # no stdin either: the run stops, in one line
        assert "--confirm" in line and kernel.value("c_val") is None
    finally:
        kernel.execute("%config ReCodeMagics.widget = False\n"
                       "%config ReCodeMagics.confirm_render_timeout = 10.0")


def test_resume_after_a_no_widget_run_shows_text(kernel):
    kernel.execute("%config ReCodeMagics.widget = True")
    try:
        kernel.execute('deep = ScriptedLLM({"solve": X("d_val = step()"), '
                       '"step": X("d_val = act(1)")})')
        res = kernel.execute("%%recode --llm deep --max-depth 1 --no-widget\ndeep task")
        assert res.widget_views == 0 and "resume" in res.stderr
        res = kernel.execute("%recode resume --max-depth 3")
        assert kernel.value("_recode.status") == "done"
        assert res.widget_views == 0 and "step" in res.stdout, res
        assert kernel.execute("%recode show").widget_views == 0
    finally:
        kernel.execute("%config ReCodeMagics.widget = False")


@pytest.mark.parametrize("options", ["--tools no_such_tool", "--in no_such_var",
                                     "--llm no_such_model", "--max-depth -3"])
def test_usage_error_is_not_followed_by_an_empty_widget(kernel, options):
    kernel.execute("%config ReCodeMagics.widget = True")
    try:
        res = kernel.execute(f"%%recode --llm ok_llm {options}\ntask")
    finally:
        kernel.execute("%config ReCodeMagics.widget = False")
    usage_error(res)
    assert res.widget_views == 0 and res.comm_bytes == 0


def test_load_a_json_list_and_a_quoted_path(kernel):
    (Path(kernel.cwd) / "list run.json").write_text("[1, 2, 3]")
    res = kernel.execute("%recode load 'list run.json'")
    assert "holds a list" in usage_error(res)
    kernel.execute("%%recode --llm ok_llm\nto be saved")
    kernel.execute("_recode.save('my run.json')")
    res = kernel.execute("%recode load 'my run.json'")
    assert res.status == "ok", res.error
    assert kernel.value("_recode.task") == "to be saved"


def test_cassette_miss_is_reported_and_replay_only_refuses(kernel):
    kernel.execute('rec = ScriptedLLM({"solve": X("t_val = act(1)")})')
    first = kernel.execute("%%recode --llm rec --cassette tape.json\nrecorded task")
    assert first.lines == [], first.stderr  # recording a new cassette says nothing
    res = kernel.execute("%%recode --llm rec --cassette tape.json\nrecorded task")
    assert res.lines == [] and kernel.value("len(rec.calls)") == 1  # replayed
    kernel.execute('def extra(q):\n    """A new function: the prompts list it now."""')
    res = kernel.execute("%%recode --llm rec --cassette tape.json\nrecorded task")
    # what the cassette did is a note: stdout, one line, nothing on stderr (no pink box)
    assert res.lines == [] and "despite a changed primitive listing" in res.stdout, res.stderr
    assert kernel.value("len(rec.calls)") == 1  # still replayed
    res = kernel.execute("%%recode --llm rec --cassette tape.json\na changed task")
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("recode: "))
    assert res.lines == [], res.stderr
    assert "miss" in line and "live model called" in line and "solve" in line, line
    assert kernel.value("len(rec.calls)") == 2
    res = kernel.execute("%%recode --llm rec --cassette tape.json --replay-only\nnew task")
    line = one_line(res)
    assert line.startswith("recode: run error") and "no reply" in line, line
    assert kernel.value("len(rec.calls)") == 2


# -- (3), (4), (8): what the user's kernel keeps ---------------------------------------------

def test_rebinding_builtins_leaves_the_kernel_working(kernel):
    kernel.execute('shadow = ScriptedLLM({"solve": X("print = None\\nlen = str")})')
    kernel.execute("%%recode --llm shadow\nbreak the builtins")
    assert kernel.value("_recode.status") == "error"  # refused by the policy
    res = kernel.execute("%%recode --llm shadow --trust\nbreak the builtins, trusted")
    assert "print" in res.stdout  # the warning (a note): removed at the end of the run
    assert kernel.execute("print('still works')").stdout == "still works\n"
    assert kernel.value("len([1, 2])") == 2


def test_a_name_the_user_reassigned_is_protected_again(kernel):
    kernel.execute('maker = ScriptedLLM({"solve": X("made = 1")})\n'
                   'remaker = ScriptedLLM({"solve": X("made = 2")})')
    kernel.execute("%%recode --llm maker\nmake it")
    assert kernel.value("made") == 1
    kernel.execute("%%recode --llm remaker\nmake it again")  # the run's own name: fine
    assert kernel.value("made") == 2
    kernel.execute("made = 'mine'")
    res = kernel.execute("%%recode --llm remaker\nmake it once more")
    assert kernel.value("made") == "mine"
    assert "made" in one_line(res)


def test_async_primitive_is_awaited(kernel):
    kernel.execute('async def fetch(x):\n    """Fetch a value."""\n    return x * 2\n'
                   'fetcher = ScriptedLLM({"solve": X("fetched = fetch(3)")})')
    res = kernel.execute("%%recode --llm fetcher\nfetch it")
    assert res.lines == [], res.stderr
    assert kernel.value("_recode.status") == "done"
    assert kernel.value("fetched") == 6
