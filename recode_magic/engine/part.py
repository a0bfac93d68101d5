"""What the stack machine's parts share: :class:`MachinePart` declares the machine's state.

:class:`~recode_magic.engine.repair.Repairs` (ending nodes) and
:class:`~recode_magic.engine.entry.Reentry` (entering them again) are bases of
:class:`~recode_magic.engine.machine.Machine`; the attributes they read are declared once here
and set by ``Machine.__init__``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..runs.run import Run
from ..runs.tree import Node, RunData
from .expander import Expander
from .runstate import RunState

__all__ = ["MachinePart"]


class MachinePart:
    """The machine's state, as its parts see it (declarations only)."""

    run: Run
    state: RunState
    ns: dict[str, object]
    emit: Callable[[str, RunData, Node | None], None]
    x: Expander
    assigned: set[str]
