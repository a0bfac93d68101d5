"""``--confirm``: show each expansion's code and ask before it runs (``input()`` prompt).

Works in a terminal and in a notebook, where Jupyter shows the prompt as a text box.
"""

from __future__ import annotations

from typing import Callable

from .tree import Node

__all__ = ["confirm_in_notebook", "make_confirm"]

_QUESTION = "run this code? [y]es / [n]o (stop the run) / [e]dit: "


def make_confirm(ask: Callable[[str], str] = input,
                 show: Callable[[str], None] = print) -> Callable[[Node, str], str | None]:
    """A confirm callback for :class:`~recode_magic.engine.ReCode` built on ``ask``/``show``.

    It returns the code to run (maybe edited) or None to stop the run.

    >>> answers = iter(["e", "x = 2"])
    >>> confirm = make_confirm(ask=lambda q: next(answers), show=lambda s: None)
    >>> from recode_magic.tree import Node
    >>> confirm(Node(id="0", name="solve", call="solve(task)"), "x = 1")
    'x = 2'
    """

    def confirm(node: Node, code: str) -> str | None:
        show(f"--- {node.call}  (depth {node.depth}) wants to run:\n{code}\n---")
        while True:
            answer = ask(_QUESTION).strip().lower()
            if answer in ("y", "yes", ""):
                return code
            if answer in ("n", "no"):
                return None
            if answer in ("e", "edit"):
                edited = ask("new code (write \\n between lines): ")
                return edited.replace("\\n", "\n")
            show(f"please answer y, n or e (got {answer!r})")

    return confirm


confirm_in_notebook = make_confirm()
