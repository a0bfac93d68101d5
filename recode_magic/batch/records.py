"""The batch's record on disk: one row file per ended task, and the results table."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from .job import ERROR_CHARS

__all__ = ["COLUMNS", "load_results", "write_text", "read_row", "fault_row", "table",
           "STILL_RUNNING"]

#: Columns of the results table, in order (``record`` columns of a TaskSetup follow).
COLUMNS = ("task_id", "status", "solved", "llm_calls", "input_tokens", "output_tokens",
           "cache_write_tokens", "cache_read_tokens", "replayed_calls", "cost_usd", "depth",
           "nodes", "wall_s", "error", "tree", "cassette", "reused")

#: The error of a task Ctrl-C found running that had not ended a grace period later.
STILL_RUNNING = ("interrupted while it ran (it may still be running: in this kernel it stops "
                 "at its next model call); re-run to resume")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_row(out: Path, task_id: str) -> dict[str, Any] | None:
    """The recorded row of ``task_id`` (None: the task never ended)."""
    try:
        return json.loads((out / f"{task_id}.row.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def fault_row(task_id: str, status: str, error: str) -> dict[str, Any]:
    """The row of a task that produced none (its worker died, it was cancelled)."""
    return {"task_id": task_id, "status": status, "solved": None, "llm_calls": 0,
            "error": error[:ERROR_CHARS]}


def table(rows: list[dict[str, Any]], as_frame: bool | None) -> Any:
    """The rows as a DataFrame (``as_frame`` None: when pandas is installed) or a list."""
    extra = [k for r in rows for k in r if k not in COLUMNS and not k.startswith("_")]
    columns = list(COLUMNS) + list(dict.fromkeys(extra))
    rows = [{c: r.get(c) for c in columns} for r in rows]
    if as_frame is False:
        return rows
    try:
        import pandas as pd
    except ImportError as exc:
        if as_frame:
            from ..errors import MissingDependencyError
            raise MissingDependencyError("as_frame=True needs pandas (pip install "
                                         "pandas)") from exc
        return rows
    return pd.DataFrame(rows, columns=columns)


def load_results(out_dir: str | os.PathLike[str], *, as_frame: bool | None = None) -> Any:
    """The results table of the tasks recorded in ``out_dir`` (rows of ended tasks)."""
    rows = []
    for path in sorted(Path(out_dir).glob("*.row.json")):
        rows.append(json.loads(path.read_text(encoding="utf-8")))
    return table(rows, as_frame)
