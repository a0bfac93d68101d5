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

    lab_server.write_notebook("widget.ipynb", [SETUP, RECODE, "answer"])
    panel = open_notebook(lab_page, lab_server, "widget.ipynb", timeout=90)
    result = run_all_cells(lab_page, timeout=120)
    assert result.ok and not result.errors, result

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
