"""``%%recode --confirm`` in JupyterLab: click Run, then Edit + Run edited, while the cell runs."""

from __future__ import annotations

import time

import pytest

from .lab import (
    _JS_CELLS,
    _poll,
    assert_no_js_errors,
    assert_no_widget_errors,
    open_notebook,
    screenshot,
)

pytestmark = pytest.mark.browser

SETUP = '''\
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
from recode_magic import ScriptedLLM

calls = []

def record(n):
    """Log n and return ten times n."""
    calls.append(n)
    return n * 10

X = lambda code: f"<think>plan</think><execute>{code}</execute>"
llm = ScriptedLLM({
    "solve": X("v = make_value(n=3)\\nout = v * 2"),
    "make_value": X("v = record(n) + 1"),
})
'''

RECODE = "%%recode --llm llm --confirm -o out\nMake a value from 3 and double it."
CHECK = 'print("OUT", out, calls)'
EDITED = "w = record(n)\nv = w + 100"


def start_run_all(page) -> None:
    """Run > Run All Cells without waiting for it (the cells wait for our clicks)."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def wait_idle(page, timeout: float = 60) -> list[dict]:
    """Wait until no prompt shows ``[*]`` and the kernel is idle; return the cells' summary."""
    def settled() -> dict:
        return page.evaluate(
            """() => {
              const w = window.jupyterapp.shell.currentWidget;
              const k = w.sessionContext.session && w.sessionContext.session.kernel;
              const busy = [...w.node.querySelectorAll('.jp-InputPrompt')]
                .filter(p => p.textContent.includes('[*]')).length;
              return {_ok: busy === 0 && k && k.status === 'idle', busy, status: k && k.status};
            }""")
    _poll(page, settled, "all cells to finish", timeout)
    return page.evaluate(_JS_CELLS)


@pytest.mark.timeout(300)
def test_confirm_buttons_run_and_edit(lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    lab_server.write_notebook("confirm.ipynb", [SETUP, RECODE, CHECK])
    panel = open_notebook(lab_page, lab_server, "confirm.ipynb", timeout=90)
    t0 = time.monotonic()
    start_run_all(lab_page)

    boxes = panel.locator(".recode-confirm")
    expect(boxes).to_have_count(1, timeout=60_000)  # solve's code, waiting for us
    first = boxes.nth(0)
    expect(first).to_contain_text("solve(task)")
    expect(first).to_contain_text("depth 0")
    expect(first.locator("pre.rc-confirm-code")).to_have_text("v = make_value(n=3)\nout = v * 2")
    first.locator("button.rc-confirm-run").click()
    expect(first).to_contain_text("decision: ran", timeout=15_000)
    expect(first.locator("button.rc-confirm-run")).to_be_disabled()

    expect(boxes).to_have_count(2, timeout=30_000)  # make_value's code
    second = boxes.nth(1)
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
    expect(second).to_contain_text("decision: ran edited code", timeout=15_000)
    expect(second.locator("pre.rc-confirm-edited")).to_have_text(EDITED)

    cells = wait_idle(lab_page, timeout=60)
    seconds = time.monotonic() - t0
    assert not [e for c in cells for e in c["errors"]], cells
    out = panel.locator(".jp-Cell").nth(2).locator(".jp-OutputArea")
    expect(out).to_contain_text("OUT 260 [3]")
    for b in ("run", "edit-button", "reject"):
        for box in (first, second):
            expect(box.locator(f"button.rc-confirm-{b}")).to_be_disabled()
    expect(second.locator("button.rc-confirm-run-edited")).to_be_disabled()
    expect(panel.locator(".recode-widget .rc-run-status")).to_have_text("✔ done",
                                                                         timeout=30_000)

    cell = panel.locator(".jp-Cell").nth(1)
    cell.scroll_into_view_if_needed()
    screenshot(lab_page, "confirm", target=cell)
    assert_no_widget_errors(lab_page)
    assert_no_js_errors(browser_log)
    print(f"confirm run with two clicks: {seconds:.1f} s")
