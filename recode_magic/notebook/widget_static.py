"""The widget's static side: the HTML copy saved with a notebook and the run-end swap to it.

Why a swap: a saved notebook keeps each output's mime bundle, and JupyterLab and Notebook 7
pick the widget's mime type over ``text/html`` whenever the widget extension is installed;
reopened with a new kernel (or none) the widget's model is gone and the output reads "Error
displaying widget: model not found". Saving the widget state with the notebook would avoid
that only where the front-end is told to save it (a JupyterLab setting, off by default) and
nowhere in GitHub's viewer. So when a run that a widget followed ends, the widget's output is
replaced (``update_display_data``) by a bundle of ``text/html`` (this module's static tree)
and ``text/plain``: Lab, Notebook 7, nbviewer and GitHub all draw it, with or without a kernel.
The live view comes back with ``%recode show`` while the kernel lives.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from .render import render_html, render_text

if TYPE_CHECKING:
    from ..runs.run import Run

__all__ = ["HTML_FALLBACK_NODES", "html_fallback", "static_bundle", "in_kernel", "LIVE_NOTE",
           "safe_export", "plain_text"]

#: Runs with more nodes than this get the text tree as their static HTML copy.
HTML_FALLBACK_NODES = 500
#: The line a swapped (static) tree carries: how to get the live view back.
LIVE_NOTE = "static copy · `%recode show` brings back the live tree while the kernel runs"


def html_fallback(run: Run, text: str | None = None, limit: int | None = None) -> str:
    """The static HTML copy of a run shown where the widget cannot run (GitHub, nbviewer).

    :func:`~recode_magic.notebook.render.render_html` (nested ``<details>`` with every node's
    thought, code and output) up to ``limit`` (default :data:`HTML_FALLBACK_NODES`) nodes;
    above, the text tree (``text``, else :func:`~recode_magic.notebook.render.render_text`)
    in a ``<pre>``: a 5,000-node HTML tree is 2.5 MB that the notebook file keeps and
    JupyterLab parses again (for its table of contents) every time the cell runs.
    """
    limit = HTML_FALLBACK_NODES if limit is None else limit
    n = len(run.nodes())
    if n <= limit:
        return render_html(run)
    note = (f"{n:,} nodes: the static copy is the text tree (the HTML tree stops at "
            f"{limit:,} nodes; the live widget shows every node's details).")
    return (f'<div class="recode-static"><div style="font-size:11px">'
            f'{html.escape(note)}</div><pre style="font-size:12px;line-height:1.25">'
            f"{html.escape(text if text is not None else render_text(run))}</pre></div>")


def plain_text(run: Run) -> str:
    """The ``text/plain`` copy of a run's tree: :func:`render_text` ending its line.

    A plain-text view (a terminal front-end, ``nbconvert --to markdown``) writes the
    cell's next output right after it, which would otherwise join the tree's last line.
    """
    return render_text(run) + "\n"


def static_bundle(run: Run, limit: int | None = None) -> dict[str, Any]:
    """The mime bundle a finished widget's output is replaced by: static HTML and text.

    No widget mime type, so a reopened notebook draws the tree instead of an error box.
    """
    text = plain_text(run)
    note = (f'<div class="recode-static-note" style="font-size:11px;margin-top:2px">'
            f"{html.escape(LIVE_NOTE)}</div>")
    return {"text/plain": text, "text/html": html_fallback(run, text.rstrip("\n"), limit)
            + note}


def safe_export(run: Run, style: str = "functions") -> str:
    """``run.export(style)``, or a comment saying why it failed (an odd tree)."""
    try:
        return run.export(style)
    except Exception as exc:  # an odd tree must not break the widget
        return f"# export failed: {type(exc).__name__}: {exc}\n"


def in_kernel() -> bool:
    """True inside an ipykernel (a front-end with a comm channel), False in terminal IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None
