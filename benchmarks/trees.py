"""Scripted trees of known shape for the benchmarks: deep chains and wide fans."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recode_magic import ScriptedLLM

__all__ = ["chain", "fan", "primitives", "X"]


def X(code: str) -> str:
    return f"<think>t</think><execute>{code}</execute>"


def chain(n: int) -> ScriptedLLM:
    """``solve -> step_0 -> ... -> step_{n-2}``, the last calling a primitive: n nodes."""
    replies = {"solve": X("v = step_0()")}
    for i in range(n - 2):
        replies[f"step_{i}"] = X(f"v = step_{i + 1}()")
    replies[f"step_{n - 2}"] = X("v = act(1)")
    return ScriptedLLM(replies)


def fan(n: int) -> ScriptedLLM:
    """``solve`` with n-1 placeholder children, each one primitive call: n nodes."""
    replies = {"solve": X("\n".join(f"x{i} = item_{i}()" for i in range(n - 1)))}
    for i in range(n - 1):
        replies[f"item_{i}"] = X(f"x{i} = act({i})")
    return ScriptedLLM(replies)


def primitives(work: Callable[[], Any] | None = None) -> dict[str, Any]:
    """A namespace with one primitive ``act``; ``work`` simulates its cost."""
    calls: list[Any] = []

    def act(x):
        """Do one action."""
        calls.append(x)
        if work is not None:
            work()
        return x

    return {"act": act, "_calls": calls}
