"""recode_magic.batch.run_many: thread pool, process pool, a real Dask LocalCluster, faults,
resume, Ctrl-C, the same table whichever executor runs it."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from recode_magic import ScriptedLLM, load_run
from recode_magic.batch import COLUMNS, BatchProgress, TaskSetup, load_results, run_many
from recode_magic.llms import placeholder_name

try:  # helpers below travel by value to worker processes (tests/ is not importable there)
    import cloudpickle
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
except ImportError:  # pragma: no cover
    cloudpickle = None


CALLS: list[str | None] = []  # model calls made in this process (by every copy)


class FakeLLM:
    """A picklable model: fixed replies by placeholder, a small latency, token counts."""

    model = "claude-haiku-4-5"  # priced, so the cost column is filled

    def __init__(self, delay: float = 0.01):
        self.delay = delay
        self.last_usage: dict[str, int] | None = None

    def __call__(self, prompt: str) -> str:
        time.sleep(self.delay)
        name = placeholder_name(prompt)
        CALLS.append(name)
        self.last_usage = {"input_tokens": 100, "output_tokens": 10}
        replies = {
            "solve": "<execute>y = double_it(x)\nreport(y)</execute>",
            "double_it": "<execute>y = x * 2</execute>",
        }
        if name == "solve" and "go deep" in prompt:
            return "<execute>dig()</execute>"
        if name not in replies:  # a long task: one more level each call, to the depth limit
            return f"<execute>{name}_more()</execute>"
        return replies[name]


def setup(task: dict[str, Any]) -> dict[str, Any]:
    """A fresh namespace per task: its input and one primitive."""
    if task.get("boom"):
        raise ValueError(f"no such level: {task['x']}")
    seen: list[Any] = []

    def report(value: Any) -> None:
        """Say the result."""
        if task.get("kill"):
            os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies mid-task
        if task.get("sleep"):
            time.sleep(task["sleep"])
        seen.append(value)
        print("result", value)

    return {"x": task["x"], "report": report}


def check(task: dict[str, Any], run: Any) -> bool:
    return run.namespace.get("y") == 2 * task["x"]


def tasks(n: int, **extra: dict[str, Any]) -> list[dict[str, Any]]:
    out = [{"id": f"t{i}", "task": f"double {i} and report it", "x": i} for i in range(n)]
    for task_id, fields in extra.items():
        next(t for t in out if t["id"] == task_id).update(fields)
    return out


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What must not depend on the executor (not times, paths or reuse)."""
    return [{k: v for k, v in r.items() if k not in ("wall_s", "tree", "cassette", "reused")}
            for r in rows]


# -- thread pool ------------------------------------------------------------------------------
def test_thread_pool_rows_records_and_stdout(tmp_path: Path) -> None:
    stdout = sys.stdout
    rows = run_many(tasks(6), setup, FakeLLM(), check=check, out_dir=tmp_path, workers=4,
                    as_frame=False)
    assert sys.stdout is stdout  # six runs teeing stdout at once leave it as it was
    assert [r["task_id"] for r in rows] == [f"t{i}" for i in range(6)]
    assert list(rows[0]) == list(COLUMNS)
    for i, r in enumerate(rows):
        assert (r["status"], r["solved"], r["llm_calls"], r["depth"], r["nodes"]) == \
            ("done", True, 2, 1, 2)
        assert (r["input_tokens"], r["output_tokens"]) == (200, 20)
        assert r["cost_usd"] == pytest.approx((200 * 1.0 + 20 * 5.0) / 1e6)
        assert r["error"] is None and r["reused"] is False
        run = load_run(r["tree"])
        assert run.status == "done" and run.task == f"double {i} and report it"
        # each run's output is its own (threads printing at once do not mix)
        assert run.root.stdout == f"result {2 * i}\n"
        assert json.loads(Path(r["cassette"]).read_text())["entries"]
        assert json.loads((tmp_path / f"t{i}.row.json").read_text())["status"] == "done"


def test_dataframe_when_pandas_is_installed(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    df = run_many(tasks(2), setup, FakeLLM(), out_dir=tmp_path)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(COLUMNS) and list(df["status"]) == ["done", "done"]
    assert load_results(tmp_path, as_frame=False)[1]["task_id"] == "t1"


def test_each_task_gets_its_own_copy_of_a_scripted_model(tmp_path: Path) -> None:
    llm = ScriptedLLM({"solve": ["<execute>y = x + 1</execute>"]})  # ONE reply per copy
    rows = run_many(["a", "b", "c"], lambda t: {"x": 1}, llm, out_dir=tmp_path,
                    as_frame=False)
    assert [r["status"] for r in rows] == ["done"] * 3
    assert llm.calls == []  # the original is never called
    assert [r["task_id"] for r in rows] == ["0", "1", "2"]


def test_task_setup_inputs_record_close(tmp_path: Path) -> None:
    closed = []

    def make(task: str) -> TaskSetup:
        return TaskSetup({}, text=f"greet {task}", inputs={"who": task}, output="answer",
                         record=lambda run: {"solved": run.result == f"hi {task}",
                                             "greeting": run.result},
                         close=lambda: closed.append(task))

    llm = ScriptedLLM({"solve": "<execute>answer = 'hi ' + who</execute>"})
    rows = run_many({"a": "ann", "b": "bob"}, make, llm, out_dir=tmp_path, as_frame=False)
    assert [(r["solved"], r["greeting"]) for r in rows] == [(True, "hi ann"), (True, "hi bob")]
    assert list(rows[0])[-1] == "greeting" and sorted(closed) == ["ann", "bob"]
    assert load_run(rows[0]["tree"]).root.call == "answer = solve(task, who)"


# -- faults -----------------------------------------------------------------------------------
def test_a_task_that_raises_or_times_out_is_an_error_row_and_the_rest_go_on(
        tmp_path: Path) -> None:
    batch = tasks(6, t1={"boom": True}, t3={"task": "go deep"}, t4={"sleep": 1.0})

    def model_for(task: dict[str, Any]) -> Any:
        return FakeLLM(0.05)

    rows = run_many(batch, setup, llm_factory=model_for, out_dir=tmp_path, workers=3,
                    task_timeout=0.5, check=check, max_depth=50, as_frame=False)
    by_id = {r["task_id"]: r for r in rows}
    assert by_id["t1"]["status"] == "error"
    assert by_id["t1"]["error"] == "ValueError: no such level: 1"
    assert by_id["t1"]["tree"] is None
    assert by_id["t3"]["status"] == "error"
    assert "task ran longer than 0.5 s (task_timeout)" in by_id["t3"]["error"]
    assert "\n" not in by_id["t3"]["error"]
    assert 2 <= by_id["t3"]["llm_calls"] < 20  # stopped before a model call
    assert by_id["t4"]["status"] == "error"  # stopped after the slow statement
    assert by_id["t4"]["error"].startswith("TaskTimeout: task ran longer than 0.5 s")
    assert load_run(by_id["t4"]["tree"]).status == "error"
    assert [by_id[t]["status"] for t in ("t0", "t2", "t5")] == ["done"] * 3


def test_bad_arguments_are_one_line_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one of llm"):
        run_many(["a"], setup, out_dir=tmp_path)
    with pytest.raises(ValueError, match="two tasks have the id 'x'"):
        run_many([{"id": "x", "task": "a"}, {"id": "x", "task": "b"}], setup, FakeLLM(),
                 out_dir=tmp_path)
    with pytest.raises(TypeError, match="executor must be"):
        run_many(["a"], setup, FakeLLM(), executor=object(), out_dir=tmp_path)


# -- resume -----------------------------------------------------------------------------------
def test_rerun_skips_finished_tasks_and_redoes_failed_ones(tmp_path: Path) -> None:
    first = run_many(tasks(4, t2={"boom": True}), setup, FakeLLM(), out_dir=tmp_path,
                     as_frame=False)
    assert [r["status"] for r in first] == ["done", "done", "error", "done"]
    CALLS.clear()
    again = run_many(tasks(4), setup, FakeLLM(), out_dir=tmp_path, as_frame=False)
    assert len(CALLS) == 2  # only t2 ran: two expansions
    assert [r["reused"] for r in again] == [True, True, False, True]
    assert [r["status"] for r in again] == ["done"] * 4
    assert comparable([again[0]]) == comparable([first[0]])


def test_ctrl_c_stops_cleanly_and_a_rerun_resumes_with_the_cassette(tmp_path: Path) -> None:
    fired = []

    def interrupt_after_two(p: BatchProgress) -> None:
        if p.finished >= 2 and not fired:
            fired.append(p.finished)
            raise KeyboardInterrupt  # what Ctrl-C does in the main thread

    batch = tasks(12)
    t0 = time.monotonic()
    rows = run_many(batch, setup, FakeLLM(0.2), out_dir=tmp_path, workers=2,
                    progress=interrupt_after_two, as_frame=False)
    assert time.monotonic() - t0 < 5  # stopped, not run to the end (12 x 0.4 s / 2)
    statuses = [r["status"] for r in rows]
    assert statuses.count("done") >= 2 and statuses.count("interrupted") >= 6
    assert set(statuses) <= {"done", "interrupted"}
    stopped = [r for r in rows if r["status"] == "interrupted"]
    assert all("re-run" in r["error"] for r in stopped)
    assert not (tmp_path / f"{stopped[0]['task_id']}.row.json").exists()
    CALLS.clear()
    again = run_many(batch, setup, FakeLLM(0.01), out_dir=tmp_path, as_frame=False)
    assert [r["status"] for r in again] == ["done"] * 12
    assert sum(r["reused"] for r in again) == statuses.count("done")
    # a task stopped half-way replays what its cassette recorded
    half = [r for r in again if r["replayed_calls"]]
    assert len(CALLS) == 2 * len(stopped) - sum(r["replayed_calls"] for r in half)


# -- other executors --------------------------------------------------------------------------
def test_same_table_from_threads_and_a_process_pool(tmp_path: Path) -> None:
    batch = tasks(4, t1={"boom": True})
    one = run_many(batch, setup, FakeLLM(), check=check, out_dir=tmp_path / "a",
                   executor=ThreadPoolExecutor(1), as_frame=False)
    with ProcessPoolExecutor(2) as pool:
        procs = run_many(batch, setup, FakeLLM(), check=check, out_dir=tmp_path / "b",
                         executor=pool, as_frame=False)
    assert comparable(procs) == comparable(one)
    assert load_run(procs[0]["tree"]).status == "done"  # written by the client


def test_a_dead_process_pool_worker_fails_its_tasks_not_the_batch(tmp_path: Path) -> None:
    with ProcessPoolExecutor(1) as pool:
        rows = run_many(tasks(3, t0={"kill": True}), setup, FakeLLM(), out_dir=tmp_path,
                        executor=pool, as_frame=False)
    # a ProcessPoolExecutor cannot outlive a dead worker: every task it held fails
    assert [r["status"] for r in rows] == ["error"] * 3
    assert all(r["error"].startswith("worker died (BrokenProcessPool") for r in rows)
    again = run_many(tasks(3), setup, FakeLLM(), out_dir=tmp_path, as_frame=False)
    assert [r["status"] for r in again] == ["done"] * 3  # errors are run again


@pytest.fixture(scope="module")
def dask_client() -> Any:
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    # one task per worker thread, and a task that kills its worker is not retried elsewhere
    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.scheduler.worker-saturation": 1.0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=40)
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.mark.slow
def test_dask_local_cluster_of_worker_processes(tmp_path: Path, dask_client: Any) -> None:
    pids = set(dask_client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids  # real worker processes
    batch = tasks(6, t1={"boom": True})
    threads = run_many(batch, setup, FakeLLM(), check=check, out_dir=tmp_path / "t",
                       as_frame=False)
    seen: list[BatchProgress] = []
    dask = run_many(batch, setup, FakeLLM(), check=check, out_dir=tmp_path / "d",
                    executor=dask_client, worker_dir=tmp_path / "scratch",
                    progress=lambda p: seen.append(BatchProgress(**vars(p))), as_frame=False)
    assert comparable(dask) == comparable(threads)
    assert [r["status"] for r in dask].count("done") == 5
    # the workers wrote to worker_dir; the client wrote the records to out_dir
    assert Path(dask[0]["tree"]).parent == tmp_path / "d"
    assert load_run(dask[0]["tree"]).status == "done"
    assert seen[-1].finished == 6 and seen[-1].failed == 1 and seen[-1].llm_calls == 10


@pytest.mark.slow
def test_dask_worker_killed_mid_task(tmp_path: Path, dask_client: Any) -> None:
    batch = tasks(5, t2={"kill": True, "sleep": 0})
    rows = run_many(batch, setup, FakeLLM(0.05), out_dir=tmp_path, executor=dask_client,
                    as_frame=False)
    by_id = {r["task_id"]: r for r in rows}
    assert by_id["t2"]["status"] == "error"
    assert by_id["t2"]["error"].startswith("worker died (KilledWorker")
    assert [by_id[t]["status"] for t in ("t0", "t1", "t3", "t4")] == ["done"] * 4
    # the dead worker's partial tree is still on disk (saved after each node)
    assert load_run(tmp_path / "t2.json").root.name == "solve"
    dask_client.wait_for_workers(2, timeout=60)  # the nanny restarted it


# -- a model id, resolved per task (what goes to other machines) --------------------------------
def test_model_id_is_resolved_per_task_and_no_key_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fakeapi import TEST_KEY, serve

    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    with serve({"solve": "<execute>y = x * 2</execute>"}, min_cache_tokens=0) as api:
        rows = run_many(tasks(3), setup, "openai:llama3.1:8b", base_url=f"{api.url}/v1",
                        check=check, out_dir=tmp_path, workers=3, as_frame=False)
        # one backend per task, each asking the server itself (a refused grammar retried)
        assert len(api.model_requests()) >= 3
    assert [(r["status"], r["solved"], r["llm_calls"]) for r in rows] == [("done", True, 1)] * 3
    assert all(r["input_tokens"] > 0 and r["output_tokens"] > 0 for r in rows)
    assert load_run(rows[0]["tree"]).meta["model"].endswith("llama3.1:8b")
    for path in tmp_path.iterdir():
        assert TEST_KEY not in path.read_text(), path.name


@pytest.mark.slow
def test_dask_task_sharing_a_dying_worker_is_not_marked_error(tmp_path: Path) -> None:
    """Issue 22: t0 kills the worker t1 runs on too; t1 is run again alone and ends done."""
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                           dashboard_address=None, silence_logs=40)
        client = distributed.Client(cluster)
        try:
            rows = run_many(tasks(2, t0={"kill": True}, t1={"sleep": 2.0}), setup,
                            FakeLLM(0.05), out_dir=tmp_path, executor=client, as_frame=False)
        finally:
            client.close()
            cluster.close()
    by_id = {r["task_id"]: r for r in rows}
    assert by_id["t1"]["status"] == "done", by_id["t1"]
    assert by_id["t0"]["status"] == "error"
    assert "again, running alone: this task kills it" in by_id["t0"]["error"]


def test_without_a_cassette_a_new_check_rechecks_the_saved_trees(tmp_path: Path) -> None:
    """Issue 22: no cassette to replay; a changed check runs on the saved trees, no call."""
    def broken(task: Any, run: Any) -> bool:
        raise KeyError("y")

    def by_status(task: Any, run: Any) -> bool:
        return run.status == "done" and run.nodes()[1].name == "double_it"

    rows = run_many(tasks(2), setup, FakeLLM(0), check=broken, out_dir=tmp_path,
                    cassette=None, as_frame=False)
    assert [(r["status"], r["error"][:12]) for r in rows] == [("error", "check raised")] * 2
    CALLS.clear()
    rows = run_many(tasks(2), setup, FakeLLM(0), check=by_status, out_dir=tmp_path,
                    cassette=None, as_frame=False)
    assert [(r["status"], r["solved"], r["reused"]) for r in rows] == [("done", True, True)] * 2
    assert CALLS == []
    rows = run_many(tasks(2), setup, FakeLLM(0), check=check, out_dir=tmp_path, cassette=None,
                    as_frame=False)  # reads run.namespace: the row says why it cannot
    assert all("holds no namespace" in r["error"] for r in rows) and CALLS == []
