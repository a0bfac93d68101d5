"""The backend contract: ask(), Reply, the registry, make_llm (no network)."""

from __future__ import annotations

import json

import pytest

from recode_magic.errors import CassetteMissError, UnknownModelError
from recode_magic.llms import (
    DEFAULT_MODEL,
    AnthropicLLM,
    CassetteLLM,
    OpenAICompatLLM,
    Reply,
    RoutedLLM,
    ScriptedLLM,
    ask,
    is_thread_safe,
    make_llm,
    merge_usage,
    parse_routes,
    register,
    resolve_llm,
)

SOLVE = "<think>t</think><execute>x = 1</execute>"


class Legacy:
    """A user-written backend of the old kind: on_text and last_usage attributes."""

    model = "legacy-1"

    def __init__(self):
        self.on_text = "theirs"
        self.last_usage = None
        self.seen = []

    def __call__(self, prompt):
        if callable(self.on_text):
            self.on_text("partial")
        self.seen.append(self.on_text)
        self.last_usage = {"input_tokens": 7, "output_tokens": 3}
        return "done"


def test_ask_plain_callable():
    reply = ask(lambda p: b"bytes reply", "Placeholder: solve(task)")
    assert reply == Reply("bytes reply", {"source": "none"}, None)
    assert reply.tokens() == {}


def test_ask_legacy_backend_gets_callback_and_it_is_restored():
    llm, got = Legacy(), []
    reply = ask(llm, "p", on_text=got.append)
    assert got == ["partial"] and llm.on_text == "theirs"
    assert reply.usage == {"input_tokens": 7, "output_tokens": 3, "source": "server"}
    assert reply.model == "legacy-1" and reply.tokens() == {"input_tokens": 7,
                                                            "output_tokens": 3}


def test_ask_prefers_respond_and_passes_depth():
    class Rich:
        def __call__(self, prompt):  # pragma: no cover - must not be used
            raise AssertionError

        def respond(self, prompt, *, on_text=None, depth=None):
            return Reply(f"d={depth}", {"input_tokens": 1, "source": "server"}, "rich")

    assert ask(Rich(), "p", depth=3).text == "d=3"

    class TextOnly:
        model = "t"

        def respond(self, prompt, *, on_text=None, depth=None):
            return "just text"

        def __call__(self, prompt):  # pragma: no cover
            return ""

    assert ask(TextOnly(), "p") == Reply("just text", {"source": "none"}, "t")


def test_merge_usage_counts_sources():
    total: dict[str, int] = {}
    merge_usage(total, {"input_tokens": 2, "source": "server", "flag": True})
    merge_usage(total, {"input_tokens": 3, "source": "estimate"})
    assert total == {"input_tokens": 5, "calls_server": 1, "calls_estimate": 1}


def test_thread_safe_flags():
    assert is_thread_safe(AnthropicLLM("claude-x"))
    assert is_thread_safe(OpenAICompatLLM("m", "http://h/v1"))
    assert not is_thread_safe(lambda p: p) and not is_thread_safe(ScriptedLLM({}))


def test_registry_prefixes_and_one_line_registration():
    assert isinstance(resolve_llm("ollama:qwen", {}), OpenAICompatLLM)
    assert resolve_llm("ollama:qwen", {}).base_url == "http://localhost:11434/v1"
    assert resolve_llm("llamacpp:q", {}).base_url == "http://127.0.0.1:8080/v1"
    assert resolve_llm("anthropic:claude-z", {}).model == "claude-z"
    assert resolve_llm(None, {}).model == DEFAULT_MODEL
    register("fake-", lambda model, base_url=None, **kw: ScriptedLLM({}, model=model),
             strip=False)
    assert resolve_llm("fake-1", {}).model == "fake-1"
    with pytest.raises(UnknownModelError, match="unknown model or callable: 'nope'"):
        resolve_llm("nope", {})


def _cassette(tmp_path, model="qwen-local"):
    path = tmp_path / "c.json"
    live = ScriptedLLM({"solve": SOLVE}, model=model)
    CassetteLLM(live, path)("Placeholder: solve(task)\n")
    return path


def test_make_llm_replay_without_llm_uses_recorded_model_and_never_goes_live(tmp_path,
                                                                            monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    path = _cassette(tmp_path)
    llm = make_llm(None, namespace={}, cassette=path)  # mode "auto", no --llm
    assert isinstance(llm, CassetteLLM) and llm.inner is None and llm.model == "qwen-local"
    assert ask(llm, "Placeholder: solve(task)\n").text == SOLVE
    with pytest.raises(CassetteMissError, match="no reply for placeholder 'other'"):
        ask(llm, "Placeholder: other(task)\n")
    assert llm.misses == 1 and llm.missed == ["other"]


def test_make_llm_strict_replay_with_llm_builds_no_live_model(tmp_path):
    path = _cassette(tmp_path)
    llm = make_llm("openai:qwen-local", cassette=path, mode="replay",
                   base_url="http://127.0.0.1:9/v1")
    assert llm.mode == "replay" and llm.model == "qwen-local"
    assert llm("Placeholder: solve(task)\n") == SOLVE
    with pytest.raises(CassetteMissError):  # the live model is never asked
        llm("Placeholder: other(task)\n")


def test_make_llm_empty_cassette_records_default_and_spec_in_namespace(tmp_path):
    mine = ScriptedLLM({"solve": SOLVE}, model="mine")
    llm = make_llm("mine", namespace={"mine": mine}, cassette=tmp_path / "new.json")
    assert llm.inner is mine and llm.mode == "auto"
    assert llm("Placeholder: solve(task)\n") == SOLVE
    assert llm.misses == 1 and llm.recorded == 1
    data = json.loads((tmp_path / "new.json").read_text())
    assert data["entries"][0]["model"] == "mine"
    fresh = make_llm(None, cassette=tmp_path / "none.json")
    assert isinstance(fresh.inner, AnthropicLLM) and fresh.inner.model == DEFAULT_MODEL


def test_make_llm_grammar_only_reaches_openai_backends():
    assert make_llm("openai:m", base_url="http://h/v1", grammar=False).grammar is False
    assert not hasattr(make_llm("claude-x", grammar=False), "grammar")
    with pytest.raises(ValueError, match="unknown cassette mode: 'play'"):
        make_llm(None, cassette="x.json", mode="play")


# -- routing by depth ------------------------------------------------------------------------
def test_routed_llm_picks_by_depth_and_names_the_model():
    big = ScriptedLLM({"solve": SOLVE, "step": "<execute>big()</execute>"}, model="big")
    small = ScriptedLLM({"step": "<execute>small()</execute>"}, model="small")
    llm = RoutedLLM({0: big, 2: small})
    step = "Placeholder: step(x)\n"
    assert [ask(llm, step, depth=d).model for d in (0, 1, 2, 7)] == ["big", "big", "small",
                                                                      "small"]
    assert llm(step) == "<execute>big()</execute>"  # no depth known: the root's model
    assert llm.model == "big" and not llm.thread_safe
    assert len(big.calls) == 3 and len(small.calls) == 2
    with pytest.raises(ValueError, match="need one for depth 0"):
        RoutedLLM({1: big})


def test_make_llm_builds_routes_from_specs():
    mine = ScriptedLLM({}, model="mine")
    llm = make_llm("claude-opus-5-5, 2:openai:qwen, 4:mine", namespace={"mine": mine},
                   base_url="http://h:8080/v1", grammar=False)
    assert isinstance(llm, RoutedLLM)
    assert [llm.model_at(d) for d in (0, 2, 3, 4)] == ["claude-opus-5-5", "qwen", "qwen",
                                                       "mine"]
    assert llm.pick(2).grammar is False and llm.pick(2).base_url == "http://h:8080/v1"
    assert llm.pick(0).base_url is None  # the local server's URL is not Claude's
    assert isinstance(make_llm({0: "claude-x", 1: mine}), RoutedLLM)
    assert parse_routes("a,1:b") == {0: "a", 1: "b"}
