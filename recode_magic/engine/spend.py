"""What the answered model calls of a run cost: :class:`Spend` (tokens, dollars, calls).

Kept on :class:`~recode_magic.engine.runstate.RunState`, so a resumed run goes on counting;
:mod:`recode_magic.engine.budget` holds a run to its budget with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..llms.base import USAGE_KEYS, estimate_tokens
from ..llms.pricing import price_for

__all__ = ["Spend"]

_UNSEEN = object()  # a model whose price was not looked up yet


@dataclass(slots=True)
class Spend:
    """Tokens and dollars the answered calls of a run cost (wasted prefetches included).

    >>> s = Spend()
    >>> s.add({"input_tokens": 1000, "output_tokens": 100}, "claude-haiku-4-5", "p", "r")
    >>> s.tokens, round(s.usd, 6), s.calls
    (1100, 0.0015, 1)
    >>> s.add({"source": "none"}, None, "x" * 400, "y" * 40)  # no figures: estimated
    >>> s.tokens, sorted(s.unpriced), (s.input_tokens, s.output_tokens), s.estimated
    (1210, ['unknown'], (1100, 110), 1)
    """

    tokens: int = 0
    usd: float = 0.0
    calls: int = 0
    unpriced: set[str] = field(default_factory=set)  # models whose calls have no price
    input_tokens: int = 0  # cache writes and reads included
    output_tokens: int = 0
    replayed: int = 0  # calls replayed from a cassette (free)
    estimated: int = 0  # calls whose tokens were estimated (~4 characters a token)
    _prices: dict[str | None, Any] = field(default_factory=dict, repr=False)

    def add(self, usage: Mapping[str, Any], model: str | None, prompt: str, text: str) -> None:
        """Count one answered call (``usage`` as :class:`~recode_magic.llms.base.Reply` has)."""
        self.calls += 1
        if len(usage) == 1 and "source" in usage:  # no figures (a scripted model, ...)
            # estimate_tokens of both, inline (the per-node path of a plain callable)
            self._estimated(model, -(-len(prompt) // 4), -(-len(text) // 4))
            return
        if usage.get("replayed"):
            self.replayed += 1
            return  # a cassette replay bills nothing
        billed = {k: int(v) for k in USAGE_KEYS if (v := usage.get(k))
                  and isinstance(v, (int, float)) and not isinstance(v, bool)}
        if not billed:
            self._estimated(model, estimate_tokens(prompt), estimate_tokens(text))
            return
        if usage.get("source") == "estimate":
            self.estimated += 1
        output = billed.get("output_tokens", 0)
        self.tokens += sum(billed.values())
        self.output_tokens += output
        self.input_tokens += sum(billed.values()) - output
        price = self._price(model)
        if price is None:
            self.unpriced.add(model or "unknown")
        else:
            self.usd += (billed.get("input_tokens", 0) * price.input
                         + billed.get("output_tokens", 0) * price.output
                         + billed.get("cache_creation_input_tokens", 0) * price.cache_write
                         + billed.get("cache_read_input_tokens", 0) * price.cache_read) / 1e6

    def _estimated(self, model: str | None, input_tokens: int, output_tokens: int) -> None:
        """Count a call whose tokens were estimated (what :meth:`add` does, in short)."""
        self.estimated += 1
        self.tokens += input_tokens + output_tokens
        self.output_tokens += output_tokens
        self.input_tokens += input_tokens
        price = self._prices.get(model, _UNSEEN)  # what _price does, without the call
        if price is _UNSEEN:
            price = self._price(model)
        if price is None:
            self.unpriced.add(model or "unknown")
        else:
            self.usd += (input_tokens * price.input + output_tokens * price.output) / 1e6

    def _price(self, model: str | None) -> Any:
        """The model's price (None: unknown), looked up once per model (~10 us a lookup)."""
        try:
            return self._prices[model]
        except KeyError:
            price = self._prices[model] = price_for(model)
            return price
