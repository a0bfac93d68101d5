"""Steering in a real kernel: %recode regenerate/edit/rerun/alternatives/switch/promote/compare,
export --pairs and the widget's buttons, as a notebook user runs them."""

from __future__ import annotations

import json

import pytest
from kernel_helper import usage_error

pytestmark = pytest.mark.kernel

KERNEL_SETUP = '''
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
from recode_magic import ScriptedLLM

log = []

def boil(what):
    """Boil something."""
    log.append("boil")
    print("boiling", what)
    return f"hot {what}"

def pour(into, thing):
    """Pour a thing into a container."""
    log.append("pour")
    return f"{thing} in {into}"

X = lambda code, t="plan": f"<think>{t}</think><execute>{code}</execute>"

def fresh():
    """A new scripted model (each test starts its own run)."""
    global llm
    log.clear()
    llm = ScriptedLLM({
        "solve": X("cup = make_tea(task)"),
        "make_tea": [X("water = heat_water(task)\\ncup = serve(water)", "Heat, then serve."),
                     X("water = boil('water')\\ncup = pour('mug', water)", "Two primitives.")],
        "heat_water": X("water = boil('water')"),
        "serve": X("cup = pour('cup', water)"),
    })
'''

RUN = "fresh()\n%%recode --llm llm --no-widget\nMake tea."


def _run(kernel) -> None:
    res = kernel.execute("fresh()")
    assert res.status == "ok", res.error
    res = kernel.execute("%%recode --llm llm --no-widget\nMake tea.")
    assert res.status == "ok", res.error
    assert kernel.value("_recode.status") == "done"
    assert kernel.value("cup") == "hot water in cup"


def test_regenerate_says_primitives_run_again_and_keeps_a_fork(kernel):
    _run(kernel)
    res = kernel.execute("%recode regenerate make_tea --hint 'call the primitives directly'")
    assert res.status == "ok", res.error
    # notes, not errors: on stdout (stderr shows as a pink box), the warning before the
    # output of the primitives it warns about, nothing on stderr
    assert res.lines == [], res.stderr
    assert "calls its primitives again" in res.stdout.splitlines()[0], res.stdout
    assert res.stdout.index("calls its primitives again") < res.stdout.index("boiling")
    assert "now a1" in res.stdout and "previous version is alternative a0" in res.stdout
    assert kernel.value("cup") == "hot water in mug"
    assert kernel.value("log") == ["boil", "pour", "boil", "pour"]
    assert kernel.value("[a.id for a in _recode.node('1').alternatives]") == ["a0", "a1"]
    assert "Hint from the user: call the primitives directly" in kernel.value("llm.calls[-1]")
    # the re-run's tree, shown when it ends: static (a saved notebook shows it again)
    assert any("recode-static" in d.get("text/html", "") for d in res.data), res.data


def test_alternatives_and_switch(kernel):
    _run(kernel)
    kernel.execute("%recode regenerate 1 --no-such-option")  # error, changes nothing
    assert kernel.value("_recode.node('1').alternatives") == []
    kernel.execute("%recode regenerate 1")
    res = kernel.execute("%recode alternatives make_tea")
    assert "a0" in res.stdout and "* a1" in res.stdout and "original" in res.stdout
    res = kernel.execute("%recode switch make_tea a0")
    assert res.status == "ok", res.error
    assert kernel.value("[c.name for c in _recode.node('1').children]") == [
        "heat_water", "serve"]
    assert "nothing ran" in res.stdout and res.lines == [], res.stderr
    assert "no alternative 'a7'" in usage_error(kernel.execute("%recode switch 1 a7"))
    assert "needs a NODE" in usage_error(kernel.execute("%recode switch"))


def test_edit_runs_code_by_hand_and_refuses_bad_code(kernel):
    _run(kernel)
    res = kernel.execute("%recode edit serve --code \"cup = pour('bowl', water)\"")
    assert res.status == "ok", res.error
    assert kernel.value("cup") == "hot water in bowl"
    assert kernel.value("_recode.node('3').alternatives[-1].label") == "edit"
    assert "SyntaxError" in usage_error(kernel.execute("%recode edit serve --code 'cup = ('"))
    assert "needs the new code" in usage_error(kernel.execute("%recode edit serve"))
    res = kernel.execute("new_code = \"cup = pour('pot', water)\"\n%recode edit 3 --from new_code")
    assert kernel.value("cup") == "hot water in pot"
    res = kernel.execute("%recode rerun 3")
    assert res.status == "ok", res.error
    assert kernel.value("len(_recode.node('3').alternatives)") == 4


def test_promote_writes_a_function_later_runs_use_with_fewer_calls(kernel):
    _run(kernel)
    calls_without = kernel.value("_recode.llm_calls")
    res = kernel.execute("%recode promote make_tea brew")
    assert res.status == "ok", res.error
    source = res.next_input
    assert source.startswith("def brew(task):\n    \"\"\"Heat, then serve.\"\"\"")
    assert kernel.execute(source).status == "ok"
    res = kernel.execute("fresh(); llm.replies['solve'] = X('cup = brew(task)')\n")
    res = kernel.execute("%%recode --llm llm --no-widget\nMake tea again.")
    assert res.status == "ok", res.error
    assert kernel.value("cup") == "hot water in cup"
    assert kernel.value("_recode.llm_calls") == 1 < calls_without == 4
    assert "brew" in kernel.value("_recode.meta['primitives']")


def test_compare_runs_and_alternatives(kernel, tmp_path):
    _run(kernel)
    kernel.execute(f"_recode.save({str(tmp_path / 'a.json')!r})")
    kernel.execute("%recode regenerate 1")
    res = kernel.execute(f"%recode compare {str(tmp_path / 'a.json')!r} -1")
    assert "not a run number" in usage_error(res)
    res = kernel.execute(f"%recode compare {str(tmp_path / 'a.json')!r} _recode")
    assert res.status == "ok", res.error
    html = next(d["text/html"] for d in res.data if "text/html" in d)
    text = next(d["text/plain"] for d in res.data if "text/plain" in d)
    assert "recode-compare" in html and "placeholder ratio" in text and "model calls" in text
    assert "heat_water" in text
    res = kernel.execute("%recode compare --node make_tea a0 a1")
    text = next(d["text/plain"] for d in res.data if "text/plain" in d)
    assert "-water = heat_water(task)" in text and "+water = boil('water')" in text
    assert kernel.value("type(_recode_compare).__name__") == "Comparison"


def test_export_pairs_writes_jsonl(kernel, tmp_path):
    _run(kernel)
    path = tmp_path / "pairs.jsonl"
    res = kernel.execute(f"%recode export --pairs {str(path)!r}")
    assert res.status == "ok", res.error
    assert "4 training pairs" in res.stdout
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["name"], r["depth"]) for r in rows] == [
        ("solve", 0), ("make_tea", 1), ("heat_water", 2), ("serve", 2)]
    assert all("Placeholder" in r["prompt"] and "<execute>" in r["reply"] for r in rows)


def test_widget_buttons_change_the_tree(kernel):
    _run(kernel)
    res = kernel.execute("""
from recode_magic.notebook.widget import ReCodeWidget
w = ReCodeWidget(_recode, trailing=False)
sent = []
w.send = lambda content, buffers=None: sent.append(content)
w._on_front_msg(w, {"action": "regenerate", "node": "1", "hint": "shorter"}, [])
""")
    assert res.status == "ok", res.error
    assert kernel.value("(sent[-1]['ok'], sent[-1]['action'])") == (True, "regenerate")
    assert kernel.value("[a['id'] for a in w.tree['nodes'][1]['alternatives']]") == ["a0", "a1"]
    assert kernel.value("w.tree['nodes'][1]['current']") == "a1"
    kernel.execute("w._on_front_msg(w, {'action': 'switch', 'node': '1', 'alternative': 'a0'}, [])")
    assert kernel.value("w.tree['nodes'][1]['current']") == "a0"
    assert kernel.value("[n['name'] for n in w.tree['nodes']]") == [
        "solve", "make_tea", "heat_water", "serve"]
    kernel.execute("w._on_front_msg(w, {'action': 'promote', 'node': '1'}, [])")
    assert kernel.value("w.code.startswith('def make_tea(task):')") is True
    kernel.execute("w._on_front_msg(w, {'action': 'compare', 'node': '1', "
                   "'alternatives': ['a0', 'a1']}, [])")
    assert kernel.value("sent[-1]['ok']") is True


def test_confirm_applies_to_a_rerun(kernel):
    _run(kernel)
    kernel.execute("%config ReCodeMagics.widget = False")
    try:
        # the regenerated code is shown and approved (it calls primitives only)
        res = kernel.execute("%recode regenerate make_tea --confirm", stdin=["y", "n"])
        assert res.status == "ok", res.error
        assert "wants to run:\nwater = boil('water')\ncup = pour('mug', water)" in res.stdout
        assert kernel.value("_recode.status") == "done"  # no placeholder left to confirm
        # code written by hand runs as it is; its placeholder's expansion is asked: rejected
        kernel.execute("mine = \"water = 'cold water'\\ncup = serve(water)\"")
        res = kernel.execute("%recode edit make_tea --from mine --confirm", stdin=["n"])
        assert "wants to run:\ncup = pour('cup', water)" in res.stdout
        # the rejected edit is kept as an alternative; the finished version stays current
        assert "rejected by the user" in res.stdout and "kept as alternative" in res.stdout
        assert kernel.value("_recode.status") == "done"
    finally:
        kernel.execute("%config ReCodeMagics.widget = True")
