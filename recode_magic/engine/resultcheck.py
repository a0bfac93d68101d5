"""The result check: a step that ran without an error but left its result empty.

A 1.5B model often writes code that runs and computes nothing: a regular expression that
never matches leaves ``answer = {}``, a search that never appends leaves ``[]``, a function
that prints instead of returning leaves ``None``. None of that raises, so neither a repair
nor a re-plan would see it. When a node ends, the names its caller expects (left of ``=`` in
its placeholder, or the run's ``output``) are looked at once: if one is None or an empty
str/bytes/container, the node is re-planned (attempt kind ``replan``) with its code and that
value, once per node. An empty result can be right, so the model may answer the same again
and the node then ends ``done`` as it would have.

Measured on the task suite of ``benchmarks/agents`` (issue 12): see README "Evaluation".
Off with ``ReCode(check_results=False)`` / ``%config ReCodeMagics.check_results = False``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["is_empty", "first_empty"]


def is_empty(value: Any) -> bool:
    """None, or a str/bytes/list/tuple/dict/set/frozenset with no items (0 and False are not).

    >>> [is_empty(v) for v in (None, "", [], {}, set(), 0, False, [0], "x")]
    [True, True, True, True, True, False, False, False, False]
    """
    if value is None:
        return True
    return isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)) and not value


def first_empty(ns: Mapping[str, Any], names: Sequence[str]) -> str | None:
    """The first of ``names`` bound in ``ns`` to an empty value (see :func:`is_empty`).

    >>> first_empty({"a": 1, "b": []}, ["a", "b"]), first_empty({"a": 1}, ["a", "c"])
    ('b', None)
    """
    return next((n for n in names if n in ns and is_empty(ns[n])), None)
