"""Model backends. An LLM is any callable ``llm(prompt: str) -> str``.

Optional attributes a backend may carry, read by the engine:
``model`` (str), ``last_usage`` (token counts of the last call), ``on_text`` (set by the
engine to a callback receiving the reply text streamed so far).
"""

from __future__ import annotations

from .scripted import ScriptedLLM, placeholder_name

__all__ = ["ScriptedLLM", "placeholder_name"]
