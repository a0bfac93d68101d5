"""Drive the reference implementation (FoundationAgents/ReCode) on the same tree shapes.

Nothing of the reference is in this repository: pass the path of a checkout with
``python -m benchmarks --reference PATH`` (its code is imported from there at run time).
The driver feeds its ``ReCodeAgent`` a zero-latency scripted model and a fake environment
whose ``run(action)`` returns at once, so what is timed is the agent's own work per node.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import sys
import time
from typing import Any

__all__ = ["load_reference", "run_reference"]

_TASK = re.compile(r"The current function to expand is:\n(?:.*?=\s*)?([A-Za-z_]\w*)\(")


def load_reference(path: str) -> Any:
    """Import the reference's agent class from a checkout (cwd must be the checkout)."""
    sys.path.insert(0, path)
    os.chdir(path)
    from agents.recode.agent import ReCodeAgent  # type: ignore[import-not-found]
    return ReCodeAgent


class _Env:
    async def run(self, action: str) -> str:
        return "ok"


class _Logger:
    def info(self, *a: Any) -> None: ...
    def warning(self, *a: Any) -> None: ...


def _replies(shape: str, n: int) -> dict[str, str]:
    x = lambda c: f"<think>t</think><execute>{c}</execute>"  # noqa: E731
    if shape == "chain":
        r = {"solve": x("v = step_0()")}
        r.update({f"step_{i}": x(f"v = step_{i + 1}()") for i in range(n - 2)})
        r[f"step_{n - 2}"] = x('run("act")')
        return r
    r = {"solve": x("\n".join(f"x{i} = item_{i}()" for i in range(n - 1)))}
    r.update({f"item_{i}": x(f'run("act {i}")') for i in range(n - 1)})
    return r


def run_reference(agent_cls: Any, shape: str, n: int, max_depth: int) -> dict[str, Any]:
    """Run one tree; returns seconds, expansions and whether it finished."""
    replies = _replies(shape, n)
    # its constructor builds an OpenAI client that wants a key; the client is replaced below
    os.environ.setdefault("OPENAI_API_KEY", "not-used-by-the-benchmark")
    agent = agent_cls(logger=_Logger())
    calls = 0

    async def llm(prompt: str) -> tuple[str, float]:
        nonlocal calls
        calls += 1
        return replies[_TASK.search(prompt).group(1)], 0.0  # type: ignore[union-attr]

    agent.llm = llm
    agent.reset({"max_depth": max_depth}, {"env_name": "sciworld", "env": _Env()})
    obs = "Task\nTidy up.\nYou are in a room."
    async def drive() -> None:
        for _ in range(100 * n + 100):
            out = await agent.act([obs])
            if out == ["[FINISH]"] or agent.current_node is None:
                return

    t0 = time.process_time()  # CPU time, as for our engine (both threads of the process)
    error = None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            asyncio.run(drive())
    except RecursionError as exc:
        error = f"RecursionError: {exc}"
    finally:
        agent.executor.close()
    return {"seconds": time.process_time() - t0, "expansions": calls, "error": error}
