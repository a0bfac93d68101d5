"""Model backends. An LLM is any callable ``llm(prompt: str) -> str``.

Optional attributes a backend may carry, read by the engine:
``model`` (str), ``last_usage`` (token counts of the last call), ``on_text`` (set by the
engine to a callback receiving the reply text streamed so far).

No model SDK is imported here: ``anthropic`` and ``openai`` load on the first live call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import UnknownModelError
from .anthropic_llm import AnthropicLLM
from .cassette import CassetteLLM
from .openai_llm import OpenAICompatLLM
from .pricing import cost_report, format_cost
from .scripted import ScriptedLLM, placeholder_name

__all__ = ["ScriptedLLM", "placeholder_name", "AnthropicLLM", "OpenAICompatLLM",
           "CassetteLLM", "resolve_llm", "wrap_cassette", "cost_report", "format_cost"]


def resolve_llm(spec: str | Callable[[str], str] | None, namespace: Mapping[str, Any] | None,
                *, default_model: str, base_url: str | None = None,
                **options: Any) -> Callable[[str], str]:
    """Turn ``--llm`` (or the configured default) into a model callable.

    Parameters
    ----------
    spec : str, callable or None
        ``None`` -> ``default_model``; a callable -> itself; the name of a callable in
        ``namespace`` -> that callable; ``"claude-..."`` -> :class:`AnthropicLLM` (at
        ``base_url`` if given); ``"openai:<model>"``, or any other name when ``base_url``
        is given -> :class:`OpenAICompatLLM`.
    namespace : Mapping, optional
        The user's namespace, searched first for a callable of that name.
    default_model : str
        Used when ``spec`` is ``None``.
    base_url : str, optional
        API root of the server.
    **options
        Passed to the backend (``max_tokens``, ``max_retries``, ``timeout``, ...).

    Raises
    ------
    UnknownModelError
        ``spec`` names neither a callable nor a known model family.

    Examples
    --------
    >>> resolve_llm(None, {}, default_model="claude-sonnet-4-5")
    AnthropicLLM('claude-sonnet-4-5')
    >>> resolve_llm("openai:llama3", {}, default_model="x", base_url="http://h:8080/v1")
    OpenAICompatLLM('llama3', base_url='http://h:8080/v1')
    >>> resolve_llm("gpt", {}, default_model="x")
    Traceback (most recent call last):
    ...
    recode_magic.errors.UnknownModelError: unknown model or callable: 'gpt' (give a \
callable's name from the notebook, a claude-* model id, or openai:<model> with base_url)
    """
    if spec is None:
        spec = default_model
    if callable(spec):
        return spec
    spec = str(spec).strip()
    if namespace is not None and callable(namespace.get(spec)):
        return namespace[spec]  # type: ignore[no-any-return]
    if spec.startswith("claude-"):
        return AnthropicLLM(spec, base_url=base_url, **options)
    if spec.startswith("openai:") or (base_url and spec):
        return OpenAICompatLLM(spec.removeprefix("openai:"), base_url, **options)
    raise UnknownModelError(
        f"unknown model or callable: {spec!r} (give a callable's name from the notebook, "
        "a claude-* model id, or openai:<model> with base_url)")


def wrap_cassette(llm: Callable[[str], str] | None, path: str | os.PathLike[str] | None,
                  mode: str = "auto") -> Callable[[str], str]:
    """``llm`` recorded to / replayed from the cassette at ``path`` (``llm`` if no path).

    ``llm`` may be ``None`` in ``"replay"`` mode. An ``llm`` that already is a
    :class:`CassetteLLM` is returned unchanged.
    """
    if path is None or isinstance(llm, CassetteLLM):
        if llm is None:
            raise ValueError("no model and no cassette to replay (give --llm or --cassette)")
        return llm
    return CassetteLLM(llm, path, mode)
