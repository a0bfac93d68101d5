"""``--confirm`` in JupyterLab when the user takes longer than the render timeout to click.

The box carries an invisible probe widget that tells the kernel the front-end drew it; a
front-end without widgets never answers and the box gives up after ``render_timeout``
seconds. In JupyterLab the probe answers at once, so a slow click still counts.
"""

from __future__ import annotations

import time

import pytest
from confirm_setup import SETUP

from .lab import (
    assert_no_js_errors,
    assert_no_widget_errors,
    open_notebook,
    start_run_all,
    wait_settled,
)

pytestmark = pytest.mark.browser

SLOW = "%config ReCodeMagics.confirm_render_timeout = 2.0"
RECODE = "%%recode --llm llm --confirm -o out\nMake a value from 3 and double it."
CHECK = 'print("OUT", out, calls)'


@pytest.mark.timeout(300)
def test_a_click_after_the_render_timeout_still_runs(lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    lab_server.write_notebook("confirm_slow.ipynb", [SETUP, SLOW, RECODE, CHECK])
    panel = open_notebook(lab_page, lab_server, "confirm_slow.ipynb", timeout=90)
    start_run_all(lab_page)
    boxes = panel.locator(".recode-confirm")
    for i in range(2):
        expect(boxes).to_have_count(1, timeout=60_000)
        box = boxes.nth(0)
        time.sleep(4)  # twice the render timeout: the probe has answered, the box still waits
        expect(box).not_to_contain_text("buttons unavailable")
        box.locator("button.rc-confirm-run").click()
        expect(panel.locator(".recode-confirm-decided")).to_have_count(i + 1, timeout=15_000)
        expect(panel.locator(".recode-confirm-decided").nth(i)).to_contain_text("ran ·")
    cells = wait_settled(lab_page, timeout=60)
    assert not [e for c in cells for e in c["errors"]], cells
    expect(panel.locator(".jp-Cell").nth(3).locator(".jp-OutputArea")).to_contain_text(
        "OUT 62 [3]")
    assert_no_widget_errors(lab_page)
    assert_no_js_errors(browser_log)
