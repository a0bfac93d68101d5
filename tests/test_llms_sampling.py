"""Per-call sampling options (temperature, seed) in the backend contract.

Through :func:`recode_magic.llms.ask`: the HTTP backends against the loopback fake servers
of ``fakeapi`` (real SDKs), the embedded backend with a fake llama.cpp server, the routed
and user-written backends, and the cassette.
"""

from __future__ import annotations

import pytest
from fakeapi import TEST_KEY, serve

from recode_magic.llms import (
    AnthropicLLM,
    CassetteLLM,
    OpenAICompatLLM,
    Reply,
    RoutedLLM,
    ScriptedLLM,
    anthropic_llm,
    ask,
    base,
    default,
)
from recode_magic.llms.base import asks_together, takes_sampling
from recode_magic.llms.local import LocalLLM
from recode_magic.prompting.prompts import build_prompt, fixed_part

FIXED = fixed_part(["move(dx, dy): Move the robot."])
REPLY = "<think>One call.</think><execute>move(1, 0)</execute>"


def prompt() -> str:
    return build_prompt(FIXED, "step(x)", ["- x (int): 3"], name="step")


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    with serve({"step": REPLY}, min_cache_tokens=0) as fake:
        yield fake


def test_openai_backend_sends_this_calls_temperature_and_seed(api):
    llm = OpenAICompatLLM("qwen", f"{api.url}/v1", api_key=TEST_KEY, grammar=False,
                          temperature=0.0)
    assert takes_sampling(llm) and asks_together(llm)
    assert ask(llm, prompt(), temperature=0.7, seed=3).text == REPLY
    assert ask(llm, prompt()).text == REPLY
    sampled, plain = (r["body"] for r in api.model_requests())
    assert sampled["temperature"] == 0.7 and sampled["seed"] == 3
    assert plain["temperature"] == 0.0 and "seed" not in plain  # the backend's own again
    assert llm.temperature == 0.0 and llm.calls == 2


def test_anthropic_backend_takes_the_options_and_sends_no_sampling_parameter(api):
    """The Messages API of the 2.x SDK answers 400 to any sampling parameter (and the SDK
    has none): the call goes through as a plain one, with the backend's too."""
    llm = AnthropicLLM("claude-sonnet-5-5", base_url=api.url, temperature=0.2)
    assert takes_sampling(llm) and asks_together(llm)
    assert ask(llm, prompt(), temperature=0.7, seed=3).text == REPLY
    assert llm(prompt()) == REPLY  # the constructor's temperature used to fail every call
    for body in (r["body"] for r in api.model_requests()):
        assert not {"temperature", "seed", "top_p", "top_k"} & set(body)


class FakeServer:
    """Stands for ``xllamacpp.Server``: keeps the requests, streams one reply."""

    def __init__(self):
        self.requests: list[dict] = []

    def handle_chat_completions(self, req, callback):
        self.requests.append(req)
        callback({"choices": [{"index": 0, "finish_reason": None,
                               "delta": {"content": REPLY}}]})
        callback({"choices": [{"index": 0, "finish_reason": "stop", "delta": {}}]})


def test_local_backend_puts_temperature_and_seed_in_the_request():
    server = FakeServer()
    llm = LocalLLM("qwen2.5-coder-0.5b", server=server)
    ask(llm, prompt(), temperature=0.7, seed=5)
    ask(llm, prompt())
    sampled, plain = server.requests
    assert sampled["temperature"] == 0.7 and sampled["seed"] == 5
    assert plain["temperature"] == 0.0 and "seed" not in plain
    assert not asks_together(llm) and asks_together(LocalLLM("qwen2.5-coder-0.5b",
                                                             server=server, parallel=4))


class Narrow:
    """A user's backend whose ``respond`` predates the sampling options."""

    model = "narrow"

    def respond(self, prompt, *, on_text=None, depth=None):
        return Reply("<execute>x = 1</execute>", {}, self.model)


class Wide:
    """A user's backend that takes any keyword."""

    def __init__(self):
        self.kw: list[dict] = []

    def respond(self, prompt, **kw):
        self.kw.append(kw)
        return "<execute>x = 1</execute>"


def test_backends_that_do_not_take_the_options_answer_as_always():
    assert ask(Narrow(), "p", temperature=0.7, seed=1).text == "<execute>x = 1</execute>"
    assert ask(lambda p: "plain", "p", temperature=0.7, seed=1).text == "plain"
    scripted = ScriptedLLM({"solve": "<execute>x = 1</execute>"})
    assert ask(scripted, "Placeholder: solve(task)\n", temperature=0.7).text.endswith(
        "</execute>")
    assert not takes_sampling(Narrow()) and not takes_sampling(scripted)
    wide = Wide()
    ask(wide, "p", temperature=0.5, seed=2)
    ask(wide, "p")
    assert wide.kw == [{"on_text": None, "depth": None, "temperature": 0.5, "seed": 2},
                       {"on_text": None, "depth": None}]
    assert takes_sampling(wide)


def test_routed_model_passes_the_options_to_the_model_of_the_depth():
    root, deep = Wide(), Wide()
    llm = RoutedLLM({0: root, 2: deep})
    ask(llm, "p", depth=3, temperature=0.9, seed=4)
    assert root.kw == [] and deep.kw[0]["temperature"] == 0.9 and deep.kw[0]["seed"] == 4
    assert takes_sampling(llm) and not takes_sampling(RoutedLLM({0: root, 1: Narrow()}))


def test_cassette_keys_sampled_calls_apart_and_passes_the_options_on(tmp_path):
    wide = Wide()
    wide.model = "wide"  # type: ignore[attr-defined]
    cas = CassetteLLM(wide, tmp_path / "c.json")
    p = "Placeholder: solve(task)\n"
    for seed in (None, 1, 2):
        ask(cas, p, temperature=None if seed is None else 0.7, seed=seed)
    assert cas.recorded == 3 and len(cas) == 3
    assert [k.get("seed") for k in wide.kw] == [None, 1, 2]
    replay = CassetteLLM(None, tmp_path / "c.json", mode="replay")
    assert ask(replay, p, temperature=0.7, seed=2).usage["replayed"] == 1
    assert replay.hits == 1 and replay.concurrent_calls and takes_sampling(replay)
    assert takes_sampling(cas) and not takes_sampling(CassetteLLM(ScriptedLLM({}), cas.path))
    with pytest.raises(Exception, match="no reply for placeholder 'solve'"):
        ask(replay, p, temperature=0.7, seed=3)  # a candidate never recorded is a miss


def test_key_env_is_defined_once():
    assert anthropic_llm.KEY_ENV is base.KEY_ENV is default.KEY_ENV
    assert base.KEY_ENV == "ANTHROPIC_API_KEY"
