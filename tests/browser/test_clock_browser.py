"""The live header's clock in JupyterLab stands still while a ``--confirm`` box waits for you.

The first box is answered after :data:`THINK` seconds; while the next step runs (a primitive
that sleeps), the header shows the run's busy time (well under ``THINK``), counting on.
Screenshot: ``artifacts/clock-after-a-wait.png``.
"""

from __future__ import annotations

import re
import time

import pytest

from .lab import (
    assert_no_js_errors,
    assert_no_widget_errors,
    open_notebook,
    screenshot,
    start_run_all,
    wait_settled,
)

pytestmark = pytest.mark.browser

THINK = 6.0  # seconds the user takes to answer the first box

SETUP = '''\
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
import time
from recode_magic import ScriptedLLM

def slow(n):
    """Take a while, then return n times ten."""
    time.sleep(8)
    return n * 10

X = lambda code: f"<think>plan</think><execute>{code}</execute>"
llm = ScriptedLLM({"solve": X("v = make_value(n=3)"), "make_value": X("v = slow(n)")})
'''
RECODE = "%%recode --llm llm --confirm\nMake a value from 3."


def _seconds(meta: str) -> float:
    m = re.search(r"(\d+(?:\.\d+)?) (ms|s)$", meta.split(" · ")[4])
    assert m is not None, meta
    return float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)


@pytest.mark.timeout(300)
def test_the_clock_leaves_out_the_wait_for_a_confirm_decision(lab_server, lab_page,
                                                               browser_log):
    from playwright.sync_api import expect

    lab_server.write_notebook("clock.ipynb", [SETUP, RECODE])
    panel = open_notebook(lab_page, lab_server, "clock.ipynb", timeout=90)
    start_run_all(lab_page)
    box = panel.locator(".recode-confirm")
    expect(box).to_have_count(1, timeout=60_000)
    status = panel.locator(".recode-widget .rc-run-status")
    expect(status).to_contain_text("waiting for you")
    meta = panel.locator(".recode-widget .rc-meta")
    still = meta.inner_text()
    time.sleep(THINK)
    assert meta.inner_text() == still                  # the clock stands still meanwhile
    box.locator("button.rc-confirm-run").click()
    expect(panel.locator(".recode-confirm-decided")).to_have_count(1, timeout=15_000)
    expect(box).to_have_count(1, timeout=30_000)       # make_value's box: answered at once
    box.locator("button.rc-confirm-run").click()
    expect(panel.locator(".recode-confirm-decided")).to_have_count(2, timeout=15_000)
    expect(status).to_contain_text("running")          # slow(3) sleeps 8 s
    time.sleep(2.0)
    first = _seconds(meta.inner_text())
    time.sleep(1.5)
    text = meta.inner_text()
    second = _seconds(text)
    screenshot(lab_page, "clock-after-a-wait", target=panel.locator(".jp-Cell").nth(1))
    assert second < THINK - 1, text                    # was: the wall clock, the wait in it
    assert second >= first + 0.5, (first, text)        # and it counts on while the run goes
    cells = wait_settled(lab_page, timeout=60)
    assert not [e for c in cells for e in c["errors"]], cells
    static = panel.locator(".recode-static")
    expect(static).to_contain_text("ReCode run: done", timeout=30_000)
    assert_no_widget_errors(lab_page)
    assert_no_js_errors(browser_log)
