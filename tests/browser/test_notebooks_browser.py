"""The shipped notebooks in a real JupyterLab: open, run all cells, check the widget rendered.

Each notebook is opened from a copy of ``notebooks/`` in the server's root (so the kernel's
working directory is that copy and the cassettes resolve as in a checkout), then:

* before running: the saved outputs show the static call tree (``.recode-static``) and no
  widget error (the files carry no widget model references that could dangle);
* Run All Cells: every cell ran, no error output (``%recode export`` adds a cell holding the
  exported program below itself, which Run All leaves unexecuted: checked as such);
* each run's tree (the live widget while it ran, its static copy ``.recode-static`` once it
  ended) with the expected final run status, no live widget left, no "Error displaying
  widget", no JavaScript console errors or page errors;
* a screenshot of the first widget with its cell: ``artifacts/nb-<name>.png``.

No API key reaches the kernel (the harness removes it): the model replies come from the
notebooks' cassettes or from ScriptedLLMs written in the notebooks.
"""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path

import nbformat
import pytest

from .lab import (
    REPO_ROOT,
    assert_no_js_errors,
    assert_no_widget_errors,
    open_notebook,
    run_all_cells,
    screenshot,
)

pytestmark = pytest.mark.browser

NOTEBOOKS = REPO_ROOT / "notebooks"

#: the notebooks run here
NAMES = ["quickstart", "teaching_granularity", "text_world_agent", "planning_levers"]
#: first line of the text view the magic shows with (and under) its widget
_RUN_LINE = re.compile(r"ReCode run: (\w+) ·")


def expected_widgets(name: str) -> list[str]:
    """Final status text of each live widget the notebook shows, in page order ('✔ done').

    Read from the saved notebook (nbval keeps it equal to a fresh run): a widget's output is
    saved as its static view, one ``display_data`` whose HTML is a ``.recode-static`` tree
    (notebooks/record_cassettes.py strips the widget reference), its text view starting
    with ``ReCode run: <status> ·``. ``%recode tree`` prints its text view to stdout and is
    not counted. A notebook gaining or losing a widget changes this list with it.
    """
    from recode_magic.notebook.render import RUN_ICONS

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            if out.output_type == "display_data" and "recode-static" in data.get("text/html", ""):
                m = _RUN_LINE.match(data.get("text/plain", ""))
                assert m, f"{name}: a static tree without its 'ReCode run:' text view"
                found.append(f"{RUN_ICONS[m.group(1)]} {m.group(1)}")
    return found

#: what each notebook needs beyond the package itself
NEEDS = {"text_world_agent": "textworld"}


@pytest.fixture(scope="module")
def notebooks_dir(lab_server) -> str:
    """Copy ``notebooks/`` into the server root once; return its folder name there."""
    lab_server.copy_in(NOTEBOOKS, "notebooks")
    return "notebooks"


@pytest.mark.timeout(420)
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_in_jupyterlab(name, notebooks_dir, lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    module = NEEDS.get(name)
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{name}.ipynb needs `{module}` (pip install {module})")
    assert (NOTEBOOKS / f"{name}.ipynb").exists()

    t0 = time.monotonic()
    path = f"{notebooks_dir}/{name}.ipynb"
    panel = open_notebook(lab_page, lab_server, path, timeout=120)
    t_open = time.monotonic()

    # the saved file: static trees from the last execution, no widget errors
    expect(panel.locator(".recode-static").first).to_be_attached(timeout=30_000)
    assert_no_widget_errors(lab_page)

    result = run_all_cells(lab_page, timeout=300)
    t_run = time.monotonic()
    assert result.ok and not result.errors, result
    sources = lab_page.evaluate(
        "() => [...window.jupyterapp.shell.currentWidget.content.model.cells]"
        ".map(c => c.sharedModel.getSource())")
    not_run = [c["index"] for c in result.cells
               if c["type"] == "code" and c["execution_count"] is None]
    # `%recode export` puts the exported program into a new cell below (set_next_input);
    # Run All does not run that new cell. Any other cell must have run.
    exported = [i for i in not_run if i > 0 and sources[i - 1].startswith("%recode export")]
    assert set(not_run) == set(exported), f"cells not executed: {not_run}"
    if any(s.startswith("%recode export") for s in sources):
        assert len(exported) == 1, "the cell %recode export inserts is missing"
        assert sources[exported[0]].startswith('"""Replay of a ReCode run')
        assert "def solve(task" in sources[exported[0]]

    expected = expected_widgets(name)
    assert expected, f"{name}: no widget output saved (run notebooks/record_cassettes.py)"
    # each run's widget is replaced by its static tree when the run ends (a saved notebook
    # shows it again anywhere); the static tree's header carries the final status
    trees = panel.locator(".recode-static")
    expect(trees).to_have_count(len(expected), timeout=60_000)
    for i, status in enumerate(expected):
        expect(trees.nth(i)).to_contain_text(f"ReCode run: {status.split(' ', 1)[1]} ·",
                                             timeout=30_000)
        expect(trees.nth(i).locator("details.recode-node").first).to_be_visible()
    expect(panel.locator(".recode-widget")).to_have_count(0)   # no live widget left behind
    assert_no_widget_errors(lab_page)
    assert_no_js_errors(browser_log)

    # the first tree's cell, from its input down: scroll the input to the top
    cell = panel.locator(".jp-CodeCell").filter(has=lab_page.locator(".recode-static")).first
    cell.evaluate("el => el.scrollIntoView({block: 'start'})")
    lab_page.wait_for_timeout(300)
    shot = screenshot(lab_page, f"nb-{name}")
    assert Path(shot).stat().st_size > 10_000
    print(f"\n{name}: open {t_open - t0:.1f} s, run all {t_run - t_open:.1f} s, "
          f"total {time.monotonic() - t0:.1f} s, screenshot {shot}")
