"""``%recode batch`` in a real kernel: the progress bar, the table, Ctrl-C and resuming."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kernel_helper import Kernel

pytestmark = pytest.mark.kernel

NOTEBOOK = '''
import time
from recode_magic import ScriptedLLM

def slow_solve(prompt):
    time.sleep(0.3)
    return "<execute>y = double_it(x)\\nreport(y)</execute>"

fake = ScriptedLLM({"solve": slow_solve, "double_it": "<execute>y = x * 2</execute>"})

def setup(task):
    def report(value):
        """Say the result."""
        if task.get("boom"):
            raise RuntimeError("the printer is on fire")
        print("result", value)
    return {"x": task["x"], "report": report}

def check(task, run):
    return run.status == "done" and run.namespace.get("y") == 2 * task["x"]

tasks = [{"id": f"t{i}", "task": f"double {i}", "x": i} for i in range(4)]
tasks[2]["boom"] = True
many = [{"id": f"m{i}", "task": f"double {i}", "x": i} for i in range(40)]
'''


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Any:
    cwd = tmp_path_factory.mktemp("batch-kernel")
    k = Kernel(cwd=str(cwd))
    k.cwd = cwd
    res = k.execute("%load_ext recode_magic\n" + NOTEBOOK)
    assert res.status == "ok", res.error
    yield k
    k.stop()


def test_batch_shows_a_progress_bar_and_returns_the_table(kernel: Any) -> None:
    res = kernel.execute("%recode batch tasks --setup setup --llm fake --check check "
                         "--workers 2 --max-depth 3 -o table", timeout=120)
    assert res.status == "ok", res.error
    bars = [d for d in res.data if "application/vnd.jupyter.widget-view+json" in d]
    assert bars and bars[0]["text/plain"].startswith("recode batch:")  # tqdm.auto's widget
    calls = kernel.value("int(sum(r['llm_calls'] for r in table.to_dict('records')))")
    assert calls >= 8
    assert (f"recode batch: 4 tasks: 3 done, 1 error; solved 3/4; {calls} model calls this "
            f"time, cost unknown (no price for this model)" in res.stdout)
    shown = "".join(d.get("text/plain", "") for d in res.data if d not in bars)
    assert "task_id" in shown and "t3" in shown  # the table is the cell's result
    rows = kernel.value("[(r['status'], r['solved'], str(r['error'])) "
                        "for r in table.to_dict('records')]")
    assert [r[:2] for r in rows] == [("done", True), ("done", True), ("error", False),
                                     ("done", True)]
    assert "the printer is on fire" in rows[2][2]
    out = kernel.cwd / ".recode" / "batch-tasks"
    assert json.loads((out / "t0.row.json").read_text())["status"] == "done"
    assert kernel.value("_recode_batch is table") is True


def test_bad_arguments_are_one_line_usage_errors(kernel: Any) -> None:
    for line, message in [
        ("%recode batch nope --setup setup --llm fake", "'nope', which is not defined"),
        ("%recode batch tasks --setup fake_setup --llm fake", "'fake_setup', which is not"),
        ("%recode batch tasks --setup tasks --llm fake", "--setup must name a function"),
        ("%recode batch tasks --setup setup --workers 0", "--workers must be >= 1"),
        ("%recode batch tasks --setup setup --cassette tape", "--cassette must be auto"),
    ]:
        res = kernel.execute(line)
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("UsageError: "), (line, res.stderr)
        assert message in lines[0], line


def test_ctrl_c_stops_the_batch_and_the_same_line_resumes(kernel: Any) -> None:
    line = "%recode batch many --setup setup --llm fake --workers 2 --max-depth 3 -o t2"
    res = kernel.execute(line, timeout=120, interrupt_after=2.0)
    assert res.error is None, res.error  # the table, not a KeyboardInterrupt traceback
    assert "run the same line again to resume" in res.stdout
    first = kernel.value("[r['status'] for r in t2.to_dict('records')]")
    assert "interrupted" in first and "done" in first
    res = kernel.execute(line, timeout=120)
    assert res.status == "ok", res.error
    rows = kernel.value("[(r['status'], r['reused']) for r in t2.to_dict('records')]")
    assert [s for s, _ in rows] == ["done"] * 40
    assert sum(reused for _, reused in rows) == first.count("done")


@pytest.mark.slow
def test_batch_on_a_local_dask_cluster(kernel: Any) -> None:
    pytest.importorskip("distributed")
    res = kernel.execute("%recode batch tasks --setup setup --llm fake --check check "
                         "--dask local --workers 2 --max-depth 3 --out dask_out -o td",
                         timeout=240)
    assert res.status == "ok", res.error
    rows = kernel.value("[(r['status'], r['solved']) for r in td.to_dict('records')]")
    assert rows == [("done", True), ("done", True), ("error", False), ("done", True)]
    assert (Path(kernel.cwd) / "dask_out" / "t3.json").exists()
