"""The ``--confirm`` buttons: the Run / Edit / Reject box and how its clicks reach a busy kernel.

See :mod:`recode_magic.notebook.confirm` for how the magic chooses between these buttons and the
text prompt. While ``%%recode`` runs, the kernel's main thread is busy, so widget messages
would wait for the cell to end: on ipykernel >= 7.4 the box's comms route to a private kernel
subshell; on ipykernel 6 ``jupyter-ui-poll`` pumps messages from inside the cell. An invisible
probe widget tells whether the front-end shows the box at all (nbclient, ``jupyter console``
and viewers never do): with no sign of it within ``render_timeout`` seconds the box gives up.
"""

from __future__ import annotations

import functools
import html
import threading
import time
from collections.abc import Callable
from typing import Any

from ..engine.budget import CostView
from ..errors import ConfirmUnavailable
from ..runs.tree import Node

__all__ = ["ConfirmBox", "buttons_available", "RENDER_TIMEOUT", "POLL_SECONDS", "repair_cause"]

POLL_SECONDS = 0.05  # ~20 Hz
#: Seconds to wait for the front-end to show the buttons (a front-end without widgets never
#: does: nbclient, jupyter console, a viewer); then the text prompt is used instead.
RENDER_TIMEOUT = 10.0

# -- buttons --------------------------------------------------------------------------------

_CSS = """<style>
.recode-confirm { border: 1px solid var(--jp-border-color1, #bbb); border-radius: 4px;
  padding: 6px 8px; margin: 4px 0; max-width: 100%; }
.recode-confirm pre.rc-confirm-code { margin: 4px 0; padding: 6px; max-height: 24em;
  overflow: auto; background: var(--jp-layout-color2, #f5f5f5); font-size: 12px;
  font-family: var(--jp-code-font-family, monospace); white-space: pre; }
.recode-confirm .rc-confirm-cost { font-size: 12px; color: var(--jp-ui-font-color2, #555); }
.recode-confirm .rc-confirm-edit textarea { font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; }
.recode-confirm pre.rc-confirm-cause { margin: 4px 0; padding: 4px 6px; font-size: 12px;
  white-space: pre-wrap; border-left: 3px solid #c62828;
  background: var(--jp-layout-color2, #f5f5f5); color: var(--jp-ui-font-color1, #212121); }
/* ipywidgets' success/danger/warning buttons are white on light fills (2.6-2.9:1): darker */
.recode-confirm .jupyter-button.mod-success { background: #1b5e20; color: #fff; }
.recode-confirm .jupyter-button.mod-danger { background: #b71c1c; color: #fff; }
.recode-confirm .jupyter-button.mod-warning { background: #8d4a00; color: #fff; }
</style>"""

_DECISIONS = {"run": "ran", "edit": "ran edited code", "reject": "rejected",
              "interrupt": "interrupted (nothing ran)"}


class ConfirmBox:
    """The widget box of :func:`confirm_with_buttons`; usable on its own (tests, other UIs).

    ``choice`` is None until a button is clicked, then ``(kind, code)`` with kind ``run``,
    ``edit`` or ``reject``. :meth:`finish` disables the buttons and shows the decision.
    ``cost`` (the run's spend so far and a projection) is shown under the code.
    """

    def __init__(self, node: Node, code: str, *, cost: CostView | None = None,
                 render_timeout: float = RENDER_TIMEOUT):
        import ipywidgets as w

        self.node, self.code, self.cost = node, code, cost
        self.choice: tuple[str, str | None] | None = None
        self.decision = ""
        self._lock = threading.Lock()
        self._handle: Any = None
        self.render_timeout = render_timeout
        self.rendered = threading.Event()
        self.probe = _render_probe(self.rendered)
        self.header = w.HTML(self._header_html())
        self.code_view = w.HTML(_CSS + f'<pre class="rc-confirm-code">{html.escape(code)}</pre>')
        self.cost_view = w.HTML(self._cost_html(), _dom_classes=["rc-confirm-cost-view"])
        self.run_button = w.Button(description="Run", button_style="success", icon="play",
                                   tooltip="run this code", _dom_classes=["rc-confirm-run"])
        self.edit_button = w.Button(description="Edit", icon="pencil",
                                    tooltip="edit the code, then run it",
                                    _dom_classes=["rc-confirm-edit-button"])
        self.reject_button = w.Button(description="Reject", button_style="danger", icon="times",
                                      tooltip="don't run it; stop the run (resumable)",
                                      _dom_classes=["rc-confirm-reject"])
        rows = min(max(code.count("\n") + 2, 4), 24)
        self.editor = w.Textarea(value=code, rows=rows, continuous_update=True,
                                 layout=w.Layout(width="100%"), _dom_classes=["rc-confirm-edit"])
        self.run_edited_button = w.Button(description="Run edited", button_style="warning",
                                          icon="play", tooltip="run the edited code",
                                          _dom_classes=["rc-confirm-run-edited"])
        self.edit_area = w.VBox([self.editor, self.run_edited_button],
                                layout=w.Layout(display="none", width="100%"))
        self.status = w.HTML("<i>waiting for your decision…</i>")
        self.buttons = w.HBox([self.run_button, self.edit_button, self.reject_button])
        self.box = w.VBox([self.header, self.code_view, self.cost_view, self.buttons,
                           self.edit_area, self.status, self.probe], layout=w.Layout(width="100%"),
                          _dom_classes=["recode-confirm"])
        self.run_button.on_click(lambda _b: self._choose("run", self.code))
        self.edit_button.on_click(lambda _b: self._open_editor())
        self.reject_button.on_click(lambda _b: self._choose("reject", None))
        self.run_edited_button.on_click(lambda _b: self._choose("edit", self.editor.value))

    # -- widgets the front-end writes to (their comms are routed while waiting) --------------
    @property
    def interactive(self) -> list[Any]:
        """The widgets the front-end writes to (clicks, typed code)."""
        return [self.run_button, self.edit_button, self.reject_button, self.editor,
                self.run_edited_button]

    @property
    def routed(self) -> list[Any]:
        """The widgets whose front-end messages must reach a busy kernel (and the probe)."""
        return [*self.interactive, self.probe]

    def waiting(self, since: float) -> bool:
        """True while no button was clicked; raises if the box was never shown.

        A front-end that renders widgets answers the probe at once; after
        :attr:`render_timeout` seconds with no answer and no click, this raises
        :class:`ConfirmUnavailable`.
        """
        if self.choice is not None:
            return False
        if not self.rendered.is_set() and time.monotonic() - since > self.render_timeout:
            raise ConfirmUnavailable(f"the front-end did not show the buttons within "
                                     f"{self.render_timeout:g} s (no widget support?)")
        return True

    def _header_html(self) -> str:
        cause = repair_cause(self.node)
        if not cause:
            return (f"<b>recode --confirm</b>: <code>{html.escape(self.node.call)}</code> "
                    f"(depth {self.node.depth}) wants to run:")
        kind, error = cause
        return (f"<b>recode --confirm</b> · <b>{html.escape(kind)}</b>: "
                f"<code>{html.escape(self.node.call)}</code> (depth {self.node.depth}) failed "
                f'with<pre class="rc-confirm-cause">{html.escape(error)}</pre>'
                f"and now wants to run:")

    def _cost_html(self) -> str:
        if self.cost is None:
            return ""
        return "".join(f'<div class="rc-confirm-cost">{html.escape(line)}</div>'
                       for line in self.cost.lines())

    def _open_editor(self) -> None:
        if self.choice is None:
            self.edit_area.layout.display = "flex"
            self.edit_button.disabled = True

    def _choose(self, kind: str, code: str | None) -> None:
        self.rendered.set()  # a click proves the box is shown
        with self._lock:
            if self.choice is None:
                self.choice = (kind, code)

    # -- display ------------------------------------------------------------------------------
    def decided_bundle(self) -> dict[str, Any]:
        """The decided box's one line (no widget, so a saved file shows it); code folded."""
        kind = self.choice[0] if self.choice else ""
        sign = {"run": "✔", "edit": "✎", "reject": "✘"}.get(kind, "■")
        shown = self.choice[1] if kind == "edit" and self.choice else self.code
        cause = repair_cause(self.node)
        what = f"{cause[0]} of " if cause else ""
        line = (f"recode --confirm: {self.decision} · {what}{self.node.call} "
                f"(depth {self.node.depth})")
        page = (f'<details class="recode-confirm-static recode-confirm-decided" '
                f'data-decision="{html.escape(kind or "interrupt")}">'
                f"<summary>{sign} {html.escape(line)}</summary>"
                + (f'<pre class="rc-confirm-cause">{html.escape(cause[1])}</pre>' if cause else "")
                + f"<pre>{html.escape(shown or '')}</pre>{self._cost_html()}</details>")
        cost = f"\n{self.cost}" if self.cost is not None else ""
        return {"text/plain": f"{sign} {line}\n{shown}{cost}\n", "text/html": page}

    def bundle(self) -> dict[str, Any]:
        """Mime bundle: the widget view plus text/plain and text/html copies (saved files)."""
        tail = self.decision or "waiting for a decision"
        cost = f"{self.cost}\n" if self.cost is not None else ""
        text = (f"recode --confirm: {self.node.call} (depth {self.node.depth})\n"
                f"{self.code}\n{cost}[{tail}]")
        page = (f'<div class="recode-confirm-static">{self._header_html()}'
                f"<pre>{html.escape(self.code)}</pre>{self._cost_html()}"
                f"<p><b>{html.escape(tail)}</b></p></div>")
        if self.choice is not None and self.choice[0] == "edit":
            page = page.replace("</p></div>", "</p><pre>"
                                + html.escape(self.choice[1] or "") + "</pre></div>")
            text += f"\n{self.choice[1]}"
        return {"text/plain": text + "\n", "text/html": page,  # ends its line (text views)
                "application/vnd.jupyter.widget-view+json": {
                    "version_major": 2, "version_minor": 0, "model_id": self.box.model_id}}

    def show(self) -> ConfirmBox:
        """Display the box (with a display id, so :meth:`finish` updates the copies)."""
        from IPython.display import display

        self._handle = display(self.bundle(), raw=True, display_id=True)
        return self

    def finish(self, kind: str) -> None:
        """Disable every control, show the decision, collapse the shown box to one line."""
        self.decision = _DECISIONS.get(kind, kind)
        for b in self.interactive:
            b.disabled = True
        if kind == "edit" and self.choice is not None:
            self.status.value = ('<b>decision: ran edited code</b>'
                                 '<pre class="rc-confirm-code rc-confirm-edited">'
                                 + html.escape(self.choice[1] or "") + "</pre>")
        else:
            self.status.value = f"<b>decision: {html.escape(self.decision)}</b>"
        self.edit_area.layout.display = "none"  # the status shows edited code
        if self._handle is not None:  # collapse to one line; no dead widget in a saved file
            self._handle.update(self.decided_bundle(), raw=True)

    # -- waiting ------------------------------------------------------------------------------
    def wait(self, poll: float = POLL_SECONDS) -> str | None:
        """Block until a button is clicked; return the code to run or None (rejected).

        Raises :class:`ConfirmUnavailable` if this kernel cannot deliver clicks during a cell
        or the front-end does not show the box, and lets ``KeyboardInterrupt`` through (after
        marking the box interrupted).
        """
        waiter = _waiter()
        if waiter is None:
            raise ConfirmUnavailable("this kernel cannot deliver widget clicks while a cell "
                                     "runs")
        try:
            waiter(self, poll)
        except KeyboardInterrupt:
            self.finish("interrupt")
            raise
        assert self.choice is not None
        kind, code = self.choice
        if kind == "edit" and code == self.code:
            kind = "run"
        self.finish(kind)
        return None if kind == "reject" else code


Unavailable = ConfirmUnavailable  # the name before errors.py held it


def repair_cause(node: Node) -> tuple[str, str] | None:
    """``(kind, error)`` when ``node``'s code to confirm answers a failure (repair, re-plan).

    The last unused reply says it: ``{"kind": "repair" | "replan", "error": ...}``.
    """
    last = node.attempts[-1] if node.attempts else None
    if not isinstance(last, dict) or last.get("kind") not in ("repair", "replan"):
        return None
    kind = "repair" if last["kind"] == "repair" else "re-plan"
    return kind, str(last.get("error") or "(no error text)").strip()[-2000:]


@functools.cache
def _probe_class() -> type:
    import anywidget

    class RenderProbe(anywidget.AnyWidget):
        """Invisible; its view sends ``{"event": "rendered"}`` when a front-end draws it."""

        _esm = ("export default { render({ model, el }) { el.style.display = 'none'; "
                "model.send({ event: 'rendered' }); } };")

    return RenderProbe


def _render_probe(rendered: threading.Event) -> Any:
    """An invisible widget whose view tells the kernel it was rendered (sets ``rendered``)."""
    probe = _probe_class()(_dom_classes=["rc-confirm-probe"])
    probe.on_msg(lambda _w, content, _b: rendered.set()
                 if isinstance(content, dict) and content.get("event") == "rendered" else None)
    return probe


# -- how clicks reach a busy kernel ---------------------------------------------------------

_SUBSHELLS: dict[int, str] = {}  # id(kernel) -> our private subshell id


def _kernel() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    shell = get_ipython()
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return None
    return getattr(shell, "kernel", None)


def _subshell_routing(kernel: Any) -> bool:
    """Ipykernel >= 7.4: subshells, and comms that route front-end messages to one."""
    try:
        from ipykernel.comm.comm import BaseComm
    except ImportError:  # pragma: no cover
        return False
    thread = getattr(kernel, "shell_channel_thread", None)
    return (thread is not None and hasattr(BaseComm, "_reply_subshell_for")
            and hasattr(type(thread), "manager") and hasattr(thread, "io_loop"))


def _subshell_id(kernel: Any, timeout: float = 10.0) -> str:
    """Our private subshell (created once per kernel, in the shell-channel thread)."""
    thread = kernel.shell_channel_thread
    sid = _SUBSHELLS.get(id(kernel))
    if sid is not None and sid in thread.manager.list_subshell():  # not deleted by a client
        return sid
    done, out = threading.Event(), {}

    def create() -> None:
        try:
            out["id"] = thread.manager._create_subshell()
        except BaseException as exc:  # reported in the caller's thread
            out["error"] = exc
        finally:
            done.set()

    thread.io_loop.add_callback(create)
    if not done.wait(timeout):
        raise ConfirmUnavailable("could not create a kernel subshell for the buttons (timed out)")
    if "error" in out:
        raise ConfirmUnavailable(f"could not create a kernel subshell: {out['error']}")
    _SUBSHELLS[id(kernel)] = out["id"]
    return out["id"]


def _route_to_subshell(box: ConfirmBox, sid: str) -> list[Any]:
    """Send the front-end's messages for the box's widgets to subshell ``sid``.

    ipykernel resets a comm's route to the sender's shell on every message the comm
    publishes (a state update from this main thread would route clicks back to the busy main
    shell), so each comm's ``publish_msg`` puts the route back right after publishing.
    """
    comms = [c.comm for c in box.routed if getattr(c, "comm", None) is not None]
    for comm in comms:
        if "publish_msg" not in vars(comm):
            original = comm.publish_msg

            def publish(*args: Any, _orig: Any = original, _comm: Any = comm,
                        **kwargs: Any) -> Any:
                try:
                    return _orig(*args, **kwargs)
                finally:
                    if getattr(_comm, "_recode_route", None):
                        _comm._reply_subshell_id = _comm._recode_route
            comm.publish_msg = publish
        comm._recode_route = sid
        comm._reply_subshell_id = sid
    return comms


def _wait_subshell(box: ConfirmBox, poll: float) -> None:
    comms = _route_to_subshell(box, _subshell_id(_kernel()))
    since = time.monotonic()
    try:
        while box.waiting(since):
            time.sleep(poll)  # a kernel interrupt raises KeyboardInterrupt here
    finally:
        for comm in comms:
            comm._recode_route = None
            comm._reply_subshell_id = None


def _wait_ui_poll(box: ConfirmBox, poll: float) -> None:
    from jupyter_ui_poll import ui_events

    since = time.monotonic()
    with ui_events() as process:
        while box.waiting(since):
            process(10)
            time.sleep(poll)


def _waiter() -> Callable[[ConfirmBox, float], None] | None:
    kernel = _kernel()
    if kernel is None:
        return None
    if _subshell_routing(kernel):
        return _wait_subshell
    if hasattr(kernel, "do_one_iteration"):  # ipykernel 6.x (removed in 7.x)
        try:
            import jupyter_ui_poll  # noqa: F401
        except ImportError:
            return None
        return _wait_ui_poll
    return None


def buttons_available() -> bool:
    """Tell whether the buttons can be used here.

    True in an ipykernel where ipywidgets is installed and button clicks can arrive while a
    cell runs (ipykernel >= 7.4, or ``jupyter-ui-poll`` on older kernels).
    """
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return _waiter() is not None
