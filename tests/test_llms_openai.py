"""OpenAICompatLLM against a fake chat-completions server, through the real openai SDK."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fakeapi import TEST_KEY, closed_port_url, count_tokens, serve

from recode_magic.errors import LLMError, UnknownModelError
from recode_magic.llms import AnthropicLLM, OpenAICompatLLM, ScriptedLLM, resolve_llm
from recode_magic.prompts import build_prompt, fixed_part

FIXED = fixed_part(["move(dx, dy): Move the robot."])
REPLY = "<think>One call.</think><execute>move(1, 0)</execute>"


def prompt(call: str = "step(x)", name: str = "step") -> str:
    return build_prompt(FIXED, call, ["- x (int): 3"], name=name)


@pytest.fixture
def api():
    with serve({"step": REPLY}, min_cache_tokens=0) as fake:
        yield fake


def llm_for(api, **kw) -> OpenAICompatLLM:
    return OpenAICompatLLM("llama3.1:8b", f"{api.url}/v1", api_key=TEST_KEY, **kw)


def test_request_streams_with_system_message(api):
    llm = llm_for(api, max_tokens=256)
    seen: list[str] = []
    llm.on_text = seen.append
    p = prompt()
    assert llm(p) == REPLY
    (req,) = api.model_requests()
    body = req["body"]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["authorization"] == f"Bearer {TEST_KEY}"
    assert body["model"] == "llama3.1:8b" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True} and body["max_tokens"] == 256
    assert body["messages"] == [{"role": "system", "content": FIXED},
                                {"role": "user", "content": p.dynamic}]
    assert len(seen) > 2 and seen[-1] == REPLY


def test_usage_normalised_with_cached_prefix(api):
    llm = llm_for(api)
    llm(prompt())
    assert llm.last_usage == {"input_tokens": count_tokens(FIXED) + count_tokens(
        prompt().dynamic), "output_tokens": count_tokens(REPLY),
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "source": "server"}
    llm(prompt())
    assert llm.last_usage["cache_read_input_tokens"] == count_tokens(FIXED)
    assert llm.last_usage["input_tokens"] == count_tokens(prompt().dynamic)


def test_plain_prompt_single_user_message(api):
    llm_for(api)("Placeholder: step(x)\n")
    assert api.model_requests()[0]["body"]["messages"] == [
        {"role": "user", "content": "Placeholder: step(x)\n"}]


def test_no_key_uses_a_dummy_for_local_servers(api, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    api.api_key = "not-needed"
    assert OpenAICompatLLM("m", f"{api.url}/v1")(prompt()) == REPLY


def test_rejected_key(api):
    with pytest.raises(LLMError, match=r"key rejected \(401\)") as info:
        OpenAICompatLLM("m", f"{api.url}/v1", api_key="wrong")(prompt())
    assert info.value.status == 401 and "wrong" not in str(info.value)


def test_server_errors_retried_then_clear_message(api):
    api.errors = [500, 503]
    assert llm_for(api, max_retries=2)(prompt()) == REPLY
    api.errors = [429, 429, 429]
    with pytest.raises(LLMError, match=r"answered 429 after 2 retries") as info:
        llm_for(api, max_retries=2)(prompt())
    assert info.value.status == 429 and "\n" not in str(info.value)


def test_connection_refused_names_the_url():
    url = f"{closed_port_url()}/v1"
    with pytest.raises(LLMError, match=f"cannot connect to the model server at {url} "):
        OpenAICompatLLM("m", url, api_key="x", max_retries=0)(prompt())


def test_missing_openai_package_says_how_to_install(tmp_path):
    blocker = tmp_path / "openai.py"
    blocker.write_text("raise ImportError('blocked for the test')\n")
    code = ("import recode_magic.llms as l\n"
            "try:\n    l.OpenAICompatLLM('m', 'http://127.0.0.1:9/v1')('hi')\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path)}, check=True)
    assert out.stdout.startswith("MissingDependencyError")
    assert 'pip install "recode_magic[openai]"' in out.stdout


# -- resolve_llm --------------------------------------------------------------------------
def test_resolve_llm_rules():
    mine = ScriptedLLM({})
    ns = {"mine": mine, "not_callable": 3}
    assert resolve_llm("mine", ns, default_model="claude-x") is mine
    assert resolve_llm(mine, ns, default_model="claude-x") is mine
    default = resolve_llm(None, ns, default_model="claude-opus-5-5")
    assert isinstance(default, AnthropicLLM) and default.model == "claude-opus-5-5"
    proxied = resolve_llm("claude-haiku-4-5", ns, default_model="x", base_url="http://p",
                          max_retries=0)
    assert isinstance(proxied, AnthropicLLM) and proxied.base_url == "http://p"
    assert proxied.max_retries == 0
    oa = resolve_llm("openai:gpt-x", ns, default_model="x")
    assert isinstance(oa, OpenAICompatLLM) and (oa.model, oa.base_url) == ("gpt-x", None)
    local = resolve_llm("qwen2.5", ns, default_model="x", base_url="http://h:8080/v1")
    assert isinstance(local, OpenAICompatLLM) and local.model == "qwen2.5"
    for bad in ("not_callable", "gpt-4o", "missing"):
        with pytest.raises(UnknownModelError, match=f"unknown model or callable: '{bad}' "
                                                    r"\(give a callable's name"):
            resolve_llm(bad, ns, default_model="x")
