"""The call-tree widget in JupyterLab: a %%recode cell, click a node, save, nbconvert."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .lab import (
    ARTIFACTS,
    assert_no_js_errors,
    assert_no_widget_errors,
    open_notebook,
    run_all_cells,
    screenshot,
    start_run_all,
    wait_settled,
)

pytestmark = pytest.mark.browser

SETUP = '''\
%load_ext recode_magic
from recode_magic import ScriptedLLM

def add(a, b):
    """Add two numbers."""
    return a + b

def X(code, thought="plan"):
    return f"<think>{thought}</think><execute>{code}</execute>"

llm = ScriptedLLM({
    "solve": X("x = step_one(task)\\ny = double_it(x)\\nanswer = y"),
    "step_one": X("x = add(1, 2)", "one plus two"),
    "double_it": X("y = add(x, x)"),
})
'''

RECODE = "%%recode --llm llm -o answer\nAdd one and two, then double it."


@pytest.mark.timeout(300)
def test_widget_tree_click_and_static_fallback(lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    lab_server.write_notebook("widget.ipynb", [SETUP, RECODE, "answer", "%recode show"])
    panel = open_notebook(lab_page, lab_server, "widget.ipynb", timeout=90)
    result = run_all_cells(lab_page, timeout=120)
    assert result.ok and not result.errors, result

    # the %%recode cell's widget became its static tree when the run ended; `%recode show`
    # brings the live one back
    static = panel.locator(".jp-CodeCell").nth(1).locator(".recode-static")
    expect(static).to_contain_text("ReCode run: done")
    expect(panel.locator(".jp-CodeCell").nth(1).locator(".recode-static-note")).to_contain_text(
        "%recode show")
    widget = panel.locator(".recode-widget")
    expect(widget).to_have_count(1, timeout=60_000)
    expect(widget.locator(".rc-run-status")).to_have_text("✔ done", timeout=30_000)
    rows = widget.locator(".rc-row.rc-node")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("step_one")
    expect(rows.nth(2)).to_contain_text("double_it")
    assert "3 nodes" in widget.locator(".rc-meta").inner_text()

    rows.nth(1).click()
    details = widget.locator(".rc-details")
    expect(details.locator(".rc-code")).to_have_text("x = add(1, 2)")
    expect(details.locator(".rc-thought")).to_have_text("one plus two")
    expect(rows.nth(1)).to_have_attribute("aria-selected", "true")

    widget.locator(".rc-tree").press("ArrowDown")  # keyboard: the step row of step_one
    widget.locator(".rc-tree").press("ArrowDown")  # then double_it
    expect(details.locator(".rc-code")).to_have_text("y = add(x, x)")

    screenshot(lab_page, "widget-tree", target=widget)
    widget.locator('[data-tab="graph"]').click()
    expect(widget.locator(".rc-graph svg")).to_have_count(1, timeout=30_000)
    widget.locator('[data-tab="code"]').click()
    expect(widget.locator(".rc-export")).to_contain_text("def step_one(task):")
    screenshot(lab_page, "widget-code", target=widget)
    assert_no_widget_errors(lab_page)
    assert_no_js_errors(browser_log)

    lab_page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    path = lab_server.root_dir / "widget.ipynb"
    for _ in range(40):
        nb = json.loads(path.read_text())
        if any(o.get("output_type") == "display_data" for c in nb["cells"]
               for o in c.get("outputs", [])):
            break
        lab_page.wait_for_timeout(250)
    assert "application/vnd.jupyter.widget-state+json" not in json.dumps(nb["metadata"])
    out = ARTIFACTS / "widget-nbconvert.html"
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", str(path),
                    "--output", out.stem, "--output-dir", str(out.parent)],
                   check=True, capture_output=True, timeout=120)
    html = out.read_text()
    assert "recode-static" in html
    assert "x = step_one(task)" in html and "y = double_it(x)" in html
    assert "data:image/svg+xml;base64," in html


BIG = '''\
from recode_magic import ReCode, ScriptedLLM
from recode_magic.notebook.widget import ReCodeWidget
X = lambda c: f"<execute>{c}</execute>"
replies = {"solve": X("\\n".join(f"x{i} = item_{i}()" for i in range(999)))}
replies.update({f"item_{i}": X(f"x{i} = {i}") for i in range(999)})
run = ReCode(ScriptedLLM(replies), max_calls=10**6).run("a fan of 999")
ReCodeWidget(run)
'''

_VISIBLE = """(w) => {  // names of the node rows inside the tree pane's scroll view
  const t = w.querySelector('.rc-tree'), box = t.getBoundingClientRect();
  return [...t.querySelectorAll('.rc-node')].filter((r) => {
    const b = r.getBoundingClientRect();
    return b.top >= box.top - 1 && b.bottom <= box.bottom + 1;
  }).map((r) => r.querySelector('.rc-name').textContent);
}"""


@pytest.mark.timeout(300)
def test_a_big_tree_draws_the_rows_in_view_and_stays_navigable(lab_server, lab_page,
                                                                 browser_log):
    from playwright.sync_api import expect

    lab_server.write_notebook("big.ipynb", [BIG])
    panel = open_notebook(lab_page, lab_server, "big.ipynb", timeout=90)
    result = run_all_cells(lab_page, timeout=120)
    assert result.ok and not result.errors, result
    widget = panel.locator(".recode-widget")
    tree = widget.locator(".rc-tree")
    expect(widget.locator(".rc-run-status")).to_have_text("✔ done", timeout=60_000)
    # 1,000 nodes and their 999 steps are 1,999 rows; the DOM holds those near the view
    expect(tree).to_have_attribute("data-rows", "1999")
    drawn = tree.locator("[role=treeitem]").count()
    assert 20 < drawn < 150, drawn
    assert widget.evaluate(_VISIBLE)[:3] == ["solve", "item_0", "item_1"]
    assert tree.evaluate("(t) => t.scrollHeight") >= 1999 * 18

    # keyboard: End reaches the last row (scrolled into view, announced as active)
    tree.focus()
    tree.press("End")
    details = widget.locator(".rc-details")
    expect(details.locator(".rc-code")).to_have_text("x998 = 998")
    focus = tree.locator(".rc-focus")
    expect(focus).to_have_count(1)
    expect(focus).to_contain_text("x998 = 998")
    assert tree.get_attribute("aria-activedescendant") == focus.get_attribute("id")
    assert "item_998" in widget.evaluate(_VISIBLE)
    tree.press("PageUp")
    tree.press("Home")
    expect(details.locator(".rc-code")).to_contain_text("x0 = item_0()")
    assert tree.evaluate("(t) => t.scrollTop") == 0

    # scrolling draws the rows that come into view; a click there selects its node
    tree.evaluate("(t) => { t.scrollTop = 999 * 18; }")
    row = tree.locator(".rc-node", has_text="item_499")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("aria-posinset", "500")
    expect(row).to_have_attribute("aria-setsize", "999")
    row.locator(".rc-name").click()
    expect(details.locator(".rc-code")).to_have_text("x499 = 499")
    assert tree.evaluate("(t) => t.scrollTop") == 999 * 18  # the click did not jump

    # collapse the node (ArrowLeft), then the root: the row count follows
    tree.press("ArrowLeft")
    expect(tree).to_have_attribute("data-rows", "1998")
    expect(row).to_have_attribute("aria-expanded", "false")
    tree.press("Home")
    tree.press("ArrowLeft")
    expect(tree).to_have_attribute("data-rows", "1")
    expect(tree.locator("[role=treeitem]")).to_have_count(1)
    tree.press("ArrowRight")
    expect(tree).to_have_attribute("data-rows", "1998")
    screenshot(lab_page, "widget-big-tree", target=widget)
    assert_no_widget_errors(lab_page)
    assert_no_js_errors(browser_log)


LIVE_BIG = '''\
import time
from recode_magic import ReCode, ScriptedLLM
from recode_magic.notebook.widget import ReCodeWidget
X = lambda c: f"<execute>{c}</execute>"
def slow(reply):
    return lambda prompt: (time.sleep(0.01), reply)[1]
replies = {"solve": X("\\n".join(f"x{i} = item_{i}()" for i in range(400)))}
replies.update({f"item_{i}": slow(X(f"x{i} = {i}")) for i in range(400)})
engine = ReCode(ScriptedLLM(replies), max_calls=10**6)
w = ReCodeWidget().attach(engine)
w
'''


@pytest.mark.timeout(300)
def test_a_big_tree_grows_live_from_patches(lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    lab_server.write_notebook("grow.ipynb", [LIVE_BIG, "run = engine.run('a fan of 400')"])
    panel = open_notebook(lab_page, lab_server, "grow.ipynb", timeout=90)
    start_run_all(lab_page)
    widget = panel.locator(".recode-widget")
    tree = widget.locator(".rc-tree")
    # while the run goes on, the tree passes the windowing threshold (300 rows) and grows
    lab_page.wait_for_function(
        """() => { const w = document.querySelector('.recode-widget');
          const t = w && w.querySelector('.rc-tree');
          return w && w.dataset.status === 'running' && Number(t.dataset.rows) > 320
            && Number(t.dataset.rows) < 801; }""", timeout=60_000)
    assert tree.locator("[role=treeitem]").count() < 150
    tree.evaluate("(t) => { t.scrollTop = t.scrollHeight; }")   # the end, for now
    wait_settled(lab_page, 120)
    expect(widget.locator(".rc-run-status")).to_have_text("✔ done", timeout=30_000)
    expect(tree).to_have_attribute("data-rows", "801")   # 401 nodes, 400 steps
    # the view stayed where it was while rows were added below it, and shows rows there
    seen = widget.evaluate(_VISIBLE)
    assert len(seen) >= 10 and "item_399" not in seen, seen
    tree.evaluate("(t) => { t.scrollTop = t.scrollHeight; }")
    expect(tree.locator(".rc-node", has_text="item_399")).to_have_count(1)
    lab_page.wait_for_function(f"() => ({_VISIBLE})(document.querySelector('.recode-widget'))"
                               ".includes('item_399')")
    assert_no_widget_errors(lab_page)
    assert_no_js_errors(browser_log)
