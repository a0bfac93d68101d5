"""CassetteLLM: record, replay, misses, file format, secrets, atomic writes."""

from __future__ import annotations

import json

import pytest
from fakeapi import TEST_KEY, serve

from recode_magic.errors import CassetteMissError, NoReplyError
from recode_magic.llms import AnthropicLLM, CassetteLLM, ScriptedLLM, ask, make_llm, wrap_cassette
from recode_magic.llms.cassette import CASSETTE_VERSION, cassette_key
from recode_magic.prompting.prompts import build_prompt, fixed_part

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


# -- strict replay, misses reported, keys that survive unrelated notebook edits -------------
def prompt_with(prims: list[str], name: str = "a") -> str:
    return build_prompt(fixed_part(prims), f"out = {name}(x)", ["- x (int): 1"], name=name)


MOVE = "move(dx, dy)  -- Move the robot."
LOOK = "look()  -- What the robot sees."


def record(tmp_path, replies: dict[str, str], prims: list[str], names=("a",)):
    path = tmp_path / "c.json"
    rec = CassetteLLM(ScriptedLLM(replies, model="m1"), path)
    for name in names:
        rec(prompt_with(prims, name))
    return path


def test_strict_replay_raises_one_line_naming_the_placeholder(tmp_path, live):
    path = tmp_path / "c.json"
    CassetteLLM(live, path)(prompt("a"))
    replay = CassetteLLM(None, path, mode="replay", model="m1")
    with pytest.raises(CassetteMissError, match=r"no reply for placeholder 'b'") as info:
        ask(replay, prompt("b"))
    assert "\n" not in str(info.value) and info.value.placeholder == "b"
    assert (replay.misses, replay.missed, replay.hits) == (1, ["b"], 0)
    # a strict replay with a live model at hand still never calls it
    strict = CassetteLLM(live, path, mode="replay")
    with pytest.raises(CassetteMissError):
        strict(prompt("b"))
    assert len(live.calls) == 1
    assert "1 miss (b): no live model" in strict.summary()


def test_misses_in_auto_mode_are_counted_then_recorded(tmp_path, live):
    path = tmp_path / "c.json"
    CassetteLLM(live, path)(prompt("a"))
    again = CassetteLLM(live, path)
    again(prompt("a"))
    again(prompt("b"))
    assert (again.hits, again.misses, again.missed, again.recorded) == (1, 1, ["b"], 1)
    assert again.summary() == ("cassette c.json: 1 replayed, 1 miss (b): live model called "
                               "and recorded")


def test_new_unrelated_primitive_still_replays(tmp_path):
    path = record(tmp_path, {"a": "<execute>out = move(1, 0)</execute>"}, [MOVE])
    replay = CassetteLLM(None, path, mode="replay")
    edited = prompt_with([MOVE, LOOK, "plot(xs)  -- A new helper."])
    assert replay(edited) == "<execute>out = move(1, 0)</execute>"
    assert (replay.hits, replay.loose_hits, replay.misses) == (1, 1, 0)
    assert "despite a changed primitive listing" in replay.summary()
    strict = CassetteLLM(None, path, mode="replay", strict=True)
    with pytest.raises(CassetteMissError):
        strict(edited)


@pytest.mark.parametrize("new_prims, why", [
    ([MOVE.replace("dx, dy", "dx, dy, speed")], "a primitive the reply calls changed"),
    ([MOVE, "helper(v)  -- Now defined."], "a name the reply calls became a primitive"),
])
def test_listing_change_that_touches_the_reply_misses(tmp_path, new_prims, why):
    path = record(tmp_path, {"a": "<execute>out = move(1, 0)\nhelper(out)</execute>"},
                  [MOVE])
    replay = CassetteLLM(None, path, mode="replay")
    with pytest.raises(CassetteMissError):
        replay(prompt_with(new_prims))
    assert replay.loose_hits == 0 and replay.misses == 1, why


def test_loose_match_needs_exactly_one_entry_and_the_same_placeholder(tmp_path):
    path = tmp_path / "c.json"
    rec = CassetteLLM(ScriptedLLM({"a": ["<execute>out = 1</execute>",
                                         "<execute>out = 2</execute>"]}, model="m1"), path)
    rec(prompt_with([MOVE]))
    rec.mode = "record"  # (in "auto" this prompt would replay the first entry)
    rec(prompt_with([LOOK]))  # same call and variables, other listing: two candidates
    replay = CassetteLLM(None, path, mode="replay")
    with pytest.raises(CassetteMissError):
        replay(prompt_with([MOVE, LOOK]))
    with pytest.raises(CassetteMissError):
        replay(prompt_with([MOVE], name="b"))
    assert replay(prompt_with([LOOK])) == "<execute>out = 2</execute>"  # exact still works


def test_cassette_keys_routed_models_by_depth(tmp_path):
    big = ScriptedLLM({"a": "<execute>out = 1</execute>"}, model="big")
    small = ScriptedLLM({"a": "<execute>out = 2</execute>"}, model="small")
    path = tmp_path / "c.json"
    rec = make_llm({0: big, 2: small}, cassette=path)
    assert ask(rec, prompt("a"), depth=0).text == "<execute>out = 1</execute>"
    assert ask(rec, prompt("a"), depth=3).text == "<execute>out = 2</execute>"
    models = [e["model"] for e in json.loads(path.read_text())["entries"]]
    assert models == ["big", "small"]
    replay = make_llm({0: big, 2: small}, cassette=path, mode="replay")
    assert ask(replay, prompt("a"), depth=2).model == "small" and big.calls == small.calls \
        == [prompt("a")]
