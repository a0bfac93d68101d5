"""Budgets per run in tokens and dollars: stop (``limit``) before a call could pass them.

A run keeps what its answered model calls cost in :class:`Spend` (on ``RunState``, so a
resumed run goes on counting). Before each call the engine asks :func:`over_budget`: the
spend so far, plus the calls already sent ahead (parallel expansion), plus a projection of
this call -- its prompt's size (about 4 characters a token) and the longest reply the
backend may write (its ``max_tokens``, else :data:`DEFAULT_MAX_REPLY`) -- must stay within
``Settings.budget_tokens`` and ``Settings.budget_usd``. The projection is an upper bound
(cache reads are billed at the full input price), so a run never passes its budget.

Token counts are the ones the backend reports; a call that reports none (a plain function)
is counted by the same 4-characters estimate. A cassette replay costs nothing. Dollars use
:mod:`recode_magic.llms.pricing`; a model with no price cannot be held to a dollar budget
(the run says so once in ``run.warnings``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .llms.base import USAGE_KEYS, estimate_tokens
from .llms.pricing import price_for

__all__ = ["Spend", "Projection", "project", "over_budget", "DEFAULT_MAX_REPLY",
           "model_at"]

#: Reply tokens assumed for a backend that does not say (no ``max_tokens`` attribute).
DEFAULT_MAX_REPLY = 4096


@dataclass(frozen=True)
class Projection:
    """What one call may cost at most: tokens, and dollars (None when the price is unknown)."""

    tokens: int
    usd: float | None


@dataclass
class Spend:
    """Tokens and dollars the answered calls of a run cost (wasted prefetches included).

    >>> s = Spend()
    >>> s.add({"input_tokens": 1000, "output_tokens": 100}, "claude-haiku-4-5", "p", "r")
    >>> s.tokens, round(s.usd, 6), s.calls
    (1100, 0.0015, 1)
    >>> s.add({"source": "none"}, None, "x" * 400, "y" * 40)  # no figures: estimated
    >>> s.tokens, sorted(s.unpriced)
    (1210, ['unknown'])
    """

    tokens: int = 0
    usd: float = 0.0
    calls: int = 0
    unpriced: set[str] = field(default_factory=set)  # models whose calls have no price
    _prices: dict[str | None, Any] = field(default_factory=dict, repr=False)

    def add(self, usage: Mapping[str, Any], model: str | None, prompt: str, text: str) -> None:
        """Count one answered call (``usage`` as :class:`~recode_magic.llms.base.Reply` has)."""
        self.calls += 1
        if usage.get("replayed"):
            return  # a cassette replay bills nothing
        billed = {k: int(v) for k in USAGE_KEYS if (v := usage.get(k))
                  and isinstance(v, (int, float)) and not isinstance(v, bool)}
        if not billed:
            billed = {"input_tokens": estimate_tokens(prompt),
                      "output_tokens": estimate_tokens(text)}
        self.tokens += sum(billed.values())
        if model not in self._prices:  # looked up once per model (a call costs ~10 us)
            self._prices[model] = price_for(model)
        price = self._prices[model]
        if price is None:
            self.unpriced.add(model or "unknown")
        else:
            self.usd += (billed.get("input_tokens", 0) * price.input
                         + billed.get("output_tokens", 0) * price.output
                         + billed.get("cache_creation_input_tokens", 0) * price.cache_write
                         + billed.get("cache_read_input_tokens", 0) * price.cache_read) / 1e6


def model_at(llm: Any, depth: int | None) -> str | None:
    """The model id that answers at ``depth`` (a routed model picks by depth)."""
    pick = getattr(llm, "model_at", None)
    if callable(pick):
        return str(pick(depth))
    model = getattr(llm, "model", None)
    return str(model) if model else None


def _max_reply(llm: Any, depth: int | None) -> int:
    pick = getattr(llm, "pick", None)
    backend = pick(depth) if callable(pick) else llm
    for obj in (backend, getattr(backend, "inner", None)):
        value = getattr(obj, "max_tokens", None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return DEFAULT_MAX_REPLY


def project(llm: Any, prompt: str, depth: int | None) -> Projection:
    """The most one call with ``prompt`` may cost (prompt estimate + the backend's max reply).

    >>> p = project(lambda s: s, "x" * 4000, 0)
    >>> p.tokens, p.usd
    (5096, None)
    """
    inp, out = estimate_tokens(str(prompt)), _max_reply(llm, depth)
    model = model_at(llm, depth)
    price = price_for(model)
    usd = (inp * price.input + out * price.output) / 1e6 if price else None
    return Projection(inp + out, usd)


def over_budget(settings: Any, spend: Spend, ahead: Projection, call: Projection,
                model: str | None) -> str | None:
    """The one-line reason the next call would pass a budget, or None.

    ``ahead`` is what calls sent ahead and not yet counted may cost; ``call`` the next call.

    >>> from recode_magic.settings import Settings
    >>> s = Settings(budget_tokens=5000)
    >>> print(over_budget(s, Spend(tokens=1200), Projection(0, 0.0), Projection(4096, None),
    ...                   "m"))  # doctest: +NORMALIZE_WHITESPACE
    token budget: 1,200 tokens spent, the next call may take up to 4,096 more
    (budget_tokens=5,000); resume with a larger budget
    """
    cap = settings.budget_tokens
    if cap is not None and spend.tokens + ahead.tokens + call.tokens > cap:
        return (f"token budget: {spend.tokens:,} tokens spent, the next call may take up to "
                f"{call.tokens:,} more"
                + (f" ({ahead.tokens:,} already asked ahead)" if ahead.tokens else "")
                + f" (budget_tokens={cap:,}); resume with a larger budget")
    cap_usd = settings.budget_usd
    if cap_usd is not None and call.usd is not None \
            and spend.usd + (ahead.usd or 0.0) + call.usd > cap_usd:
        return (f"dollar budget: ${spend.usd:.4f} spent on {model or 'the model'}, the next "
                f"call may cost up to ${call.usd:.4f} more"
                + (f" (${ahead.usd:.4f} already asked ahead)" if ahead.usd else "")
                + f" (budget_usd={cap_usd:g}); resume with a larger budget")
    return None
