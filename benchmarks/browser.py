"""Browser render time of a big tree: JupyterLab + Debian Chromium (the tests' harness)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

__all__ = ["render_time"]

ROOT = Path(__file__).resolve().parents[1]

_BUILD = """\
from recode_magic import ReCode, ScriptedLLM
from recode_magic.widget import ReCodeWidget
N = {n}
X = lambda c: f"<execute>{{c}}</execute>"
replies = {{"solve": X("\\n".join(f"x{{i}} = item_{{i}}()" for i in range(N - 1)))}}
replies.update({{f"item_{{i}}": X(f"x{{i}} = {{i}}") for i in range(N - 1)}})
run = ReCode(ScriptedLLM(replies), max_calls=10**6).run("render benchmark")
"""

# Re-run the display cell and time, in the page, from the command to the moment the new
# widget shows all its rows (the old output is cleared first) plus two animation frames.
_MEASURE = """async (full) => {
  const app = window.jupyterapp;
  const nb = app.shell.currentWidget.content;
  nb.activeCellIndex = 1;
  const rows = () => document.querySelectorAll('.recode-widget [role=treeitem]').length;
  let cleared = false;
  const t0 = performance.now();
  const done = new Promise((resolve) => {
    const obs = new MutationObserver(() => {
      const c = rows();
      if (c < full) cleared = true;
      if (cleared && c >= full) {
        obs.disconnect();
        requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
      }
    });
    obs.observe(document.body, {childList: true, subtree: true});
  });
  await app.commands.execute('notebook:run-cell');
  return await done;
}"""


def render_time(n: int = 1000) -> float:
    """Milliseconds from running the display cell to a fully drawn n-node widget."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from browser.lab import launch_chromium, open_notebook, run_all_cells, start_lab
    finally:
        sys.path.pop(0)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        server = start_lab(Path(tmp) / "root", Path(tmp) / "state")
        try:
            server.write_notebook("render.ipynb", [_BUILD.format(n=n), "ReCodeWidget(run)"])
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                open_notebook(page, server, "render.ipynb")
                result = run_all_cells(page)
                if not result.ok:
                    raise RuntimeError(f"cells failed: {result.errors}")
                page.wait_for_function(
                    "(n) => document.querySelectorAll('.recode-widget [role=treeitem]').length"
                    " >= n", arg=n, timeout=120_000)
                full = page.evaluate(
                    "() => document.querySelectorAll('.recode-widget [role=treeitem]').length")
                times = [page.evaluate(_MEASURE, full) for _ in range(3)]
                browser.close()
        finally:
            server.stop()
    return min(times)
