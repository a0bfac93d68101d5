"""Fixtures for the browser tests: a JupyterLab server and a Chromium page.

Every test collected under ``tests/browser/`` gets the ``browser`` marker and is skipped,
with the reason, only when the Chromium binary (``/usr/bin/chromium``, or ``$RECODE_CHROMIUM``)
is missing. Everything else that goes wrong (Playwright missing, the server not starting)
is an error, so CI, which installs Chromium, really runs them.

Fixtures:

* ``lab_server`` (session): a :class:`~.lab.LabServer`; write notebooks into
  ``lab_server.root_dir`` (``lab_server.write_notebook(...)``, ``lab_server.copy_in(...)``).
* ``lab_browser`` (session): a Playwright ``Browser`` on Debian Chromium, headless.
* ``browser_log`` (function): a :class:`~.lab.BrowserLog` recording ``lab_page``'s console.
* ``lab_page`` (function): a fresh ``Page`` (own context, 1400x900). On teardown the console
  log goes to ``artifacts/browser-logs/<test>.txt``, a failed test leaves
  ``artifacts/FAILED-<test>.png``, and every kernel on the server is shut down.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from . import lab

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    missing = not os.path.exists(lab.CHROMIUM)
    skip = pytest.mark.skip(
        reason=f"Chromium not found at {lab.CHROMIUM} "
        "(apt-get install chromium, or set RECODE_CHROMIUM)"
    )
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"_browser_rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    lab.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = lab.start_lab(
        tmp_path_factory.mktemp("lab-root"),
        tmp_path_factory.mktemp("lab-state"),
        timeout=90,
        log_path=lab.ARTIFACTS / "browser-logs" / "jupyterlab-server.log",
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lab_browser():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = lab.launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@pytest.fixture
def browser_log():
    return lab.BrowserLog()


@pytest.fixture
def lab_page(request, lab_browser, lab_server, browser_log):
    context = lab_browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    browser_log.attach(page)
    name = lab._safe_name(request.node.nodeid.split("::", 1)[-1])
    try:
        yield page
    finally:
        rep = getattr(request.node, "_browser_rep_call", None)
        try:
            if rep is not None and rep.failed:
                lab.screenshot(page, f"FAILED-{name}")
        except Exception as exc:  # a crashed page must not hide the test's own failure
            print(f"could not take the failure screenshot: {exc}")
        logs = lab.ARTIFACTS / "browser-logs"
        logs.mkdir(parents=True, exist_ok=True)
        (logs / f"{name}.txt").write_text(browser_log.dump() + "\n")
        context.close()
        lab_server.shutdown_kernels()
