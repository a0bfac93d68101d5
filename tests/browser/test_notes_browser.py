"""Notes read as notes in JupyterLab: no stderr (pink) box for them, the re-run note first."""

from __future__ import annotations

import pytest

from .lab import assert_no_js_errors, open_notebook, run_all_cells, screenshot

pytestmark = pytest.mark.browser

SETUP = '''\
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
from recode_magic import ScriptedLLM

def boil(what):
    """Boil something."""
    print("boiling", what)
    return f"hot {what}"

def X(code, thought="plan"):
    return f"<think>{thought}</think><execute>{code}</execute>"

llm = ScriptedLLM({
    "solve": X("cup = make_tea()"),
    "make_tea": [X("cup = boil('water')"), X("cup = boil('tea')", "again")],
})
task = "my own variable"
'''

RECODE = "%%recode --llm llm -o cup\nMake tea."
REGENERATE = "%recode regenerate make_tea"

_STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]'


@pytest.mark.timeout(300)
def test_notes_are_not_error_boxes_and_the_rerun_note_comes_first(lab_server, lab_page,
                                                                   browser_log):
    from playwright.sync_api import expect

    lab_server.write_notebook("notes.ipynb", [SETUP, RECODE, REGENERATE])
    panel = open_notebook(lab_page, lab_server, "notes.ipynb", timeout=90)
    result = run_all_cells(lab_page, timeout=120)
    assert result.ok and not result.errors, result

    cells = panel.locator(".jp-CodeCell")
    run_cell, rerun_cell = cells.nth(1), cells.nth(2)
    # the %%recode cell said that `task` was put back, the re-run what it calls again
    expect(run_cell.locator(".jp-OutputArea")).to_contain_text("was put back")
    expect(rerun_cell.locator(".jp-OutputArea")).to_contain_text("calls its primitives again")
    expect(rerun_cell.locator(".jp-OutputArea")).to_contain_text("is now a1")
    # ...as notes: no output of the notebook is drawn as stderr (JupyterLab's pink box)
    assert panel.locator(_STDERR).count() == 0, panel.locator(_STDERR).all_inner_texts()
    # and the re-run's note is above the output of the primitive it warns about
    text = rerun_cell.locator(".jp-OutputArea").inner_text()
    assert text.index("calls its primitives again") < text.index("boiling tea"), text
    screenshot(lab_page, "notes-rerun", target=rerun_cell)
    assert_no_js_errors(browser_log)
