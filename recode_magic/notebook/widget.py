"""The live call-tree widget (anywidget); ``display_run`` and the static copy: widget_static.

Traffic: only what changed, as custom messages ``{"kind": "patch", "seq": n, "run": {...},
"nodes": {id: delta}, "drop": [ids]}`` (patch language: :mod:`.widget_state`; builder:
:mod:`.widget_patch`); ``"reset": true`` replaces everything (a new run, and keyframes in the
first second for a view whose code was still loading). The ``snapshot`` trait (the whole
state at ``seq``, JSON text) is rebuilt when the kernel is asked for the state, and pushed as
synced state when the run's status, its nodes' statuses (at most once a second) or a
``--confirm`` mark change and at run end: a view that loads late, behind a busy kernel,
draws the run as it is from the model's state alone. A view that sees a gap in ``seq``
sends ``{"type": "snapshot", "seq": n}`` and gets a ``"kind": "snapshot"`` message.
A widget following an engine for ``display_run`` is replaced by the static tree at run end.
"""

from __future__ import annotations

import functools
import json
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .render import DISPLAY, render_svg
from .widget_patch import LIVE as _LIVE
from .widget_patch import Patcher
from .widget_state import WIDGET_LIMIT, delta, node_json, on_mark, tree_json
from .widget_static import (
    HTML_FALLBACK_NODES,
    html_fallback,
    in_kernel,
    plain_text,
    safe_export,
    static_bundle,
)

if TYPE_CHECKING:
    from ..runs.run import Run
    from ..runs.tree import Node

__all__ = ["ReCodeWidget", "node_json", "tree_json", "in_kernel", "delta",
           "ACTIONS", "WIDGET_LIMIT", "register_action_handler", "html_fallback",
           "HTML_FALLBACK_NODES", "static_bundle"]

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
_WIDGETS: weakref.WeakSet[ReCodeWidget] = weakref.WeakSet()  # a --confirm mark reaches all
_SNAPSHOT_EVERY = 1.0  # s between snapshots for node status changes (and patches >= 2x it)
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
                 keyframes: tuple[float, ...] = _KEYFRAMES, static_at_end: bool = False,
                 **kwargs: Any):
        self.run: Run | None = None
        self.static_at_end = static_at_end  # run_end swaps the output for the static tree
        self._acting = False                # inside one of our buttons' handlers
        self._push = False                  # the snapshot may travel on its own now
        self._synced: tuple[str, Any] = ("", None)
        self._synced_at = (float("-inf"), 0, 0)  # time, sent_bytes then, snapshot's size
        self._p = Patcher(clock, list(keyframes))
        self._lock = threading.RLock()
        self._reset = False
        self._clock = clock
        final = False
        if run is not None:  # the state travels in the comm's opening message (snapshot)
            self.run, self._reset = run, True
            final = run.status not in _LIVE
            self._p.patch(run, final, True)
            self._p.keyframes.clear()
            kwargs.setdefault("status", str(run.status))
        super().__init__(expand_depth=expand_depth, **kwargs)
        self._reset = False
        if final and run is not None and len(self._p.sent) <= 200:
            self.code = safe_export(run)
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
        _WIDGETS.add(self)

    # -- the state a view holds -------------------------------------------------------------
    @property
    def seq(self) -> int:
        """Patches sent so far (the sequence number of the last one)."""
        return self._p.seq

    def state(self) -> dict[str, Any]:
        """What every view shows now: ``{"seq", "run", "nodes"}`` (nodes as sent, pre-order)."""
        with self._lock:
            sent = dict(self._p.sent)
            order = [n.id for n in self.run.nodes()] if self.run is not None else []
            nodes = [sent.pop(i) for i in order if i in sent] + list(sent.values())
            return {"seq": self._p.seq, "run": dict(self._p.sent_run), "nodes": nodes}

    @property
    def tree(self) -> dict[str, Any]:
        """The whole tree as the views hold it: ``{"run": {...}, "nodes": [...]}``."""
        return {k: v for k, v in self.state().items() if k != "seq"}

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
        """Widget state for the front-end; ``snapshot`` is rebuilt here, when asked for."""
        if key is None or key == "snapshot" or (not isinstance(key, str) and "snapshot" in key):
            with self._lock:
                if self.comm is not None and (self._p.dirty or getattr(self, "_pending", False)):
                    self._flush()  # the late view starts from the latest state
                snap = self.state()
            # not sent by itself (below): it travels in this state
            self.snapshot = json.dumps(snap, default=repr, separators=(",", ":"))
        return super().get_state(key=key, drop_defaults=drop_defaults)

    def _should_send_property(self, key: str, value: Any) -> bool:
        if key == "snapshot" and not self._push:
            return False  # sent with the full state, or by _sync_snapshot, never per change
        return bool(super()._should_send_property(key, value))

    def _sync_snapshot(self, final: bool, force: bool = False) -> None:
        """Push the whole state as synced state when the run's or a node's status changed."""
        if self.comm is None:
            return
        key = (str(self._p.sent_run.get("status")), self._p.sent_run.get("counts"))
        (then, sent, size), now = self._synced_at, self._clock()
        due = now - then >= _SNAPSHOT_EVERY and self.sent_bytes - sent >= 2 * size
        if not (final or force or key[0] != self._synced[0] or (key != self._synced and due)):
            return
        self._push = True
        try:
            self.snapshot = json.dumps(self.state(), default=repr, separators=(",", ":"))
        finally:
            self._push = False
        self._synced, self._synced_at = key, (now, self.sent_bytes, len(self.snapshot))

    def _on_mark(self, node: Node) -> None:
        """A ``--confirm`` decision changed how ``node`` shows: send it and the state now."""
        with self._lock:
            run = self.run
            if run is None or run._by_id.get(node.id) is not node:
                return
            self._p.dirty.add(node.id)
            self._flush(force=True)

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
                self._p.dirty.add(node.id)
                if node.parent is not None:
                    self._p.dirty.add(node.parent.id)
            if event == "run_end":
                self._flush(final=True)
                static = self.static_at_end and not self._acting and self.to_static()
                if not static and self._handle is not None:
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

    def _flush(self, final: bool = False, force: bool = False) -> None:
        run = self.run
        if run is None:
            return
        t0 = time.perf_counter()
        patch = self._p.patch(run, final, self._reset)
        with self.hold_sync():
            if self._reset:
                self.graph_svg = self.graph_error = self.code = ""
                self.selected = ""
                self._reset = False
            self.status = str(run.status)
            if final and run.status not in _LIVE and len(self._p.sent) <= 200:
                self.code = safe_export(run)  # bigger trees: on request from the Code tab
        self.send(patch)
        self.sends += 1
        self._pending = False
        self._sync_snapshot(final, force)
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
                if not isinstance(seq, int) or seq < self._p.seq:
                    self.send({"kind": "snapshot", **self.state()})
        elif self.run is None:
            return
        elif kind == "graph":
            self.refresh_graph()
        elif kind == "export":
            self.code = safe_export(self.run, content.get("style", "functions"))

    def _dispatch(self, msg: dict[str, Any]) -> None:
        action, node = msg.get("action"), msg.get("node")
        reply = {"kind": "action_result", "action": action, "node": node, "ok": False}
        if action not in ACTIONS:
            reply["error"] = f"unknown action: {action!r} (must be one of {list(ACTIONS)})"
        elif not self._actions:
            reply["error"] = f"{action} is not available here (no handler registered)"
        else:
            self._acting = True   # its run_end keeps this live view (it was clicked in)
            try:
                for callback in list(self._actions):
                    callback(dict(msg))
                reply["ok"] = True
            except Exception as exc:  # shown in the details pane, never raised into the kernel
                reply["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                self._acting = False
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
                data["text/plain"] = text = plain_text(self.run)
                data["text/html"] = html_fallback(self.run, text.rstrip("\n"))
        return bundle

    def to_static(self) -> bool:
        """Replace the shown output by the ended run's static tree (False: cannot)."""
        if self.run is None or self._handle is None or str(self.run.status) in _LIVE:
            return False
        self._handle.update(static_bundle(self.run), raw=True)
        return True

    def show(self) -> ReCodeWidget:
        """Display the widget with a display id, so ``run_end`` refreshes the fallbacks."""
        from IPython.display import display
        self._handle = display(self, display_id=True)
        return self


on_mark(lambda node: [w._on_mark(node) for w in list(_WIDGETS)])  # --confirm marks
