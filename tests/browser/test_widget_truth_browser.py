"""The widget tells the truth (issue 25), in JupyterLab and Notebook 7.

* Run All with a fast run and then a cell that keeps the kernel busy: the first trees read
  ``done`` while the busy cell still runs (the magic's tree is its static copy by then; a
  widget shown by hand draws the final state from the model's synced state alone).
* A notebook saved, closed and reopened with a new kernel, and with none: every tree and
  every decided ``--confirm`` record is there, no "Error displaying widget".
Screenshots: ``artifacts/truth-*.png``.
"""

from __future__ import annotations

import pytest
from confirm_setup import SETUP

from .lab import (
    assert_no_widget_errors,
    open_notebook,
    screenshot,
    start_run_all,
    wait_settled,
    widget_error_texts,
)

pytestmark = pytest.mark.browser

FAST = "%%recode --llm llm -o out\nMake a value from 3 and double it."
BY_HAND = '''\
from IPython.display import display
from recode_magic import ReCode
from recode_magic.notebook.widget import ReCodeWidget
engine = ReCode(llm, namespace={"record": record})
w = ReCodeWidget().attach(engine)
display(w)
run2 = engine.run("Make a value from 3 and double it.")
'''
BUSY = "import time\ntime.sleep(40)\nprint('busy cell done')"
CONFIRM = "%%recode --llm llm --confirm -o out\nMake a value from 3 and double it."

_BUSY_PROMPT = """(i) => { const p = document.querySelectorAll('.jp-InputPrompt')[i];
  return !!p && p.textContent.includes('[*]'); }"""


@pytest.mark.timeout(300)
@pytest.mark.parametrize("ui", ["lab", "notebook"])
def test_run_all_fast_runs_read_done_while_a_later_cell_keeps_the_kernel_busy(
        ui, lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    name = f"busy-{ui}.ipynb"
    lab_server.write_notebook(name, [SETUP, FAST, BY_HAND, BUSY])
    panel = open_notebook(lab_page, lab_server, name, timeout=90, ui=ui)
    start_run_all(lab_page)
    lab_page.wait_for_function(_BUSY_PROMPT, arg=3, timeout=60_000)
    cells = panel.locator(".jp-CodeCell")
    static = cells.nth(1).locator(".recode-static")
    expect(static).to_contain_text("ReCode run: done", timeout=20_000)
    live = cells.nth(2).locator(".recode-widget")
    expect(live.locator(".rc-run-status")).to_have_text("✔ done", timeout=20_000)
    expect(live.locator(".rc-meta")).to_contain_text("2 model calls")
    expect(live.locator(".rc-row.rc-node")).to_have_count(2)
    assert lab_page.evaluate(_BUSY_PROMPT, 3), "the busy cell ended before the check"
    cells.nth(1).scroll_into_view_if_needed()
    screenshot(lab_page, f"truth-run-all-busy-{ui}", target=panel.locator(".jp-Notebook"))
    assert_no_widget_errors(lab_page)
    lab_page.evaluate("() => window.jupyterapp.commands.execute('notebook:interrupt-kernel')")
    wait_settled(lab_page, timeout=60)


def _reload_without_kernel(page) -> None:
    """Shut the open notebook's kernel down, then reload the notebook from disk (no kernel)."""
    page.evaluate("""async () => {
      const w = window.jupyterapp.shell.currentWidget;
      await w.sessionContext.shutdown();
      await window.jupyterapp.commands.execute('docmanager:reload'); }""")
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
          return w && w.context.isReady && !w.sessionContext.session; }""", timeout=60_000)


def _check_reopened(page, prefix: str) -> None:
    from playwright.sync_api import expect

    nb = page.locator(".jp-Notebook")
    expect(nb.locator(".recode-static")).to_have_count(2, timeout=30_000)
    expect(nb.locator(".recode-static").nth(0)).to_contain_text("ReCode run: done")
    decided = nb.locator(".recode-confirm-decided")
    expect(decided).to_have_count(2)
    expect(decided.nth(0)).to_contain_text("recode --confirm: ran · out = solve(task)")
    page.wait_for_timeout(3000)  # the widget manager restores (and would complain) by now
    assert not widget_error_texts(page)
    assert not nb.locator(".recode-confirm, .jupyter-widgets").count()
    screenshot(page, prefix, target=nb)


@pytest.mark.timeout(400)
def test_a_saved_notebook_reopens_with_every_tree(lab_server, lab_page, browser_log):
    import json

    from playwright.sync_api import expect

    lab_server.write_notebook("saved.ipynb", [SETUP, FAST, CONFIRM, "print(out)"])
    panel = open_notebook(lab_page, lab_server, "saved.ipynb", timeout=90)
    start_run_all(lab_page)
    for i in range(2):
        box = panel.locator(".recode-confirm")
        expect(box).to_have_count(1, timeout=60_000)
        box.locator("button.rc-confirm-run").click()
        expect(panel.locator(".recode-confirm-decided")).to_have_count(i + 1, timeout=15_000)
    cells = wait_settled(lab_page, timeout=60)
    assert not [e for c in cells for e in c["errors"]], cells
    lab_page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    lab_page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
    saved = lab_server.api("GET", "api/contents/saved.ipynb")["content"]
    mimes = [m for c in saved["cells"] for o in c.get("outputs", []) for m in o.get("data", {})]
    assert "application/vnd.jupyter.widget-view+json" not in mimes, mimes
    lab_page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
    lab_server.shutdown_kernels()

    open_notebook(lab_page, lab_server, "saved.ipynb", timeout=90)      # a new kernel
    _check_reopened(lab_page, "truth-reopened-new-kernel")
    lab_page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
    lab_server.shutdown_kernels()

    open_notebook(lab_page, lab_server, "saved.ipynb", timeout=90, ui="notebook")
    _check_reopened(lab_page, "truth-reopened-nb7")
    lab_server.shutdown_kernels()

    open_notebook(lab_page, lab_server, "saved.ipynb", timeout=90)      # no kernel
    _reload_without_kernel(lab_page)
    _check_reopened(lab_page, "truth-reopened-no-kernel")
    assert json.dumps(saved).count("recode-static") >= 2


STOPPED = '''\
from IPython.display import display
from recode_magic import ReCode, ScriptedLLM
from recode_magic.notebook.widget import ReCodeWidget

def halt():
    """Stop here."""
    raise KeyboardInterrupt

stop_llm = ScriptedLLM({"solve": "<execute>half = 1\\nhalt()</execute>"})
engine = ReCode(stop_llm, namespace={"halt": halt})
w = ReCodeWidget().attach(engine)
display(w)
stopped = engine.run("Stop halfway.")
'''


@pytest.mark.timeout(300)
def test_a_node_a_run_stopped_in_shows_the_code_that_ran_as_code(lab_server, lab_page,
                                                                  browser_log):
    """Its details titled the code "shown to you, not run" (a --confirm wording) although
    its first statement had run: only code offered and never run says so now."""
    from playwright.sync_api import expect

    lab_server.write_notebook("stopped.ipynb", [STOPPED])
    panel = open_notebook(lab_page, lab_server, "stopped.ipynb", timeout=90)
    start_run_all(lab_page)
    widget = panel.locator(".recode-widget").first
    expect(widget.locator(".rc-run-status")).to_contain_text("interrupted", timeout=60_000)
    widget.locator(".rc-row.rc-node").first.click()
    titles = widget.locator(".rc-details .rc-sec-title")
    expect(titles.first).to_be_visible(timeout=15_000)
    texts = titles.all_text_contents()
    assert "Code" in texts and not any("not run" in t for t in texts), texts
    wait_settled(lab_page, timeout=60)
    assert_no_widget_errors(lab_page)
