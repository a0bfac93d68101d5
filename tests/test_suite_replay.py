"""Replay recorded real-model suite runs offline: zero live calls, same outcome as recorded.

The cassettes under ``benchmarks/agents/cassettes/<label>/<suite>/`` were recorded by
``run_eval.py --suite ...`` with Qwen2.5-Coder-1.5B-Instruct Q4_K_M on llama.cpp; the rows
of ``results.json`` say what happened (solved or not, model calls). Each replay runs the
product's engine on the same task with the recorded replies only. A prompt that differs
from the recording (the prompt text, the variables shown, a rule) is a cassette miss: the
test FAILS and names the placeholder (the TextWorld replay is tests/test_agent_replay.py);
refresh with::

    python benchmarks/agents/run_eval.py --suite tasks --output --label <label> --tasks <ids>
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

AGENTS = Path(__file__).resolve().parents[1] / "benchmarks" / "agents"
sys.path.insert(0, str(AGENTS))

import suites  # noqa: E402
import tasks_suite  # noqa: E402

from recode_magic.llms.cassette import CassetteLLM  # noqa: E402

# the package defaults of e149e3b, run as `%%recode -o answer` (run_eval.py --output)
LABEL = "t4-layout-ex2-out"
TASK_REPLAYS = ["data_group_sum@1", "data_join_spend@1", "text_emails@1", "text_log_errors@1"]
# recorded before issue 21's levers: replayed with them off (their prompts are the old ones)
BEFORE_LEVERS = {"previews": False, "ground": False, "decompose": False, "loop_guards": False}


def _replay(path: Path) -> CassetteLLM:
    """Replay only, exact prompts only: every miss is counted (``misses``/``missed``), so a
    miss the engine turns into a failed node still fails the test."""
    return CassetteLLM(None, path, mode="replay", strict=True)


def _recorded(suite: str, key: str, label: str = LABEL) -> tuple[dict[str, Any], dict[str, Any]]:
    entry = json.loads((AGENTS / "results.json").read_text())["suites"][suite][label]
    config = dict(entry["config"])
    if label == LABEL:
        config["engine_kw"] = {**BEFORE_LEVERS, **config["engine_kw"]}
    return config, entry["items"][key]


def _assert_same(llm: CassetteLLM, row: dict[str, Any], rec: dict[str, Any]) -> None:
    assert llm.misses == 0, ("cassette miss (the prompt changed since the recording; "
                             f"re-record {rec['cassette']}): placeholders {llm.missed}, "
                             f"{row.get('error')}")
    assert llm.hits == rec["llm_calls"], (llm.hits, rec["llm_calls"], row.get("error"))
    assert (row["solved"], row["status"]) == (rec["solved"], rec["status"])


@pytest.mark.parametrize("key", TASK_REPLAYS)
def test_task_replays_to_the_recorded_outcome(key):
    config, rec = _recorded("tasks", key)
    llm = _replay(AGENTS / rec["cassette"])
    row = suites.run_task(tasks_suite.by_id(rec["task"]), llm, config["engine_kw"],
                          output=config.get("output", False))
    _assert_same(llm, row, rec)
    assert row["format_errors"] == rec["format_errors"]
    assert row.get("answer") == rec.get("answer")


# issue 21's levers, recorded with them on (7 Dec 2026, xllamacpp): samples=4, three candidates
# at temperature 0.7 asked together, the agreed result kept (text_log_errors, r22-samples,
# Qwen2.5-Coder-1.5B-Instruct Q4_K_M); a repair told the
# shapes of `meeting` and `answer`, then a decomposition whose copied example plan is refused
# (sched_conflicts, 0.5B); a 1.5B run (Q4_K_M) with a rejected reply (robot_goto); third
# sitting (1.5B Q4_K_M): candidates calling `links`, marked @primitive(pure=True), voting
# (graph_dead_ends, r23-pure), and a step whose candidates all disagreed, decomposed under the
# plan grammar into a 4-node tree (sum_order_amounts, filter_customers_by_total_spent,
# sorted_customers_by_name) that solved the task (data_join_spend, r23-decompose3)
LEVER_REPLAYS = [("r22-samples", "text_log_errors@1"), ("r21-05-levers3", "sched_conflicts@1"),
                 ("r21-levers3", "robot_goto@1"), ("r23-pure", "graph_dead_ends@1"),
                 ("r23-decompose3", "data_join_spend@2")]


@pytest.mark.parametrize(("label", "key"), LEVER_REPLAYS)
def test_lever_replays_to_the_recorded_outcome(label, key):
    config, rec = _recorded("tasks", key, label)
    llm = _replay(AGENTS / rec["cassette"])
    row = suites.run_task(tasks_suite.by_id(rec["task"]), llm, config["engine_kw"],
                          output=config.get("output", False),
                          mark_pure=config.get("mark_pure", False))
    _assert_same(llm, row, rec)
    assert row["format_errors"] == rec["format_errors"]
    assert [[a.get("kind") for a in n["attempts"]] for n in row["tree"]] == \
        [[a.get("kind") for a in n["attempts"]] for n in rec["tree"]]


def test_a_changed_prompt_fails_loudly(tmp_path):
    """The guard itself: a cassette for another task misses and the test would fail."""
    config, rec = _recorded("tasks", TASK_REPLAYS[0])
    llm = _replay(AGENTS / rec["cassette"])
    row = suites.run_task(tasks_suite.by_id("text_emails"), llm, config["engine_kw"],
                          output=config.get("output", False))
    assert llm.misses >= 1 and llm.hits == 0 and not row["solved"]
