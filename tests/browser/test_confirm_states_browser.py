"""``--confirm`` states in JupyterLab: waiting, Reject, an interrupt, a repair's box.

While a box waits the tree shows its node as "waiting for you"; after Reject or an interrupt
the box collapses to one line saying so and the run's tree (its static copy by then) shows the
node rejected / interrupted with the code that did not run; a repair's box shows the error
that caused it. Screenshots: ``artifacts/confirm-{waiting,rejected,interrupted,repair}.png``.
"""

from __future__ import annotations

import re

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

REPAIR = '''\
llm = ScriptedLLM({"solve": [X("v = record(0)\\nout = 10 // v"), X("out = record(3) * 2")]})
'''


def _waiting(page, panel, shot: str | None = None):
    from playwright.sync_api import expect

    box = panel.locator(".recode-confirm")
    expect(box).to_have_count(1, timeout=60_000)
    root = panel.locator(".recode-widget .rc-row.rc-node").nth(0)
    expect(root.locator(".rc-icon")).to_have_attribute("title", re.compile("^waiting for you"))
    if shot:
        root.click()
        details = panel.locator(".recode-widget .rc-details")
        expect(details.locator(".rc-pill")).to_have_text("waiting for you")
        expect(details.locator(".rc-promote")).to_be_disabled()
        screenshot(page, shot, target=panel.locator(".jp-Cell").nth(1))
    return box


@pytest.mark.timeout(300)
def test_reject_shows_the_node_rejected_with_its_code(lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    lab_server.write_notebook("reject.ipynb", [SETUP, RECODE])
    panel = open_notebook(lab_page, lab_server, "reject.ipynb", timeout=90)
    start_run_all(lab_page)
    box = _waiting(lab_page, panel, "confirm-waiting")
    box.locator("button.rc-confirm-reject").click()
    decided = panel.locator(".recode-confirm-decided")
    expect(decided).to_have_count(1, timeout=15_000)
    expect(decided).to_contain_text("✘ recode --confirm: rejected · out = solve(task)")
    static = panel.locator(".recode-static")
    expect(static).to_contain_text("ReCode run: interrupted", timeout=30_000)
    expect(static.locator("summary").first).to_contain_text("rejected · depth 0")
    expect(static).to_contain_text("code (rejected; it did not run)")
    expect(static).not_to_contain_text("running")
    wait_settled(lab_page, timeout=60)
    screenshot(lab_page, "confirm-rejected", target=panel.locator(".jp-Cell").nth(1))
    assert_no_widget_errors(lab_page)
    assert_no_js_errors(browser_log)


@pytest.mark.timeout(300)
def test_an_interrupt_while_the_box_waits(lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    lab_server.write_notebook("interrupt.ipynb", [SETUP, RECODE])
    panel = open_notebook(lab_page, lab_server, "interrupt.ipynb", timeout=90)
    start_run_all(lab_page)
    _waiting(lab_page, panel)
    lab_page.evaluate("() => window.jupyterapp.commands.execute('notebook:interrupt-kernel')")
    decided = panel.locator(".recode-confirm-decided")
    expect(decided).to_contain_text("■ recode --confirm: interrupted (nothing ran)",
                                    timeout=30_000)
    static = panel.locator(".recode-static")
    expect(static).to_contain_text("ReCode run: interrupted", timeout=30_000)
    expect(static.locator("summary").first).to_contain_text("interrupted · depth 0")
    expect(static).not_to_contain_text("running")
    wait_settled(lab_page, timeout=60)
    screenshot(lab_page, "confirm-interrupted", target=panel.locator(".jp-Cell").nth(1))
    assert_no_widget_errors(lab_page)


@pytest.mark.timeout(300)
def test_a_repair_box_shows_the_error_that_caused_it(lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    lab_server.write_notebook("repair.ipynb", [SETUP + REPAIR, RECODE, 'print("OUT", out)'])
    panel = open_notebook(lab_page, lab_server, "repair.ipynb", timeout=90)
    start_run_all(lab_page)
    box = _waiting(lab_page, panel)
    expect(box).not_to_contain_text("failed with")           # the first box: no cause
    box.locator("button.rc-confirm-run").click()
    decided = panel.locator(".recode-confirm-decided")
    expect(decided).to_have_count(1, timeout=15_000)
    box = panel.locator(".recode-confirm")
    expect(box).to_have_count(1, timeout=30_000)              # the repair's box
    expect(box).to_contain_text("repair")
    expect(box.locator("pre.rc-confirm-cause")).to_contain_text("ZeroDivisionError")
    expect(box.locator("pre.rc-confirm-code")).to_contain_text("out = record(3) * 2")
    screenshot(lab_page, "confirm-repair", target=box)
    box.locator("button.rc-confirm-run").click()
    expect(decided).to_have_count(2, timeout=15_000)
    expect(decided.nth(1)).to_contain_text("ran · repair of out = solve(task)")
    cells = wait_settled(lab_page, timeout=60)
    assert not [e for c in cells for e in c["errors"]], cells
    expect(panel.locator(".jp-Cell").nth(2)).to_contain_text("OUT 60")
    expect(panel.locator(".recode-static")).to_contain_text("ReCode run: done")
    assert_no_widget_errors(lab_page)
    assert_no_js_errors(browser_log)
