"""axe-core in JupyterLab, light and dark themes: 0 colour-contrast and ARIA violations inside
the widget (tree, a selected node's details pane with its steering controls, alternatives and
a comparison), a --confirm box and the static tree a finished run leaves. The counts go to
``artifacts/axe-<theme>.json``."""

from __future__ import annotations

import pytest

from .axe import axe_violations, save_report
from .lab import assert_no_js_errors, open_notebook, run_all_cells, screenshot, use_dark_theme
from .test_widget_live_browser import STEER

pytestmark = pytest.mark.browser

_NOT_TEXT = ("only non-text characters", "too short to determine")

CONFIRM = '''\
from IPython.display import display
from recode_magic.notebook.confirm_box import ConfirmBox
from recode_magic.notebook.widget_static import static_bundle
box = ConfirmBox(run.root.children[1], "y = add(x, x)").show()
display(static_bundle(run), raw=True)   # the static tree a finished run leaves
'''


@pytest.mark.timeout(300)
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_no_axe_violations_in_the_widget(theme, lab_server, lab_page, browser_log):
    from playwright.sync_api import expect

    name = f"a11y-{theme}.ipynb"
    lab_server.write_notebook(name, [STEER, CONFIRM])
    panel = open_notebook(lab_page, lab_server, name, timeout=90)
    if theme == "dark":
        use_dark_theme(lab_page)
    result = run_all_cells(lab_page, timeout=120)
    assert result.ok and not result.errors, result
    widget = panel.locator(".recode-widget")
    expect(widget.locator(".rc-run-status")).to_have_text("✔ done", timeout=60_000)
    widget.locator(".rc-row.rc-node").nth(1).click()
    details = widget.locator(".rc-details")
    for i in (0, 1):
        details.locator(".rc-cmp").nth(i).check()
    details.locator(".rc-compare").click()
    expect(details.locator(".rc-compare-view")).to_be_visible()
    expect(panel.locator(".recode-confirm button")).to_have_count(4)
    expect(panel.locator(".recode-static")).to_contain_text("ReCode run: done")
    lab_page.wait_for_timeout(500)  # the theme's transitions
    # each part checked while it is in view (axe cannot see text behind the status bar)
    panel.locator(".recode-widget").scroll_into_view_if_needed()
    found = axe_violations(lab_page, (".recode-widget",))
    screenshot(lab_page, f"a11y-{theme}", target=panel.locator(".jp-Cell").nth(0))
    for part in (".recode-confirm", ".recode-static"):
        panel.locator(part).evaluate("(e) => e.scrollIntoView({block: 'start'})")
        lab_page.wait_for_timeout(300)
        found += axe_violations(lab_page, (part,))
    save_report(f"axe-{theme}", found)
    violations = [v for v in found if v["kind"] == "violation"]
    # "incomplete": axe could not decide. Allowed only where it says the text is not text
    # (a caret, a one-character icon); an undecidable background (a gradient, an overlap)
    # would hide a contrast failure, so it fails the test too.
    undecided = [n for v in found if v["kind"] == "incomplete" for n in v["nodes"]
                 if not any(why in n["summary"] for why in _NOT_TEXT)]
    count = sum(len(v["nodes"]) for v in violations)
    print(f"axe-core {theme}: {len(violations)} rules violated, {count} elements, "
          f"{len(undecided)} undecided")
    assert not violations, "\n".join(
        f"{v['id']}: {n['target']}: {n['summary']}" for v in violations for n in v["nodes"])
    assert not undecided, "\n".join(f"{n['target']}: {n['summary']}" for n in undecided)
    assert_no_js_errors(browser_log)
