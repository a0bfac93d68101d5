"""``display_run``: show a run as the live widget in a kernel, else as the text tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .render import render_text
from .widget import ReCodeWidget
from .widget_static import in_kernel, static_bundle

if TYPE_CHECKING:
    from ..runs.run import Run
    from ..runs.tree import Node

__all__ = ["display_run"]


def display_run(run: Run | None = None, engine: Any = None, *,
                widget: bool | None = None, static: bool = False) -> ReCodeWidget | None:
    """Show a run: the live widget in a kernel, else the text tree.

    Parameters
    ----------
    run : Run, optional
        A run to show now (e.g. ``%recode show``); None to wait for ``engine``'s next run.
    engine : ReCode, optional
        Follow its events (call before ``engine.run``). Without a kernel the text tree is
        printed when the run ends.
    widget : bool, optional
        False forces the text tree (``--no-widget``); None decides by :func:`in_kernel`.
    static : bool
        In a kernel, show ``run`` as its static tree (``widget_static.static_bundle``), not
        as a live widget that a saved notebook could not show again (``%recode show`` is).

    Returns
    -------
    ReCodeWidget or None
        The widget shown, or None when the text tree was printed (or will be).
    """
    if widget is None:
        widget = in_kernel()
    if widget and static and run is not None and engine is None:
        from IPython.display import display

        display(static_bundle(run), raw=True)
        return None
    if widget:
        w = ReCodeWidget(run, static_at_end=engine is not None)
        if engine is not None:
            w.attach(engine)
        return w.show()
    if engine is not None:
        def print_at_end(event: str, r: Run, _node: Node | None) -> None:
            if event == "run_end":
                print(render_text(r))
        engine.subscribe(print_at_end)
    elif run is not None:
        print(render_text(run))
    return None
