"""Smoke test of the browser harness: JupyterLab runs a notebook and shows an anywidget."""

from __future__ import annotations

import time

import pytest

from .lab import (
    assert_no_js_errors,
    assert_no_widget_errors,
    open_notebook,
    run_all_cells,
    screenshot,
)

pytestmark = pytest.mark.browser

ESM = (
    "export default { render({ model, el }) { el.innerText = 'hello-widget ' + model.get('v'); } }"
)

WIDGET_CELL = f"""\
import anywidget
import traitlets

class W(anywidget.AnyWidget):
    _esm = {ESM!r}
    v = traitlets.Int(3).tag(sync=True)

W()
"""


@pytest.mark.timeout(300)
def test_lab_runs_notebook_and_renders_anywidget(lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    t0 = time.monotonic()
    lab_server.write_notebook("smoke.ipynb", [("markdown", "# smoke"), "print(1+1)", WIDGET_CELL])

    panel = open_notebook(lab_page, lab_server, "smoke.ipynb", timeout=90)
    t_open = time.monotonic()

    result = run_all_cells(lab_page, timeout=120)
    assert result.ok and not result.errors, result
    code = [c for c in result.cells if c["type"] == "code"]
    assert [c["execution_count"] for c in code] == [1, 2]

    cells = panel.locator(".jp-CodeCell")
    expect(cells.nth(0).locator(".jp-OutputArea-output")).to_have_text("2", timeout=30_000)
    widget = cells.nth(1).get_by_text("hello-widget 3", exact=True)
    expect(widget).to_be_visible(timeout=60_000)
    t_done = time.monotonic()

    screenshot(lab_page, "lab-smoke")
    assert_no_widget_errors(lab_page)
    assert_no_js_errors(browser_log)
    print(
        f"\nserver startup {lab_server.startup_seconds:.1f} s, "
        f"open+kernel idle {t_open - t0:.1f} s, run all {result.seconds:.1f} s, "
        f"widget visible {t_done - t_open:.1f} s"
    )
