"""axe-core (npm, installed by ``.ci/setup`` into ``tests/browser/node_modules``) in a page.

:func:`axe_violations` injects ``axe.min.js`` into the page and runs the colour-contrast and
ARIA rules on the widget's elements; it returns the violations, one dict per rule with the
offending elements (their selector and axe's summary); ``incomplete`` results (axe could not
decide, e.g. text over an image) come back too, with ``kind`` saying which.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .lab import ARTIFACTS

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["AXE", "RULES", "axe_violations", "save_report"]

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"

#: colour contrast (WCAG AA 4.5:1 for text) and the ARIA / name rules of axe-core 4.10
RULES = [
    "color-contrast", "aria-allowed-attr", "aria-allowed-role", "aria-command-name",
    "aria-hidden-focus", "aria-input-field-name", "aria-prohibited-attr", "aria-required-attr",
    "aria-required-children", "aria-required-parent", "aria-roles", "aria-toggle-field-name",
    "aria-valid-attr", "aria-valid-attr-value", "button-name", "label", "nested-interactive",
    "aria-tooltip-name", "aria-treeitem-name", "list", "listitem",
]

# JupyterLab's <body> is 0 px high with overflow hidden (the shell is absolutely placed):
# axe-core then takes every relatively placed element below it (the notebook's scroll box,
# so the whole widget) for clipped away and checks nothing. Giving the body the window's
# height changes no pixel and lets axe see the page as it is drawn.
_RUN = """async ([rules, include]) => {
  document.body.style.height = '100vh';
  const found = include.filter((sel) => document.querySelector(sel));
  const r = await window.axe.run({include: found.map((s) => [s])},
                                 {runOnly: {type: 'rule', values: rules},
                                  resultTypes: ['violations', 'incomplete']});
  const cut = (v, kind) => ({id: v.id, kind, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(' '),
                                summary: (n.failureSummary || '').split('\\n').slice(0, 3)
                                  .join(' ')}))});
  return [...r.violations.map((v) => cut(v, 'violation')),
          ...r.incomplete.map((v) => cut(v, 'incomplete'))];
}"""


def axe_violations(page: Page, include: tuple[str, ...] = (".recode-widget", ".recode-confirm",
                                                           ".recode-static")
                   ) -> list[dict[str, Any]]:
    """Violations of :data:`RULES` inside the elements matching ``include``."""
    if not AXE.exists():
        raise FileNotFoundError(f"{AXE} missing: run .ci/setup (npm ci in tests/browser)")
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(_RUN, [RULES, list(include)])


def save_report(name: str, violations: list[dict[str, Any]]) -> Path:
    """Write the violations as ``artifacts/<name>.json``; return the path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    path.write_text(json.dumps(violations, indent=1))
    return path
