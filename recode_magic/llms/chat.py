"""What the OpenAI-shaped backends share: messages, usage, and ``llm(prompt)`` over ``respond``.

Both :class:`~recode_magic.llms.openai_llm.OpenAICompatLLM` (over HTTP) and
:class:`~recode_magic.llms.local.LocalLLM` (llama.cpp in the kernel's process) send the
fixed part of a prompt as the system message and read the same ``usage`` fields back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import Reply, split_prompt

__all__ = ["chat_messages", "usage_counts", "ChatCall"]


class ChatCall:
    """``llm(prompt) -> str`` for a backend with ``respond`` (a base of both chat backends).

    The reply streams to the ``on_text`` attribute; its usage is left in ``last_usage`` and
    why it stopped in ``last_stop_reason`` (the legacy plain-call contract of
    :mod:`recode_magic.llms.base`). Errors are the backend's ``respond``'s.
    """

    on_text: Callable[[str], Any] | None
    last_usage: dict[str, Any] | None
    last_stop_reason: str | None

    def respond(self, prompt: str, *, on_text: Callable[[str], Any] | None = None,
                depth: int | None = None, temperature: float | None = None,
                seed: int | None = None) -> Reply:  # pragma: no cover - the backend's own
        """Answer ``prompt`` (each backend defines it; ``temperature``/``seed``: this call's)."""
        raise NotImplementedError

    def __call__(self, prompt: str) -> str:
        """Answer ``prompt``, streaming to ``on_text``; usage left in ``last_usage``."""
        self.last_usage = None
        reply = self.respond(prompt, on_text=self.on_text)
        self.last_usage = dict(reply.usage)
        self.last_stop_reason = reply.stop_reason
        return reply.text


def chat_messages(prompt: str) -> list[dict[str, str]]:
    r"""The chat messages of ``prompt``: its fixed part as the system message, then the rest.

    Servers with prefix caching keep the system message's tokens between calls.

    >>> from recode_magic.prompting.prompts import Prompt
    >>> chat_messages(Prompt.join("RULES\n", "Placeholder: f(x)"))
    [{'role': 'system', 'content': 'RULES\n'}, {'role': 'user', 'content': 'Placeholder: f(x)'}]
    >>> chat_messages("plain")
    [{'role': 'user', 'content': 'plain'}]
    """
    fixed, rest = split_prompt(prompt)
    messages = [{"role": "system", "content": fixed}] if fixed else []
    messages.append({"role": "user", "content": rest})
    return messages


def usage_counts(prompt_tokens: Any, completion_tokens: Any, cached: Any = 0) -> dict[str, Any]:
    """OpenAI usage figures in Anthropic's words (``input_tokens`` excludes the cached ones).

    >>> usage_counts(120, 30, 100)
    {'input_tokens': 20, 'output_tokens': 30, 'cache_creation_input_tokens': 0, \
'cache_read_input_tokens': 100, 'source': 'server'}
    """
    cached = int(cached or 0)
    return {"input_tokens": int(prompt_tokens or 0) - cached,
            "output_tokens": int(completion_tokens or 0),
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached,
            "source": "server"}
