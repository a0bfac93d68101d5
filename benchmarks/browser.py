"""The widget's cost to a user: comm traffic per run (before/after patches) and browser render.

``python -m benchmarks.browser`` prints both; :func:`traffic` runs a fan of n placeholders
with a 5 ms scripted model under the widget as it was before patches (whole tree in every
message, read from git at :data:`BEFORE`) and as it is now, counting the comm messages and
their JSON bytes; :func:`render_time` times JupyterLab + Debian Chromium drawing a tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

__all__ = ["render_time", "traffic", "BEFORE"]

ROOT = Path(__file__).resolve().parents[1]
#: The last commit whose widget sent the whole tree in every update.
BEFORE = "2c84b2dd72b7ea63e0fa4429963f3d638299fa38"


def _widget_before() -> type:
    src = subprocess.run(["git", "show", f"{BEFORE}:recode_magic/widget.py"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    mod = types.ModuleType("recode_magic._widget_before")
    mod.__package__ = "recode_magic"
    mod.__file__ = str(ROOT / "recode_magic" / "widget.py")  # its static/ files are ours
    exec(compile(src, f"widget.py@{BEFORE[:7]}", "exec"), mod.__dict__)  # noqa: S102
    return mod.ReCodeWidget


def _one(widget_cls: type, n: int, delay: float) -> dict[str, Any]:
    from recode_magic import ReCode, ScriptedLLM

    from .trees import fan, primitives

    replies = fan(n).replies

    def slow(prompt: Any) -> str:
        time.sleep(delay)
        return replies[prompt.placeholder]
    llm = ScriptedLLM({k: slow for k in replies})
    engine = ReCode(llm, namespace=primitives(), max_depth=10, max_calls=10**7,
                    max_nodes=10**7)
    sent = {"messages": 0, "bytes": 0, "largest": 0}
    w = widget_cls(trailing=False)

    def count(msg: Any, buffers: Any = None) -> None:
        size = len(json.dumps(msg, default=str).encode("utf-8"))
        sent["messages"] += 1
        sent["bytes"] += size
        sent["largest"] = max(sent["largest"], size)
    w._send = count
    w.attach(engine)
    t0 = time.perf_counter()
    run = engine.run("benchmark")
    seconds = time.perf_counter() - t0
    assert run.status == "done", run.error
    return {**sent, "seconds": seconds, "messages_per_s": sent["messages"] / seconds}


def traffic(sizes: tuple[int, ...] = (100, 1000, 5000), delay: float = 0.005,
            ) -> dict[str, dict[str, Any]]:
    """Comm messages and bytes per run, whole-tree widget (``before``) vs patches (``after``)."""
    from recode_magic.notebook.widget import ReCodeWidget

    before = _widget_before()
    out: dict[str, dict[str, Any]] = {}
    for n in sizes:
        out[f"fan_{n}"] = {"nodes": n, "before": _one(before, n, delay),
                           "after": _one(ReCodeWidget, n, delay)}
        b, a = out[f"fan_{n}"]["before"], out[f"fan_{n}"]["after"]
        print(f"widget traffic {n:>5} nodes: before {b['messages']} msgs {b['bytes'] / 1e6:.2f} MB"
              f" | after {a['messages']} msgs {a['bytes'] / 1e6:.3f} MB"
              f" ({a['messages_per_s']:.1f}/s over {a['seconds']:.1f} s)", flush=True)
    return out

_BUILD = """\
from recode_magic import ReCode, ScriptedLLM
from recode_magic.notebook.widget import ReCodeWidget
N = {n}
X = lambda c: f"<execute>{{c}}</execute>"
replies = {{"solve": X("\\n".join(f"x{{i}} = item_{{i}}()" for i in range(N - 1)))}}
replies.update({{f"item_{{i}}": X(f"x{{i}} = {{i}}") for i in range(N - 1)}})
run = ReCode(ScriptedLLM(replies), max_calls=10**6).run("render benchmark")
"""

# Rows of the tree the widget shows: the row count the tree pane states (``data-rows``: a
# big tree keeps only the rows near its scroll view in the DOM) once it has drawn rows;
# for a widget without it (before windowing), the row elements.
_ROWS = """() => {
  const t = document.querySelector('.recode-widget .rc-tree');
  if (!t) return 0;
  const dom = t.querySelectorAll('[role=treeitem]').length;
  return t.dataset.rows ? (dom ? Number(t.dataset.rows) : 0) : dom;
}"""

# Re-run the display cell and time, in the page, from the command to the moment the new
# widget shows all its rows (the old output is cleared first) plus two animation frames.
_MEASURE = """async (full) => {
  const app = window.jupyterapp;
  const nb = app.shell.currentWidget.content;
  nb.activeCellIndex = 1;
  const rows = (ROWS);
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
}""".replace("(ROWS)", f"({_ROWS})")


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
                page.wait_for_function(f"(n) => ({_ROWS})() >= n", arg=n, timeout=120_000)
                full = page.evaluate(_ROWS)
                times = [page.evaluate(_MEASURE, full) for _ in range(3)]
                browser.close()
        finally:
            server.stop()
    return min(times)


if __name__ == "__main__":
    result: dict[str, Any] = {"traffic": traffic()}
    for n in (1000, 5000):
        try:
            result[f"browser_render_ms_{n}"] = render_time(n)
        except Exception as exc:  # the table says why, the run goes on
            result[f"browser_render_ms_{n}"] = f"not measured: {type(exc).__name__}: {exc}"
        print(f"browser render of a {n}-node tree: {result[f'browser_render_ms_{n}']}",
              flush=True)
    print(json.dumps(result, indent=1))
