"""Price table, cost_report and format_cost."""

from __future__ import annotations

import pytest

from recode_magic.llms import pricing
from recode_magic.llms.pricing import (
    PRICES,
    Price,
    billable_input_tokens,
    cost_report,
    format_cost,
    price_for,
    set_price,
)
from recode_magic.runs.run import Run


def make_run(model: str = "claude-sonnet-4-6") -> Run:
    run = Run("task", meta={"model": model})
    a = run.new_node("a", "x = a()", parent=run.root)
    b = run.new_node("b", "y = b()", parent=run.root)
    run.root.usage = {"input_tokens": 200, "output_tokens": 100,
                      "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 0}
    a.usage = {"input_tokens": 150, "output_tokens": 80,
               "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2000}
    b.usage = {"replayed": 1, "replayed_input_tokens": 150, "replayed_output_tokens": 50,
               "replayed_cache_read_input_tokens": 2000}
    run.llm_calls = 3
    return run


def test_price_lookup_matches_family_date_and_1m_variants():
    assert price_for("claude-haiku-4-5") == Price(1.0, 5.0, 1.25, 0.1)
    assert price_for("claude-haiku-4-5-20251001") == price_for("claude-haiku-4-5")
    assert price_for("claude-opus-4-20250514") == Price(15.0, 75.0, 18.75, 1.5)
    assert price_for("claude-opus-4-6") == Price(5.0, 25.0, 6.25, 0.5)
    assert price_for("claude-sonnet-5-5[1m]") == PRICES["claude-sonnet-5-5"]
    assert price_for("openai:claude-sonnet-4-6") == PRICES["claude-sonnet-4-6"]
    # a family we do not know is unknown, not silently priced as its neighbour
    assert price_for("claude-opus-4-9") is None and price_for("claude-fable-5-2") is None
    assert price_for(None) is None and price_for("llama3.1:8b") is None


def test_override_price_table(monkeypatch):
    monkeypatch.setattr(pricing, "PRICES", dict(PRICES))
    set_price("llama3", Price.of(0.0, 0.0))
    assert pricing.price_for("llama3") == Price(0.0, 0.0, 0.0, 0.0)
    custom = {"claude-sonnet-4-6": Price(1.0, 2.0, 3.0, 4.0)}
    assert price_for("claude-sonnet-4-6", custom) == custom["claude-sonnet-4-6"]
    assert price_for("claude-haiku-4-5", custom) is None


def test_billable_tokens():
    usage = {"input_tokens": 350, "cache_creation_input_tokens": 2000,
             "cache_read_input_tokens": 2000}
    assert billable_input_tokens(usage) == pytest.approx(350 + 2500 + 200)
    assert billable_input_tokens(usage, cached=False) == 4350


def test_cost_report_of_a_run():
    r = cost_report(make_run())
    assert r["model"] == "claude-sonnet-4-6" and r["calls"] == 3 and r["replayed_calls"] == 1
    assert (r["input_tokens"], r["output_tokens"]) == (350, 180)
    assert (r["cache_creation_input_tokens"], r["cache_read_input_tokens"]) == (2000, 2000)
    assert r["prompt_tokens"] == 4350
    assert r["cache_hit_rate"] == pytest.approx(2000 / 4350, abs=1e-6)
    # 350*3 + 2000*3.75 + 2000*0.30 + 180*15 per million
    assert r["cost_usd"] == pytest.approx((1050 + 7500 + 600 + 2700) / 1e6)
    assert r["cost_uncached_usd"] == pytest.approx((4350 * 3 + 2700) / 1e6)
    # replayed tokens are not billed again, only reported
    assert r["replayed_cost_usd"] == pytest.approx((150 * 3 + 2000 * 0.3 + 50 * 15) / 1e6)


def test_cost_report_model_override_and_unknown_price():
    r = cost_report(make_run(), model="claude-haiku-4-5")
    assert r["model"] == "claude-haiku-4-5" and r["price"]["input"] == 1.0
    unknown = cost_report(make_run("my_llm"))
    assert unknown["cost_usd"] is None and unknown["price"] is None
    assert "unknown (no price for this model)" in format_cost(unknown)


def test_format_cost_exact_text():
    assert format_cost(cost_report(make_run())) == (
        "model                claude-sonnet-4-6\n"
        "model calls          3 (1 replayed from a cassette, $0.001800 when recorded)\n"
        "input tokens         4,350\n"
        "  uncached           350\n"
        "  cache write        2,000\n"
        "  cache read         2,000\n"
        "output tokens        180\n"
        "cache hit rate       46.0%\n"
        "billable input       3,050 (4,350 without caching)\n"
        "cost                 $0.011850 (without caching $0.015750)")


def test_empty_run_has_zero_rate():
    r = cost_report(Run("t", meta={"model": "claude-haiku-4-5"}))
    assert r["prompt_tokens"] == 0 and r["cache_hit_rate"] == 0.0 and r["cost_usd"] == 0.0


# -- cost and tokens by model (routing by depth), token sources ------------------------------
def test_cost_by_model_over_a_routed_run():
    run = make_run("claude-sonnet-4-6")
    local = run.new_node("c", "z = c()", parent=run.root)
    local.depth = 2
    local.model = "qwen"  # the node field the engine sets from Reply.model
    local.usage = {"input_tokens": 900, "output_tokens": 40, "calls_tokenize": 1}
    local.llm_calls = 1
    run.root.llm_calls = run.nodes()[1].llm_calls = 1
    by_model = pricing.cost_by_model(run)
    assert set(by_model) == {"claude-sonnet-4-6", "qwen"}
    assert by_model["qwen"]["cost_usd"] is None and by_model["qwen"]["prompt_tokens"] == 900
    assert by_model["qwen"]["token_sources"] == {"tokenize": 1}
    assert by_model["claude-sonnet-4-6"]["cost_usd"] == pytest.approx(
        cost_report(make_run())["cost_usd"])
    text = pricing.format_cost_by_model(by_model)
    assert text.splitlines()[-1].startswith("total") and "+ unknown" in text
    assert "qwen                     1       900        40" in text


def test_cost_by_model_over_replies():
    from recode_magic.llms import Reply

    replies = [Reply("a", {"input_tokens": 10, "output_tokens": 2, "source": "server"},
                     "claude-haiku-4-5"),
               Reply("b", {"input_tokens": 7, "output_tokens": 1, "source": "estimate"},
                     "qwen")]
    usage = pricing.usage_by_model(replies)
    assert usage["qwen"] == {"input_tokens": 7, "output_tokens": 1, "calls_estimate": 1,
                             "calls": 1}


def test_format_cost_says_how_tokens_were_counted():
    report = cost_report({"input_tokens": 100, "output_tokens": 5, "calls_tokenize": 2,
                          "calls_server": 1}, model="qwen")
    assert report["token_sources"] == {"tokenize": 2, "server": 1}
    assert format_cost(report).splitlines()[-1] == (
        "tokens counted by    server (1 calls), tokenize (2 calls)")
    only_server = cost_report({"input_tokens": 1, "calls_server": 3}, model="qwen")
    assert "tokens counted by" not in format_cost(only_server)
