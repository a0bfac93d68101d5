"""Model backends. An LLM is any callable ``llm(prompt: str) -> str``.

The contract (optional ``respond`` with per-call ``temperature``/``seed``, ``model``,
``thread_safe``, legacy ``on_text`` / ``last_usage``), the engine's entry point :func:`ask`
and the backend registry are in :mod:`recode_magic.llms.base`; :func:`make_llm` builds what
a ``%%recode`` run uses.

No model SDK is imported here: ``anthropic``, ``openai`` and ``xllamacpp`` load on the first
live call.
"""

from __future__ import annotations

from .anthropic_llm import AnthropicLLM
from .base import (
    DEFAULT_MODEL,
    LLM,
    Reply,
    RichLLM,
    ask,
    asks_together,
    is_thread_safe,
    merge_usage,
    register,
    takes_sampling,
)
from .cassette import CassetteLLM
from .factory import make_llm, resolve_llm, wrap_cassette
from .local import LocalLLM
from .openai_llm import OpenAICompatLLM
from .pricing import cost_by_model, cost_report, format_cost, format_cost_by_model
from .routed import RoutedLLM, parse_routes
from .scripted import ScriptedLLM, placeholder_name

__all__ = ["ScriptedLLM", "placeholder_name", "AnthropicLLM", "OpenAICompatLLM", "LocalLLM",
           "CassetteLLM", "resolve_llm", "make_llm", "wrap_cassette", "cost_report",
           "format_cost", "DEFAULT_MODEL", "LLM", "RichLLM", "Reply", "ask", "merge_usage",
           "is_thread_safe", "asks_together", "takes_sampling", "register", "RoutedLLM",
           "parse_routes", "cost_by_model", "format_cost_by_model"]
