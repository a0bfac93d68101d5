"""The public ``Run``: :class:`~recode_magic.runs.tree.RunData` plus saving, export and stats.

This module sits above the function modules (tree ← stats, export, planv1 ← run), so none
of them imports it and there is no cycle.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ..errors import RunFormatError
from .export import export_run
from .pairs import training_pairs
from .planv1 import from_plan_v1, to_plan_v1
from .stats import run_stats
from .tree import PLAN_V1, SAVE_LIMIT, RunData, run_from_dict, run_to_dict

__all__ = ["Run", "load_run"]


class Run(RunData):
    """One ``%%recode`` run: the task, the tree, its status and counters.

    >>> run = Run("say hi")
    >>> run.root.call
    'solve(task)'
    >>> [n.name for n in run.nodes()]
    ['solve']
    """

    def stats(self) -> dict[str, Any]:
        """Granularity figures as in the paper's Table 8 (see ``recode_magic.runs.stats``)."""
        return run_stats(self)

    def to_plan_v1(self) -> dict[str, Any]:
        """The reference implementation's ``recode.plan.v1`` (one node per statement)."""
        return to_plan_v1(self)

    def export(self, style: str = "functions") -> str:
        """Plain Python that replays the finished tree with no model (``runs.export``)."""
        return export_run(self, style=style)

    def to_training_pairs(self) -> list[dict[str, Any]]:
        """Training pairs: one per node that ended ``done``, at every level of the tree.

        Each is ``{prompt, reply, node, depth, name, source}``
        (:func:`recode_magic.runs.pairs.training_pairs`).
        """
        return list(training_pairs(self))

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        """Our JSON form (:func:`~recode_magic.runs.tree.run_to_dict`), texts cut to ``limit``."""
        return run_to_dict(self, limit)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` as JSON atomically (write a temp file, then rename).

        Texts are cut to :data:`~recode_magic.runs.tree.SAVE_LIMIT` characters. Raises ``OSError``
        when the path cannot be written (the engine records that as a warning).
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            data = {**run_to_dict(self, SAVE_LIMIT), "saved_at": time.time()}  # a loaded run
            tmp.write_text(json.dumps(data, indent=1, default=repr),  # that was still going
                           encoding="utf-8")  # on stops its clock there (tree._stopped)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        """Read our JSON or ``recode.plan.v1``."""
        if isinstance(data, dict) and data.get("version") == PLAN_V1:
            return from_plan_v1(data, factory=cls)
        return run_from_dict(data, factory=cls)


def load_run(source: dict[str, Any] | str | os.PathLike[str]) -> Run:
    """Read a run from a dict or a JSON file, in our format or ``recode.plan.v1``.

    Raises
    ------
    RunFormatError
        When the file is not JSON or not a run (``OSError`` when it cannot be read).
    """
    if isinstance(source, dict):
        return Run.from_dict(source)
    text = Path(source).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunFormatError(f"{str(source)!r} is not JSON ({exc})") from None
    return Run.from_dict(data)
