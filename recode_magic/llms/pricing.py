"""Token accounting and cost: a small overridable price table, ``cost_report`` and its text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Price", "PRICES", "LOCAL_PRICE", "price_for", "set_price", "cost_report", "format_cost",
           "billable_input_tokens", "CACHE_WRITE_WEIGHT", "CACHE_READ_WEIGHT",
           "usage_by_model", "cost_by_model", "format_cost_by_model", "token_sources",
           "format_cache_across_runs"]

CACHE_WRITE_WEIGHT = 1.25  # a 5-minute cache write costs 125% of an input token
CACHE_READ_WEIGHT = 0.10   # a cache read costs 10%


@dataclass(frozen=True)
class Price:
    """USD per million tokens: plain input, output, cache write (5 min), cache read."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    @classmethod
    def of(cls, input: float, output: float) -> Price:
        """Make a price with Anthropic's usual cache multipliers (write 1.25x, read 0.1x input)."""
        return cls(input, output, round(input * CACHE_WRITE_WEIGHT, 6),
                   round(input * CACHE_READ_WEIGHT, 6))


#: Prices by model family, USD per million tokens, from Anthropic's pricing pages as read in
#: October 2026 (platform.claude.com/docs/en/about-claude/pricing). A family key matches the
#: id itself, a dated id (``claude-haiku-4-5-20251001``) and ``[1m]`` variants. Prices
#: change: check the page and override with :func:`set_price` or ``prices=``. Cache reads
#: are not always 10% of input (Opus 5.5 and Sonnet 5.5: 5%). Claude Haiku 5.5 is tiered by
#: prompt length; the entry is the band for prompts up to 100k tokens. Models on a server
#: of your own have no entry (cost shown as unknown) unless you add one:
#: ``set_price("llama3", Price.of(0, 0))``; the embedded ``local:`` models cost 0
#: (:data:`LOCAL_PRICE`: they run in the kernel, only their tokens are counted).
PRICES: dict[str, Price] = {
    "claude-fable-5-1": Price(10.0, 50.0, 12.5, 0.25),
    "claude-mythos-5-1": Price(10.0, 50.0, 12.5, 0.25),
    "claude-fable-5": Price(10.0, 50.0, 12.5, 1.0),
    "claude-mythos-5": Price(10.0, 50.0, 12.5, 1.0),
    "claude-opus-5-5": Price(4.0, 20.0, 5.0, 0.20),
    "claude-opus-5": Price.of(5.0, 25.0),
    "claude-opus-4-8": Price.of(5.0, 25.0),
    "claude-opus-4-7": Price.of(5.0, 25.0),
    "claude-opus-4-6": Price.of(5.0, 25.0),
    "claude-opus-4-5": Price.of(5.0, 25.0),
    "claude-opus-4-1": Price.of(15.0, 75.0),
    "claude-opus-4-0": Price.of(15.0, 75.0),
    "claude-opus-4": Price.of(15.0, 75.0),
    "claude-sonnet-5-5": Price(2.0, 10.0, 2.5, 0.20),
    "claude-sonnet-5": Price(2.0, 10.0, 2.5, 0.20),
    "claude-sonnet-4-6": Price.of(3.0, 15.0),
    "claude-sonnet-4-5": Price.of(3.0, 15.0),
    "claude-sonnet-4-0": Price.of(3.0, 15.0),
    "claude-sonnet-4": Price.of(3.0, 15.0),
    "claude-3-7-sonnet": Price.of(3.0, 15.0),
    "claude-haiku-5-5": Price(0.10, 0.50, 0.125, 0.01),
    "claude-haiku-4-5": Price.of(1.0, 5.0),
    "claude-3-5-haiku": Price(0.80, 4.0, 1.0, 0.08),
    "claude-3-haiku": Price(0.25, 1.25, 0.30, 0.03),
}
#: The price of every ``local:`` model (llama.cpp in the kernel's process).
LOCAL_PRICE = Price(0.0, 0.0, 0.0, 0.0)
_VARIANT = re.compile(r"(-\d{8})?(-latest)?(\[1m\])?")


def price_for(model: str | None, prices: Mapping[str, Price] | None = None) -> Price | None:
    """Look up the price of ``model`` (family key, plus a date or ``[1m]``), or ``None``.

    >>> price_for("claude-haiku-4-5-20251001")
    Price(input=1.0, output=5.0, cache_write=1.25, cache_read=0.1)
    >>> price_for("claude-sonnet-5-6") is None, price_for("llama3.1:8b") is None
    (True, True)
    >>> price_for("local:qwen2.5-coder-1.5b").output
    0.0
    """
    if not model:
        return None
    table = PRICES if prices is None else prices
    if model.startswith("local:") and not any(model.startswith(k) for k in table):
        return LOCAL_PRICE
    model = model.split(":", 1)[1] if model.startswith("openai:") else model
    for key in sorted(table, key=len, reverse=True):
        if model.startswith(key) and _VARIANT.fullmatch(model[len(key):]):
            return table[key]
    return None


def set_price(prefix: str, price: Price) -> None:
    """Add or replace the price of every model id starting with ``prefix``."""
    PRICES[prefix] = price


def billable_input_tokens(usage: Mapping[str, Any], *, cached: bool = True) -> float:
    """Input tokens weighted as billed: cache writes 125%, reads 10% (or all 100%).

    >>> u = {"input_tokens": 100, "cache_creation_input_tokens": 1000,
    ...      "cache_read_input_tokens": 4000}
    >>> billable_input_tokens(u), billable_input_tokens(u, cached=False)
    (1750.0, 5100.0)
    """
    plain = usage.get("input_tokens", 0)
    write = usage.get("cache_creation_input_tokens", 0)
    read = usage.get("cache_read_input_tokens", 0)
    if not cached:
        return float(plain + write + read)
    return plain + CACHE_WRITE_WEIGHT * write + CACHE_READ_WEIGHT * read


def _cost(usage: Mapping[str, Any], price: Price, *, cached: bool = True) -> float:
    plain = usage.get("input_tokens", 0)
    write = usage.get("cache_creation_input_tokens", 0)
    read = usage.get("cache_read_input_tokens", 0)
    out = usage.get("output_tokens", 0)
    if cached:
        total = (plain * price.input + write * price.cache_write + read * price.cache_read
                 + out * price.output)
    else:
        total = (plain + write + read) * price.input + out * price.output
    return total / 1e6


def cost_report(run: Any, *, model: str | None = None,
                prices: Mapping[str, Price] | None = None) -> dict[str, Any]:
    """Model calls, tokens by kind, cache hit rate and cost of a run.

    Parameters
    ----------
    run : Run or Mapping
        A :class:`~recode_magic.runs.tree.Run` (its ``usage``, ``llm_calls`` and
        ``meta["model"]`` are read) or a usage dict.
    model : str, optional
        Model id for the price; defaults to ``run.meta["model"]``.
    prices : Mapping[str, Price], optional
        A price table replacing :data:`PRICES`.

    Returns
    -------
    dict
        ``model, calls, replayed_calls, input_tokens, output_tokens,
        cache_creation_input_tokens, cache_read_input_tokens, prompt_tokens,
        cache_hit_rate, billable_input_tokens, billable_input_tokens_uncached, price,
        cost_usd, cost_uncached_usd, replayed_cost_usd`` (costs ``None`` if the price is
        unknown). Tokens of replayed (cassette) calls are not billed: they only appear in
        ``replayed_calls`` and ``replayed_cost_usd`` (what they cost when recorded).

    Examples
    --------
    >>> r = cost_report({"input_tokens": 100, "output_tokens": 50,
    ...                  "cache_creation_input_tokens": 1000,
    ...                  "cache_read_input_tokens": 4000}, model="claude-sonnet-4-6")
    >>> r["cache_hit_rate"], round(r["cost_usd"], 6)
    (0.784314, 0.006)
    """
    if isinstance(run, Mapping):
        usage, calls, meta = dict(run), None, {}
    else:
        usage, calls, meta = dict(run.usage), getattr(run, "llm_calls", None), run.meta
        if model is None and len(usage_by_model(run)) > 1:
            return _routed_report(cost_report(usage, model="", prices=prices), calls,
                                  cost_by_model(run, prices=prices))
    model = model or meta.get("model") or usage.get("model")
    price = price_for(model, prices)
    kinds = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
             "cache_read_input_tokens")
    billed = {k: int(usage.get(k, 0)) for k in kinds}
    replayed = {k: int(usage.get(f"replayed_{k}", 0)) for k in kinds}
    prompt_tokens = (billed["input_tokens"] + billed["cache_creation_input_tokens"]
                     + billed["cache_read_input_tokens"])
    return {
        "model": model, "calls": calls, "replayed_calls": int(usage.get("replayed", 0)),
        **billed,
        "prompt_tokens": prompt_tokens,
        "cache_hit_rate": round(billed["cache_read_input_tokens"] / prompt_tokens, 6)
        if prompt_tokens else 0.0,
        "billable_input_tokens": billable_input_tokens(billed),
        "billable_input_tokens_uncached": billable_input_tokens(billed, cached=False),
        "price": asdict(price) if price else None, "token_sources": token_sources(usage),
        "cost_usd": _cost(billed, price) if price else None,
        "cost_uncached_usd": _cost(billed, price, cached=False) if price else None,
        "replayed_cost_usd": _cost(replayed, price) if price else None,
    }


def _routed_report(report: dict[str, Any], calls: int | None,
                   by_model: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A run answered by several models: each model's tokens at its own price, summed."""
    def total(key: str) -> float | None:
        values = [r[key] for r in by_model.values()]
        return None if any(v is None for v in values) else sum(values)

    return {**report, "model": ", ".join(by_model), "calls": calls,
            "cost_usd": total("cost_usd"), "cost_uncached_usd": total("cost_uncached_usd"),
            "replayed_cost_usd": total("replayed_cost_usd")}


def token_sources(usage: Mapping[str, Any]) -> dict[str, int]:
    """How the calls' tokens were counted: ``{"server": 3, "tokenize": 2, ...}``.

    Read from the ``calls_<source>`` counters :func:`~recode_magic.llms.base.merge_usage`
    keeps. ``"estimate"`` means about 4 characters a token, ``"none"`` a backend that
    reports nothing (a plain function: its calls have no token figures).

    >>> token_sources({"calls_server": 2, "calls_tokenize": 1, "input_tokens": 9})
    {'server': 2, 'tokenize': 1}
    """
    return {k[len("calls_"):]: int(v) for k, v in usage.items()
            if k.startswith("calls_") and isinstance(v, (int, float)) and v}


def format_cost(report: Mapping[str, Any]) -> str:
    """Render a :func:`cost_report` as a plain-text table.

    >>> print(format_cost(cost_report({"input_tokens": 100, "output_tokens": 50},
    ...                               model="claude-haiku-4-5")))
    model                claude-haiku-4-5
    model calls          ?
    input tokens         100
      uncached           100
      cache write        0
      cache read         0
    output tokens        50
    cache hit rate       0.0%
    billable input       100 (100 without caching)
    cost                 $0.000350 (without caching $0.000350)
    """

    def usd(x: float | None) -> str:
        return "unknown (no price for this model)" if x is None else f"${x:.6f}"

    calls = "?" if report.get("calls") is None else str(report["calls"])
    if report.get("replayed_calls"):
        calls += (f" ({report['replayed_calls']} replayed from a cassette, "
                  f"{usd(report.get('replayed_cost_usd'))} when recorded)")
    rows = [
        ("model", str(report.get("model") or "unknown")),
        ("model calls", calls),
        ("input tokens", f"{report['prompt_tokens']:,}"),
        ("  uncached", f"{report['input_tokens']:,}"),
        ("  cache write", f"{report['cache_creation_input_tokens']:,}"),
        ("  cache read", f"{report['cache_read_input_tokens']:,}"),
        ("output tokens", f"{report['output_tokens']:,}"),
        ("cache hit rate", f"{100 * report['cache_hit_rate']:.1f}%"),
        ("billable input", f"{report['billable_input_tokens']:,.0f} "
                           f"({report['billable_input_tokens_uncached']:,.0f} without caching)"),
    ]
    cost = usd(report.get("cost_usd"))
    if report.get("cost_usd") is not None:
        cost += f" (without caching {usd(report.get('cost_uncached_usd'))})"
    rows.append(("cost", cost))
    sources = report.get("token_sources") or {}
    if set(sources) - {"server"}:
        rows.append(("tokens counted by", ", ".join(f"{k} ({n} calls)"
                                                    for k, n in sorted(sources.items()))))
    return "\n".join(f"{k:<20} {v}" for k, v in rows)


def usage_by_model(run: Any) -> dict[str, dict[str, int]]:
    """Token usage summed by the model that answered.

    Parameters
    ----------
    run : Run or Iterable
        A :class:`~recode_magic.runs.tree.Run` (each node's ``usage`` goes to its ``model``
        attribute if it has one, else to ``run.meta["model"]``), or usage records: mappings
        with a ``"model"`` key, or :class:`~recode_magic.llms.base.Reply` objects.

    Returns
    -------
    dict
        ``{model: usage}``, each usage with a ``calls`` count (answered calls).

    Examples
    --------
    >>> from recode_magic.llms.base import Reply
    >>> usage_by_model([Reply("a", {"input_tokens": 5, "source": "server"}, "big"),
    ...                 {"model": "small", "input_tokens": 2},
    ...                 Reply("b", {"input_tokens": 1}, "big")])
    {'big': {'input_tokens': 6, 'calls_server': 1, 'calls': 2}, 'small': {'input_tokens': 2, \
'calls': 1}}
    """
    from .base import merge_usage

    out: dict[str, dict[str, int]] = {}
    if hasattr(run, "nodes") and hasattr(run, "meta"):
        default = str(run.meta.get("model") or "unknown")
        for node in run.nodes():
            if not node.usage and not getattr(node, "llm_calls", 0):
                continue
            total = out.setdefault(str(getattr(node, "model", None) or default), {})
            merge_usage(total, node.usage)
            total["calls"] = total.get("calls", 0) + int(getattr(node, "llm_calls", 0))
        return out
    for record in run if isinstance(run, Iterable) else ():
        if hasattr(record, "usage") and hasattr(record, "text"):
            model, usage = record.model, record.usage
        else:
            model, usage = record.get("model"), {k: v for k, v in record.items()
                                                 if k != "model"}
        total = out.setdefault(str(model or "unknown"), {})
        merge_usage(total, usage)
        total["calls"] = total.get("calls", 0) + 1
    return out


def cost_by_model(run: Any, *, prices: Mapping[str, Price] | None = None
                  ) -> dict[str, dict[str, Any]]:
    """A :func:`cost_report` per model (see :func:`usage_by_model` for ``run``).

    >>> r = cost_by_model([{"model": "claude-haiku-4-5", "input_tokens": 1000},
    ...                    {"model": "qwen", "input_tokens": 500, "output_tokens": 9}])
    >>> r["claude-haiku-4-5"]["cost_usd"], r["qwen"]["cost_usd"], r["qwen"]["calls"]
    (0.001, None, 1)
    """
    reports = {}
    for model, usage in usage_by_model(run).items():
        report = cost_report(usage, model=model, prices=prices)
        report["calls"] = usage.get("calls")
        reports[model] = report
    return reports


def format_cost_by_model(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """One line per model and a total: calls, input/output tokens, cache reads, cost.

    >>> print(format_cost_by_model(cost_by_model([
    ...     {"model": "claude-haiku-4-5", "input_tokens": 1000, "output_tokens": 100},
    ...     {"model": "qwen", "input_tokens": 500, "output_tokens": 9}])))
    model                calls     input    output  cache read  cost
    claude-haiku-4-5         1     1,000       100           0  $0.001500
    qwen                     1       500         9           0  unknown
    total                    2     1,500       109           0  $0.001500 + unknown
    """
    head = f"{'model':<20} {'calls':>5} {'input':>9} {'output':>9} {'cache read':>11}  cost"
    lines, calls, tin, tout, tread, cost, unknown = [head], 0, 0, 0, 0, 0.0, False
    for model, r in reports.items():
        c = r.get("calls") or 0
        usd = r.get("cost_usd")
        lines.append(f"{model:<20} {c:>5} {r['prompt_tokens']:>9,} {r['output_tokens']:>9,} "
                     f"{r['cache_read_input_tokens']:>11,}  "
                     f"{'unknown' if usd is None else f'${usd:.6f}'}")
        calls, tin, tout = calls + c, tin + r["prompt_tokens"], tout + r["output_tokens"]
        tread += r["cache_read_input_tokens"]
        if usd is None:
            unknown = True
        else:
            cost += usd
    total = f"${cost:.6f}" + (" + unknown" if unknown else "")
    lines.append(f"{'total':<20} {calls:>5} {tin:>9,} {tout:>9,} {tread:>11,}  {total}")
    return "\n".join(lines)


def format_cache_across_runs(runs: Iterable[Any]) -> str:
    """Prompt tokens read from the provider's cache, run by run and in total.

    The fixed part of the prompt (rules, primitives, few-shots) is the same in every run of
    an unchanged notebook, so from the second run on it can be read from the cache (for
    as long as the provider keeps it: 5 minutes for Anthropic, longer for local servers).

    >>> print(format_cache_across_runs([
    ...     {"input_tokens": 50, "cache_creation_input_tokens": 2000},
    ...     {"input_tokens": 60, "cache_read_input_tokens": 2000}]))
    run      prompt  cache write   cache read  hit rate
    1         2,050        2,000            0      0.0%
    2         2,060            0        2,000     97.1%
    all       4,110        2,000        2,000     48.7%
    """
    lines = [f"{'run':<5} {'prompt':>9} {'cache write':>12} {'cache read':>12}  hit rate"]
    total = {"prompt_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    for i, run in enumerate(runs, start=1):
        r = cost_report(run, model="-")
        for k in total:
            total[k] += r[k]
        lines.append(_cache_row(str(i), r))
    hit = total["cache_read_input_tokens"] / total["prompt_tokens"] if total["prompt_tokens"] \
        else 0.0
    lines.append(_cache_row("all", {**total, "cache_hit_rate": hit}))
    return "\n".join(lines)


def _cache_row(label: str, r: Mapping[str, Any]) -> str:
    return (f"{label:<5} {r['prompt_tokens']:>9,} {r['cache_creation_input_tokens']:>12,} "
            f"{r['cache_read_input_tokens']:>12,}  {100 * r['cache_hit_rate']:>7.1f}%")
