"""From ``--llm`` and ``%config`` settings to a model callable: resolve_llm, make_llm."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ConfigError, UnknownModelError
from .base import DEFAULT_MODEL, backend_for
from .cassette import MODES, CassetteLLM, recorded_models
from .local import LocalLLM
from .openai_llm import OpenAICompatLLM

__all__ = ["resolve_llm", "make_llm", "wrap_cassette"]

Spec = str | Callable[[str], str] | Mapping[int, Any] | None


def resolve_llm(spec: str | Callable[[str], str] | None, namespace: Mapping[str, Any] | None,
                *, default_model: str = DEFAULT_MODEL, base_url: str | None = None,
                **options: Any) -> Callable[[str], str]:
    """Turn ``--llm`` (or the configured default) into a model callable.

    Parameters
    ----------
    spec : str, callable or None
        ``None`` -> ``default_model``; a callable -> itself; the name of a callable in
        ``namespace`` -> that callable; a model id with a registered prefix (``claude-...``,
        ``openai:<model>``, ``ollama:``, ``llamacpp:``, ``vllm:``, ``anthropic:``, ``local:``; see
        :func:`~recode_magic.llms.base.register`) -> that backend (at ``base_url`` if
        given); any other name when ``base_url`` is given -> an OpenAI-compatible server.
    namespace : Mapping, optional
        The user's namespace, searched first for a callable of that name.
    default_model : str
        Used when ``spec`` is ``None``.
    base_url : str, optional
        API root of the server.
    **options
        Passed to the backend (``max_tokens``, ``max_retries``, ``timeout``, ``grammar``...).

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
callable's name from the notebook, a claude-* model id, local:<model or .gguf path>, or \
openai:<model> with base_url)
    """
    if spec is None:
        spec = default_model
    if callable(spec):
        return spec
    spec = str(spec).strip()
    if namespace is not None and callable(namespace.get(spec)):
        return namespace[spec]  # type: ignore[no-any-return]
    llm = backend_for(spec, base_url=base_url, **options)
    if llm is not None:
        return llm
    if base_url and spec:
        return backend_for(f"openai:{spec}", base_url=base_url, **options)  # type: ignore
    raise UnknownModelError(
        f"unknown model or callable: {spec!r} (give a callable's name from the notebook, "
        "a claude-* model id, local:<model or .gguf path>, or openai:<model> with base_url)")


def make_llm(spec: Spec, *, namespace: Mapping[str, Any] | None = None,
             cassette: str | os.PathLike[str] | None = None, mode: str = "auto",
             base_url: str | None = None, grammar: bool | str = "auto",
             default_model: str = DEFAULT_MODEL, model_dir: str | None = None,
             **options: Any) -> Callable[[str], str]:
    """The model a ``%%recode`` run uses: backend, optional depth routing, optional cassette.

    Parameters
    ----------
    spec : str, callable, Mapping[int, spec] or None
        As for :func:`resolve_llm`; a mapping ``{depth: spec}``, or a string
        ``"claude-x, 2:openai:qwen"`` (see :func:`~recode_magic.llms.routed.parse_routes`),
        builds a :class:`~recode_magic.llms.routed.RoutedLLM` (each value resolved the
        same way; ``base_url`` then goes to the routes that are not Claude models).
    namespace : Mapping, optional
        The user's namespace (a spec may name a callable in it).
    cassette : path, optional
        Record to / replay from this file (:class:`~recode_magic.llms.cassette.CassetteLLM`).
    mode : {"auto", "record", "replay"}
        Cassette mode; ``"replay"`` never calls a live model (a miss raises
        :class:`~recode_magic.errors.CassetteMissError`).
    base_url : str, optional
        Server root for the backend.
    grammar : bool or str
        Constrained decoding for OpenAI-compatible servers and ``local:`` models (``"auto"``,
        ``True``, ``False``, or a GBNF grammar); ignored by other backends.
    default_model : str
        The model when ``spec`` is ``None`` and no cassette says otherwise.
    model_dir : str, optional
        Where ``local:`` models' weights are cached; ignored by other backends.
    **options
        Passed to the backend constructor.

    Notes
    -----
    With a cassette and no ``spec``, a cassette that already holds replies is replayed under
    the model it was recorded with, and a miss raises instead of calling ``default_model``:
    replaying must not silently fall to the Anthropic key. Give ``spec`` (``--llm``) to let
    misses go to a live model (they are counted in ``CassetteLLM.misses``). An empty or
    missing cassette with no ``spec`` records ``default_model``.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "c.json")
    >>> llm = make_llm(None, cassette=path, mode="replay")
    >>> llm.inner, llm.mode
    (None, 'replay')
    """
    if mode not in MODES:
        raise ConfigError(f"unknown cassette mode: {mode!r} (must be one of {list(MODES)})")
    opts = dict(options, grammar=grammar, model_dir=model_dir)
    if cassette is not None and spec is None:
        models = recorded_models(cassette)
        if mode == "replay" or models:
            model = models[0] if len(models) == 1 else None
            return CassetteLLM(None, cassette, "replay", model=model)
    llm = _build(spec, namespace, default_model=default_model, base_url=base_url, **opts)
    if cassette is None:
        return llm
    from .routed import RoutedLLM

    if isinstance(llm, RoutedLLM):  # keys name the model routed to each depth
        return CassetteLLM(llm, cassette, mode)
    # in "replay" mode the model is kept for its name and never called
    return CassetteLLM(llm, cassette, mode,
                       model=getattr(llm, "model", None) or _name(spec, default_model))


def _build(spec: Spec, namespace: Mapping[str, Any] | None, *, default_model: str,
           base_url: str | None, **options: Any) -> Callable[[str], str]:
    if isinstance(spec, str) and "," in spec:  # "claude-x, 2:openai:qwen": routed by depth
        from .routed import parse_routes

        spec = parse_routes(spec)
    if isinstance(spec, Mapping):
        from .routed import RoutedLLM

        # one base_url is the local server's: Claude routes keep the Anthropic API
        return RoutedLLM({int(d): _build(s, namespace, default_model=default_model,
                                         base_url=None if _is_claude(s) else base_url,
                                         **options)
                          for d, s in spec.items()})
    grammar = options.pop("grammar", "auto")
    model_dir = options.pop("model_dir", None)
    llm = resolve_llm(spec, namespace, default_model=default_model, base_url=base_url,
                      **options)
    if isinstance(llm, (OpenAICompatLLM, LocalLLM)):  # the backends with constrained decoding
        llm.grammar = grammar
    if isinstance(llm, LocalLLM) and model_dir:
        llm.model_dir = model_dir
    return llm


def _is_claude(spec: Any) -> bool:
    return isinstance(spec, str) and spec.strip().startswith(("claude-", "anthropic:"))


def _name(spec: Spec, default_model: str) -> str:
    if spec is None:
        return default_model
    return spec if isinstance(spec, str) else getattr(spec, "__name__", type(spec).__name__)


def wrap_cassette(llm: Callable[[str], str] | None, path: str | os.PathLike[str] | None,
                  mode: str = "auto") -> Callable[[str], str]:
    """``llm`` recorded to / replayed from the cassette at ``path`` (``llm`` if no path).

    ``llm`` may be ``None`` in ``"replay"`` mode. An ``llm`` that already is a
    :class:`CassetteLLM` is returned unchanged.
    """
    if path is None or isinstance(llm, CassetteLLM):
        if llm is None:
            raise ConfigError("no model and no cassette to replay (give --llm or --cassette)")
        return llm
    return CassetteLLM(llm, path, mode)
