"""OpenAICompatLLM against a fake chat-completions server, through the real openai SDK."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fakeapi import TEST_KEY, closed_port_url, count_tokens, serve

from recode_magic.errors import LLMError, UnknownModelError
from recode_magic.llms import AnthropicLLM, OpenAICompatLLM, ScriptedLLM, ask, resolve_llm
from recode_magic.llms.constrain import GBNF, JSON_SCHEMA, REGEX
from recode_magic.prompting.prompts import build_prompt, fixed_part

FIXED = fixed_part(["move(dx, dy): Move the robot."])
REPLY = "<think>One call.</think><execute>move(1, 0)</execute>"


def prompt(call: str = "step(x)", name: str = "step") -> str:
    return build_prompt(FIXED, call, ["- x (int): 3"], name=name)


@pytest.fixture
def api():
    with serve({"step": REPLY}, min_cache_tokens=0) as fake:
        yield fake


def llm_for(api, **kw) -> OpenAICompatLLM:
    kw.setdefault("grammar", False)  # plain chat; small-model mode is tested below
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


# -- small-model mode: constrained decoding -------------------------------------------------
@pytest.fixture
def llamacpp():
    with serve({"step": REPLY}, min_cache_tokens=0, flavor="llamacpp") as fake:
        yield fake


def local(api, **kw) -> OpenAICompatLLM:
    return OpenAICompatLLM("qwen", f"{api.url}/v1", api_key=TEST_KEY, **kw)


def test_llamacpp_gets_the_grammar_and_a_stop_and_tokens_are_counted(llamacpp):
    llm = local(llamacpp)
    assert llm.dialect == "gbnf"
    reply = ask(llm, prompt())
    assert reply.text == REPLY  # the stop cut `</execute>`; the backend put it back
    (req,) = llamacpp.model_requests()
    assert req["body"]["grammar"] == GBNF and req["body"]["stop"] == ["</execute>"]
    streamed = REPLY.removesuffix("</execute>")  # what the server generated and sent
    assert reply.usage == {
        "input_tokens": count_tokens(FIXED) + count_tokens(prompt().dynamic),
        "output_tokens": count_tokens(streamed), "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0, "source": "tokenize", "constrained": 1}
    assert llamacpp.tokenize == 2
    ask(llm, prompt())
    assert llamacpp.tokenize == 3  # the fixed part is counted once


def test_rejected_grammar_falls_back_once_and_is_remembered(api):
    llm = local(api)  # the fake speaks like OpenAI: unknown fields are a 400
    reply = ask(llm, prompt())
    assert reply.text == REPLY and reply.usage["grammar_rejected"] == 1
    assert "constrained" not in reply.usage and reply.usage["source"] == "server"
    first, retry = api.model_requests()
    assert "grammar" in first["body"] and "grammar" not in retry["body"]
    assert retry["body"]["stop"] == ["</execute>"]
    assert llm.grammar_rejected == "400: Unrecognized request argument supplied: grammar"
    assert llm.dialect is None
    ask(llm, prompt())
    assert len(api.model_requests()) == 3 and "grammar" not in api.model_requests()[2]["body"]


def test_a_400_about_something_else_is_an_error_and_keeps_the_grammar(llamacpp):
    llamacpp.errors = [400, 400]
    llm = local(llamacpp, max_retries=0)
    with pytest.raises(LLMError, match="model server error 400: scripted error 400"):
        llm(prompt())
    assert llm.grammar_rejected is None and llm.dialect == "gbnf"
    assert [("grammar" in r["body"]) for r in llamacpp.model_requests()] == [True, False]


def test_grammar_off_sends_nothing_extra(llamacpp):
    llm = local(llamacpp, grammar=False)
    reply = ask(llm, prompt())
    body = llamacpp.model_requests()[0]["body"]
    assert "grammar" not in body and "stop" not in body and "constrained" not in reply.usage


def test_custom_grammar_and_server_dialects(llamacpp):
    ask(local(llamacpp, grammar='root ::= "x"'), prompt())
    assert llamacpp.model_requests()[-1]["body"]["grammar"] == 'root ::= "x"'
    ask(local(llamacpp, server="vllm"), prompt())
    body = llamacpp.model_requests()[-1]["body"]
    assert body["structured_outputs"] == {"regex": REGEX} and "grammar" not in body
    llamacpp.replies["step"] = '{"think": "one call", "execute": "move(1, 0)"}'
    reply = ask(local(llamacpp, server="ollama"), prompt())
    body = llamacpp.model_requests()[-1]["body"]
    assert body["response_format"]["json_schema"]["schema"] == JSON_SCHEMA
    assert "stop" not in body
    assert reply.text == "<think>one call</think><execute>move(1, 0)</execute>"


def test_auto_is_off_for_openai_itself():
    assert OpenAICompatLLM("gpt-x").dialect is None
    assert OpenAICompatLLM("gpt-x", grammar=True).dialect == "json"
    assert OpenAICompatLLM("q", "http://localhost:11434/v1").dialect == "json"


def test_tokens_never_zero(llamacpp):
    llm = local(llamacpp, count_tokens=False)
    usage = ask(llm, prompt()).usage
    assert usage["source"] == "estimate" and usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0


def test_llama_server_tokenize_route():
    with serve({"step": REPLY}, flavor="llama-server") as fake:
        fake.stream_usage = False
        usage = ask(local(fake), prompt()).usage
        assert usage["source"] == "tokenize" and fake.tokenize == 2
        assert usage["input_tokens"] == count_tokens(FIXED) + count_tokens(prompt().dynamic)


def test_stream_cut_short_by_the_server_is_asked_again_without_streaming(llamacpp):
    llamacpp.interrupts = 1
    seen: list[str] = []
    reply = ask(local(llamacpp), prompt(), on_text=seen.append)
    assert reply.text == REPLY and reply.stop_reason == "stop"
    assert seen[-1] == REPLY.removesuffix("</execute>")  # the text as the server sent it
    first, again = llamacpp.model_requests()
    assert first["body"]["stream"] is True and "stream" not in again["body"]
    assert again["body"]["grammar"] == GBNF
    assert reply.usage["stream_interrupted"] == 1 and reply.usage["source"] == "server"


def test_busy_tokenizer_is_given_up_for_a_while(llamacpp, monkeypatch):
    from recode_magic.llms import tokens

    llm = local(llamacpp, timeout=5)
    llamacpp.delay = 0.3  # every request waits, as behind another client's generation
    monkeypatch.setattr(tokens.ServerTokenizer, "BACKOFF", 60.0)
    llm._server_count("FIXED", "rest")  # creates the tokenizer
    llm._tokenizer.timeout = 0.1
    llm._tokenizer._cache.clear()
    assert llm._tokenizer.count("some text") is None  # timed out
    before = len(llamacpp.requests)
    assert llm._tokenizer.count("more text") is None and len(llamacpp.requests) == before


def test_a_plan_request_is_sampled_under_the_plan_grammar(llamacpp):
    from recode_magic.llms.constrain import PLAN_GBNF
    from recode_magic.prompting.feedback import decompose_feedback
    from recode_magic.prompting.prompts import build_prompt

    feedback = decompose_feedback("x = f(", "SyntaxError: bad", [], ["answer"], restart=True)
    plan = build_prompt(FIXED, "step(x)", ["- x (int): 1"], feedback=feedback)
    assert plan.shape == "plan" and prompt().shape == "code"
    llm = local(llamacpp)
    ask(llm, plan)
    ask(llm, prompt())
    ask(local(llamacpp, grammar='root ::= "x"'), plan)  # a user's grammar wins
    first, second, custom = (r["body"]["grammar"] for r in llamacpp.model_requests())
    assert (first, second, custom) == (PLAN_GBNF, GBNF, 'root ::= "x"')
