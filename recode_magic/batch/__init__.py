"""Many tasks, any executor: ``from recode_magic.batch import run_many`` (public)."""

from __future__ import annotations

from .many import (
    COLUMNS,
    BatchProgress,
    TaskSetup,
    TaskTimeout,
    load_results,
    run_many,
    task_ids,
)

__all__ = ["run_many", "TaskSetup", "BatchProgress", "TaskTimeout", "COLUMNS", "load_results",
           "task_ids"]
