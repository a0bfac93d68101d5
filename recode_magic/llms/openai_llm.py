"""``OpenAICompatLLM``: any OpenAI-compatible chat server (llama.cpp, Ollama, vLLM, OpenAI)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from ..errors import LLMError, MissingDependencyError
from .base import Reply, estimate_tokens, one_line, split_prompt
from .chat import ChatCall, chat_messages, usage_counts
from .constrain import STOP, close_execute, constraint_fields, dialect_for, from_json
from .tokens import ServerTokenizer

__all__ = ["OpenAICompatLLM", "INSTALL_HINT", "ollama", "llamacpp", "vllm"]

INSTALL_HINT = 'pip install "recode_magic[openai]"'
_NO_KEY = "not-needed"  # local servers accept any key; the SDK insists on one
_CONSTRAINT_WORDS = ("grammar", "regex", "structured", "response_format", "json_schema")


class OpenAICompatLLM(ChatCall):
    """A chat-completions model as an ``llm(prompt) -> str`` callable.

    The fixed part of a :class:`~recode_magic.prompting.prompts.Prompt` is the system message
    (servers with prefix caching reuse it), the rest the user message. The reply is streamed to
    ``on_text``. Usage is read from the final stream chunk (``stream_options.include_usage``)
    and normalised to the Anthropic names (``input_tokens`` excludes the cached tokens,
    reported as ``cache_read_input_tokens``); a server that sends none (llama-cpp-python)
    has its prompt counted by its tokenizer endpoint and its reply by the streamed pieces,
    else the tokens are estimated: ``usage["source"]`` is
    ``"server"``, ``"tokenize"`` or ``"estimate"``, never a call with 0 tokens. A call raises
    :class:`~recode_magic.errors.MissingDependencyError` without the ``openai`` package and
    :class:`~recode_magic.errors.LLMError` when the server refused the key, failed after the
    retries, timed out or was unreachable.

    Small-model mode: unless ``grammar=False``, the request carries the server's
    constrained-decoding field so the reply has the ``<think>…</think><execute>…</execute>``
    shape (see :mod:`recode_magic.llms.constrain`) and a stop at ``</execute>`` (put back
    in the returned text). A server that answers 400/422 to the field, or 5xx naming it, is
    asked again without it; if that works the refusal is remembered in
    ``grammar_rejected`` and later calls go unconstrained. ``usage["constrained"]`` is 1
    for a call sampled under the constraint, ``usage["grammar_rejected"]`` 1 for the call
    that found out.

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
    grammar : {"auto", True, False} or str
        ``"auto"``: constrain on local servers, not on OpenAI itself; ``True``: always;
        ``False``: never; a string: that grammar (GBNF for llama.cpp, a regex for vLLM, a
        JSON schema for Ollama/OpenAI). An invalid GBNF text can crash llama-cpp-python's
        server: check it with llama.cpp first.
    server : {"llamacpp", "vllm", "ollama", "openai"}, optional
        The server family (sets the constraint dialect); guessed from ``base_url`` if None.
    count_tokens : bool
        Ask the server's tokenizer when the stream carries no usage.
    """

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, *,
                 max_tokens: int | None = 4096, max_retries: int = 2, timeout: float = 120.0,
                 temperature: float | None = None, grammar: bool | str = "auto",
                 server: str | None = None, count_tokens: bool = True):
        self.model = model
        self.base_url = base_url
        self._api_key = api_key
        self.max_tokens = max_tokens
        self.max_retries = max_retries
        self.timeout = timeout
        self.temperature = temperature
        self.grammar = grammar
        self.server = server
        self.count_tokens = count_tokens
        self.grammar_rejected: str | None = None
        self.on_text: Callable[[str], Any] | None = None
        self.last_usage: dict[str, Any] | None = None
        self.last_stop_reason: str | None = None
        self.calls = 0
        self._client: Any = None
        self._tokenizer: ServerTokenizer | None = None
        self._lock = threading.Lock()

    #: The SDK client is thread-safe and a call keeps its state in local variables.
    thread_safe = True

    def __repr__(self) -> str:
        return f"OpenAICompatLLM({self.model!r}, base_url={self.base_url!r})"

    @property
    def dialect(self) -> str | None:
        """The constraint sent with each request (``None`` once the server refused it)."""
        if self.grammar_rejected is not None:
            return None
        return dialect_for(self.grammar, self.server,
                           self.base_url or os.environ.get("OPENAI_BASE_URL"))

    def _get_client(self) -> Any:
        with self._lock:
            return self._client_once()

    def _key(self) -> str:
        return self._api_key or os.environ.get("OPENAI_API_KEY") or _NO_KEY

    def _client_once(self) -> Any:
        if self._client is None:
            try:
                import openai
            except ImportError as exc:
                raise MissingDependencyError(
                    f"the OpenAI-compatible backend needs the 'openai' package "
                    f"({INSTALL_HINT})") from exc
            self._client = openai.OpenAI(api_key=self._key(), base_url=self.base_url,
                                         max_retries=self.max_retries, timeout=self.timeout)
        return self._client

    def request(self, prompt: str, *, constrained: bool = True,
                temperature: float | None = None, seed: int | None = None) -> dict[str, Any]:
        """Build the keyword arguments for ``client.chat.completions.create``.

        ``temperature`` (this call's, else the backend's) and ``seed`` are sent when given
        (llama.cpp, vLLM, Ollama and OpenAI all read ``seed``). A prompt whose ``shape`` is
        ``"plan"`` is constrained to a plan (:data:`~.constrain.PLAN_GBNF`, ``gbnf`` only).
        """
        kwargs: dict[str, Any] = {"model": self.model, "messages": chat_messages(prompt),
                                  "stream": True,
                                  "stream_options": {"include_usage": True}}
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        temperature = self.temperature if temperature is None else temperature
        if temperature is not None:
            kwargs["temperature"] = temperature
        if seed is not None:
            kwargs["seed"] = seed
        dialect = self.dialect if constrained else None
        if dialect == "json":
            kwargs.update(constraint_fields(dialect, self.grammar))
        elif dialect is not None:  # a prompt asking for a plan carries shape "plan"
            kwargs["extra_body"] = constraint_fields(dialect, self.grammar,
                                                     getattr(prompt, "shape", "code"))
        if self.grammar is not False and dialect != "json":
            kwargs["stop"] = [STOP]
        return kwargs

    def respond(self, prompt: str, *, on_text: Callable[[str], Any] | None = None,
                depth: int | None = None, temperature: float | None = None,
                seed: int | None = None) -> Reply:
        """Send ``prompt``, stream the text to ``on_text``; the :class:`Reply` with its usage.

        ``temperature`` and ``seed`` apply to this call only (see :meth:`request`).
        """
        client = self._get_client()
        import openai

        with self._lock:  # concurrent calls (prefetch, sampling) all counted
            self.calls += 1
        dialect, note = self.dialect, {}
        sampling = {"temperature": temperature, "seed": seed}
        try:
            try:
                text, usage, finish, pieces, cut = self._exchange(
                    client, self.request(prompt, **sampling), on_text)
            except openai.APIStatusError as exc:
                if dialect is None or not _about_constraint(exc):
                    raise
                text, usage, finish, pieces, cut = self._exchange(
                    client, self.request(prompt, constrained=False, **sampling), on_text)
                self.grammar_rejected = f"{exc.status_code}: {_detail(exc)}"
                dialect, note = None, {"grammar_rejected": 1}
        except openai.APIError as exc:
            raise self._translate(exc, client) from exc
        if dialect == "json":
            text = from_json(text)
        text = close_execute(text, finish)
        counts = self._usage(usage, prompt, text, pieces)
        if dialect is not None:
            counts["constrained"] = 1
        if cut:
            counts["stream_interrupted"] = 1
        return Reply(text, {**counts, **note}, self.model, finish)

    def _exchange(self, client: Any, kwargs: dict[str, Any],
                  on_text: Callable[[str], Any] | None
                  ) -> tuple[str, Any, str | None, int, bool]:
        """Stream; a stream the server cut short is asked again without streaming.

        llama-cpp-python's server (``interrupt_requests``, on by default) ends a stream
        with ``[DONE]`` and no finish reason as soon as another request arrives: on a
        shared server the reply would be silently truncated. A non-streamed request is
        not interrupted.
        """
        text, usage, finish, pieces = self._stream(client, kwargs, on_text)
        if finish is not None:
            return text, usage, finish, pieces, False
        plain = {k: v for k, v in kwargs.items() if k not in ("stream", "stream_options")}
        resp = client.chat.completions.create(**plain)
        choice = resp.choices[0] if resp.choices else None
        text = (choice.message.content or "") if choice is not None else ""
        if on_text is not None and text:
            on_text(text)
        return text, resp.usage, getattr(choice, "finish_reason", None), 0, True

    def _stream(self, client: Any, kwargs: dict[str, Any],
                on_text: Callable[[str], Any] | None) -> tuple[str, Any, str | None, int]:
        text, usage, finish, pieces = "", None, None, 0
        for chunk in client.chat.completions.create(**kwargs):
            if getattr(chunk, "usage", None) is not None:
                usage = chunk.usage
            for choice in chunk.choices or []:
                piece = getattr(choice.delta, "content", None) if choice.delta else None
                if piece:
                    text += piece
                    pieces += 1
                    if on_text is not None:
                        on_text(text)
                finish = choice.finish_reason or finish
        return text, usage, finish, pieces

    def _usage(self, usage: Any, prompt: str, text: str, pieces: int) -> dict[str, Any]:
        """Token counts in Anthropic's words; never all zero for a call that was made.

        Without usage in the stream: the prompt is counted by the server's tokenizer (the
        fixed part once per run) and the reply by its streamed pieces (llama.cpp servers
        stream one token a piece); else both are estimated. One tokenizer request per call:
        on a busy shared server it queues behind other generations, so it times out fast
        (10 s) and that call is estimated instead.
        """
        if usage is not None and (usage.prompt_tokens or usage.completion_tokens):
            details = getattr(usage, "prompt_tokens_details", None)
            return usage_counts(usage.prompt_tokens, usage.completion_tokens,
                                getattr(details, "cached_tokens", 0) if details else 0)
        fixed, rest = split_prompt(prompt)
        n_in = self._server_count(fixed, rest)
        if n_in is not None:
            n_out = pieces or estimate_tokens(text)
            source = "tokenize"
        else:
            n_in, n_out = estimate_tokens(str(prompt)), estimate_tokens(text)
            source = "estimate"
        return {"input_tokens": n_in, "output_tokens": n_out,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                "source": source}

    def _server_count(self, fixed: str, rest: str) -> int | None:
        base = self.base_url or os.environ.get("OPENAI_BASE_URL")
        if not self.count_tokens or not base:
            return None
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = ServerTokenizer(base, self.model, self._key(),
                                                  timeout=min(self.timeout, 10.0))
        tok = self._tokenizer
        n_fixed = tok.count(fixed, cache=True)
        n_rest = tok.count(rest) if n_fixed is not None else None
        return None if n_fixed is None or n_rest is None else n_fixed + n_rest

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
        detail = _detail(exc)
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


def _detail(exc: Any) -> str:
    """The server's error message, on one line."""
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error", body)
    msg = err.get("message", exc.message) if isinstance(err, dict) else (err or exc.message)
    return one_line(str(msg))


def _about_constraint(exc: Any) -> bool:
    """Tell whether the server refused the constraint field (not the request as a whole)."""
    if exc.status_code in (400, 422):
        return True
    return exc.status_code >= 500 and any(w in _detail(exc).lower()
                                          for w in _CONSTRAINT_WORDS)


def ollama(model: str, *, base_url: str | None = None, **options: Any) -> OpenAICompatLLM:
    """``ollama:<model>``: an Ollama server (default ``http://localhost:11434/v1``)."""
    options.setdefault("server", "ollama")
    return OpenAICompatLLM(model, base_url or "http://localhost:11434/v1", **options)


def llamacpp(model: str, *, base_url: str | None = None, **options: Any) -> OpenAICompatLLM:
    """``llamacpp:<model>``: a llama.cpp server (default ``http://127.0.0.1:8080/v1``)."""
    options.setdefault("server", "llamacpp")
    return OpenAICompatLLM(model, base_url or "http://127.0.0.1:8080/v1", **options)


def vllm(model: str, *, base_url: str | None = None, **options: Any) -> OpenAICompatLLM:
    """``vllm:<model>``: a vLLM server (default ``http://localhost:8000/v1``)."""
    options.setdefault("server", "vllm")
    return OpenAICompatLLM(model, base_url or "http://localhost:8000/v1", **options)
