"""Browser-test harness: a JupyterLab server started by the tests, driven by Playwright.

The pieces, used by ``conftest.py`` and by the browser tests:

* :func:`start_lab` starts ``python -m jupyterlab`` on 127.0.0.1 (free port, random token,
  isolated config/data/runtime/settings dirs, no network checks) and returns a
  :class:`LabServer`; :meth:`LabServer.stop` shuts it and its kernels down.
* :func:`launch_chromium` launches Debian's Chromium, headless, through Playwright.
* :class:`BrowserLog` collects console messages, uncaught page errors and failed requests.
* :func:`open_notebook`, :func:`run_all_cells`, :func:`screenshot`,
  :func:`assert_no_widget_errors`, :func:`assert_no_js_errors` drive and check a page.

JupyterLab is started with ``--LabApp.expose_app_in_browser=True`` so the helpers can read
the kernel state and run commands through ``window.jupyterapp`` (the same hook Galata, the
JupyterLab UI-test framework, uses) instead of guessing from pixels.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # playwright is imported lazily so collection works without it
    from playwright.sync_api import Browser, Locator, Page, Playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("RECODE_ARTIFACTS", REPO_ROOT / "artifacts"))

#: The browser the tests use. CI installs Debian's ``chromium`` package; Playwright's own
#: browser download is not used (no internet on the test machines).
CHROMIUM = os.environ.get("RECODE_CHROMIUM", "/usr/bin/chromium")

CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in containers; the sandbox refuses to start as root
    "--disable-gpu",
    "--disable-dev-shm-usage",  # small /dev/shm in containers crashes tabs
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
]

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

#: User settings written into the server's private settings dir before it starts.
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    # No news feed / update check requests, no "fetch news?" toast over the screenshots.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
    # Render every cell (no virtual scrolling), so an output far down a long notebook is
    # in the DOM and visible to Playwright after scrolling into view.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # The extension manager would query PyPI; the server side is "readonly" anyway.
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
}

#: Texts ipywidgets / JupyterLab put in an output area when a widget cannot be shown.
WIDGET_ERROR_TEXTS = (
    "Error displaying widget",
    "Failed to load model class",
    "Could not create a model",
    "Could not create view",
    "Error creating widget",
    "Error rendering output item",
    "Click to show javascript error",
)

#: Console "error" messages that are not failures of the page under test. Each entry is
#: (regex on the message text, regex on the message's source URL, why it is harmless).
IGNORED_CONSOLE_ERRORS: list[tuple[str, str, str]] = [
    (
        r"Failed to load resource",
        r"/favicon\.ico",
        "the browser asks for /favicon.ico; JupyterLab serves its favicons under /static",
    ),
]


# --------------------------------------------------------------------------- server


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


@dataclass
class LabServer:
    """A running JupyterLab server started by :func:`start_lab`."""

    root_dir: Path
    port: int
    token: str
    process: subprocess.Popen
    log_path: Path
    startup_seconds: float = 0.0
    _log_file: Any = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/``."""
        return f"http://127.0.0.1:{self.port}/"

    def url(self, path: str = "lab", **params: str) -> str:
        """URL of ``path`` on the server with the token in the query."""
        query = urllib.parse.urlencode({**params, "token": self.token})
        return f"{self.base_url}{path.lstrip('/')}?{query}"

    def notebook_url(self, path: str, ui: str = "lab") -> str:
        """URL opening ``path`` (relative to the root dir) in a fresh JupyterLab workspace.

        ``ui="notebook"``: the Notebook 7 page of the same server instead.
        """
        # `reset` clears the saved workspace, so tabs of an earlier test are not restored
        # (each restored notebook would start one more kernel).
        quoted = urllib.parse.quote(path)
        if ui == "notebook":
            return f"{self.base_url}notebooks/{quoted}?token={self.token}"
        return f"{self.base_url}lab/tree/{quoted}?reset&token={self.token}"

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        """Call the REST API; return the decoded JSON (or None for an empty reply)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base_url + path.lstrip("/"),
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def write_notebook(self, path: str, cells: list, **metadata: Any) -> Path:
        """Write a notebook into the root dir and return its file path.

        ``cells``: strings are code cells; ``("markdown", text)`` or ``("code", text)``
        tuples choose the type; ``nbformat`` cell objects are used as they are. The notebook
        carries the ``python3`` kernelspec so JupyterLab does not ask which kernel to use.
        """
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
        nb.metadata["language_info"] = {"name": "python"}
        nb.metadata.update(metadata)
        for cell in cells:
            if isinstance(cell, str):
                cell = nbformat.v4.new_code_cell(cell)
            elif isinstance(cell, tuple):
                kind, text = cell
                maker = {
                    "code": nbformat.v4.new_code_cell,
                    "markdown": nbformat.v4.new_markdown_cell,
                }
                cell = maker[kind](text)
            nb.cells.append(cell)
        target = self.root_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))
        return target

    def copy_in(self, src: str | os.PathLike, dest: str | None = None) -> Path:
        """Copy a file or a directory (e.g. ``notebooks/``) into the root dir."""
        src = Path(src)
        target = self.root_dir / (dest if dest is not None else src.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target)
        return target

    def shutdown_kernels(self) -> int:
        """Delete every session and kernel (frees CPU between tests); return how many."""
        n = 0
        try:
            for session in self.api("GET", "api/sessions"):
                self.api("DELETE", f"api/sessions/{session['id']}", timeout=30)
                n += 1
            for kernel in self.api("GET", "api/kernels"):
                self.api("DELETE", f"api/kernels/{kernel['id']}", timeout=30)
                n += 1
        except (urllib.error.URLError, OSError):
            pass  # server already gone
        return n

    def log_tail(self, lines: int = 60) -> str:
        """Last lines of the server's log (stdout + stderr)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20) -> None:
        """Shut the server down (kernels included); escalate to SIGTERM/SIGKILL if needed."""
        proc = self.process
        descendants = []
        try:
            import psutil

            descendants = psutil.Process(proc.pid).children(recursive=True)
        except Exception:
            pass
        if proc.poll() is None:
            self.shutdown_kernels()
            try:
                self.api("POST", "api/shutdown", timeout=5)
            except (urllib.error.URLError, OSError):
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                # Our own process group (start_new_session=True): the server and anything
                # it started without a new session. Kernels get their own session.
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
        for child in descendants:  # kernels the shutdown missed, by pid
            try:
                if child.is_running():
                    child.kill()
            except Exception:
                pass
        if self._log_file is not None:
            self._log_file.close()


def start_lab(
    root_dir: Path,
    state_dir: Path,
    *,
    timeout: float = 90,
    extra_args: tuple[str, ...] = (),
    log_path: Path | None = None,
) -> LabServer:
    """Start JupyterLab serving ``root_dir`` and wait until ``/api/status`` answers.

    ``state_dir`` receives the server's private Jupyter config, data, runtime, IPython and
    JupyterLab settings/workspace dirs, so nothing of the user's own setup (a stray
    ``python3`` kernelspec in ``~/.local/share/jupyter``, an ``ipython_config.py``, a saved
    workspace) leaks into the tests. The kernel runs with this interpreter and can import
    the checkout (``PYTHONPATH`` starts with the repo root).
    """
    root_dir = Path(root_dir)
    state_dir = Path(state_dir)
    root_dir.mkdir(parents=True, exist_ok=True)
    dirs = {
        name: state_dir / name
        for name in ("config", "data", "runtime", "ipython", "lab-settings", "lab-workspaces")
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    for rel, data in LAB_SETTINGS.items():
        _write_json(dirs["lab-settings"] / rel, data)

    port = free_port()
    token = secrets.token_hex(24)
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        IPYTHONDIR=str(dirs["ipython"]),
        JUPYTER_PLATFORM_DIRS="1",  # silences the jupyter_core deprecation warning
        PYTHONPATH=os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
        PYTHONUNBUFFERED="1",
    )
    env.pop("JUPYTER_TOKEN", None)
    env.pop("ANTHROPIC_API_KEY", None)  # browser tests never call a live model
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.terminals_enabled=False",
        # no network from the server: no news feed, no update check, no PyPI listing
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",  # Notebook 7 pages too
        f"--LabApp.user_settings_dir={dirs['lab-settings']}",
        f"--LabApp.workspaces_dir={dirs['lab-workspaces']}",
        *extra_args,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI run as root
    log_path = Path(log_path) if log_path else state_dir / "jupyterlab.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "w")  # noqa: SIM115 - closed by LabServer.stop
    log_file.write(
        "$ "
        + " ".join(c if "token" not in c else "--IdentityProvider.token=***" for c in cmd)
        + "\n"
    )
    log_file.flush()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=root_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = LabServer(root_dir, port, token, proc, log_path, _log_file=log_file)
    deadline = t0 + timeout
    while True:
        if proc.poll() is not None:
            server.stop()
            raise RuntimeError(
                f"JupyterLab exited with code {proc.returncode} before answering.\n"
                + server.log_tail()
            )
        try:
            server.api("GET", "api/status", timeout=2)
            break
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(
                f"JupyterLab did not answer /api/status within {timeout:.0f} s.\n"
                + server.log_tail()
            )
        time.sleep(0.25)
    server.startup_seconds = time.monotonic() - t0
    return server


# --------------------------------------------------------------------------- browser


def chromium_executable() -> str:
    """The Chromium binary to launch.

    Debian's ``/usr/bin/chromium`` is a shell wrapper around ``/usr/lib/chromium/chromium``
    (it adds flags from ``/etc/chromium.d`` and prints shell noise); launch the real binary
    when it is there.
    """
    real = Path("/usr/lib/chromium/chromium")
    if CHROMIUM == "/usr/bin/chromium" and real.exists():
        return str(real)
    return CHROMIUM


def launch_chromium(playwright: Playwright) -> Browser:
    """Launch headless Debian Chromium through Playwright."""
    return playwright.chromium.launch(
        executable_path=chromium_executable(),
        headless=True,
        args=CHROMIUM_ARGS,
        timeout=60_000,
    )


@dataclass
class BrowserLog:
    """Console messages, uncaught page errors and failed requests of one page."""

    console: list[dict] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        """Start recording ``page``'s events."""
        page.on("console", self._on_console)
        page.on(
            "pageerror",
            lambda exc: self.page_errors.append(f"{exc.name}: {exc.message}\n{exc.stack}"),
        )
        page.on(
            "requestfailed",
            lambda req: self.failed_requests.append(f"{req.method} {req.url}: {req.failure}"),
        )

    def _on_console(self, msg: Any) -> None:
        loc = msg.location or {}
        self.console.append({"type": msg.type, "text": msg.text, "url": loc.get("url", "")})

    def errors(self) -> list[str]:
        """Console errors not in :data:`IGNORED_CONSOLE_ERRORS`, then uncaught page errors."""
        out = []
        for m in self.console:
            if m["type"] != "error":
                continue
            if any(
                re.search(text_re, m["text"]) and re.search(url_re, m["url"])
                for text_re, url_re, _why in IGNORED_CONSOLE_ERRORS
            ):
                continue
            out.append(f"console.error: {m['text']} ({m['url']})")
        out += [f"pageerror: {e}" for e in self.page_errors]
        return out

    def dump(self) -> str:
        """Everything recorded, one line per event."""
        lines = [f"[{m['type']}] {m['text']} ({m['url']})" for m in self.console]
        lines += [f"[pageerror] {e}" for e in self.page_errors]
        lines += [f"[requestfailed] {r}" for r in self.failed_requests]
        return "\n".join(lines)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:150] or "page"


def screenshot(
    page: Page, name: str, *, target: Locator | None = None, full_page: bool = False
) -> Path:
    """Save a PNG of the page (or of ``target``) as ``artifacts/<name>.png``; return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{_safe_name(name)}.png"
    if target is not None:
        target.screenshot(path=str(path), animations="disabled")
    else:
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


_JS_FIND_PANEL = """
(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
}
"""

_JS_KERNEL_STATE = (
    "(path) => { const find = "
    + _JS_FIND_PANEL
    + """;
  const w = find(path);
  if (!w) return {panel: false};
  const s = w.sessionContext;
  const k = s.session && s.session.kernel;
  const ind = w.node.querySelector('.jp-Notebook-ExecutionIndicator');
  return {
    panel: true, id: w.id, ready: w.context.isReady && s.isReady,
    connection: k ? k.connectionStatus : null, status: k ? k.status : null,
    indicator: ind ? ind.getAttribute('data-status') : null,
    dialog: !!document.querySelector('.jp-Dialog'),
  };
}"""
)


def _poll(page: Page, fn: Any, what: str, timeout: float, interval: float = 0.25) -> Any:
    """Call ``fn()`` until it returns a truthy value; raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last.get("_ok") if isinstance(last, dict) else last:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"timed out after {timeout:.0f} s waiting for {what}; last state: {last}"
            )
        page.wait_for_timeout(interval * 1000)


def open_notebook(page: Page, server: LabServer, path: str, *, timeout: float = 90,
                  ui: str = "lab") -> Locator:
    """Open ``path`` in JupyterLab (``ui="notebook"``: Notebook 7) and wait for its kernel.

    Returns a locator for the notebook panel. Waits, in order, for the app to start and
    restore, the notebook panel and its model, then the kernel: connection ``connected``,
    execution state ``idle`` and the toolbar's execution indicator showing idle. A kernel
    selection dialog (notebook without kernelspec) is accepted with the default kernel.
    """
    page.goto(server.notebook_url(path, ui), wait_until="domcontentloaded",
              timeout=timeout * 1000)
    page.wait_for_function("() => window.jupyterapp", timeout=timeout * 1000)
    page.evaluate(
        "async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }"
    )

    def state() -> dict:
        st = page.evaluate(_JS_KERNEL_STATE, path)
        if st.get("dialog"):
            accept = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
            if accept.count():
                accept.first.click()
        st["_ok"] = (
            st.get("panel")
            and st.get("ready")
            and st.get("connection") == "connected"
            and st.get("status") == "idle"
            and (st.get("indicator") == "idle" or (ui == "notebook" and not st["indicator"]))
        )
        return st

    st = _poll(page, state, f"the kernel of {path} to be connected and idle", timeout)
    page.evaluate("(id) => window.jupyterapp.shell.activateById(id)", st["id"])
    panel = page.locator(f"[id='{st['id']}']")
    panel.locator(".jp-Notebook").wait_for(state="visible", timeout=timeout * 1000)
    return panel


@dataclass
class RunResult:
    """What :func:`run_all_cells` saw once the kernel was idle again."""

    ok: bool  #: the run-all command reported success (False after a cell error)
    seconds: float
    cells: list[dict]  #: per cell: index, type, execution_count, output_types, errors

    @property
    def errors(self) -> list[str]:
        """``ename: evalue`` of every error output, with its cell index."""
        return [f"cell {c['index']}: {e}" for c in self.cells for e in c["errors"]]


_JS_CELLS = """
() => {
  const w = window.jupyterapp.shell.currentWidget;
  const out = [];
  let i = 0;
  for (const cell of w.content.model.cells) {
    const j = cell.toJSON();
    const outputs = j.outputs || [];
    out.push({
      index: i++, type: j.cell_type, execution_count: j.execution_count ?? null,
      output_types: outputs.map(o => o.output_type),
      errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
    });
  }
  return out;
}
"""


def use_dark_theme(page: Page) -> None:
    """Switch JupyterLab to its dark theme and wait until the page says so."""
    page.evaluate("""async () => {
      await window.jupyterapp.commands.execute('apputils:change-theme',
                                               {theme: 'JupyterLab Dark'}); }""")
    page.wait_for_function(
        "() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)


def run_all_cells(page: Page, *, timeout: float = 180) -> RunResult:
    """Run > Run All Cells on the current notebook and wait until every cell finished.

    Runs the ``notebook:run-all-cells`` command (what the menu item does) and awaits the
    promise it returns, which resolves once every execution has replied; then waits until
    no prompt shows ``[*]`` and the kernel is idle. Does not raise on a cell error: check
    ``result.ok`` / ``result.errors``.
    """
    t0 = time.monotonic()
    ok = page.evaluate(
        """async (ms) => {
          const app = window.jupyterapp;
          let timer;
          const expire = new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error('run-all-cells still running after ' + ms + ' ms')), ms);
          });
          const run = app.commands.execute('notebook:run-all-cells');
          try { return await Promise.race([run, expire]); }
          finally { clearTimeout(timer); }
        }""",
        timeout * 1000,
    )

    cells = wait_settled(page, max(5.0, timeout - (time.monotonic() - t0)))
    return RunResult(ok=bool(ok), seconds=time.monotonic() - t0, cells=cells)


_JS_SETTLED = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const busy = [...w.node.querySelectorAll('.jp-InputPrompt')]
    .filter(p => p.textContent.includes('[*]')).length;
  return {_ok: busy === 0 && k && k.status === 'idle', busy, status: k && k.status};
}"""


def start_run_all(page: Page) -> None:
    """Run > Run All Cells without waiting for it (e.g. when cells wait for clicks)."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def wait_settled(page: Page, timeout: float = 60) -> list[dict]:
    """Wait until no prompt shows ``[*]`` and the kernel is idle; return the cells' summary."""
    _poll(page, lambda: page.evaluate(_JS_SETTLED), "all cells to finish", timeout)
    return page.evaluate(_JS_CELLS)


def widget_error_texts(page: Page) -> list[str]:
    """Signs in the page that a widget could not be loaded or displayed.

    Two forms: the texts of :data:`WIDGET_ERROR_TEXTS` (``textContent``, so hidden ones
    count too), and ipywidgets' error view (``.jupyter-widgets-error-widget``, an icon with
    "Click to show javascript error."; the real message, e.g. "Failed to load model class",
    only appears on click and in the console). anywidget ``render()`` exceptions leave no
    text at all: they show up as page errors, see :func:`assert_no_js_errors`.
    """
    found = page.evaluate(
        """(texts) => {
          const body = document.body.textContent;
          const out = texts.filter(t => body.includes(t));
          const n = document.querySelectorAll('.jupyter-widgets-error-widget').length;
          if (n) out.push(n + ' ipywidgets error view(s) (.jupyter-widgets-error-widget)');
          return out;
        }""",
        list(WIDGET_ERROR_TEXTS),
    )
    return found


def assert_no_widget_errors(page: Page) -> None:
    """Fail if an output area says a widget could not be loaded or displayed."""
    found = widget_error_texts(page)
    assert not found, f"widget errors in the page: {found}"


def assert_no_js_errors(log: BrowserLog) -> None:
    """Fail on console errors (minus :data:`IGNORED_CONSOLE_ERRORS`) and page errors."""
    errors = log.errors()
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)


def assert_clean(page: Page, log: BrowserLog) -> None:
    """:func:`assert_no_widget_errors` and :func:`assert_no_js_errors`."""
    assert_no_widget_errors(page)
    assert_no_js_errors(log)
