"""What the OpenAI-shaped backends share: the messages of a prompt and the usage of a reply.

Both :class:`~recode_magic.llms.openai_llm.OpenAICompatLLM` (over HTTP) and
:class:`~recode_magic.llms.local.LocalLLM` (llama.cpp in the kernel's process) send the
fixed part of a prompt as the system message and read the same ``usage`` fields back.
"""

from __future__ import annotations

from typing import Any

from .base import split_prompt

__all__ = ["chat_messages", "usage_counts"]


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
