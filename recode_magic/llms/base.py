"""The backend contract: what a model is, how the engine asks it, and the backend registry.

A model is any callable ``llm(prompt: str) -> str``. A backend may offer more, each optional:

``respond(prompt, *, on_text=None, depth=None, temperature=None, seed=None) -> Reply``
    The rich call: the reply text with its token usage and model name, the text streamed to
    ``on_text`` as it arrives. Nothing is stored on the backend for the caller to read back,
    so one backend object can serve several threads (see ``thread_safe``). ``temperature``
    and ``seed`` are per-call sampling options (sampling's candidates,
    :mod:`recode_magic.engine.sampling`): ``None`` keeps the backend's own setting. A
    ``respond`` that does not name them is called without them (:func:`ask`), and a plain
    callable never gets them: such a backend answers as it always does.
``model`` : str
    The model id (cost tables, cassette keys, ``Run.meta["model"]``).
``thread_safe`` : bool
    True when concurrent calls are safe (parallel expansion asks only such backends
    concurrently); absent means False.
``on_text`` / ``last_usage`` (legacy, for user-written backends)
    An ``on_text`` attribute is set to the stream callback for the duration of one call
    (then restored), and ``last_usage`` is read after it.

``concurrent_calls`` : bool
    A wrapper that is not ``thread_safe`` as a whole (the cassette: prefetching would record
    calls nobody uses) may still take several calls at once whose replies are all used:
    :func:`asks_together` reads it.

The engine calls :func:`ask` for every model call; it never touches those attributes itself.

A new backend is one module with a class and one line in :data:`_BUILTIN` (or a call to
:func:`register` from user code): a model-id prefix and the factory that builds it.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["DEFAULT_MODEL", "KEY_ENV", "LLM", "RichLLM", "Reply", "ask", "merge_usage",
           "is_thread_safe", "asks_together", "takes_sampling", "register", "backend_for",
           "registered", "one_line", "split_prompt", "estimate_tokens", "USAGE_KEYS"]

#: The model used when neither ``--llm`` nor ``%config ReCodeMagics.model`` says otherwise.
DEFAULT_MODEL = "claude-sonnet-5-5"
#: The environment variable holding the Anthropic API key.
KEY_ENV = "ANTHROPIC_API_KEY"

#: Token counts a backend reports, in Anthropic's words (``input_tokens`` excludes cache reads).
USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
              "cache_read_input_tokens")

OnText = Callable[[str], Any]


@runtime_checkable
class LLM(Protocol):
    """The minimal contract: a callable from prompt to reply text."""

    def __call__(self, prompt: str) -> str:
        """Return the model's reply to ``prompt``."""
        ...


@runtime_checkable
class RichLLM(Protocol):
    """A backend that returns the usage with the text and streams to a per-call callback."""

    def respond(self, prompt: str, *, on_text: OnText | None = None,
                 depth: int | None = None) -> Reply:
        """Answer ``prompt``; ``on_text`` gets the text so far as it streams.

        A backend may also take ``temperature`` and ``seed`` (see the module docstring).
        """
        ...


_NO_USAGE: Any = object()  # Reply's default usage: a new dict


@dataclass(frozen=True, init=False)
class Reply:
    """One model answer.

    Attributes
    ----------
    text : str
        The reply text.
    usage : dict
        Token counts (:data:`USAGE_KEYS`, or ``replayed_*`` for a cassette replay, plus
        ``replayed: 1``) and ``source``: how the tokens were counted -- ``"server"`` (the
        API reported them), ``"tokenize"`` (the server's tokenizer endpoint), ``"estimate"``
        (about 4 characters a token), ``"cassette"`` (replayed) or ``"none"`` (the backend
        reports nothing, e.g. a plain function).
    model : str or None
        The model that answered.
    stop_reason : str or None
        Why generation ended, as the API says it (``end_turn``, ``stop``, ``length``...).
    """

    text: str
    usage: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    stop_reason: str | None = None

    def __init__(self, text: str, usage: dict[str, Any] = _NO_USAGE, model: str | None = None,
                 stop_reason: str | None = None) -> None:
        # Written by hand on purpose: the generated __init__ of a frozen dataclass sets each
        # field through object.__setattr__ (1.0 us a reply against 0.2 us here: one per
        # node, issue 24). Still frozen: assigning a field afterwards raises.
        fields = self.__dict__
        fields["text"] = text
        fields["usage"] = {} if usage is _NO_USAGE else usage
        fields["model"] = model
        fields["stop_reason"] = stop_reason

    def tokens(self) -> dict[str, int]:
        """The numeric usage entries only."""
        return {k: int(v) for k, v in self.usage.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)}


def ask(llm: Callable[[str], str], prompt: str, *, on_text: OnText | None = None,
        depth: int | None = None, node: Any = None, temperature: float | None = None,
        seed: int | None = None) -> Reply:
    """Ask ``llm`` once: the engine's single entry point to any backend.

    Parameters
    ----------
    llm : callable
        A backend with ``respond`` (preferred), or any ``llm(prompt) -> str`` callable.
    prompt : str
        The expansion prompt (usually a :class:`~recode_magic.prompting.prompts.Prompt`).
    on_text : callable, optional
        Gets the reply text received so far while it streams.
    depth : int, optional
        Depth of the node being expanded (a :class:`~recode_magic.llms.routed.RoutedLLM`
        picks its model by it; other backends ignore it).
    node : object, optional
        The node being expanded; only its ``name`` is read, for error context.
    temperature, seed : optional
        Sampling options for this call only, passed to a ``respond`` that names them
        (:func:`takes_sampling`); ``None`` sends nothing. Other backends answer as always.

    Returns
    -------
    Reply

    Examples
    --------
    >>> r = ask(lambda p: "<execute>x = 1</execute>", "Placeholder: solve(task)")
    >>> r.text, r.usage, r.model
    ('<execute>x = 1</execute>', {'source': 'none'}, None)
    """
    respond = getattr(llm, "respond", None)
    if callable(respond):
        options = {k: v for k, v in (("temperature", temperature), ("seed", seed))
                   if v is not None and _names(respond, k)}
        reply = respond(prompt, on_text=on_text, depth=depth, **options)
        if not isinstance(reply, Reply):  # a user's `respond` returning text
            reply = Reply(_text(reply), {"source": "none"}, getattr(llm, "model", None))
        return reply
    if hasattr(llm, "on_text"):  # a legacy streaming backend: set for this call only
        before = llm.on_text  # type: ignore[attr-defined]
        llm.on_text = on_text  # type: ignore[attr-defined]
        try:
            text = llm(prompt)
        finally:
            llm.on_text = before  # type: ignore[attr-defined]
    else:
        text = llm(prompt)
    if type(text) is not str:
        text = _text(text)
    usage = getattr(llm, "last_usage", None)
    if usage is None:  # the common case for a plain callable (no ABC check needed)
        usage = {"source": "none"}
    else:
        usage = dict(usage) if isinstance(usage, Mapping) else {}
        usage.setdefault("source", "none" if not usage else "server")
    return Reply(text, usage, _model(llm), getattr(llm, "last_stop_reason", None))


_CALLS = {s: f"calls_{s}" for s in ("none", "server", "tokenize", "estimate", "cassette")}


def merge_usage(total: dict[str, int], usage: Mapping[str, Any]) -> dict[str, int]:
    """Add one call's ``usage`` into ``total``; ``source: s`` counts as ``calls_s: 1``.

    >>> merge_usage({"input_tokens": 5}, {"input_tokens": 2, "source": "tokenize"})
    {'input_tokens': 7, 'calls_tokenize': 1}
    """
    for k, v in usage.items():
        if k == "source" and isinstance(v, str):
            key = _CALLS.get(v) or f"calls_{v}"
            total[key] = total.get(key, 0) + 1
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            total[k] = total.get(k, 0) + int(v)
    return total


def is_thread_safe(llm: Any) -> bool:
    """True when ``llm`` declares ``thread_safe = True`` (plain callables do not)."""
    return getattr(llm, "thread_safe", False) is True


def asks_together(llm: Any) -> bool:
    """True when several calls whose replies are all used may be asked at once.

    A ``thread_safe`` model, or a wrapper declaring ``concurrent_calls = True`` (see the
    module docstring). Streaming is per call (``respond``), so a legacy backend with an
    ``on_text`` attribute and no ``respond`` is never asked concurrently.
    """
    if not callable(getattr(llm, "respond", None)) and hasattr(llm, "on_text"):
        return False
    return is_thread_safe(llm) or getattr(llm, "concurrent_calls", False) is True


def takes_sampling(llm: Any) -> bool:
    """True when ``llm.respond`` takes a per-call ``temperature`` (plain callables do not).

    A wrapper may say for the model behind it with a ``takes_sampling`` bool attribute (the
    cassette, the routed model): its ``respond`` takes the options whatever it wraps.

    >>> takes_sampling(lambda p: p)
    False
    """
    declared = getattr(llm, "takes_sampling", None)
    if isinstance(declared, bool):
        return declared
    respond = getattr(llm, "respond", None)
    return callable(respond) and _names(respond, "temperature")


def _names(func: Callable[..., Any], keyword: str) -> bool:
    """True when ``func`` accepts ``keyword`` (by name or through ``**kwargs``)."""
    target = getattr(func, "__func__", func)
    try:
        return keyword in _keywords(target)
    except TypeError:  # an unhashable callable object: not cached
        return keyword in _keywords.__wrapped__(target)


@functools.lru_cache(maxsize=256)
def _keywords(func: Callable[..., Any]) -> frozenset[str]:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # a builtin with no signature: send nothing extra
        return frozenset()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return frozenset({"temperature", "seed"})
    return frozenset(p.name for p in params if p.kind in (p.KEYWORD_ONLY,
                                                          p.POSITIONAL_OR_KEYWORD))


def _text(reply: Any) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", errors="replace")
    return reply if isinstance(reply, str) else str(reply)


def _model(llm: Any) -> str | None:
    model = getattr(llm, "model", None)
    return str(model) if model else None


# -- registry -------------------------------------------------------------------------------
Factory = Callable[..., Callable[[str], str]]
# prefix -> (factory or "module:attr", strip the prefix from the model id)
_REGISTRY: dict[str, tuple[Factory | str, bool]] = {}
_BUILTIN: list[tuple[str, str, bool]] = [
    ("claude-", "recode_magic.llms.anthropic_llm:AnthropicLLM", False),
    ("anthropic:", "recode_magic.llms.anthropic_llm:AnthropicLLM", True),
    ("openai:", "recode_magic.llms.openai_llm:OpenAICompatLLM", True),
    ("ollama:", "recode_magic.llms.openai_llm:ollama", True),
    ("llamacpp:", "recode_magic.llms.openai_llm:llamacpp", True),
    ("vllm:", "recode_magic.llms.openai_llm:vllm", True),
    ("local:", "recode_magic.llms.local:local", True),
]


def register(prefix: str, factory: Factory | str, *, strip: bool = True) -> None:
    """Make model ids starting with ``prefix`` build their backend with ``factory``.

    ``factory(model, *, base_url=None, **options)`` returns the backend; it may be given as
    ``"module:attr"`` so the module is imported only when such a model is used. With
    ``strip`` the prefix is removed from the id passed on (``openai:qwen`` -> ``qwen``).

    >>> register("echo:", lambda model, base_url=None, **kw: (lambda p: model))
    >>> backend_for("echo:hi")("prompt")
    'hi'
    """
    _REGISTRY[prefix] = (factory, strip)


for _prefix, _target, _strip in _BUILTIN:
    register(_prefix, _target, strip=_strip)


def registered() -> list[str]:
    """The registered prefixes, longest first (the order they are tried in)."""
    return sorted(_REGISTRY, key=len, reverse=True)


def backend_for(spec: str, *, base_url: str | None = None,
                **options: Any) -> Callable[[str], str] | None:
    """Build the backend whose prefix ``spec`` starts with, or ``None`` if none matches."""
    for prefix in registered():
        if spec.startswith(prefix):
            factory, strip = _REGISTRY[prefix]
            if isinstance(factory, str):
                module, _, attr = factory.partition(":")
                factory = getattr(importlib.import_module(module), attr)
            model = spec[len(prefix):] if strip else spec
            return factory(model, base_url=base_url, **options)  # type: ignore[operator]
    return None


# -- helpers shared by the HTTP backends ---------------------------------------------------
def split_prompt(prompt: str) -> tuple[str, str]:
    r"""Split a prompt into its cacheable prefix and the rest (``""`` first for a ``str``).

    >>> from recode_magic.prompting.prompts import Prompt
    >>> split_prompt(Prompt.join("RULES\n", "Placeholder: f(x)"))
    ('RULES\n', 'Placeholder: f(x)')
    >>> split_prompt("just text")
    ('', 'just text')
    """
    fixed = getattr(prompt, "fixed", "") or ""
    if fixed and prompt.startswith(fixed) and len(prompt) > len(fixed):
        return fixed, str(prompt)[len(fixed):]
    return "", str(prompt)


def one_line(text: str, limit: int = 200) -> str:
    r"""Collapse whitespace and clip to ``limit`` characters (for error messages).

    >>> one_line("a\n  b", 10)
    'a b'
    """
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def estimate_tokens(text: str) -> int:
    """About 4 characters a token; at least 1 for non-empty text.

    >>> estimate_tokens(""), estimate_tokens("abc"), estimate_tokens("x" * 400)
    (0, 1, 100)
    """
    return math.ceil(len(text) / 4) if text else 0
