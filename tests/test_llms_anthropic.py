"""AnthropicLLM against a fake Messages API on 127.0.0.1, through the real anthropic SDK."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from fakeapi import TEST_KEY, closed_port_url, count_tokens, serve

from recode_magic.errors import LLMError, MissingKeyError
from recode_magic.llms import AnthropicLLM
from recode_magic.prompting.prompts import build_prompt, fixed_part

MODEL = "claude-sonnet-5-5"
FIXED = fixed_part(["move(dx, dy): Move the robot.", "read_sensor(name): Read a sensor."])
REPLY = "<think>Two primitive calls.</think><execute>move(1, 0)\nb = read_sensor('bat')</execute>"


def prompt(call: str = "b = go_charge(x)", name: str = "go_charge") -> str:
    return build_prompt(FIXED, call, ["- x (int): 3"], name=name)


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    with serve({"go_charge": REPLY, "*": "<execute>pass</execute>"}, min_cache_tokens=0) as fake:
        yield fake


def llm_for(api, **kw) -> AnthropicLLM:
    return AnthropicLLM(MODEL, base_url=api.url, **kw)


def test_request_has_cached_system_block_and_streams(api):
    llm = llm_for(api, max_tokens=1000)
    seen: list[str] = []
    llm.on_text = seen.append
    p = prompt()
    assert llm(p) == REPLY
    (req,) = api.model_requests()
    body = req["body"]
    assert req["path"] == "/v1/messages"
    headers = req["headers"]
    assert TEST_KEY in (headers.get("x-api-key"), headers.get("authorization", "")[7:])
    assert headers["anthropic-version"]
    assert body["model"] == MODEL and body["max_tokens"] == 1000 and body["stream"] is True
    assert body["system"] == [{"type": "text", "text": FIXED,
                               "cache_control": {"type": "ephemeral"}}]
    assert body["messages"] == [{"role": "user", "content": p.dynamic}]
    # streamed in several pieces, each callback with the text so far
    assert len(seen) > 3 and seen[-1] == REPLY
    assert all(REPLY.startswith(s) for s in seen) and seen == sorted(seen, key=len)


def test_usage_cache_write_then_reads(api):
    llm = llm_for(api)
    llm(prompt())
    first = llm.last_usage
    llm(prompt("y = other_step(x)", "other_step"))
    second = llm.last_usage
    fixed_tokens = count_tokens(FIXED)
    assert first["cache_creation_input_tokens"] == fixed_tokens
    assert first["cache_read_input_tokens"] == 0
    assert second["cache_creation_input_tokens"] == 0
    assert second["cache_read_input_tokens"] == fixed_tokens
    assert second["input_tokens"] == count_tokens(prompt("y = other_step(x)", "other_step")
                                                  .dynamic)
    assert first["output_tokens"] == count_tokens(REPLY)
    assert llm.last_stop_reason == "end_turn" and llm.calls == 2


def test_plain_string_prompt_is_one_user_message(api):
    llm = llm_for(api)
    llm("Placeholder: go_charge(x)\n")
    body = api.model_requests()[0]["body"]
    assert "system" not in body
    assert body["messages"] == [{"role": "user", "content": "Placeholder: go_charge(x)\n"}]
    assert llm.last_usage["cache_read_input_tokens"] == 0


def test_cache_off_sends_everything_as_user_text(api):
    llm = llm_for(api, cache=False)
    llm(prompt())
    body = api.model_requests()[0]["body"]
    assert "system" not in body and body["messages"][0]["content"] == str(prompt())


def test_missing_key_is_one_line_and_makes_no_request(api, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    llm = llm_for(api)
    with pytest.raises(MissingKeyError, match=r"set ANTHROPIC_API_KEY") as info:
        llm(prompt())
    assert "\n" not in str(info.value) and "%env ANTHROPIC_API_KEY=" in str(info.value)
    assert api.model_requests() == []
    # the key is read again on the next call: setting it afterwards is enough
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    assert llm(prompt()) == REPLY


def test_rejected_key_401(api, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-wrong")
    with pytest.raises(LLMError, match="key rejected") as info:
        llm_for(api)(prompt())
    assert info.value.status == 401 and info.value.model == MODEL
    assert "\n" not in str(info.value) and "sk-ant-test-wrong" not in str(info.value)
    assert len(api.model_requests()) == 1  # 401 is not retried


@pytest.mark.parametrize("status", [429, 500, 529])
def test_transient_errors_are_retried_then_succeed(api, status):
    api.errors = [status, status]
    start = time.monotonic()
    assert llm_for(api, max_retries=2)(prompt()) == REPLY
    assert len(api.model_requests()) == 3
    assert time.monotonic() - start < 2  # retry-after-ms from the server keeps it short


@pytest.mark.parametrize("status, words", [(429, "rate limited"), (500, "server error"),
                                           (529, "overloaded")])
def test_transient_errors_exhausted_give_clear_message(api, status, words):
    api.errors = [status] * 3
    with pytest.raises(LLMError, match=f"{words} \\({status}\\) after 2 retries") as info:
        llm_for(api, max_retries=2)(prompt())
    assert info.value.status == status and "\n" not in str(info.value)
    assert len(api.model_requests()) == 3


def test_overloaded_inside_the_stream(api):
    api.errors = ["overloaded-midstream"]
    seen: list[str] = []
    llm = llm_for(api, max_retries=0)
    llm.on_text = seen.append
    with pytest.raises(LLMError, match="overloaded") as info:
        llm(prompt())
    assert info.value.status == 529 and seen  # some text had arrived
    assert llm.last_usage is None


def test_timeout(api):
    api.delay = 2.0
    start = time.monotonic()
    with pytest.raises(LLMError, match=r"timed out \(0.3 s per attempt, after 0 retries"):
        llm_for(api, timeout=0.3, max_retries=0)(prompt())
    assert time.monotonic() - start < 1.5


def test_connection_refused_names_the_url(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    url = closed_port_url()
    with pytest.raises(LLMError, match=f"cannot connect to the Anthropic API at {url} ") as info:
        AnthropicLLM(MODEL, base_url=url, max_retries=0)(prompt())
    assert "\n" not in str(info.value) and info.value.status is None


def test_unknown_model_404(api):
    api.errors = [404]
    with pytest.raises(LLMError, match="model 'claude-sonnet-5-5' not found") as info:
        llm_for(api)(prompt())
    assert info.value.status == 404


def test_key_not_in_repr(api):
    llm = llm_for(api)
    llm(prompt())
    assert TEST_KEY not in repr(llm) and TEST_KEY not in repr(vars(llm))


def test_import_is_lazy():
    code = ("import sys, recode_magic, recode_magic.llms as l; l.AnthropicLLM('claude-x'); "
            "l.OpenAICompatLLM('m', 'http://x/v1'); "
            "print('anthropic' in sys.modules, 'openai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]


def test_respond_is_safe_from_several_threads(api):
    """One backend, concurrent calls (parallel expansion): each stream goes to its caller."""
    from concurrent.futures import ThreadPoolExecutor

    from recode_magic.llms import ask, is_thread_safe

    api.replies.update({f"step_{i}": f"<execute>x{i} = {i}</execute>" * 3 for i in range(6)})
    api.delay = 0.2
    llm = llm_for(api)
    assert is_thread_safe(llm)

    def one(i: int):
        seen: list[str] = []
        reply = ask(llm, prompt(f"x{i} = step_{i}(x)", f"step_{i}"), on_text=seen.append)
        return i, reply, seen

    one(0)  # the first call imports the SDK and builds the client (seconds): not timed
    start = time.perf_counter()
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(6)))
    assert time.perf_counter() - start < 6 * 0.2  # they overlapped
    for i, reply, seen in results:
        assert reply.text == f"<execute>x{i} = {i}</execute>" * 3 and seen[-1] == reply.text
        assert all(s.startswith("<execute>x" + str(i)) for s in seen)
        assert reply.usage["source"] == "server" and reply.model == MODEL
    assert llm.on_text is None and llm.last_usage is None  # nothing left on the object
