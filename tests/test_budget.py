"""Budgets per run (recode_magic.engine.budget): stop ``limit`` before a call could pass them."""

from __future__ import annotations

import pytest
from conftest import Priced

from recode_magic import ReCode, ScriptedLLM
from recode_magic.engine.budget import DEFAULT_MAX_REPLY, Spend, project
from recode_magic.errors import ConfigError


def X(code: str) -> str:
    return f"<think>t</think><execute>{code}</execute>"


REPLIES = {"solve": X("a = one(task)\nb = two(task)\nc = three(task)"),
           "one": X("a = act(1)"), "two": X("b = act(2)"), "three": X("c = act(3)")}


def _engine(llm, **kw):
    log = []
    return ReCode(llm, namespace={"act": log.append}, **kw), log


def test_token_budget_stops_limit_before_the_call_that_could_pass_it():
    llm = Priced(REPLIES)
    per_call = project(llm, "x" * 4000, 0).tokens  # more than one of our prompts
    assert 1000 < per_call < 3500
    engine, log = _engine(llm, budget_tokens=6000)  # 2 calls of 2,500, the 3rd may pass
    run = engine.run("t")
    assert run.status == "limit" and run.llm_calls == 2
    assert run.error.startswith("token budget: 5,000 tokens spent, the next call may take up")
    assert "budget_tokens=" in run.error and "\n" not in run.error
    assert log == [1]


def test_a_budget_stopped_run_resumes_with_a_larger_budget():
    engine, log = _engine(Priced(REPLIES), budget_tokens=6000)
    run = engine.run("t")
    assert run.status == "limit"
    assert engine.resume(run).status == "limit"  # the same budget: stops again
    run = engine.resume(run, budget_tokens=None)
    assert run.status == "done" and log == [1, 2, 3] and run.llm_calls == 4


def test_dollar_budget_uses_the_price_table():
    # one call: 2000 in + 500 out at $1/$5 per M = $0.0045; projected <= 1000 + ~700 in
    engine, _ = _engine(Priced(REPLIES), budget_usd=0.012)
    run = engine.run("t")
    assert run.status == "limit" and run.llm_calls == 2
    assert run.error.startswith("dollar budget: $0.0090 spent on claude-haiku-4-5")


def test_dollar_budget_without_a_price_is_noted_not_enforced():
    engine, log = _engine(ScriptedLLM(REPLIES), budget_usd=0.01)
    run = engine.run("t")
    assert run.status == "done" and log == [1, 2, 3]
    assert any("budget_usd is not enforced for model 'scripted'" in w for w in run.warnings)


def test_calls_with_no_token_figures_are_estimated():
    engine, _ = _engine(ScriptedLLM(REPLIES), budget_tokens=DEFAULT_MAX_REPLY + 10)
    run = engine.run("t")
    assert run.status == "limit" and run.llm_calls == 0  # the first call could pass it
    s = Spend()
    s.add({"source": "none"}, "scripted", "p" * 400, "r" * 40)
    assert s.tokens == 110


def test_replayed_calls_cost_nothing():
    s = Spend()
    s.add({"replayed": 1, "replayed_input_tokens": 900, "source": "cassette"}, "m", "p", "r")
    assert (s.tokens, s.usd, s.calls) == (0, 0.0, 1)


@pytest.mark.parametrize("kw, msg", [
    ({"budget_tokens": 0}, "budget_tokens must be an int >= 1, got 0"),
    ({"budget_usd": -1.0}, "budget_usd must be a finite number of dollars > 0, got -1.0"),
    ({"prefetch": -2}, "prefetch must be an int >= 0, got -2"),
])
def test_bad_settings_are_refused(kw, msg):
    with pytest.raises(ConfigError, match=msg.replace("$", r"\$").replace(".", r"\.")):
        ReCode(ScriptedLLM({}), **kw)


def test_resume_refuses_settings_it_cannot_change():
    engine, _ = _engine(Priced(REPLIES), budget_tokens=6000)
    run = engine.run("t")
    with pytest.raises(ConfigError, match="resume\\(\\) cannot change 'trust'"):
        engine.resume(run, trust=True)
