"""The type of a suite task and the common answer check (see :mod:`tasks_suite`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Task", "answer_is"]


@dataclass(frozen=True)
class Task:
    """One task of the suite (see the module docstring)."""

    id: str
    category: str
    text: str
    setup: Callable[[], dict[str, Any]]
    check: Callable[[dict[str, Any]], bool]
    inputs: tuple[str, ...] = ()
    solution: str = ""
    notes: str = field(default="", compare=False)

    def namespace(self) -> dict[str, Any]:
        """A fresh namespace for one attempt."""
        return self.setup()


def answer_is(expected: Any) -> Callable[[dict[str, Any]], bool]:
    """A check: ``answer`` equals ``expected`` (lists/tuples compared as lists)."""
    def check(ns: dict[str, Any]) -> bool:
        return _norm(ns.get("answer")) == _norm(expected)
    return check


def _norm(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
