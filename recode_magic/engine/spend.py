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


@dataclass
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
        if usage.get("replayed"):
            self.replayed += 1
            return  # a cassette replay bills nothing
        billed = {k: int(v) for k in USAGE_KEYS if (v := usage.get(k))
                  and isinstance(v, (int, float)) and not isinstance(v, bool)
                  } if len(usage) > 1 or "source" not in usage else {}  # no figures at all
        if not billed or usage.get("source") == "estimate":
            self.estimated += 1
        if not billed:
            billed = {"input_tokens": estimate_tokens(prompt),
                      "output_tokens": estimate_tokens(text)}
        output = billed.get("output_tokens", 0)
        self.tokens += sum(billed.values())
        self.output_tokens += output
        self.input_tokens += sum(billed.values()) - output
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
