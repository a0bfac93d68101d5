"""``AnthropicLLM``: Claude through the Messages API, with prompt caching and streaming."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from ..errors import LLMError, MissingDependencyError, MissingKeyError
from .base import DEFAULT_MODEL, KEY_ENV, Reply, one_line, split_prompt

__all__ = ["AnthropicLLM", "KEY_ENV", "DEFAULT_MODEL", "split_prompt"]

_HOW_TO_SET = (f"set {KEY_ENV} (in the notebook: %env {KEY_ENV}=..., or export it in the "
               "shell before starting Jupyter)")
_STATUS_TEXT = {
    429: "rate limited (429)",
    500: "server error (500)",
    529: "overloaded (529)",
}


class AnthropicLLM:
    """A Claude model as an ``llm(prompt) -> str`` callable.

    The fixed part of a :class:`~recode_magic.prompting.prompts.Prompt` (rules, primitives,
    few-shots) goes first as a system block marked ``cache_control: ephemeral``, so every
    expansion after the first reads it from the prompt cache; the rest is the user message.
    The reply is streamed: :meth:`respond` passes the text received so far to its
    ``on_text``; a plain call uses the ``on_text`` attribute and leaves the usage in ``last_usage``.

    Parameters
    ----------
    model : str
        A Claude model id, e.g. ``"claude-sonnet-5-5"``.
    max_tokens : int
        Upper bound on the reply length.
    base_url : str, optional
        API root; ``None`` uses ``ANTHROPIC_BASE_URL`` or the public API.
    max_retries : int
        Retries (with the SDK's backoff, honouring ``retry-after``) on 429, 5xx, 529,
        timeouts and dropped connections.
    timeout : float
        Seconds per HTTP attempt.
    temperature : float, optional
        Kept for compatibility and never sent: the Messages API (version 2026-10-21, which
        the ``anthropic`` 2.x SDK sends) takes no sampling parameters and answers 400 to
        any, and the SDK no longer has the field. Claude samples its replies, so two calls
        with one prompt may differ (what sampling's candidates need).
    cache : bool
        Mark the fixed part for prompt caching.

    Notes
    -----
    The key is read from ``ANTHROPIC_API_KEY`` on each call (so ``%env`` after an error
    works) and kept only inside the SDK client; it is never an attribute, repr or message.
    The ``anthropic`` package is imported on the first call, not with ``recode_magic``.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, max_tokens: int = 4096,
                 base_url: str | None = None, max_retries: int = 2, timeout: float = 120.0,
                 temperature: float | None = None, cache: bool = True):
        self.model = model
        self.max_tokens = max_tokens
        self.base_url = base_url
        self.max_retries = max_retries
        self.timeout = timeout
        self.temperature = temperature
        self.cache = cache
        self.on_text: Callable[[str], Any] | None = None
        self.last_usage: dict[str, int] | None = None
        self.last_stop_reason: str | None = None
        self.calls = 0
        self._client: Any = None
        self._client_for: int | None = None
        self._lock = threading.Lock()

    #: The SDK client is thread-safe and a call keeps its state in local variables.
    thread_safe = True

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"AnthropicLLM({self.model!r}{where})"

    # -- client ---------------------------------------------------------------------------
    def _get_client(self) -> Any:
        key = os.environ.get(KEY_ENV, "").strip()
        if not key:
            from .default import missing_key_hint

            raise MissingKeyError(f"no Anthropic API key: {_HOW_TO_SET}{missing_key_hint()}",
                                  model=self.model)
        with self._lock:
            return self._client_with(key)

    def _client_with(self, key: str) -> Any:
        if self._client is not None and self._client_for == hash(key):
            return self._client
        try:
            import anthropic
        except ImportError as exc:  # pragma: no cover - anthropic is a core dependency
            raise MissingDependencyError(
                "the 'anthropic' package is not installed (pip install anthropic)") from exc
        self._client = anthropic.Anthropic(api_key=key, base_url=self.base_url,
                                           max_retries=self.max_retries, timeout=self.timeout)
        self._client_for = hash(key)
        return self._client

    def request(self, prompt: str) -> dict[str, Any]:
        """Build the keyword arguments sent to ``client.messages.stream`` for ``prompt``.

        No sampling parameter (see ``temperature`` in the class docstring).
        """
        fixed, rest = split_prompt(prompt) if self.cache else ("", str(prompt))
        kwargs: dict[str, Any] = {
            "model": self.model, "max_tokens": self.max_tokens,
            "messages": [{"role": "user", "content": rest}],
        }
        if fixed:
            kwargs["system"] = [{"type": "text", "text": fixed,
                                 "cache_control": {"type": "ephemeral"}}]
        return kwargs

    # -- call -----------------------------------------------------------------------------
    def __call__(self, prompt: str) -> str:
        """Send ``prompt``, stream the reply to ``on_text``, return it; usage in ``last_usage``.

        Raises
        ------
        MissingKeyError
            ``ANTHROPIC_API_KEY`` is not set.
        LLMError
            The API refused the key, stayed unavailable after the retries, timed out, or
            could not be reached; the message is one line and ``status`` holds the HTTP code.
        """
        self.last_usage = None
        reply = self.respond(prompt, on_text=self.on_text)
        self.last_usage = reply.tokens()
        self.last_stop_reason = reply.stop_reason
        return reply.text

    def respond(self, prompt: str, *, on_text: Callable[[str], Any] | None = None,
                depth: int | None = None, temperature: float | None = None,
                seed: int | None = None) -> Reply:
        """Send ``prompt``, stream the text to ``on_text``; the :class:`Reply` with its usage.

        Touches no attribute a caller reads back, so concurrent calls are safe.
        ``temperature`` and ``seed`` are accepted and not sent (the API takes neither; its
        replies are sampled anyway, so sampling's candidates differ).
        """
        client = self._get_client()
        import anthropic

        with self._lock:
            self.calls += 1
        text = ""
        try:
            with client.messages.stream(**self.request(prompt)) as stream:
                for piece in stream.text_stream:
                    text += piece
                    if on_text is not None:
                        on_text(text)
                message = stream.get_final_message()
        except anthropic.APIError as exc:
            raise self._translate(exc, client) from exc
        usage = message.usage
        counts = {
            "input_tokens": int(usage.input_tokens or 0),
            "output_tokens": int(usage.output_tokens or 0),
            "cache_creation_input_tokens": int(usage.cache_creation_input_tokens or 0),
            "cache_read_input_tokens": int(usage.cache_read_input_tokens or 0),
        }
        final = "".join(b.text for b in message.content if getattr(b, "type", "") == "text")
        return Reply(final or text, {**counts, "source": "server"}, self.model,
                     message.stop_reason)

    def _translate(self, exc: Exception, client: Any) -> LLMError:
        """One readable :class:`LLMError` for an SDK error (called once, at this edge)."""
        import anthropic

        url = str(client.base_url).rstrip("/")
        tries = f"after {self.max_retries} retr{'y' if self.max_retries == 1 else 'ies'}"
        if isinstance(exc, anthropic.APITimeoutError):
            return LLMError(f"Anthropic API at {url} timed out ({self.timeout:g} s per attempt, "
                            f"{tries}; raise the timeout or try again later)", model=self.model)
        if isinstance(exc, anthropic.APIConnectionError):
            return LLMError(f"cannot connect to the Anthropic API at {url} (connection refused "
                            f"or unreachable, {tries}; check the network or base_url)",
                            model=self.model)
        if not isinstance(exc, anthropic.APIStatusError):
            return LLMError(f"Anthropic API error: {one_line(str(exc))}", model=self.model)
        status = exc.status_code
        kind, detail = _error_body(exc.body)
        if kind == "overloaded_error":
            status = 529  # also arrives as an `error` event inside a 200 stream
        if status == 401:
            return LLMError(f"Anthropic API key rejected (401) by {url}: {KEY_ENV} is not a "
                            f"valid key (set a valid one with %env {KEY_ENV}=...)",
                            status=401, model=self.model)
        if status == 404 and kind == "not_found_error":
            return LLMError(f"model {self.model!r} not found by the Anthropic API at {url} "
                            f"({detail})", status=404, model=self.model)
        if status in _STATUS_TEXT or status >= 500:
            what = _STATUS_TEXT.get(status, f"server error ({status})")
            return LLMError(f"Anthropic API {what} {tries}: {detail} (wait a little, then "
                            "run again or %recode resume)", status=status, model=self.model)
        return LLMError(f"Anthropic API error {status}: {detail}", status=status,
                        model=self.model)


def _error_body(body: Any) -> tuple[str, str]:
    """``(error type, message)`` from an Anthropic error JSON body."""
    err = body.get("error", body) if isinstance(body, dict) else {}
    if not isinstance(err, dict):
        return "", one_line(str(body))
    return str(err.get("type", "")), one_line(str(err.get("message", body)))
