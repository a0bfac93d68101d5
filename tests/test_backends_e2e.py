"""End to end: ReCode + AnthropicLLM + the real SDK + a fake Messages API, cassette replay."""

from __future__ import annotations

import json

import pytest
from fakeapi import TEST_KEY, closed_port_url, count_tokens, serve

from recode_magic import ReCode
from recode_magic.llms import (
    AnthropicLLM,
    CassetteLLM,
    OpenAICompatLLM,
    cost_report,
    format_cost,
    make_llm,
)
from recode_magic.llms.constrain import GBNF
from recode_magic.llms.pricing import billable_input_tokens, format_cache_across_runs
from recode_magic.prompting.prompts import FEW_SHOTS

MODEL = "claude-sonnet-5-5"
# Five expansions: solve -> locate_charger, plan_route, drive_and_report -> follow_route.
REPLIES = {
    "solve": "<think>Find the charger, plan a route, drive it and report.</think><execute>"
             "target = locate_charger(task)\npath = plan_route(target)\n"
             "report = drive_and_report(path)</execute>",
    "locate_charger": "<think>The map says where.</think><execute>"
                      "target = charger_position()</execute>",
    "plan_route": "<think>Straight moves, x then y.</think><execute>"
                  "path = [(1, 0)] * target[0] + [(0, 1)] * target[1]</execute>",
    "drive_and_report": "<think>Drive, then read the battery.</think><execute>"
                        "arrived = follow_route(path)\n"
                        "report = f\"at {arrived}, battery {read_sensor('battery')}%\"</execute>",
    "follow_route": "<think>One move per step.</think><execute>"
                    "for dx, dy in path:\n    move(dx, dy)\narrived = position()</execute>",
}
# The reference's prompts carry several few-shots (1.7k-2.9k tokens, 92-98% fixed). The
# default FEW_SHOTS alone leave the fixed part near 500 tokens, under the API's minimum
# cacheable length (1,024 tokens for Sonnet-class models), so the run here uses more.
MORE_SHOTS = FEW_SHOTS + "".join(
    f"""
Example {i}
Placeholder: level = check_{what}(robot)
Variables:
- robot (str): 'unit {i}'
<think>Reading the {what} is one primitive call; no placeholder is needed. Keep the reading \
as it is, do not round it, and do not invent a unit the sensor did not give.</think>
<execute>level = read_sensor("{what}")</execute>
""" for i, what in enumerate(["battery", "temperature", "humidity", "pressure", "light",
                              "noise", "tilt", "speed", "voltage", "current", "torque"],
                             start=3))


def make_namespace(log: list) -> dict:
    pos = [0, 0]

    def move(dx, dy):
        """Move the robot by (dx, dy) grid cells."""
        pos[0] += dx
        pos[1] += dy
        log.append(("move", dx, dy))

    def position():
        """The robot's current (x, y) cell."""
        return tuple(pos)

    def charger_position():
        """The (x, y) cell of the charger, from the map."""
        return (3, 2)

    def read_sensor(name):
        """Read a sensor by name (battery in %)."""
        log.append(("read", name))
        return 87

    return {"move": move, "position": position, "charger_position": charger_position,
            "read_sensor": read_sensor, "keep_me": "user data"}


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    with serve(REPLIES, min_cache_tokens=1024) as fake:
        yield fake


def tree_of(run) -> list[tuple[str, int, str, str]]:
    return [(n.name, n.depth, n.code, n.status) for n in run.nodes()]


def test_five_expansions_stream_cache_record_and_replay(api, tmp_path):
    cassette = tmp_path / "robot.cassette.json"
    events: list[str] = []
    log: list = []
    llm = CassetteLLM(AnthropicLLM(MODEL, base_url=api.url, max_retries=0), cassette)
    engine = ReCode(llm, namespace=make_namespace(log), few_shots=MORE_SHOTS,
                    on_event=lambda event, run, node: events.append(event))
    run = engine.run("Drive the robot to the charger and report the battery level.",
                     output="report")

    assert run.status == "done", run.error
    assert run.namespace["report"] == "at (3, 2), battery 87%"
    nodes = run.nodes()
    assert [n.name for n in nodes] == ["solve", "locate_charger", "plan_route",
                                       "drive_and_report", "follow_route"]
    assert run.llm_calls == 5 and len(api.model_requests()) == 5
    assert log.count(("read", "battery")) == 1 and len(log) == 6  # nothing ran twice

    # every request: same model, streamed, the same cached system block, byte for byte
    bodies = [r["body"] for r in api.model_requests()]
    systems = {json.dumps(b["system"]) for b in bodies}
    assert len(systems) == 1 and all(b["stream"] and b["model"] == MODEL for b in bodies)
    (block,) = bodies[0]["system"]
    assert block["cache_control"] == {"type": "ephemeral"}
    fixed_tokens = count_tokens(block["text"])
    assert fixed_tokens >= 1024

    # streaming reached the engine: several text events per expansion
    assert events.count("stream") > 5 * 3

    # usage per expansion: a cache write on the first, cache reads on 2..5
    assert nodes[0].usage["cache_creation_input_tokens"] == fixed_tokens
    assert nodes[0].usage["cache_read_input_tokens"] == 0
    for n in nodes[1:]:
        assert n.usage["cache_read_input_tokens"] == fixed_tokens, n.name
        assert n.usage["cache_creation_input_tokens"] == 0
        assert 0 < n.usage["input_tokens"] < fixed_tokens / 5

    # billable input tokens with and without caching
    usage = run.usage
    cached = billable_input_tokens(usage)
    uncached = billable_input_tokens(usage, cached=False)
    saving = 1 - cached / uncached
    report = cost_report(run)
    print(f"\nfixed part {fixed_tokens} tokens; prompt tokens {report['prompt_tokens']}; "
          f"billable input with caching {cached:.0f}, without {uncached:.0f} "
          f"({100 * saving:.1f}% fewer)\n{format_cost(report)}")
    assert report["model"] == MODEL and report["calls"] == 5
    assert report["cache_hit_rate"] > 0.7 and saving > 0.6

    # the cassette holds the five expansions and no secret
    text = cassette.read_text()
    data = json.loads(text)
    assert [e["placeholder"] for e in data["entries"]] == [n.name for n in nodes]
    assert TEST_KEY not in text and len(data["fixed"]) == 1

    # replay: a fresh namespace, the live model still wired in, zero HTTP requests
    before = len(api.requests)
    log2: list = []
    replay_llm = CassetteLLM(AnthropicLLM(MODEL, base_url=api.url), cassette, mode="replay")
    replay = ReCode(replay_llm, namespace=make_namespace(log2), few_shots=MORE_SHOTS).run(
        "Drive the robot to the charger and report the battery level.", output="report")
    assert len(api.requests) == before
    assert replay.status == "done" and tree_of(replay) == tree_of(run)
    assert replay.namespace["report"] == run.namespace["report"] and log2 == log
    assert replay_llm.hits == 5 and replay.usage.get("input_tokens", 0) == 0
    assert cost_report(replay)["replayed_calls"] == 5


def _fail_no_key(api, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    return api.url, "MissingKeyError: no Anthropic API key: set ANTHROPIC_API_KEY"


def _fail_bad_key(api, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-bad")
    return api.url, "key rejected (401)"


def _fail_overloaded(api, monkeypatch):
    api.errors = [None, None, 529, 529]  # the third expansion fails, retry included
    return api.url, "overloaded (529) after 1 retry"


def _fail_rate_limited(api, monkeypatch):
    api.errors = [None, 429, 429]
    return api.url, "rate limited (429) after 1 retry"


def _fail_refused(api, monkeypatch):
    url = closed_port_url()
    return url, f"cannot connect to the Anthropic API at {url}"


@pytest.mark.parametrize("cause", [_fail_no_key, _fail_bad_key, _fail_overloaded,
                                   _fail_rate_limited, _fail_refused],
                         ids=["no-key", "401", "529", "429", "refused"])
def test_backend_errors_end_the_run_cleanly_and_resume(api, monkeypatch, cause):
    url, expected = cause(api, monkeypatch)
    log: list = []
    ns = make_namespace(log)
    llm = AnthropicLLM(MODEL, base_url=url, max_retries=1)
    engine = ReCode(llm, namespace=ns, few_shots=MORE_SHOTS)
    run = engine.run("Drive the robot to the charger and report the battery level.",
                     output="report")
    assert run.status == "error"
    assert expected in run.error and "\n" not in run.error
    assert ns["keep_me"] == "user data" and "report" not in ns
    done_before = [n.name for n in run.nodes() if n.status == "done"]

    # fix the cause, resume: the run finishes without redoing what was done
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    llm.base_url, llm._client = api.url, None
    api.errors = []
    assert engine.resume(run).status == "done", run.error
    assert ns["report"] == "at (3, 2), battery 87%"
    assert set(done_before) <= {n.name for n in run.nodes() if n.status == "done"}
    assert log.count(("read", "battery")) == 1


# -- small-model mode against a llama.cpp-like server, through the real openai SDK ----------
TASK = "Drive the robot to the charger and report the battery level."


@pytest.fixture
def llamacpp():
    with serve(REPLIES, flavor="llamacpp") as fake:  # no usage in the stream, a tokenizer
        yield fake


def test_small_model_mode_grammar_tokens_and_cost(llamacpp):
    log: list = []
    llm = OpenAICompatLLM("qwen", f"{llamacpp.url}/v1", api_key=TEST_KEY, max_retries=0)
    run = ReCode(llm, namespace=make_namespace(log)).run(TASK, output="report")
    assert run.status == "done", run.error
    assert run.namespace["report"] == "at (3, 2), battery 87%"
    bodies = [r["body"] for r in llamacpp.model_requests()]
    assert len(bodies) == 5
    assert all(b["grammar"] == GBNF and b["stop"] == ["</execute>"] for b in bodies)
    # tokens from the server's tokenizer: exactly what the fake counts, never 0
    sent = sum(count_tokens(m["content"]) for b in bodies for m in b["messages"])
    assert run.usage["input_tokens"] == sent
    assert run.usage["output_tokens"] == sum(count_tokens(r.removesuffix("</execute>"))
                                             for r in REPLIES.values())  # streamed pieces
    assert run.usage["constrained"] == 5
    assert cost_report(run)["prompt_tokens"] == sent


def test_server_without_grammar_falls_back_once(api):
    llm = OpenAICompatLLM("qwen", f"{api.url}/v1", api_key=TEST_KEY, max_retries=0)
    run = ReCode(llm, namespace=make_namespace([])).run(TASK, output="report")
    assert run.status == "done", run.error
    bodies = [r["body"] for r in api.model_requests()]
    assert len(bodies) == 6 and "grammar" in bodies[0]
    assert not any("grammar" in b for b in bodies[1:])
    assert llm.grammar_rejected.startswith("400: Unrecognized request argument")
    assert run.usage["grammar_rejected"] == 1 and "constrained" not in run.usage


def test_cassette_replays_without_llm_and_survives_a_new_function(llamacpp, tmp_path):
    path = tmp_path / "c.json"
    llm = make_llm("openai:qwen", cassette=path, base_url=f"{llamacpp.url}/v1",
                   api_key=TEST_KEY)
    assert ReCode(llm, namespace=make_namespace([])).run(TASK, output="report").status == "done"
    served = len(llamacpp.model_requests())

    ns = make_namespace([])

    def unrelated(x):
        """A helper the user defined after recording."""
        return x

    ns["unrelated"] = unrelated
    replay = make_llm(None, cassette=path)  # no --llm: the recorded model, never a live one
    run = ReCode(replay, namespace=ns).run(TASK, output="report")
    assert run.status == "done", run.error
    assert run.namespace["report"] == "at (3, 2), battery 87%"
    assert "unrelated(x)" in run.nodes()[0].prompt  # the listing did change
    assert (replay.hits, replay.loose_hits, replay.misses) == (5, 5, 0)
    assert len(llamacpp.model_requests()) == served


def test_fixed_prompt_is_cached_across_runs_of_the_same_notebook(api):
    """Two runs, two engines (as two %%recode cells): the second writes no cache at all."""
    runs = []
    for _ in range(2):
        llm = AnthropicLLM(MODEL, base_url=api.url, max_retries=0)
        engine = ReCode(llm, namespace=make_namespace([]), few_shots=MORE_SHOTS)
        runs.append(engine.run(TASK, output="report"))
    first, second = (cost_report(r) for r in runs)
    assert first["cache_creation_input_tokens"] > 0
    assert second["cache_creation_input_tokens"] == 0
    assert second["cache_read_input_tokens"] == first["cache_read_input_tokens"] \
        + first["cache_creation_input_tokens"]
    table = format_cache_across_runs(runs)
    assert table.splitlines()[2].endswith("%") and table.splitlines()[-1].startswith("all")
