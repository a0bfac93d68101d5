"""Issue 22 in a real kernel: what a new user tripped over in steering, routing, batch and saves.

Each test does what the user did, in a kernel, and checks what they see.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
from kernel_helper import usage_error

pytestmark = pytest.mark.kernel

KERNEL_SETUP = '''
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
from recode_magic import ScriptedLLM

X = lambda code, t="plan": f"<think>{t}</think><execute>{code}</execute>"

def add_ten(n):
    """Add ten to n."""
    return n + 10

class _Broken:
    """A model whose every call raises (a server gone away)."""
    model = "broken"
    def __call__(self, prompt):
        raise ConnectionError("the server went away")

broken = _Broken()
'''


def test_failed_regenerate_keeps_the_good_version_current(kernel):
    """Finding 1: a failed regenerate is kept as an alternative; result and status stay."""
    res = kernel.execute('llm = ScriptedLLM({"solve": X("result = plus_ten(n)"), '
                         '"plus_ten": [X("result = n + undefined_name"), '
                         'X("result = add_ten(n)")]})\n'
                         'n = 0')
    assert res.status == "ok", res.error
    res = kernel.execute("%%recode --llm llm --no-widget\nAdd ten to n.")
    assert res.status == "ok", res.error
    assert kernel.value("(_recode.status, result)") == ("done", 10)
    node = kernel.value("[x.id for x in _recode.nodes() if x.name == 'plus_ten'][0]")
    res = kernel.execute(f"%recode regenerate {node} --llm broken")
    assert "Traceback" not in res.stderr, res.stderr
    assert "kept as alternative a1" in res.text, res.text
    assert "is now" not in res.text, res.text
    assert kernel.value("(_recode.status, result)") == ("done", 10)
    node_state = kernel.value(f"(_recode.node('{node}').code, _recode.node('{node}').status, "
                              f"[(a.id, str(a.status)) for a in "
                              f"_recode.node('{node}').alternatives])")
    assert node_state == ("result = add_ten(n)", "done", [("a0", "done"), ("a1", "error")])
    res = kernel.execute(f"%recode switch {node} a0")
    assert res.status == "ok", res.error
    assert kernel.value("(_recode.status, result)") == ("done", 10)


def test_cost_of_a_routed_run_prices_each_model(kernel):
    """Finding 3: with ``--llm "big, 1:small"`` each node knows its model; cost by model."""
    setup = '''
from recode_magic.llms.base import Reply
from recode_magic.llms.pricing import Price, set_price
set_price("big-model", Price.of(10.0, 10.0))
set_price("small-model", Price.of(1.0, 1.0))

class _Priced:
    """Scripted replies with usage: 1,000 input and 1,000 output tokens a call."""
    def __init__(self, model, replies):
        self.model, self.scripted = model, ScriptedLLM(replies)
    def respond(self, prompt, *, on_text=None, depth=None):
        return Reply(self.scripted(prompt), {"input_tokens": 1000, "output_tokens": 1000,
                                             "source": "server"}, self.model)
    def __call__(self, prompt):
        return self.respond(prompt).text

big = _Priced("big-model", {"solve": X("y = half(x)")})
small = _Priced("small-model", {"half": X("y = x / 2")})
x = 8
'''
    assert kernel.execute(setup).status == "ok"
    res = kernel.execute('%%recode --llm "big, 1:small" --no-widget\nHalve x.')
    assert res.status == "ok", res.error
    assert kernel.value("[(n.name, n.model) for n in _recode.nodes()]") == [
        ("solve", "big-model"), ("half", "small-model")]
    res = kernel.execute("%recode cost")
    assert res.status == "ok", res.error
    # 2,000 tokens at $10/M + 2,000 at $1/M = $0.022 (not $0.04 at the root's price)
    assert "$0.022000" in res.stdout, res.stdout
    assert "big-model" in res.stdout and "small-model" in res.stdout, res.stdout
    assert kernel.value("round(__import__('recode_magic').llms.cost_report(_recode)"
                        "['cost_usd'], 6)") == 0.022


def test_promote_keep_calls_keeps_different_expansions_apart(kernel):
    """Finding 4: ``combine`` expanded once as an add, once as a mul: two defs, like export."""
    res = kernel.execute('llm = ScriptedLLM({"solve": X("r = both(a, b)"), '
                         '"both": X("s = combine(a, b)\\np = combine(s, b)\\nr = s + p"), '
                         '"combine": [X("s = a + b"), X("p = s * b")]})\n'
                         'a, b = 2, 3')
    assert res.status == "ok", res.error
    res = kernel.execute("%%recode --llm llm --no-widget\nCombine twice.")
    assert res.status == "ok", res.error
    assert kernel.value("(_recode.status, r)") == ("done", 20)  # s = 5, p = 15
    node = kernel.value("[n.id for n in _recode.nodes() if n.name == 'both'][0]")
    res = kernel.execute(f"%recode promote {node} both_again --keep-calls")
    assert res.status == "ok", res.error
    source = res.next_input
    assert "def combine(" in source and "def combine_2(" in source, source
    res = kernel.execute(source + "\nprint(both_again(2, 3))")
    assert res.stdout.strip() == "20", (source, res.stdout, res.error)


def test_promoted_hand_edited_node_has_a_real_docstring(kernel):
    """Also: a hand-edited node's docstring is not ``(edited by hand)``."""
    res = kernel.execute('llm = ScriptedLLM({"solve": X("r = inc(a)"), "inc": X("r = a + 2")})'
                         '\na = 1')
    assert res.status == "ok", res.error
    assert kernel.execute("%%recode --llm llm --no-widget\nInc a.").status == "ok"
    node = kernel.value("[n.id for n in _recode.nodes() if n.name == 'inc'][0]")
    res = kernel.execute(f'%recode edit {node} --code "r = a + 1"')
    assert res.status == "ok", res.error
    res = kernel.execute(f"%recode promote {node}")
    assert '"""(edited by hand)"""' not in res.next_input, res.next_input
    assert "written by hand" in res.next_input, res.next_input


BATCH_SETUP = '''
import tempfile
calls = []
def _answer(prompt):
    calls.append(prompt)
    return X("y = 2 * x")
def setup(task):
    return {"x": task["x"]}
def bad_check(task, run):
    return run.namespace["nosuch"]
def good_check(task, run):
    return run.namespace["y"] == 2 * task["x"]
jobs = [{"id": f"t{i}", "task": f"double {i}", "x": i} for i in range(3)]
out = tempfile.mkdtemp()
'''


def test_batch_check_that_raises_is_an_error_and_a_new_check_rechecks(kernel):
    """Finding 6: a raising check makes the row ``error``; a new check re-checks, no call."""
    assert kernel.execute(BATCH_SETUP).status == "ok"
    res = kernel.execute("%recode batch jobs --setup setup --llm _answer --check bad_check "
                         "--no-progress --out {out} -o t1")
    assert res.status == "ok", res.error
    rows = kernel.value("[(r['status'], r['solved'], (r['error'] or '')[:12]) for r in "
                        "(t1.to_dict('records') if hasattr(t1, 'to_dict') else t1)]")
    assert rows == [("error", None, "check raised")] * 3
    assert kernel.value("len(calls)") == 3
    res = kernel.execute("%recode batch jobs --setup setup --llm _answer --check good_check "
                         "--no-progress --out {out} -o t2")
    assert res.status == "ok", res.error
    rows = kernel.value("[(r['status'], r['solved']) for r in "
                        "(t2.to_dict('records') if hasattr(t2, 'to_dict') else t2)]")
    assert rows == [("done", True)] * 3
    assert kernel.value("len(calls)") == 3  # replayed from each task's cassette
    assert "0 model calls this time" in res.stdout, res.stdout
    res = kernel.execute("%recode batch jobs --setup setup --llm _answer --check good_check "
                         "--no-progress --out {out} -o t3")
    assert kernel.value("[r['reused'] for r in (t3.to_dict('records') if hasattr(t3, "
                        "'to_dict') else t3)]") == [True] * 3


def test_batch_follows_the_budget_and_models_settings(kernel):
    """Finding 5: ``%config ReCodeMagics.budget`` stops a batch; ``models`` routes it."""
    assert kernel.execute(BATCH_SETUP).status == "ok"
    setup = '''
from recode_magic.llms.base import Reply
from recode_magic.llms import register
class _Usage:
    """Scripted replies with 3,000 tokens of usage a call."""
    model = "scripted"
    def __init__(self, name):
        self.model = name
    def respond(self, prompt, *, on_text=None, depth=None):
        calls.append(self.model)
        return Reply(X("y = 2 * x"), {"input_tokens": 2000, "output_tokens": 1000}, self.model)
    def __call__(self, prompt):
        return self.respond(prompt).text
'''
    assert kernel.execute(setup).status == "ok", "set-up"
    res = kernel.execute("root_model = _Usage('root-model')\n"
                         "%config ReCodeMagics.budget = '100tok'\n"
                         "%recode batch jobs --setup setup --llm root_model --no-progress "
                         "--out {tempfile.mkdtemp()} -o tb")
    kernel.execute("%config ReCodeMagics.budget = ''")
    assert res.status == "ok", res.error
    assert kernel.value("[r['status'] for r in tb.to_dict('records')]") == ["limit"] * 3
    assert kernel.value("calls") == []  # stopped before the first call


def test_batch_models_setting_without_llm_is_used(kernel):
    """Finding 5: with ``models`` set and no ``--llm``, the rows are not MissingKeyError."""
    assert kernel.execute(BATCH_SETUP).status == "ok"
    res = kernel.execute("%config ReCodeMagics.models = {0: 'openai:tiny'}\n"
                         "%config ReCodeMagics.base_url = 'http://127.0.0.1:9'\n"
                         "%recode batch jobs --setup setup --no-progress --cassette none "
                         "--out {tempfile.mkdtemp()} -o tm")
    kernel.execute("%config ReCodeMagics.models = {}\n%config ReCodeMagics.base_url = ''")
    assert res.status == "ok", res.error
    errors = kernel.value("[r['error'] for r in tm.to_dict('records')]")
    assert all("MissingKeyError" not in (e or "") for e in errors), errors
    assert all("9" in (e or "") or "connect" in (e or "").lower() for e in errors), errors


@pytest.mark.parametrize(("line", "says"), [
    ("jobs --setup setup --llm nosuchmodel", "nosuchmodel"),
    ("jobs --setup setup --llm _answer --out /proc/x", "--out '/proc/x' cannot be written"),
    ("twins --setup setup --llm _answer", "two tasks have the id"),
    ("jobs --setup setup --llm _answer --budget lots", "--budget must be"),
])
def test_batch_checks_before_it_starts(kernel, line, says):
    """Finding 11: one UsageError line, no progress bar, no row, no call."""
    assert kernel.execute(BATCH_SETUP + "\ntwins = [{'id': 'a', 'task': 't', 'x': 1}] * 2"
                          ).status == "ok"
    res = kernel.execute(f"%recode batch {line} --out {{out}}/more" if "--out" not in line
                         else f"%recode batch {line}")
    assert says in usage_error(res)
    assert kernel.value("len(calls)") == 0
    assert "recode batch" not in res.stderr.replace("%recode batch", "")  # no bar drawn


def test_confirm_without_stdin_is_refused_before_any_call(kernel):
    """Finding 7: no widgets shown and no stdin (nbconvert): refused before any call."""
    kernel.execute("%config ReCodeMagics.widget = True")
    try:
        res = kernel.execute('counted = ScriptedLLM({"solve": X("r = inc(a)"), '
                             '"inc": X("r = a + 2")})\na = 1')
        assert res.status == "ok", res.error
        res = kernel.execute("%%recode --llm counted --confirm\nInc a.")  # this client: no stdin
        assert "nothing was run and no model was called" in usage_error(res)
        assert kernel.value("len(counted.calls)") == 0
        assert kernel.execute("%%recode --llm counted --no-widget\nInc a.").status == "ok"
        node = kernel.value("[n.id for n in _recode.nodes() if n.name == 'inc'][0]")
        res = kernel.execute(f"%recode regenerate {node} --confirm")
        assert "--confirm cannot ask here" in usage_error(res)
        assert kernel.value(f"_recode.node('{node}').alternatives") == []
        assert kernel.value("len(counted.calls)") == 2
    finally:
        kernel.execute("%config ReCodeMagics.widget = False")


def test_tree_saved_before_a_kernel_dies_is_up_to_date(tmp_path_factory, kernel):
    """Finding 8: ``os._exit`` in a primitive; the saved tree has the finished step, the
    running one, says ``interrupted`` with a stopped clock, and its export defines its calls."""
    from conftest import start_kernel

    doomed = start_kernel(tmp_path_factory, '%load_ext recode_magic\n'
                          '%config ReCodeMagics.save_dir = "saved"\n'
                          'import os\nfrom recode_magic import ScriptedLLM\n'
                          'X = lambda code: f"<execute>{code}</execute>"\n'
                          'def boom(x):\n    """Crash the kernel."""\n    os._exit(1)\n'
                          'llm = ScriptedLLM({"solve": X("a = first(n)\\nb = second(a)"), '
                          '"first": X("a = n + 1"), "second": X("b = boom(a)")})\nn = 1')
    folder = doomed.cwd
    try:
        doomed.execute("%%recode --llm llm --no-widget\nCrash.", timeout=8)
    except Exception:  # noqa: BLE001, S110 - the kernel is gone: no reply may come
        pass
    finally:
        doomed.stop()
    saved = sorted((Path(folder) / "saved").glob("run-*.json"))
    assert len(saved) == 1, saved
    res = kernel.execute(f"%recode load {saved[0]}")
    assert res.status == "ok", res.error
    states = kernel.value("[(n.name, str(n.status)) for n in _recode.nodes()]")
    assert states == [("solve", "expanded"), ("first", "done"), ("second", "error")], states
    assert kernel.value("_recode.node('2').steps[0].code") == "b = boom(a)"
    assert kernel.value("str(_recode.status)") == "interrupted"
    assert "kernel died" in kernel.value("_recode.error")
    first = kernel.value("_recode.elapsed")
    time.sleep(0.3)
    assert kernel.value("_recode.elapsed") == first  # the clock stopped at the last save
    source = kernel.value("_recode.export()")
    tree = ast.parse(source)
    defined = {d.name for d in tree.body if hasattr(d, "name")}
    called = {c.func.id for c in ast.walk(tree)
              if isinstance(c, ast.Call) and hasattr(c.func, "id")}
    assert called - defined <= {"boom", "globals"}, (called - defined, source)


def test_the_users_task_variable_survives_a_run(kernel):
    """Finding 9: ``task`` of the user's own is put back after the run, said once."""
    res = kernel.execute('task = {"mine": 1}\n'
                         'llm = ScriptedLLM({"solve": X("r = len(task)")})')
    assert res.status == "ok", res.error
    res = kernel.execute("%%recode --llm llm --no-widget -o r\nCount the letters.")
    assert res.status == "ok", res.error
    assert kernel.value("r") == len("Count the letters.")  # the run read the cell text
    assert kernel.value("task") == {"mine": 1}
    assert "your variable `task` was put back" in res.stdout and res.lines == [], res.stderr


def test_budget_stop_says_how_to_go_on(kernel):
    """Finding 10: the budget's hint names --budget; %recode? lists it; a tiny budget says why."""
    res = kernel.execute('class _Big:\n    model = "m"\n    max_tokens = 4096\n'
                         '    def __call__(self, prompt):\n        return X("r = 1")\n'
                         'big = _Big()')
    assert res.status == "ok", res.error
    res = kernel.execute("%%recode --llm big --no-widget --budget 2000tok\nAnything.")
    assert res.status == "ok", res.error
    assert "%recode resume --budget B continues" in res.stderr, res.stderr
    assert "--max-depth" not in res.stderr
    assert "more than budget_tokens=2,000: give a budget of at least" in res.stderr
    help_text = kernel.execute("print(get_ipython().find_line_magic('recode').__doc__)").stdout
    assert "resume [--max-depth N] [--budget B]" in help_text


def test_output_naming_a_primitive_is_refused_before_any_call(kernel):
    """Finding 12: ``-o add_ten`` (a primitive) is one UsageError, no model call."""
    res = kernel.execute('counted = ScriptedLLM({"solve": X("add_ten = 1")})')
    assert res.status == "ok", res.error
    res = kernel.execute("%%recode --llm counted -o add_ten\nOverwrite.")
    assert "names a primitive" in usage_error(res)
    assert kernel.value("len(counted.calls)") == 0 and kernel.value("add_ten(1)") == 11


def test_edit_code_takes_backslash_n_between_lines(kernel):
    """Finding 13: ``--code "a = 1\\nb = 2"`` is two lines; a bad one points to --from."""
    res = kernel.execute('llm = ScriptedLLM({"solve": X("r = pair()"), "pair": X("r = 0")})')
    assert res.status == "ok", res.error
    assert kernel.execute("%%recode --llm llm --no-widget\nPair.").status == "ok"
    res = kernel.execute('%recode edit pair --code "q = 1\\nr = q + 1"')
    assert res.status == "ok", res.error
    assert kernel.value("(r, _recode.node('1').code)") == (2, "q = 1\nr = q + 1")
    res = kernel.execute('%recode edit pair --code "r = (1"')
    assert "--from VAR" in usage_error(res)


def test_a_reply_with_two_execute_blocks_says_only_the_first_ran(kernel):
    """Also: a reply with two <execute> blocks runs the first and says so."""
    res = kernel.execute('two = ScriptedLLM({"solve": "<execute>r = 1</execute> and then '
                         '<execute>r = 2</execute>"})')
    assert res.status == "ok", res.error
    res = kernel.execute("%%recode --llm two --no-widget -o r\nOne.")
    assert res.status == "ok", res.error
    assert kernel.value("r") == 1
    assert "had 2 <execute> blocks: only the first ran" in res.stdout, res.stdout
    assert res.lines == [], res.stderr  # a note, not a pink box


def test_a_run_replayed_from_a_cassette_says_no_model_call(kernel, tmp_path):
    """Also: a run answered wholly by its cassette does not say ``2 model calls``."""
    tape = tmp_path / "tape.json"
    res = kernel.execute('rec = ScriptedLLM({"solve": X("r = f(1)"), "f": X("r = 2")})')
    assert res.status == "ok", res.error
    res = kernel.execute(f"%%recode --llm rec --no-widget --cassette {tape}\nRecord.")
    assert "· 2 model calls ·" in res.stdout, res.stdout
    res = kernel.execute(f"%%recode --no-widget --cassette {tape} --replay-only\nRecord.")
    assert res.status == "ok", res.error
    assert "· 0 model calls (2 replayed from a cassette) ·" in res.stdout, res.stdout


def test_batch_notebook_runs_without_pandas(tmp_path_factory):
    """Also: notebooks/batch.ipynb runs with Binder's requirements, which have no pandas."""
    import nbformat
    from conftest import start_kernel

    nb = nbformat.read(Path(__file__).resolve().parents[1] / "notebooks" / "batch.ipynb",
                       as_version=4)
    k = start_kernel(tmp_path_factory, "import sys\nsys.modules['pandas'] = None")
    try:
        for cell in nb.cells:
            if cell.cell_type == "code":
                res = k.execute(cell.source, timeout=120)
                assert res.status == "ok", (cell.source[:80], res.error)
        assert "task_id='ex7'" in res.stdout
    finally:
        k.stop()


def test_new_user_pass_batch_errors_ids_labels_and_order(kernel):
    """The closing new-user pass: the batch line says why rows failed, non-ASCII ids stay
    readable, a regenerate with a function names it, a subcommand after options is explained."""
    assert kernel.execute(BATCH_SETUP).status == "ok"
    res = kernel.execute("numbers = [1, 2]\n%recode batch numbers --setup setup --llm _answer "
                         "--no-progress --out {out}/n")
    assert "error (2 of 2): " in res.stdout, res.stdout
    res = kernel.execute("übungen = {'übung 1': {'task': 't', 'x': 1}}\n"
                         "%recode batch übungen --setup setup --llm _answer --no-progress "
                         "--out {out}/u -o tu")
    assert kernel.value("[r['task_id'] for r in tu.to_dict('records')]") == ["übung_1"]
    res = kernel.execute('llm = ScriptedLLM({"solve": X("r = inc(a)"), "inc": X("r = a + 2")})'
                         '\na = 1\ndef other(prompt):\n    return X("r = a + 3")')
    assert kernel.execute("%%recode --llm llm --no-widget\nInc a.").status == "ok"
    res = kernel.execute("%recode regenerate inc --llm other")
    assert kernel.value("_recode.node('1').alternatives[-1].label") == "regenerate (other)"
    assert "the subcommand comes first: %recode tree -n 0" in usage_error(
        kernel.execute("%recode -n 0 tree"))
    assert "one non-empty line" in usage_error(kernel.execute("%recode regenerate 1 --hint ''"))
