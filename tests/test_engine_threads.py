"""Runs side by side in threads: generated code's tracebacks stay each run's own."""

from __future__ import annotations

import linecache
import threading

from recode_magic import ReCode, ScriptedLLM


def X(code: str) -> str:
    return f"<think>t</think><execute>{code}</execute>"


def _failing_run(line: str, seen: list[str], barrier: threading.Barrier):
    def pause():
        """Wait for the other run to plan its code."""
        barrier.wait(timeout=10)
        seen.extend(k for k in linecache.cache if k.startswith("<recode:0:solve:0@"))

    llm = ScriptedLLM({"solve": X(f"pause()\n{line}")})
    return ReCode(llm, namespace={"pause": pause}, max_retry=0).run("t")


def test_two_runs_in_threads_keep_their_own_source_lines_in_tracebacks():
    barrier, seen, runs = threading.Barrier(2), [], {}
    lines = {"a": "x = 1 / 0  # run a", "b": "x = [][1]  # run b"}
    threads = [threading.Thread(target=lambda k=k: runs.__setitem__(
        k, _failing_run(lines[k], seen, barrier))) for k in lines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(set(seen)) == 2  # same node id, name and attempt: two linecache keys
    for key, run in runs.items():  # both planned before either failed
        assert run.status == "error"
        assert lines[key] in run.root.error, run.root.error
        other = lines["b" if key == "a" else "a"]
        assert other not in run.root.error
    for run in runs.values():  # the run's entries leave linecache when it ends
        assert not [k for k in linecache.cache if k.startswith("<recode:") and "@" in k
                    and run.state.token in k]


def test_traceback_text_has_no_run_token():
    llm = ScriptedLLM({"solve": X("x = 1 / 0")})
    run = ReCode(llm, max_retry=0).run("t")
    assert run.status == "error"
    assert 'File "<recode:0:solve:0>", line 1' in run.root.error
    assert "x = 1 / 0" in run.root.error and "@" not in run.root.error
