"""``display_run``: show a run as the live widget in a kernel, else as the text tree.

A live widget cannot be shown again by a saved notebook (its model dies with the kernel), so
the widgets made here do not stay in the notebook as such: one following an engine turns
into its static tree when the run ends; one showing a finished run (``%recode show``, the
live view's way back) does when the next cell starts to run.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from .render import render_text
from .widget import ReCodeWidget
from .widget_static import in_kernel, static_bundle

if TYPE_CHECKING:
    from ..runs.run import Run
    from ..runs.tree import Node

__all__ = ["display_run"]

#: Live views of finished runs, turned static when the next cell runs (_static_next_cell).
_SHOWN: weakref.WeakSet[ReCodeWidget] = weakref.WeakSet()
_HOOKED: list[Any] = []  # the shells whose pre_run_cell event calls _to_static


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
        else:
            _static_next_cell(w)
        return w.show()
    if engine is not None:
        def print_at_end(event: str, r: Run, _node: Node | None) -> None:
            if event == "run_end":
                print(render_text(r))
        engine.subscribe(print_at_end)
    elif run is not None:
        print(render_text(run))
    return None


def _static_next_cell(widget: ReCodeWidget) -> None:
    """Turn ``widget``'s output into its static tree when the next cell starts to run."""
    from IPython import get_ipython

    ip = get_ipython()
    if ip is None:
        return
    _SHOWN.add(widget)
    if ip not in _HOOKED:
        _HOOKED.append(ip)
        ip.events.register("pre_run_cell", _to_static)


def _to_static(*_info: Any) -> None:
    for w in list(_SHOWN):
        if w.to_static():
            _SHOWN.discard(w)
