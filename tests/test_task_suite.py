"""The notebook task suite (benchmarks/agents/tasks_suite.py) with scripted models.

Per task: the reference solution, sent as the model's reply, solves it through the engine
(so each check can pass), and a plausible wrong reply does not (so each check can fail).
Also the runner's counters (format errors, repairs) on a scripted run, and the summary.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

AGENTS = Path(__file__).resolve().parents[1] / "benchmarks" / "agents"
sys.path.insert(0, str(AGENTS))

import suites  # noqa: E402
import tasks_suite  # noqa: E402

from recode_magic import ScriptedLLM  # noqa: E402

# a wrong reply per category: an answer of the wrong shape, or the wrong side effects
WRONG = {
    "data": "answer = []",
    "text": "answer = None",
    "robot": "x = 1",
    "schedule": "answer = {}",
    "inventory": "x = 1",
    "graph": "answer = ['A']",
}


def _reply(code: str) -> str:
    return f"<think>plan</think><execute>\n{code}\n</execute>"


def test_suite_shape():
    ids = [t.id for t in tasks_suite.TASKS]
    assert len(ids) == len(set(ids)) >= 22
    for cat in tasks_suite.CATEGORIES:
        assert sum(t.category == cat for t in tasks_suite.TASKS) >= 3, cat
    for t in tasks_suite.TASKS:
        ns = t.setup()
        assert all(k in ns for k in t.inputs), t.id
        assert "answer" not in ns, t.id
        # the task says where the answer goes, or it is checked through side effects
        assert "`answer`" in t.text or t.category in ("robot", "inventory"), t.id


@pytest.mark.parametrize("task", tasks_suite.TASKS, ids=lambda t: t.id)
def test_reference_solution_passes(task):
    row = suites.run_task(task, ScriptedLLM({"solve": _reply(task.solution)}))
    assert row["solved"], (row["status"], row["error"])
    assert (row["llm_calls"], row["format_errors"], row["repairs"]) == (1, 0, 0)


@pytest.mark.parametrize("task", tasks_suite.TASKS, ids=lambda t: t.id)
def test_wrong_answer_fails(task):
    row = suites.run_task(task, ScriptedLLM({"solve": _reply(WRONG[task.category])}))
    assert row["status"] == "done" and not row["solved"]


def test_fresh_namespace_per_run():
    task = tasks_suite.by_id("inv_restock")
    assert suites.run_task(task, ScriptedLLM({"solve": _reply(task.solution)}))["solved"]
    # the second run starts from the original stock again, so the same orders pass again
    assert suites.run_task(task, ScriptedLLM({"solve": _reply(task.solution)}))["solved"]


def test_counters_format_errors_and_repairs():
    task = tasks_suite.by_id("data_group_sum")
    llm = ScriptedLLM({"solve": [
        _reply("answer = (sales"),                     # does not compile: format error
        _reply("answer = sales[99]"),                   # runs, IndexError -> repair
        _reply(task.solution)]})
    row = suites.run_task(task, llm)
    assert row["solved"]
    assert (row["llm_calls"], row["format_errors"], row["repairs"]) == (3, 1, 1)


def test_crash_is_a_row_not_an_exception():
    def down(prompt: str) -> str:
        raise ConnectionError("server down")

    row = suites.run_task(tasks_suite.by_id("text_emails"), down)
    assert not row["solved"]
    assert "server down" in (row["error"] or "")


def test_select_by_category_and_id():
    got = [t.id for t in tasks_suite.select("graph,text_emails")]
    assert got[:-1] == [t.id for t in tasks_suite.TASKS if t.category == "graph"]
    assert got[-1] == "text_emails"
    with pytest.raises(KeyError, match="unknown task 'nope'"):
        tasks_suite.select("nope")


def test_summary_and_table():
    rows = {f"a@{r}": {"solved": r == 1, "llm_calls": 4, "format_errors": 1, "repeat": r,
                       "usage": {"input_tokens": 10, "output_tokens": 2}, "wall_s": 1.0}
            for r in (1, 2)}
    results = {"suites": {"tasks": {"base": {"items": rows}}}}
    s = suites.summarize_suites(results)["tasks"]["base"]
    assert (s["solved"], s["solved_spread"], s["calls_per_solved"], s["format_error_rate"]) \
        == (1, "0-1", 4.0, 0.25)
    assert "base" in suites.suite_table(results)
