"""The live call-tree widget (anywidget) and ``display_run``, with text/HTML fallbacks.

Traffic: the widget sends only what changed. Each update is a custom message
``{"kind": "patch", "seq": n, "run": {...}, "nodes": {id: delta}, "drop": [ids]}`` in the
patch language of :mod:`~recode_magic.notebook.widget_state`; a new node is a delta from nothing;
``"reset": true`` replaces everything (a new run, and a few keyframes in the widget's first
second, for a view whose code was still loading). The ``snapshot`` trait holds the whole
state at ``seq`` as JSON text: it is rebuilt whenever the kernel is asked for the widget's
state (a view that joins late, a second browser tab, a notebook re-opened with a live
kernel), not pushed with every update; a view that sees a gap in ``seq`` (or has just
loaded) sends ``{"type": "snapshot", "seq": n}`` and gets a ``"kind": "snapshot"`` message
if it is behind.
"""

from __future__ import annotations

import functools
import html
import json
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .render import DISPLAY, render_html, render_svg, render_text
from .widget_state import WIDGET_LIMIT, delta, node_json, run_json, tree_json

if TYPE_CHECKING:
    from ..runs.run import Run
    from ..runs.tree import Node

__all__ = ["ReCodeWidget", "display_run", "node_json", "tree_json", "in_kernel", "delta",
           "ACTIONS", "WIDGET_LIMIT", "register_action_handler", "html_fallback",
           "HTML_FALLBACK_NODES"]

_STATIC = Path(__file__).parent / "static"
ACTIONS = ("regenerate", "edit", "switch", "compare", "promote")
#: Handlers every new widget starts with: ``callback(widget, msg)`` (register_action_handler).
_DEFAULT_ACTIONS: list[Callable[[ReCodeWidget, dict[str, Any]], Any]] = []


def register_action_handler(callback: Callable[[ReCodeWidget, dict[str, Any]], Any]) -> None:
    """Give every widget made from now on the button handler ``callback(widget, msg)``.

    The magic's steering commands (:mod:`recode_magic.notebook.steer_magic`) register theirs here,
    so the widgets ``display_run`` makes answer their buttons. Registering twice is a no-op.
    """
    if callback not in _DEFAULT_ACTIONS:
        _DEFAULT_ACTIONS.append(callback)
_LIVE = ("running", "pending")
#: Runs with more nodes than this get the text tree as their static HTML copy.
HTML_FALLBACK_NODES = 500
#: Ages (s) of the widget at which a patch carries the whole state: a view still loading
#: its code when the first patches went out catches up while the kernel is busy.
_KEYFRAMES = (0.25, 1.0)


class ReCodeWidget(anywidget.AnyWidget):
    """A live, clickable call tree of a ReCode run.

    Parameters
    ----------
    run : Run, optional
        The run to show; with ``attach(engine)`` the next ``run_start`` sets it.
    interval : float
        Minimum seconds between two patches while a run goes on (default 0.05, so at most
        20 a second); it grows when building a patch gets slow.
    expand_depth : int
        Nodes deeper than this start collapsed.

    Notes
    -----
    Engine events only mark nodes dirty; a patch is sent when ``interval`` has passed since
    the last one, by a trailing timer if events stop, and always on ``run_end``. Only the
    nodes an event touched (and running ones) are serialised again, and only their changed
    fields travel. ``on_action`` registers the handler of the details pane's buttons.
    """

    _esm = _STATIC / "tree.js"
    _css = _STATIC / "tree.css"

    #: the whole state at ``seq`` as JSON text (a string: ipywidgets does not walk it)
    snapshot = traitlets.Unicode("").tag(sync=True)
    statuses = traitlets.Dict(DISPLAY).tag(sync=True)
    status = traitlets.Unicode("pending").tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    expand_depth = traitlets.Int(2).tag(sync=True)
    graph_svg = traitlets.Unicode("").tag(sync=True)
    graph_error = traitlets.Unicode("").tag(sync=True)
    code = traitlets.Unicode("").tag(sync=True)

    def __init__(self, run: Run | None = None, *, interval: float = 0.05,
                 expand_depth: int = 2, trailing: bool = True,
                 clock: Callable[[], float] = time.monotonic,
                 keyframes: tuple[float, ...] = _KEYFRAMES, **kwargs: Any):
        self.run: Run | None = None
        self.seq = 0
        self._sent: dict[str, dict[str, Any]] = {}   # node id -> last JSON sent
        self._sent_run: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._dirty: set[str] = set()
        self._reset = False
        self._clock = clock
        self._born = clock()
        self._keyframes = sorted(keyframes)
        final = False
        if run is not None:  # the state travels in the comm's opening message (snapshot)
            self.run, self._reset = run, True
            final = run.status not in _LIVE
            self._patch(run, final)
            self._keyframes.clear()
            kwargs.setdefault("status", str(run.status))
        super().__init__(expand_depth=expand_depth, **kwargs)
        self._reset = False
        if final and run is not None and len(self._sent) <= 200:
            self.code = _safe_export(run)
        self.min_interval = interval
        self.interval = interval
        self.trailing = trailing
        self.sends = 0
        self.sent_bytes = 0
        self.last_cost = 0.0
        self._last = float("-inf")
        self._pending = False
        self._timer: threading.Timer | None = None
        self._handle: Any = None
        self._warned = False
        self._actions: list[Callable[[dict[str, Any]], Any]] = [
            functools.partial(cb, self) for cb in _DEFAULT_ACTIONS]
        self.on_msg(self._on_front_msg)

    # -- the state a view holds -------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """What every view shows now: ``{"seq", "run", "nodes"}`` (nodes as sent, pre-order)."""
        with self._lock:
            sent = dict(self._sent)
            order = [n.id for n in self.run.nodes()] if self.run is not None else []
            nodes = [sent.pop(i) for i in order if i in sent] + list(sent.values())
            return {"seq": self.seq, "run": dict(self._sent_run), "nodes": nodes}

    @property
    def tree(self) -> dict[str, Any]:
        """The whole tree as the views hold it: ``{"run": {...}, "nodes": [...]}``."""
        st = self.state()
        return {"run": st["run"], "nodes": st["nodes"]}

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
        """Widget state for the front-end; ``snapshot`` is rebuilt here, when asked for."""
        if key is None or key == "snapshot" or (not isinstance(key, str) and "snapshot" in key):
            with self._lock:
                if self.comm is not None and (self._dirty or getattr(self, "_pending", False)):
                    self._flush()  # the late view starts from the latest state
                snap = self.state()
            # not sent by itself (below): it travels in this state
            self.snapshot = json.dumps(snap, default=repr, separators=(",", ":"))
        return super().get_state(key=key, drop_defaults=drop_defaults)

    def _should_send_property(self, key: str, value: Any) -> bool:
        if key == "snapshot":
            return False  # sent with the full state only, never on its own
        return bool(super()._should_send_property(key, value))

    # -- engine side ----------------------------------------------------------------------
    def set_run(self, run: Run) -> None:
        """Show ``run`` (replacing any other) and send it now."""
        with self._lock:
            self.run = run
            self._reset = True
            self._flush(final=run.status not in _LIVE)

    def attach(self, engine: Any) -> ReCodeWidget:
        """Follow ``engine``'s runs (``engine.subscribe(self.on_event)``); returns self."""
        engine.subscribe(self.on_event)
        return self

    def on_event(self, event: str, run: Run, node: Node | None) -> None:
        """Engine callback: mark changes, send at most every ``interval`` seconds.

        A failure here is turned into a warning: the view must never break the run.
        """
        try:
            self._on_event(event, run, node)
        except Exception as exc:
            if not self._warned:
                self._warned = True
                warnings.warn(f"recode widget update failed: {type(exc).__name__}: {exc}",
                              RuntimeWarning, stacklevel=2)

    def _on_event(self, event: str, run: Run, node: Node | None) -> None:
        with self._lock:
            if event == "run_start" or run is not self.run:
                self.run = run
                self._reset = True
            if node is not None:
                self._dirty.add(node.id)
                if node.parent is not None:
                    self._dirty.add(node.parent.id)
            if event == "run_end":
                self._flush(final=True)
                if self._handle is not None:
                    self._handle.update(self)
                return
            if self._clock() - self._last >= self.interval:
                self._flush()
            else:
                self._pending = True
                self._arm()

    def _arm(self) -> None:
        if not self.trailing or self._timer is not None:
            return
        delay = max(0.0, self.interval - (self._clock() - self._last))
        self._timer = threading.Timer(delay, self._on_timer)
        self._timer.daemon = True
        self._timer.start()

    def _on_timer(self) -> None:
        if not self._lock.acquire(blocking=False):
            self._timer = None   # the main thread is flushing; it will re-arm if needed
            return
        try:
            self._timer = None
            if self._pending:
                for _ in range(3):  # the engine may mutate the tree meanwhile: retry
                    try:
                        self._flush()
                        break
                    except RuntimeError:
                        continue
        finally:
            self._lock.release()

    def _patch(self, run: Run, final: bool) -> dict[str, Any]:
        nodes = run.nodes()
        reset = self._reset
        if reset:
            self._sent, self._sent_run = {}, {}
        sent, dirty = self._sent, self._dirty
        changes: dict[str, Any] = {}
        for n in nodes:
            old = sent.get(n.id)
            if old is None or final or n.id in dirty or n.status in _LIVE:
                new = node_json(n)
                d = new if old is None else delta(old, new)
                if d:
                    changes[n.id] = d
                    sent[n.id] = new
        drop = list(sent.keys() - {n.id for n in nodes})  # a switched fork leaves the tree
        for i in drop:
            del sent[i]
        run_now = run_json(run, nodes)
        if final:
            run_now["stats"] = run.stats()
        run_delta = delta(self._sent_run, run_now)
        self._sent_run = run_now
        self._dirty = set()
        self.seq += 1
        age = self._clock() - self._born
        if self._keyframes and age >= self._keyframes[0]:
            while self._keyframes and age >= self._keyframes[0]:
                self._keyframes.pop(0)
            reset, run_delta, changes, drop = True, run_now, dict(sent), []
        patch: dict[str, Any] = {"kind": "patch", "seq": self.seq, "run": run_delta,
                                 "nodes": changes}
        if drop:
            patch["drop"] = drop
        if reset:
            patch["reset"] = True
        return patch

    def _flush(self, final: bool = False) -> None:
        run = self.run
        if run is None:
            return
        t0 = time.perf_counter()
        patch = self._patch(run, final)
        with self.hold_sync():
            if self._reset:
                self.graph_svg = self.graph_error = self.code = ""
                self.selected = ""
                self._reset = False
            self.status = str(run.status)
            if final and run.status not in _LIVE and len(self._sent) <= 200:
                self.code = _safe_export(run)  # bigger trees: on request from the Code tab
        self.send(patch)
        self.sends += 1
        self._pending = False
        self._last = self._clock()
        self.last_cost = time.perf_counter() - t0
        if final:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        else:  # keep the view's share of the run near 10% however big the tree gets
            self.interval = max(self.min_interval, 10 * self.last_cost)

    def send(self, content: dict[str, Any], buffers: Any = None) -> None:
        """Send a custom message to the views (and count its bytes in ``sent_bytes``)."""
        self.sent_bytes += len(json.dumps(content, default=repr).encode("utf-8"))
        super().send(content, buffers)

    # -- front-end requests -----------------------------------------------------------------
    def on_action(self, callback: Callable[[dict[str, Any]], Any], remove: bool = False) -> None:
        """Call ``callback(msg)`` when a details-pane button is used.

        ``msg`` is ``{"action": "regenerate" | "edit" | "switch" | "compare" | "promote",
        "node": id, ...}`` with ``hint`` (regenerate), ``code`` (edit), ``alternative``
        (switch) or ``alternatives`` (compare, two ids). A widget starts with the handlers of
        :func:`register_action_handler` (called as ``handler(widget, msg)``). The view is
        told the outcome: ``ok`` or the exception's text. Without a handler the view says
        the action is not available.
        """
        if remove:
            self._actions = [c for c in self._actions if c is not callback]
        else:
            self._actions.append(callback)

    def _on_front_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if "action" in content:
            self._dispatch(content)
            return
        kind = content.get("type")
        if kind == "snapshot":  # a view that missed patches (or says where it is: seq)
            with self._lock:
                seq = content.get("seq")
                if not isinstance(seq, int) or seq < self.seq:
                    self.send({"kind": "snapshot", **self.state()})
        elif self.run is None:
            return
        elif kind == "graph":
            self.refresh_graph()
        elif kind == "export":
            self.code = _safe_export(self.run, content.get("style", "functions"))

    def _dispatch(self, msg: dict[str, Any]) -> None:
        action, node = msg.get("action"), msg.get("node")
        reply = {"kind": "action_result", "action": action, "node": node, "ok": False}
        if action not in ACTIONS:
            reply["error"] = f"unknown action: {action!r} (must be one of {list(ACTIONS)})"
        elif not self._actions:
            reply["error"] = f"{action} is not available here (no handler registered)"
        else:
            try:
                for callback in list(self._actions):
                    callback(dict(msg))
                reply["ok"] = True
            except Exception as exc:  # shown in the details pane, never raised into the kernel
                reply["error"] = f"{type(exc).__name__}: {exc}"
        self.send(reply)

    def refresh_graph(self) -> None:
        """Render the graph with ``dot`` into ``graph_svg`` (or the reason into graph_error)."""
        if self.run is None:
            return
        try:
            self.graph_svg, self.graph_error = render_svg(self.run), ""
        except Exception as exc:  # shown in the Graph tab, never raised into the kernel
            self.graph_svg, self.graph_error = "", f"{type(exc).__name__}: {exc}"

    # -- display --------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            if self.run is None:
                data["text/plain"] = "ReCode: waiting for the run to start"
            else:
                data["text/plain"] = text = render_text(self.run)
                data["text/html"] = html_fallback(self.run, text)
        return bundle

    def show(self) -> ReCodeWidget:
        """Display the widget with a display id, so ``run_end`` refreshes the fallbacks."""
        from IPython.display import display

        self._handle = display(self, display_id=True)
        return self


def html_fallback(run: Run, text: str | None = None) -> str:
    """The static HTML copy of a run shown where the widget cannot run (GitHub, nbviewer).

    :func:`~recode_magic.notebook.render.render_html` (nested ``<details>`` with every node's
    thought, code and output) up to :data:`HTML_FALLBACK_NODES` nodes; above, the text tree
    (``text``, else :func:`~recode_magic.notebook.render.render_text`) in a ``<pre>``: a 5,000-node
    HTML tree is 2.5 MB that the notebook file keeps and JupyterLab parses again (for its
    table of contents) every time the cell runs.
    """
    n = len(run.nodes())
    if n <= HTML_FALLBACK_NODES:
        return render_html(run)
    note = (f"{n:,} nodes: the static copy is the text tree (the HTML tree stops at "
            f"{HTML_FALLBACK_NODES:,} nodes; the live widget shows every node's details).")
    return (f'<div class="recode-static"><div style="opacity:.75;font-size:11px">'
            f'{html.escape(note)}</div><pre style="font-size:12px;line-height:1.25">'
            f"{html.escape(text if text is not None else render_text(run))}</pre></div>")


def _safe_export(run: Run, style: str = "functions") -> str:
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


def display_run(run: Run | None = None, engine: Any = None, *,
                widget: bool | None = None) -> ReCodeWidget | None:
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

    Returns
    -------
    ReCodeWidget or None
        The widget shown, or None when the text tree was printed (or will be).
    """
    if widget is None:
        widget = in_kernel()
    if widget:
        w = ReCodeWidget(run)
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
