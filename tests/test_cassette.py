"""CassetteLLM: record, replay, misses, file format, secrets, atomic writes."""

from __future__ import annotations

import json

import pytest
from fakeapi import TEST_KEY, serve

from recode_magic.errors import CassetteMissError, NoReplyError
from recode_magic.llms import AnthropicLLM, CassetteLLM, ScriptedLLM, wrap_cassette
from recode_magic.llms.cassette import CASSETTE_VERSION, cassette_key
from recode_magic.prompts import build_prompt, fixed_part

FIXED = fixed_part(["move(dx, dy): Move the robot."])


def prompt(name: str, arg: str = "x") -> str:
    return build_prompt(FIXED, f"out = {name}({arg})", [f"- {arg} (int): 1"], name=name)


class Counting(ScriptedLLM):
    """A scripted model that also reports usage, like a real backend."""

    def __call__(self, p: str) -> str:
        reply = super().__call__(p)
        self.last_usage = {"input_tokens": 10, "output_tokens": 5,
                           "cache_creation_input_tokens": 100, "cache_read_input_tokens": 0}
        return reply


@pytest.fixture
def live():
    return Counting({"a": "<execute>out = 1</execute>", "b": "<execute>out = 2</execute>"},
                    model="m1")


def test_record_then_replay_makes_no_model_calls(tmp_path, live):
    path = tmp_path / "c.json"
    rec = CassetteLLM(live, path)
    assert rec(prompt("a")) == "<execute>out = 1</execute>"
    assert rec(prompt("b")) == "<execute>out = 2</execute>"
    assert rec.recorded == 2 and rec.last_usage["output_tokens"] == 5
    # auto mode: a hit is replayed, even with the live model present
    assert rec(prompt("a")) == "<execute>out = 1</execute>" and len(live.calls) == 2
    streamed: list[str] = []
    replay = CassetteLLM(None, path, mode="replay")
    replay.on_text = streamed.append
    assert replay.model == "m1"
    assert replay(prompt("b")) == "<execute>out = 2</execute>"
    assert streamed == ["<execute>out = 2</execute>"]
    assert replay.last_usage == {"replayed": 1, "replayed_input_tokens": 10,
                                 "replayed_output_tokens": 5,
                                 "replayed_cache_creation_input_tokens": 100,
                                 "replayed_cache_read_input_tokens": 0}
    assert len(live.calls) == 2


def test_file_is_readable_json_with_fixed_part_stored_once(tmp_path, live):
    path = tmp_path / "c.json"
    rec = CassetteLLM(live, path)
    rec(prompt("a"))
    rec(prompt("b"))
    data = json.loads(path.read_text())
    assert data["version"] == CASSETTE_VERSION
    assert list(data["fixed"].values()) == [FIXED]
    a, b = data["entries"]
    assert set(a) == {"key", "placeholder", "model", "fixed", "prompt", "reply", "usage"}
    assert a["placeholder"] == "a" and a["model"] == "m1" and a["prompt"] == prompt("a").dynamic
    assert a["key"] == cassette_key("m1", prompt("a")) and a["fixed"] == b["fixed"]
    assert rec.entries()[1]["prompt"] == str(prompt("b"))
    assert "\n " in path.read_text()  # indented, one field a line
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]  # no temporary file left


def test_replay_miss_names_the_placeholder(tmp_path, live):
    path = tmp_path / "c.json"
    CassetteLLM(live, path)(prompt("a"))
    replay = CassetteLLM(live, path, mode="replay")
    with pytest.raises(CassetteMissError, match=r"no reply for placeholder 'b'") as info:
        replay(prompt("b"))
    assert info.value.placeholder == "b" and isinstance(info.value, NoReplyError)
    assert len(live.calls) == 1  # replay mode never calls the live model
    with pytest.raises(CassetteMissError, match="placeholder 'a'"):
        CassetteLLM(None, tmp_path / "empty.json")(prompt("a"))  # auto, no model


def test_key_depends_on_model_and_prompt(tmp_path, live):
    path = tmp_path / "c.json"
    CassetteLLM(live, path)(prompt("a"))
    with pytest.raises(CassetteMissError):
        CassetteLLM(None, path, mode="replay", model="other-model")(prompt("a"))
    with pytest.raises(CassetteMissError):
        CassetteLLM(None, path, mode="replay")(prompt("a", arg="y"))


def test_record_mode_rerecords(tmp_path):
    path = tmp_path / "c.json"
    CassetteLLM(ScriptedLLM({"a": "first"}, model="m"), path)(prompt("a"))
    again = ScriptedLLM({"a": "second"}, model="m")
    assert CassetteLLM(again, path, mode="record")(prompt("a")) == "second"
    assert CassetteLLM(None, path, mode="replay")(prompt("a")) == "second"
    assert len(json.loads(path.read_text())["entries"]) == 1


def test_failed_call_keeps_earlier_recordings(tmp_path):
    path = tmp_path / "c.json"
    rec = CassetteLLM(ScriptedLLM({"a": "ok"}, model="m"), path)
    rec(prompt("a"))
    with pytest.raises(NoReplyError):
        rec(prompt("b"))
    assert [e["placeholder"] for e in json.loads(path.read_text())["entries"]] == ["a"]


def test_bad_modes(tmp_path):
    with pytest.raises(ValueError, match=r"unknown cassette mode: 'replay-only' \(must be"):
        CassetteLLM(None, tmp_path / "c.json", mode="replay-only")
    with pytest.raises(ValueError, match="needs a live model"):
        CassetteLLM(None, tmp_path / "c.json", mode="record")


def test_secrets_never_reach_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    path = tmp_path / "c.json"
    leaky = build_prompt(FIXED, "out = a(k)", [f"- k (str): '{TEST_KEY}'"], name="a")
    with serve({"a": f"<execute>out = '{TEST_KEY}'</execute>"}, min_cache_tokens=0) as api:
        rec = CassetteLLM(AnthropicLLM("claude-haiku-4-5", base_url=api.url), path)
        rec(leaky)
        assert len(api.model_requests()) == 1
    text = path.read_text()
    assert TEST_KEY not in text and "<redacted>" in text
    assert "x-api-key" not in text.lower() and "authorization" not in text.lower()
    # the key of the entry is still the hash of the real prompt: replay works
    assert CassetteLLM(None, path, mode="replay")(leaky).startswith("<execute>out = '")


def test_wrap_cassette(tmp_path, live):
    assert wrap_cassette(live, None) is live
    wrapped = wrap_cassette(live, tmp_path / "c.json", "auto")
    assert isinstance(wrapped, CassetteLLM) and wrap_cassette(wrapped, tmp_path / "d") is wrapped
    assert isinstance(wrap_cassette(None, tmp_path / "c.json", "replay"), CassetteLLM)
    with pytest.raises(ValueError):
        wrap_cassette(None, None)


def test_unknown_top_level_keys_survive_a_save(tmp_path):
    import json

    from recode_magic.llms.cassette import CassetteLLM
    from recode_magic.llms.scripted import ScriptedLLM

    path = tmp_path / "c.json"
    CassetteLLM(ScriptedLLM({"solve": "<execute>x = 1</execute>"}), path)("Placeholder: solve(t)\n")
    data = json.loads(path.read_text())
    data["note"] = "replies written by hand"
    path.write_text(json.dumps(data))
    CassetteLLM(ScriptedLLM({"other": "<execute>y = 2</execute>"}), path)("Placeholder: other()\n")
    assert json.loads(path.read_text())["note"] == "replies written by hand"
