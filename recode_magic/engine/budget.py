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

``--confirm`` shows the same figures before each expansion runs: :func:`confirm_cost` fills a
:class:`CostView` (spent so far, a projection, what is left of a budget) for a confirm callback
that takes a ``cost`` keyword (:func:`wants_cost`); ``confirm(node, code)`` is called as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..llms.base import estimate_tokens
from ..llms.pricing import price_for
from .spend import Spend

if TYPE_CHECKING:
    from ..runs.tree import Node
    from .runstate import RunState

__all__ = ["Spend", "Projection", "project", "over_budget", "DEFAULT_MAX_REPLY",
           "model_at", "CostView", "confirm_cost", "wants_cost"]

#: Reply tokens assumed for a backend that does not say (no ``max_tokens`` attribute).
DEFAULT_MAX_REPLY = 4096


@dataclass(frozen=True)
class Projection:
    """What one call may cost at most: tokens, and dollars (None when the price is unknown)."""

    tokens: int
    usd: float | None


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

    >>> from recode_magic.engine.settings import Settings
    >>> s = Settings(budget_tokens=5000)
    >>> print(over_budget(s, Spend(tokens=1200), Projection(0, 0.0), Projection(4096, None),
    ...                   "m"))  # doctest: +NORMALIZE_WHITESPACE
    token budget: 1,200 tokens spent, the next call may take up to 4,096 more
    (budget_tokens=5,000); resume with a larger budget
    """
    cap = settings.budget_tokens
    if cap is not None and not spend.tokens and not ahead.tokens and call.tokens > cap:
        return (f"token budget: one call may take up to {call.tokens:,} tokens (its prompt "
                f"and a whole max_tokens reply), more than budget_tokens={cap:,}: give a "
                f"budget of at least {call.tokens:,} tokens, or a model with a smaller "
                f"max_tokens")
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


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class CostView:
    """What ``--confirm`` shows about cost: the run's spend so far, a projection, the budget.

    Filled by the engine (:func:`confirm_cost`) for a confirm callback that takes a ``cost``
    keyword; :meth:`lines` is the text the prompt and the buttons show.

    >>> view = CostView(calls=2, input_tokens=4000, output_tokens=1000, usd=0.009,
    ...                 placeholders=3, next_call=Projection(1700, 0.0057),
    ...                 next_model="claude-haiku-4-5", budget_tokens=6000, next_passes=True)
    >>> print("\\n".join(view.lines()))  # doctest: +NORMALIZE_WHITESPACE
    cost so far: 2 model calls, 4,000 input + 1,000 output tokens, $0.0090
    projection: this code calls 3 placeholders: at least 3 more model calls, about 7,500
    tokens / $0.0135 at this run's average; one call may take up to 1,700 tokens / $0.0057
    (claude-haiku-4-5)
    budget: 1,000 of 6,000 tokens left; the next call may pass it: the run will stop
    (limit, resumable) before asking
    """

    calls: int
    input_tokens: int
    output_tokens: int
    usd: float | None  # None: no answered call had a price
    placeholders: int  # placeholder calls in the code to confirm
    next_call: Projection  # the most one more expansion may cost
    next_model: str | None = None
    unpriced: tuple[str, ...] = ()  # models whose calls had no price
    replayed: int = 0
    estimated: int = 0
    budget_tokens: int | None = None
    budget_usd: float | None = None
    next_passes: bool = False  # the next call may pass a budget (the run stops before it)

    @property
    def tokens(self) -> int:
        """Tokens spent so far (input, cache included, plus output)."""
        return self.input_tokens + self.output_tokens

    @property
    def average(self) -> tuple[int, float | None] | None:
        """Tokens and dollars per billed call so far (None before any billed call)."""
        billed = self.calls - self.replayed
        if billed <= 0:
            return None
        usd = self.usd / billed if self.usd is not None and not self.unpriced else None
        return round(self.tokens / billed), usd

    @property
    def tokens_left(self) -> int | None:
        """What is left of the token budget (None: no token budget)."""
        return None if self.budget_tokens is None else self.budget_tokens - self.tokens

    @property
    def usd_left(self) -> float | None:
        """What is left of the dollar budget (None: no dollar budget or no price)."""
        if self.budget_usd is None or self.usd is None:
            return None
        return self.budget_usd - self.usd

    def lines(self) -> list[str]:
        """Two lines (spent, projection), and a third when a budget is set."""
        out = [self._spent(), self._projection()]
        if self.budget_tokens is not None or self.budget_usd is not None:
            out.append(self._budget())
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _spent(self) -> str:
        if not self.calls:
            return "cost so far: no model call yet"
        if self.usd is None:
            money = "price unknown" + (f" ({', '.join(self.unpriced)})" if self.unpriced else "")
        elif self.unpriced:
            money = f"${self.usd:.4f} + price unknown for {', '.join(self.unpriced)}"
        else:
            money = f"${self.usd:.4f}"
        notes = [f"tokens of {_plural(self.estimated, 'call')} estimated (~4 characters a "
                 f"token)"] if self.estimated else []
        if self.replayed:
            notes.append(f"{self.replayed:,} replayed from a cassette, free")
        return "; ".join([f"cost so far: {_plural(self.calls, 'model call')}, "
                          f"{self.input_tokens:,} input + {self.output_tokens:,} output tokens, "
                          f"{money}", *notes])

    def _projection(self) -> str:
        n = self.placeholders
        if n:
            head = (f"this code calls {_plural(n, 'placeholder')}: at least "
                    f"{_plural(n, 'more model call')}")
            avg = self.average
            if avg is not None:
                head += f", about {n * avg[0]:,} tokens" + (
                    f" / ${n * avg[1]:.4f}" if avg[1] is not None else "") \
                    + " at this run's average"
        else:
            head = "this code calls no placeholder (no more model calls for this step)"
        call = self.next_call
        model = f" ({self.next_model})" if self.next_model else ""
        money = ", price unknown" if call.usd is None else f" / ${call.usd:.4f}"
        return f"projection: {head}; one call may take up to {call.tokens:,} tokens{money}{model}"

    def _budget(self) -> str:
        parts = []
        if self.budget_tokens is not None:
            parts.append(f"{self.tokens_left:,} of {self.budget_tokens:,} tokens left")
        if self.budget_usd is not None:
            left = self.usd_left
            parts.append(f"${left:.4f} of ${self.budget_usd:.4f} left" if left is not None
                         else f"${self.budget_usd:.4f} not enforced (price unknown)")
        parts.append("the next call may pass it: the run will stop (limit, resumable) before "
                     "asking" if self.next_passes else "the next call fits")
        return "budget: " + "; ".join(parts)


def confirm_cost(state: RunState, node: Node, blocks: Sequence[Any]) -> CostView:
    """The :class:`CostView` for confirming ``blocks`` (the code of ``node``) in a run.

    The projection sizes the next call by ``node``'s own prompt (its fixed part, most of it,
    is the same for every expansion) at the depth of ``node``'s children.
    """
    spend, settings, llm = state.spend, state.settings, state.llm
    placeholders = sum(getattr(b, "placeholder", None) is not None for b in blocks)
    depth = node.depth + 1 if placeholders else node.depth
    call = project(llm, node.prompt, depth)
    model = model_at(llm, depth)
    unpriced = tuple(sorted(spend.unpriced))
    usd = None if unpriced and not spend.usd else spend.usd
    passes = over_budget(settings, spend, Projection(0, 0.0), call, model) is not None
    return CostView(calls=spend.calls, input_tokens=spend.input_tokens,
                    output_tokens=spend.output_tokens, usd=usd, placeholders=placeholders,
                    next_call=call, next_model=model, unpriced=unpriced,
                    replayed=spend.replayed, estimated=spend.estimated,
                    budget_tokens=settings.budget_tokens, budget_usd=settings.budget_usd,
                    next_passes=passes)


def wants_cost(confirm: Callable[..., Any]) -> bool:
    """True when ``confirm`` takes a ``cost`` keyword (then the engine passes a CostView).

    A ``confirm(node, code)`` with two parameters (the pinned contract) is called as before.

    >>> wants_cost(lambda node, code: code), wants_cost(lambda node, code, *, cost=None: code)
    (False, True)
    """
    try:
        params = inspect.signature(confirm).parameters
    except (TypeError, ValueError):  # some builtins have no signature
        return False
    p = params.get("cost")
    return p is not None and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
