"""``OpenAICompatLLM``: any OpenAI-compatible chat server (llama.cpp, Ollama, vLLM, OpenAI)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from ..errors import LLMError, MissingDependencyError
from .base import Reply, estimate_tokens, one_line, split_prompt

__all__ = ["OpenAICompatLLM", "INSTALL_HINT", "ollama", "llamacpp", "vllm"]

INSTALL_HINT = 'pip install "recode_magic[openai]"'
_NO_KEY = "not-needed"  # local servers accept any key; the SDK insists on one


class OpenAICompatLLM:
    """A chat-completions model as an ``llm(prompt) -> str`` callable.

    The fixed part of a :class:`~recode_magic.prompts.Prompt` is the system message (servers
    with prefix caching reuse it), the rest the user message. The reply is streamed to
    ``on_text``; usage is read from the final stream chunk (``stream_options.include_usage``)
    and normalised to the Anthropic names: ``input_tokens`` excludes the cached tokens,
    which are reported as ``cache_read_input_tokens``.

    Parameters
    ----------
    model : str
        Model name as the server knows it (``"llama3.1:8b"``, ``"gpt-4o-mini"``...).
    base_url : str, optional
        Server root including ``/v1``, e.g. ``http://localhost:11434/v1`` (Ollama),
        ``http://localhost:8080/v1`` (llama.cpp); ``None`` uses ``OPENAI_BASE_URL`` or OpenAI.
    api_key : str, optional
        Defaults to ``OPENAI_API_KEY``, else a dummy value local servers accept.
    max_tokens, max_retries, timeout, temperature
        As for :class:`~recode_magic.llms.anthropic_llm.AnthropicLLM`.
    """

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, *,
                 max_tokens: int | None = 4096, max_retries: int = 2, timeout: float = 120.0,
                 temperature: float | None = None):
        self.model = model
        self.base_url = base_url
        self._api_key = api_key
        self.max_tokens = max_tokens
        self.max_retries = max_retries
        self.timeout = timeout
        self.temperature = temperature
        self.on_text: Callable[[str], Any] | None = None
        self.last_usage: dict[str, int] | None = None
        self.last_stop_reason: str | None = None
        self.calls = 0
        self._client: Any = None
        self._lock = threading.Lock()

    #: The SDK client is thread-safe and a call keeps its state in local variables.
    thread_safe = True

    def __repr__(self) -> str:
        return f"OpenAICompatLLM({self.model!r}, base_url={self.base_url!r})"

    def _get_client(self) -> Any:
        with self._lock:
            return self._client_once()

    def _client_once(self) -> Any:
        if self._client is None:
            try:
                import openai
            except ImportError as exc:
                raise MissingDependencyError(
                    f"the OpenAI-compatible backend needs the 'openai' package "
                    f"({INSTALL_HINT})") from exc
            key = self._api_key or os.environ.get("OPENAI_API_KEY") or _NO_KEY
            self._client = openai.OpenAI(api_key=key, base_url=self.base_url,
                                         max_retries=self.max_retries, timeout=self.timeout)
        return self._client

    def request(self, prompt: str) -> dict[str, Any]:
        """Build the keyword arguments for ``client.chat.completions.create``."""
        fixed, rest = split_prompt(prompt)
        messages = [{"role": "system", "content": fixed}] if fixed else []
        messages.append({"role": "user", "content": rest})
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "stream": True,
                                  "stream_options": {"include_usage": True}}
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        return kwargs

    def __call__(self, prompt: str) -> str:
        """Send ``prompt``, stream the reply to ``on_text``, return it; usage in ``last_usage``.

        Raises
        ------
        MissingDependencyError
            The ``openai`` package is not installed.
        LLMError
            The server refused the key, failed after the retries, timed out or was unreachable.
        """
        self.last_usage = None
        reply = self.respond(prompt, on_text=self.on_text)
        self.last_usage = dict(reply.usage)
        self.last_stop_reason = reply.stop_reason
        return reply.text

    def respond(self, prompt: str, *, on_text: Callable[[str], Any] | None = None,
                depth: int | None = None) -> Reply:
        """Send ``prompt``, stream the text to ``on_text``; the :class:`Reply` with its usage."""
        client = self._get_client()
        import openai

        self.calls += 1
        text, usage, finish = "", None, None
        try:
            for chunk in client.chat.completions.create(**self.request(prompt)):
                if getattr(chunk, "usage", None) is not None:
                    usage = chunk.usage
                for choice in chunk.choices or []:
                    piece = getattr(choice.delta, "content", None) if choice.delta else None
                    if piece:
                        text += piece
                        if on_text is not None:
                            on_text(text)
                    finish = choice.finish_reason or finish
        except openai.APIError as exc:
            raise self._translate(exc, client) from exc
        return Reply(text, self._usage(usage, prompt, text), self.model, finish)

    def _usage(self, usage: Any, prompt: str, text: str) -> dict[str, Any]:
        """Token counts in Anthropic's words; never all zero for a call that was made."""
        if usage is not None and (usage.prompt_tokens or usage.completion_tokens):
            details = getattr(usage, "prompt_tokens_details", None)
            cached = int(getattr(details, "cached_tokens", 0) or 0) if details else 0
            return {"input_tokens": int(usage.prompt_tokens or 0) - cached,
                    "output_tokens": int(usage.completion_tokens or 0),
                    "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached,
                    "source": "server"}
        return {"input_tokens": estimate_tokens(prompt), "output_tokens": estimate_tokens(text),
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                "source": "estimate"}

    def _translate(self, exc: Exception, client: Any) -> LLMError:
        """One readable :class:`LLMError` for an ``openai`` SDK error."""
        import openai

        url = str(client.base_url).rstrip("/")
        tries = f"after {self.max_retries} retr{'y' if self.max_retries == 1 else 'ies'}"
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(f"model server at {url} timed out ({self.timeout:g} s per attempt, "
                            f"{tries})", model=self.model)
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(f"cannot connect to the model server at {url} (connection refused "
                            f"or unreachable, {tries}; is the server running?)", model=self.model)
        if not isinstance(exc, openai.APIStatusError):
            return LLMError(f"model server error: {one_line(str(exc))}", model=self.model)
        status = exc.status_code
        body = exc.body if isinstance(exc.body, dict) else {}
        err = body.get("error", body)
        detail = one_line(str(err.get("message", exc.message) if isinstance(err, dict)
                               else err))
        if status == 401:
            return LLMError(f"API key rejected (401) by {url} (pass api_key= or set "
                            "OPENAI_API_KEY)", status=401, model=self.model)
        if status == 404:
            return LLMError(f"model {self.model!r} or route not found at {url} (404: {detail})",
                            status=404, model=self.model)
        if status == 429 or status >= 500:
            return LLMError(f"model server at {url} answered {status} {tries}: {detail} "
                            "(wait a little, then run again or %recode resume)",
                            status=status, model=self.model)
        return LLMError(f"model server error {status}: {detail}", status=status,
                        model=self.model)


def ollama(model: str, *, base_url: str | None = None, **options: Any) -> OpenAICompatLLM:
    """``ollama:<model>``: an Ollama server (default ``http://localhost:11434/v1``)."""
    return OpenAICompatLLM(model, base_url or "http://localhost:11434/v1", **options)


def llamacpp(model: str, *, base_url: str | None = None, **options: Any) -> OpenAICompatLLM:
    """``llamacpp:<model>``: a llama.cpp server (default ``http://127.0.0.1:8080/v1``)."""
    return OpenAICompatLLM(model, base_url or "http://127.0.0.1:8080/v1", **options)


def vllm(model: str, *, base_url: str | None = None, **options: Any) -> OpenAICompatLLM:
    """``vllm:<model>``: a vLLM server (default ``http://localhost:8000/v1``)."""
    return OpenAICompatLLM(model, base_url or "http://localhost:8000/v1", **options)
