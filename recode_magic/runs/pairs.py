"""Training pairs from a run: one ``{prompt, reply, node, depth, name, source}`` per done node.

``%recode export --pairs FILE`` writes them as JSONL (:func:`write_pairs`); pure data, read
from the tree, so :class:`~recode_magic.runs.run.Run` offers them without the steering layer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .status import NodeStatus
from .tree import RunData

__all__ = ["training_pairs", "write_pairs"]


def training_pairs(run: RunData) -> Iterator[dict[str, Any]]:
    """One ``{prompt, reply, node, depth, name, source}`` per node that ended ``done``."""
    for n in run.nodes():
        if n.status == NodeStatus.DONE and n.prompt and n.reply:
            yield {"prompt": n.prompt, "reply": n.reply, "node": n.id, "depth": n.depth,
                   "name": n.name, "source": "model" if n.llm_calls else "human"}


def write_pairs(run: RunData, path: str | os.PathLike[str]) -> int:
    """Write :func:`training_pairs` as JSONL to ``path``; returns the number of lines."""
    pairs = list(training_pairs(run))
    Path(path).write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs),
                          encoding="utf-8")
    return len(pairs)
