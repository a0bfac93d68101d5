"""``RoutedLLM``: a different model by depth (a strong one at the root, a cheap one below)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ConfigError
from .base import Reply, ask, is_thread_safe
from .base import takes_sampling as _takes_sampling

__all__ = ["RoutedLLM", "parse_routes"]

LLMLike = Callable[[str], str]


class RoutedLLM:
    """Ask the model routed to the depth of the node being expanded.

    Parameters
    ----------
    routes : Mapping[int, callable]
        ``{first depth: model}``; a node at depth ``d`` goes to the route with the largest
        key ``<= d``. Depth 0 (the root) must be routed. Routes by name (``"claude-x,
        2:openai:qwen"``) are built by :func:`~recode_magic.llms.factory.make_llm`, which
        resolves each name and passes the models here (so this module needs no factory).

    Notes
    -----
    The engine passes the depth through :func:`~recode_magic.llms.base.ask`; a plain
    ``llm(prompt)`` call (no depth) goes to the root's model. Each :class:`Reply` names
    the model that answered, so costs can be split by model
    (:func:`~recode_magic.llms.pricing.cost_by_model`). A cassette wrapping a routed model
    keys each entry on the routed model (:meth:`model_at`).

    Examples
    --------
    >>> from recode_magic.llms import ScriptedLLM
    >>> big = ScriptedLLM({"solve": "<execute>x = 1</execute>"}, model="big")
    >>> small = ScriptedLLM({"step": "<execute>y = 2</execute>"}, model="small")
    >>> llm = RoutedLLM({0: big, 2: small})
    >>> [llm.model_at(d) for d in (0, 1, 2, 5)]
    ['big', 'big', 'small', 'small']
    >>> ask(llm, "Placeholder: step(x)\\n", depth=3).model
    'small'
    """

    def __init__(self, routes: Mapping[int, LLMLike]):
        if not routes or 0 not in routes:
            raise ConfigError(f"model routes need one for depth 0 (the root), got "
                              f"{sorted(routes)!r}")
        if any(int(d) < 0 for d in routes):
            raise ConfigError(f"route depths must be >= 0, got {sorted(routes)!r}")
        if names := sorted(str(s) for s in routes.values() if isinstance(s, str)):
            raise ConfigError(f"RoutedLLM takes models, not names: {names!r} (route by name "
                              f"with make_llm or --llm 'claude-x, 2:openai:qwen')")
        built = {int(d): s for d, s in routes.items()}
        self._depths = sorted(built)
        self.routes: dict[int, LLMLike] = {d: built[d] for d in self._depths}
        self.on_text: Callable[[str], Any] | None = None
        self.last_usage: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"RoutedLLM({ {d: self.model_at(d) for d in self._depths} })"

    @property
    def model(self) -> str:
        """The root's model (``Run.meta["model"]``); each reply names its own."""
        return self.model_at(0)

    @property
    def thread_safe(self) -> bool:
        """True when every routed model is."""
        return all(is_thread_safe(llm) for llm in self.routes.values())

    @property
    def takes_sampling(self) -> bool:
        """True when every routed model takes per-call sampling options."""
        return all(_takes_sampling(llm) for llm in self.routes.values())

    def pick(self, depth: int | None) -> LLMLike:
        """The model for a node at ``depth`` (``None``: the root's)."""
        i = bisect.bisect_right(self._depths, max(depth or 0, 0)) - 1
        return self.routes[self._depths[i]]

    def model_at(self, depth: int | None) -> str:
        """Name of the model routed to ``depth``."""
        llm = self.pick(depth)
        return str(getattr(llm, "model", None) or getattr(llm, "__name__", type(llm).__name__))

    def respond(self, prompt: str, *, on_text: Callable[[str], Any] | None = None,
                depth: int | None = None, temperature: float | None = None,
                seed: int | None = None) -> Reply:
        """Ask the model routed to ``depth``; the :class:`Reply` names it.

        ``temperature`` and ``seed`` go to that model if it takes them (:func:`ask`).
        """
        reply = ask(self.pick(depth), prompt, on_text=on_text, depth=depth,
                    temperature=temperature, seed=seed)
        if reply.model is None:
            reply = Reply(reply.text, reply.usage, self.model_at(depth), reply.stop_reason)
        return reply

    def __call__(self, prompt: str) -> str:
        """Ask the root's model (no depth known); usage in ``last_usage``."""
        reply = self.respond(prompt, on_text=self.on_text)
        self.last_usage = dict(reply.usage)
        return reply.text


def parse_routes(text: str) -> dict[int, str]:
    """``"claude-x, 2:openai:qwen"`` -> ``{0: "claude-x", 2: "openai:qwen"}``.

    Items are separated by commas; each is ``DEPTH:SPEC`` or a bare ``SPEC`` for depth 0.

    >>> parse_routes("claude-sonnet-5-5, 2:openai:qwen2.5")
    {0: 'claude-sonnet-5-5', 2: 'openai:qwen2.5'}
    >>> parse_routes("3:x")
    Traceback (most recent call last):
    ...
    recode_magic.errors.ConfigError: model routes need one for depth 0 (the root), got '3:x'
    """
    routes: dict[int, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        head, sep, rest = item.partition(":")
        if sep and head.strip().isdigit():
            routes[int(head)] = rest.strip()
        else:
            routes[0] = item
    if 0 not in routes:
        raise ConfigError(f"model routes need one for depth 0 (the root), got {text!r}")
    return routes
