"""The live call-tree widget (anywidget) and ``display_run``, with text/HTML fallbacks."""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .render import render_html, render_svg, render_text

if TYPE_CHECKING:
    from .tree import Node, Run

__all__ = ["ReCodeWidget", "display_run", "node_json", "tree_json", "in_kernel"]

_STATIC = Path(__file__).parent / "static"
_CLIP = 20_000       # characters kept per text field in the synced model
_STEP_CLIP = 2_000
_PARTIAL_CLIP = 4_000


def _clip(text: str | None, limit: int = _CLIP) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more chars)"


def node_json(node: Node) -> dict[str, Any]:
    """The synced form of one node (texts clipped; no prompt or raw reply)."""
    d: dict[str, Any] = {
        "id": node.id, "parent": node.parent.id if node.parent else None, "name": node.name,
        "call": node.call, "depth": node.depth, "status": node.status,
        "code": _clip(node.code), "thought": _clip(node.thought), "stdout": _clip(node.stdout),
        "error": _clip(node.error) if node.error else None,
        "children": [c.id for c in node.children],
        "steps": [{"kind": s.kind, "code": _clip(s.code, _STEP_CLIP), "child": s.child,
                   "stdout": _clip(s.stdout, _STEP_CLIP), "error": s.error,
                   "primitives": list(s.primitives)} for s in node.steps],
        "usage": dict(node.usage), "llm_calls": node.llm_calls, "attempts": len(node.attempts),
        "started": node.started, "ended": node.ended,
    }
    partial = getattr(node, "reply_partial", None)
    if partial and node.status in ("pending", "running"):
        d["partial"] = partial[-_PARTIAL_CLIP:]
    return d


def _run_json(run: Run, nodes: list[Node]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for n in nodes:
        counts[n.status] = counts.get(n.status, 0) + 1
    return {"task": run.task, "status": run.status, "error": run.error,
            "llm_calls": run.llm_calls, "started": run.started, "ended": run.ended,
            "elapsed": round(run.elapsed, 3), "counts": counts, "usage": run.usage,
            "model": str(run.meta.get("model", "")), "root": run.root.id, "n": len(nodes)}


def tree_json(run: Run) -> dict[str, Any]:
    """The whole tree as the widget's ``tree`` trait: ``{"run": {...}, "nodes": [...]}``."""
    nodes = run.nodes()
    return {"run": _run_json(run, nodes), "nodes": [node_json(n) for n in nodes]}


class ReCodeWidget(anywidget.AnyWidget):
    """A live, clickable call tree of a ReCode run.

    Parameters
    ----------
    run : Run, optional
        The run to show; with ``attach(engine)`` the next ``run_start`` sets it.
    interval : float
        Minimum seconds between two model updates while a run goes on (default 0.05, so at
        most 20 updates a second); it grows when serialising the tree gets slow.
    expand_depth : int
        Nodes deeper than this start collapsed.

    Notes
    -----
    Engine events only mark the widget dirty; the tree is sent when ``interval`` has
    passed since the last send, by a trailing timer if events stop, and always on
    ``run_end``. Per-node JSON is cached and rebuilt only for nodes an event touched.
    """

    _esm = _STATIC / "tree.js"
    _css = _STATIC / "tree.css"

    tree = traitlets.Dict().tag(sync=True)
    status = traitlets.Unicode("pending").tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    expand_depth = traitlets.Int(2).tag(sync=True)
    graph_svg = traitlets.Unicode("").tag(sync=True)
    graph_error = traitlets.Unicode("").tag(sync=True)
    code = traitlets.Unicode("").tag(sync=True)

    def __init__(self, run: Run | None = None, *, interval: float = 0.05,
                 expand_depth: int = 2, trailing: bool = True,
                 clock: Callable[[], float] = time.monotonic, **kwargs: Any):
        super().__init__(expand_depth=expand_depth, **kwargs)
        self.run: Run | None = None
        self.min_interval = interval
        self.interval = interval
        self.trailing = trailing
        self.sends = 0
        self.last_bytes = 0
        self.last_cost = 0.0
        self._clock = clock
        self._last = float("-inf")
        self._cache: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()
        self._pending = False
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self._handle: Any = None
        self._reset = False
        self._warned = False
        self.on_msg(self._on_front_msg)
        if run is not None:
            self.set_run(run)

    # -- engine side ----------------------------------------------------------------------
    def set_run(self, run: Run) -> None:
        """Show ``run`` (replacing any other) and send it now."""
        with self._lock:
            self.run = run
            self._cache.clear()
            self._reset = True
            self._flush(final=run.status not in ("pending", "running"))

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
                self._cache.clear()
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

    def _flush(self, final: bool = False) -> None:
        run = self.run
        if run is None:
            return
        t0 = time.perf_counter()
        nodes = run.nodes()
        dirty = self._dirty
        out = []
        for n in nodes:
            d = self._cache.get(n.id)
            if d is None or n.id in dirty or final or n.status in ("running", "pending"):
                d = self._cache[n.id] = node_json(n)
            out.append(d)
        tree: dict[str, Any] = {"run": _run_json(run, nodes), "nodes": out}
        if final:
            tree["run"]["stats"] = run.stats()
            tree["run"]["text"] = render_text(run, header=False)
        self._dirty = set()
        with self.hold_sync():
            if self._reset:
                self.graph_svg = self.graph_error = self.code = ""
                self.selected = ""
                self._reset = False
            self.tree = tree
            self.status = run.status
            if final and run.status not in ("pending", "running") and len(nodes) <= 200:
                self.code = _safe_export(run)  # bigger trees: on request from the Code tab
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

    def payload_bytes(self) -> int:
        """Size in bytes of the ``tree`` trait as JSON (what one update carries)."""
        self.last_bytes = len(json.dumps(self.tree, default=repr).encode("utf-8"))
        return self.last_bytes

    # -- front-end requests -----------------------------------------------------------------
    def _on_front_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or self.run is None:
            return
        kind = content.get("type")
        if kind == "graph":
            self.refresh_graph()
        elif kind == "export":
            self.code = _safe_export(self.run, content.get("style", "functions"))

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
                data["text/plain"] = render_text(self.run)
                data["text/html"] = render_html(self.run)
        return bundle

    def show(self) -> ReCodeWidget:
        """Display the widget with a display id, so ``run_end`` refreshes the fallbacks."""
        from IPython.display import display

        self._handle = display(self, display_id=True)
        return self


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
