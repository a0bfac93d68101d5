"""nbval over the notebooks: skip a notebook whose optional dependency is missing.

``text_world_agent.ipynb`` needs ``textworld`` (the ``games`` extra); without it the notebook's
cells are skipped with that reason instead of failing on the import.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

#: notebook file name -> the module it needs beyond recode_magic's own dependencies
NEEDS = {"text_world_agent.ipynb": "textworld"}


def pytest_collection_modifyitems(config, items):
    """Mark the cells of notebooks whose module is not importable as skipped."""
    for item in items:
        name = Path(str(item.path)).name
        module = NEEDS.get(name)
        if module and importlib.util.find_spec(module) is None:
            item.add_marker(pytest.mark.skip(
                reason=f"{name} needs `{module}` (pip install {module}, or the games extra)"))
