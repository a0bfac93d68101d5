"""Entering a node again (steering) and binding a call's keyword arguments.

:class:`Reentry` is the part of :class:`~recode_magic.engine.machine.Machine` that
:mod:`recode_magic.steering.steer` uses to regenerate, edit or re-run a node: one way into a
node, the machine's own (:meth:`Reentry.bind_keywords` is what ``push_child`` does too).
"""

from __future__ import annotations

import ast
from functools import partial
from typing import Any

from ..prompting.prompts import build_prompt
from ..pycode import code as C
from ..pycode.astlock import compile_ast
from ..runs.tree import Node
from .part import MachinePart
from .runstate import MISSING, Frame

__all__ = ["Reentry"]


class Reentry(MachinePart):
    """Re-entering nodes: :meth:`reenter`, :meth:`hand_code`, :meth:`bind_keywords`."""

    def start(self, frame: Frame, code: str | None = None, feedback: str | None = None) -> None:
        """Defined by :class:`~recode_magic.engine.machine.Machine`."""
        raise NotImplementedError

    def hand_code(self, frame: Frame, code: str) -> list[C.Block]:
        """Plan ``code`` written by hand as the node's expansion; record the prompt it answers."""
        node = frame.node
        blocks = self.x.plan(frame, code)
        node.code, node.thought = code, "(edited by hand)"
        variables, task = self.x.shown(self.run, frame)
        node.prompt = str(build_prompt(self.state.fixed, node.call, variables,
                                       name=node.name, task=task))
        node.reply = f"<execute>\n{code}\n</execute>"
        self.emit("node", self.run, node)
        return blocks

    def reenter(self, node: Node, ph: C.Placeholder | None, *, code: str | None = None,
                feedback: str | None = None) -> Frame:
        """A fresh frame that enters ``node`` again (steering: regenerate, edit, re-run).

        Binds the keyword arguments of its call ``ph`` as :meth:`push_child` does (the
        exception of an argument that no longer evaluates propagates, nothing bound); its
        expansion (:meth:`enter`, the frame's ``redo`` until the model answered, so a
        resumed run enters it the same way) takes ``code`` (written by hand) or asks the
        model with ``feedback``. The caller pushes the frame (after any ancestors' frames).
        """
        shadowed = self.bind_keywords(ph, "<recode-steer>") if ph is not None else {}
        frame = Frame(node) if ph is None else Frame(
            node, placeholder=ph, variables=C.placeholder_variables(ph), shadowed=shadowed,
            keywords={k: self.ns[k] for k in shadowed})
        frame.redo = partial(Reentry.enter, frame=frame, code=code, feedback=feedback)
        return frame

    def enter(self, frame: Frame, code: str | None, feedback: str | None) -> None:
        """Expand ``frame``'s node anew as :meth:`reenter` set up: even at the depth limit."""
        frame.node.started = None  # the new version's own clock
        self.start(frame, code, feedback)

    def bind_keywords(self, ph: C.Placeholder, filename: str) -> dict[str, Any]:
        """Bind the literal keyword arguments of ``ph``; returns the user values they hid.

        On an exception the hidden values are put back and it propagates.
        """
        shadowed: dict[str, Any] = {}
        try:
            for key, expr in C.iter_literal_keywords(ph):
                if isinstance(expr, ast.Name) and expr.id == key:
                    continue  # `f(items=items)`: already bound under that name
                value = eval(compile_ast(ast.Expression(expr), filename, "eval"), self.ns)  # noqa: S307
                if key in self.ns and self.ns[key] is value:
                    continue
                if key in self.state.protected and key not in shadowed:
                    shadowed[key] = self.ns.get(key, MISSING)  # put back when the child ends
                else:
                    self.assigned.add(key)
                self.ns[key] = value
        except BaseException:
            for key, old in shadowed.items():
                if old is MISSING:
                    self.ns.pop(key, None)
                else:
                    self.ns[key] = old
            raise
        return shadowed
