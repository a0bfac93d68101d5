"""A run's warning in JupyterLab: one note line under the tree, no stderr (pink) box, once.

``samples=4`` with a model that takes no temperature warns; a resume of a run that warned
does not say it again. Screenshot: ``artifacts/warning-note.png``.
"""

from __future__ import annotations

import pytest

from .lab import assert_no_js_errors, open_notebook, run_all_cells, screenshot

pytestmark = pytest.mark.browser

SETUP = '''\
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
%config ReCodeMagics.levers = {"samples": 4}
from recode_magic import ScriptedLLM
X = lambda code: f"<think>plan</think><execute>{code}</execute>"
llm = ScriptedLLM({"solve": X("x = 3\\ny = twice(x)"), "twice": X("y = x * 2")})
'''
RECODE = "%%recode --llm llm --max-depth 0\nTwice three."
RESUME = "%recode resume --max-depth 3"
WARNING = ("recode: warning: samples=4: the model takes no per-call temperature, so its "
           "candidates are the same prompt asked again (they may all be the same)")

_STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]'


@pytest.mark.timeout(300)
def test_a_warning_is_one_note_line_shown_once(lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    lab_server.write_notebook("warn.ipynb", [SETUP, RECODE, RESUME, "print(y)"])
    panel = open_notebook(lab_page, lab_server, "warn.ipynb", timeout=90)
    result = run_all_cells(lab_page, timeout=120)
    assert not result.errors, result
    cells = panel.locator(".jp-CodeCell")
    run_cell, resume_cell = cells.nth(1), cells.nth(2)
    # the depth-limited run stops (its stop line is the one stderr box); the resume warns
    expect(run_cell.locator(".recode-static")).to_contain_text("ReCode run: limit")
    expect(resume_cell.locator(".recode-static")).to_contain_text("ReCode run: done")
    texts = [c.inner_text() for c in (run_cell, resume_cell)]
    assert sum(t.count(WARNING) for t in texts) == 1, texts    # said once, as one line
    assert resume_cell.locator(_STDERR).count() == 0            # a note, not a pink box
    lines = resume_cell.locator(".jp-OutputArea").inner_text().splitlines()
    assert WARNING in lines, lines
    expect(cells.nth(3).locator(".jp-OutputArea")).to_contain_text("6")
    screenshot(lab_page, "warning-note", target=resume_cell)
    assert_no_js_errors(browser_log)
