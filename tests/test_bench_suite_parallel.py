"""benchmarks/suite_parallel.py: recorded suite runs replayed sequentially and in parallel.

Latency 0.01 s a call, a few cassettes: the benchmark's own checks (same tree, same outcome,
calls and waste counted, cassette misses reported) are what is tested, not wall time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "agents"))

from benchmarks import suite_parallel as sp  # noqa: E402
from recode_magic import ReCode, ScriptedLLM  # noqa: E402
from recode_magic.llms.cassette import CassetteLLM  # noqa: E402

LATENCY = 0.01


def _item(suite: str, label: str, key: str) -> sp.Item:
    found, _ = sp.items((label,), (suite,), (key,))
    assert [i.key for i in found] == [key], f"no cassette for {suite}/{label}/{key}"
    return found[0]


@pytest.mark.parametrize("key", ["data_group_sum@1", "text_top_word@1"])
def test_a_recorded_task_replays_the_same_both_ways(key):
    row = sp.compare(_item("tasks", "t4-layout-ex2-out", key), LATENCY, 4)
    assert row["missed"] == [], f"cassette miss (prompts changed since recording): {row}"
    assert row["same_tree"] and row["same_outcome"] and row["same_commands"], row
    assert row["reproduces_recording"], row
    # every call of the sequential replay is the run's; parallel adds only wasted ones
    assert row["sequential_calls"] == row["run_llm_calls"][0] == row["run_llm_calls"][1]
    assert row["parallel_calls"] == row["sequential_calls"] + row["wasted"]


def test_a_recorded_game_replays_the_same_commands():
    row = sp.compare(_item("textworld", "t4-layout-ex2-answers-actcheck", "q2_s12@1"), LATENCY, 4)
    assert row["missed"] == [] and row["same_tree"] and row["same_commands"], row
    assert row["solved"] == (False, False) and row["reproduces_recording"], row


def _fan_cassette(path: Path) -> None:
    """Record, sequentially, a run of data_group_sum whose root has 3 independent steps."""
    import suites
    import tasks_suite

    def x(code: str) -> str:
        return f"<think>t</think><execute>{code}</execute>"

    scripted = ScriptedLLM({
        "solve": x("a = part_one(sales)\nb = part_two(sales)\nc = part_three(sales)\n"
                   "answer = {'north': a, 'south': b, 'east': c}"),
        "part_one": x("a = 350"), "part_two": x("b = 240"), "part_three": x("c = 125")})
    task = tasks_suite.by_id("data_group_sum")
    ns = task.setup()
    run = ReCode(CassetteLLM(scripted, path, mode="record", model="m"), ns,
                 **suites.CAPS).run(task.text, inputs={"sales": ns["sales"]})
    assert run.status == "done" and run.llm_calls == 4, run.error


def test_independent_placeholders_are_asked_ahead_and_counted(tmp_path):
    path = tmp_path / "data_group_sum@1.json"
    _fan_cassette(path)
    item = sp.Item("tasks", "synthetic", "data_group_sum@1", path)
    row = sp.compare(item, LATENCY, 4)
    assert row["same_tree"] and row["same_outcome"] and row["solved"] == (True, True), row
    assert row["prefetched"] >= 2 and row["used"] >= 2, row
    assert row["sequential_calls"] == 4
    assert row["parallel_calls"] == 4 + row["wasted"]
    total = sp.summarize([row])
    assert total["items_with_prefetch"] == 1 and total["different"] == []


def test_a_replay_that_misses_is_reported_not_dropped(tmp_path, monkeypatch):
    """Another task's cassette: the replay misses; measure() lists it and leaves it out."""
    wrong = _item("tasks", "t4-layout-ex2-out", "text_emails@1")
    item = sp.Item("tasks", "t4-layout-ex2-out", "data_group_sum@1", wrong.cassette)
    monkeypatch.setattr(sp, "items", lambda *a, **k: ([item], ["tasks/x/gone@1"]))
    result = sp.measure(latency=LATENCY, verbose=False)
    assert result["missed"] == ["tasks/t4-layout-ex2-out/data_group_sum@1"]
    assert result["no_cassette"] == ["tasks/x/gone@1"]
    assert result["total"]["items"] == 0 and result["rows"][0]["missed"] == ["solve"]
    assert "missed the cassette (left out above): 1" in sp.table(result)


# Each recorded option of the third sitting's labels (results.json "config"; Qwen2.5-Coder-
# 1.5B-Instruct Q4_K_M, 7 Dec 2026) is needed to replay the run as recorded: with it, no miss
# and the recorded outcome and calls; with it dropped from the config, a miss or another run.
OPTION_REPLAYS = [
    ("tasks", "r23-decompose3", "data_join_spend@2", "engine_kw"),  # samples=4 + decompose
    ("tasks", "r23-pure", "graph_dead_ends@1", "mark_pure"),  # candidates calling `links`
    ("tasks", "r23-routed", "text_slugs@1", "route"),  # depth >= 1 asked to the 0.5B
    ("textworld", "r22-tw-action", "b_q4_s73@1", "act_action"),
    ("textworld", "r23-tw-doc", "q2_s12@1", "act_doc"),  # act documented by command shapes
]


@pytest.mark.parametrize(("suite", "label", "key", "option"), OPTION_REPLAYS)
def test_a_recorded_option_is_replayed_as_recorded(suite, label, key, option):
    item = _item(suite, label, key)
    assert item.config.get(option), f"{label} recorded no {option}"
    row = sp.compare(item, LATENCY, 4)
    assert row["missed"] == [] and row["reproduces_recording"], row
    assert sp.summarize([row])["different"] == [], row
    assert row["sequential_calls"] == item.row["llm_calls"] == row["run_llm_calls"][0]
    assert row["nodes"] == len(item.row["tree"])
    config = {k: v for k, v in item.config.items() if k != option}
    without = sp.compare(sp.Item(suite, label, key, item.cassette, item.row, config), LATENCY, 4)
    assert without["missed"] or not without["reproduces_recording"], without


def test_a_sampled_multi_node_run_keeps_its_tree():
    """samples=4 + decompose: 26 calls, three candidates a step under their own keys, 4 nodes."""
    row = sp.compare(_item("tasks", "r23-decompose3", "data_join_spend@2"), LATENCY, 4)
    assert row["nodes"] == 4 and row["solved"] == (True, True), row
    assert row["same_tree"] and row["same_primitive_calls"] and row["wait_s"][0] > 0, row


def test_main_replays_the_labels_given(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = sp.main(["--labels", "r23-routed", "--suites", "tasks", "--items", "text_slugs@1",
                    "--latency", str(LATENCY), "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert [(r["label"], r["key"], r["nodes"]) for r in result["rows"]] == \
        [("r23-routed", "text_slugs@1", 3)]
    assert result["multi_node"]["items"] == 1 and result["missed"] == []
    assert len(json.loads(out.with_suffix(".partial.json").read_text())["rows"]) == 1
    printed = capsys.readouterr().out
    assert "r23-routed" in printed and "> 1 node" in printed


def test_a_run_whose_code_ran_long_is_counted_apart():
    """Seconds with no call waiting (a looping candidate until its timeout) are code-bound."""
    base = {"suite": "tasks", "label": "x", "parallel_calls": 4, "sequential_calls": 4,
            "wasted": 0, "prefetched": 0, "used": 0, "nodes": 1, "same_tree": True,
            "same_outcome": True, "same_commands": True, "same_primitive_calls": True,
            "reproduces_recording": True}
    rows = [{**base, "key": "a@1", "sequential_s": 34.0, "parallel_s": 34.0, "wait_s": (4, 4)},
            {**base, "key": "b@1", "sequential_s": 4.0, "parallel_s": 2.0, "wait_s": (4, 2)}]
    total = sp.summarize(rows)
    assert total["block_timeouts"] == 1 and total["ratio_without_timeouts"] == 0.5
    assert total["code_s"] == 30.0 and total["ratio"] == round(36 / 38, 3)
