"""``%%recode --confirm`` in JupyterLab: click Run, then Edit + Run edited, while the cell runs."""

from __future__ import annotations

import re
import time

import pytest
from confirm_setup import RECODE, SETUP

from .lab import (
    assert_no_js_errors,
    assert_no_widget_errors,
    open_notebook,
    screenshot,
    start_run_all,
    wait_settled,
)

pytestmark = pytest.mark.browser


CHECK = 'print("OUT", out, calls)'
EDITED = "w = record(n)\nv = w + 100"


@pytest.mark.timeout(300)
def test_confirm_buttons_run_and_edit(lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    lab_server.write_notebook("confirm.ipynb", [SETUP, RECODE, CHECK])
    panel = open_notebook(lab_page, lab_server, "confirm.ipynb", timeout=90)
    t0 = time.monotonic()
    start_run_all(lab_page)

    boxes = panel.locator(".recode-confirm")          # the box waiting now (one at a time)
    decided = panel.locator(".recode-confirm-decided")  # what a decided box collapses to
    expect(boxes).to_have_count(1, timeout=60_000)  # solve's code, waiting for us
    first = boxes.nth(0)
    expect(first).to_contain_text("solve(task)")
    expect(first).to_contain_text("depth 0")
    expect(first.locator("pre.rc-confirm-code")).to_have_text("v = make_value(n=3)\nout = v * 2")
    # the tree says who the run waits for
    root = panel.locator(".recode-widget .rc-row.rc-node").nth(0)
    expect(root.locator(".rc-icon")).to_have_attribute("title", re.compile("^waiting for you"))
    first.locator("button.rc-confirm-run").click()
    expect(decided).to_have_count(1, timeout=15_000)
    expect(decided.nth(0)).to_contain_text("✔ recode --confirm: ran · out = solve(task) (depth 0)")

    expect(boxes).to_have_count(1, timeout=30_000)  # make_value's code
    second = boxes.nth(0)
    expect(second).to_contain_text("v = make_value(n=3)")
    expect(second).to_contain_text("depth 1")
    expect(second.locator("pre.rc-confirm-code")).to_have_text("v = record(n) + 1")
    second.locator("button.rc-confirm-edit-button").click()
    editor = second.locator(".rc-confirm-edit textarea")
    expect(editor).to_be_visible(timeout=15_000)
    expect(editor).to_have_value("v = record(n) + 1")
    editor.fill(EDITED)
    screenshot(lab_page, "confirm-editing", target=second)
    second.locator("button.rc-confirm-run-edited").click()
    expect(decided).to_have_count(2, timeout=15_000)
    expect(decided.nth(1)).to_contain_text("recode --confirm: ran edited code · v = make_value")
    decided.nth(1).locator("summary").click()
    expect(decided.nth(1).locator("pre")).to_have_text(EDITED)

    cells = wait_settled(lab_page, timeout=60)
    seconds = time.monotonic() - t0
    assert not [e for c in cells for e in c["errors"]], cells
    out = panel.locator(".jp-Cell").nth(2).locator(".jp-OutputArea")
    expect(out).to_contain_text("OUT 260 [3]")
    expect(boxes).to_have_count(0)  # no box (and no dead widget) is left
    expect(panel.locator(".recode-static")).to_contain_text("ReCode run: done", timeout=30_000)

    cell = panel.locator(".jp-Cell").nth(1)
    cell.scroll_into_view_if_needed()
    screenshot(lab_page, "confirm", target=cell)
    assert_no_widget_errors(lab_page)
    assert_no_js_errors(browser_log)
    print(f"confirm run with two clicks: {seconds:.1f} s")
