r"""``--confirm``: show each expansion's code and ask before it runs.

With ``%%recode --confirm`` the engine calls ``confirm(node, code)`` after a reply passed the
checks and before any of it runs. The callback returns the code to run (maybe edited; edited
code is checked again) or None, which stops the run as ``interrupted``: nothing of that
expansion ran, and ``%recode resume`` asks the model again (and you again).

Two ways to ask, chosen by :func:`pick_confirm` (the magic calls it):

* **Buttons** (:func:`confirm_with_buttons`), in a Jupyter kernel whose front-end shows
  ipywidgets (JupyterLab, Notebook 7, VS Code): a box with the placeholder call and its depth,
  the code, and **Run** / **Edit** / **Reject**. *Edit* opens an editable copy of the code and a
  **Run edited** button. The cell waits until you choose; then the buttons are disabled and
  the box says what was decided (``ran``, ``ran edited code``, ``rejected``), and the plain
  text/HTML copy of the box (what nbconvert or a notebook viewer shows) says it too.
  Interrupting the kernel while it waits stops the run as ``interrupted`` (resumable).
* **A text prompt** (:func:`make_confirm` / ``confirm_in_notebook``, ``input()``): in terminal
  IPython, with ``%config ReCodeMagics.widget = False`` or ``--no-widget``, or when the kernel
  cannot deliver button clicks while a cell runs. Answer ``y`` (run), ``n`` (stop the run) or
  ``e`` (then type new code, ``\n`` between lines).

How the clicks reach a busy kernel: while ``%%recode`` runs, the kernel's main thread is busy,
so widget messages would wait for the cell to end. On ipykernel 7 kernels whose comms can
route front-end messages to a subshell (7.4 can), the box's widgets route theirs to a private
kernel *subshell* (ipykernel's own concurrency feature, JEP 91), whose thread runs the click
handlers while the main thread sleeps in 50 ms steps.
On older kernels that still have ``Kernel.do_one_iteration`` (ipykernel 6.x), the optional
package ``jupyter-ui-poll`` pumps the kernel's messages from inside the cell (~20 Hz). If
neither works, the text prompt is used.

Both show what the run cost so far and a projection (:class:`~recode_magic.engine.budget.CostView`:
model calls, input/output tokens, dollars or "price unknown"; the placeholders this code calls
and what one more call may cost; what is left of a ``--budget``). The engine passes it as the
``cost`` keyword to a callback that takes one; a ``confirm(node, code)`` of your own is called
with the two arguments, as before.

Nothing here is a sandbox: ``--confirm`` lets you see and stop code, not contain it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ..engine.budget import CostView
from ..errors import ConfirmUnavailable
from ..runs.tree import Node
from .confirm_box import (
    RENDER_TIMEOUT,
    ConfirmBox,
    _kernel,
    _route_to_subshell,
    _subshell_id,
    _subshell_routing,
    buttons_available,
    repair_cause,
)
from .marks import mark_node

__all__ = ["ConfirmBox", "buttons_available", "confirm_in_notebook", "confirm_with_buttons",
           "make_confirm", "pick_confirm", "stdin_available", "RENDER_TIMEOUT", "confirm_for"]

ConfirmFn = Callable[[Node, str], "str | None"]

_QUESTION = "run this code? [y]es / [n]o (stop the run) / [e]dit: "


def make_confirm(ask: Callable[[str], str] | None = None,
                 show: Callable[[str], None] = print) -> Callable[..., str | None]:
    """Build a confirm callback for :class:`~recode_magic.engine.recode.ReCode` on ``ask``/``show``.

    It returns the code to run (maybe edited) or None to stop the run. ``ask`` defaults to
    ``builtins.input`` looked up at each call (ipykernel swaps it in per execution).

    ``cost`` (passed by the engine) is shown after the code.

    >>> answers = iter(["e", "x = 2"])
    >>> confirm = make_confirm(ask=lambda q: next(answers), show=lambda s: None)
    >>> from recode_magic.runs.tree import Node
    >>> confirm(Node(id="0", name="solve", call="solve(task)"), "x = 1")
    'x = 2'
    """

    def confirm(node: Node, code: str, *, cost: CostView | None = None) -> str | None:
        import builtins

        ask_ = _no_stdin_is_unavailable(ask if ask is not None else builtins.input)
        show(f"--- {node.call}  (depth {node.depth}) wants to run:\n{code}\n---"
             + (f"\n{cost}" if cost is not None else ""))
        while True:
            answer = ask_(_QUESTION).strip().lower()
            if answer in ("y", "yes", ""):
                return code
            if answer in ("n", "no"):
                return None
            if answer in ("e", "edit"):
                edited = ask_("new code (write \\n between lines): ")
                return edited.replace("\\n", "\n")
            show(f"please answer y, n or e (got {answer!r})")

    return confirm


def _no_stdin_is_unavailable(ask: Callable[[str], str]) -> Callable[[str], str]:
    """``ask`` whose "this front-end has no stdin" errors are :class:`ConfirmUnavailable`."""
    from IPython.core.error import StdinNotImplementedError

    def ask_or_refuse(question: str) -> str:
        try:
            return ask(question)
        except (StdinNotImplementedError, EOFError) as exc:
            raise ConfirmUnavailable(
                "--confirm cannot ask: this front-end sends no answers to input() "
                f"({type(exc).__name__}); run without --confirm or in JupyterLab/Notebook"
            ) from None
    return ask_or_refuse


def stdin_available() -> bool:
    """Tell whether ``input()`` can be answered here.

    In a kernel: whether the front-end that sent this cell allows stdin (nbclient, papermill
    and ``jupyter execute`` do not). Outside a kernel (terminal IPython): True.
    """
    kernel = _kernel()
    if kernel is None:
        return True
    return bool(getattr(kernel, "_allow_stdin", True))


confirm_in_notebook = make_confirm()



def confirm_with_buttons(node: Node, code: str, *, cost: CostView | None = None,
                         render_timeout: float = RENDER_TIMEOUT) -> str | None:
    """Show ``code`` (and ``cost``) with Run / Edit / Reject buttons and wait.

    Returns the code to run or None. Falls back to the ``input()`` prompt if the buttons
    cannot be used here, or if the front-end does not show them within ``render_timeout``
    seconds. While it waits the tree shows the node as ``waiting``; then ``rejected`` or
    ``interrupted`` (with the code that was shown) when nothing of it ran.
    """
    cause = repair_cause(node)
    mark_node(node, "waiting", code, f"{cause[0]} after: {cause[1]}" if cause else "")
    try:
        approved = _ask_with_buttons(node, code, cost, render_timeout)
    except KeyboardInterrupt:
        mark_node(node, "interrupted", code)
        raise
    mark_node(node, None if approved is not None else "rejected", code)
    return approved


def _ask_with_buttons(node: Node, code: str, cost: CostView | None,
                      render_timeout: float) -> str | None:
    if not buttons_available():
        return confirm_in_notebook(node, code, cost=cost)
    box = ConfirmBox(node, code, cost=cost, render_timeout=render_timeout)
    kernel = _kernel()
    if kernel is not None and _subshell_routing(kernel):
        try:  # route clicks to the subshell BEFORE the box is shown: a click that reached
            _route_to_subshell(box, _subshell_id(kernel))  # the busy main shell would wait
        except ConfirmUnavailable:  # forever behind this very cell
            pass  # box.wait() raises it again and we fall back to the prompt
    box.show()
    try:
        return box.wait()
    except ConfirmUnavailable as exc:
        box.finish(f"buttons unavailable ({exc}); asked in a text prompt")
        return confirm_in_notebook(node, code, cost=cost)


def pick_confirm(widget: bool = True, render_timeout: float | None = None
                 ) -> Callable[..., str | None]:
    """Choose the confirm callback for this environment.

    Buttons in a widget-capable kernel, else the ``input()`` prompt (terminal IPython,
    ``widget=False``). ``render_timeout``: see :func:`confirm_with_buttons`.

    >>> pick_confirm(widget=False) is confirm_in_notebook
    True
    """
    if widget and buttons_available():
        if render_timeout is None or render_timeout == RENDER_TIMEOUT:
            return confirm_with_buttons
        return functools.partial(confirm_with_buttons, render_timeout=render_timeout)
    return confirm_in_notebook


def confirm_for(widget: bool, render_timeout: float | None = None
                ) -> Callable[..., str | None]:
    """The ``--confirm`` callback of a magic, refused before the run when it cannot ask.

    A front-end that sends no answers to ``input()`` (nbconvert, papermill, ``jupyter
    execute``) is refused even when the kernel has widgets: such front-ends do not show
    them either, and finding out costs a model call and a ``render_timeout`` wait. Every
    interactive front-end (JupyterLab, Notebook, VS Code, terminal IPython) answers
    ``input()``.

    Raises
    ------
    ConfirmUnavailable
        This front-end cannot answer (one line at the magic's boundary).
    """
    if not stdin_available():
        raise ConfirmUnavailable(
            "--confirm cannot ask here: this front-end answers no input() and shows no "
            "buttons (nbconvert, papermill); nothing was run and no model was called. Run "
            "without --confirm, or in JupyterLab/Notebook/VS Code")
    return pick_confirm(widget=widget, render_timeout=render_timeout)

