"""Issue 13's engine-side findings, each pinned through the public API (real kernel: elsewhere)."""

from __future__ import annotations

import asyncio
import json
import math
import threading

import pytest
from conftest import reply as X

from recode_magic import ConfigError, ReCode, ScriptedLLM, load_run, primitive
from recode_magic.runs.tree import run_to_dict


@pytest.fixture
def ns():
    def act(name):
        """Do an action."""
        return f"did {name}"

    return {"act": act}


# -- settings are checked before any model call ----------------------------------------------
@pytest.mark.parametrize("kw, match", [
    ({"timeout": float("nan")}, "timeout must be a finite number of seconds > 0, got nan"),
    ({"timeout": float("inf")}, "got inf"),
    ({"timeout": 0}, "got 0"),
    ({"timeout": -1.5}, "got -1.5"),
    ({"max_retry": True}, "max_retry must be an int >= 0"),
    ({"max_calls": 0}, "max_calls must be an int >= 1"),
])
def test_bad_settings_raise_config_error(kw, match):
    with pytest.raises(ConfigError, match=match):
        ReCode(lambda p: "", **kw)


@pytest.mark.parametrize("output", ["class", "not a name", "1x", ""])
def test_bad_output_is_refused_before_any_model_call(output):
    llm = ScriptedLLM({"solve": X("a = 1")})
    with pytest.raises(ConfigError, match="output must be a variable name"):
        ReCode(llm).run("t", output=output)
    assert llm.calls == []


# -- (1) an existing -o target that the run never assigns ------------------------------------
def test_existing_output_never_assigned_is_an_error_and_keeps_its_value(ns):
    ns["result"] = "old"
    llm = ScriptedLLM({"solve": [X("other = 1"), X("other = 2")]})
    run = ReCode(llm, namespace=ns, max_retry=1).run("t", output="result")
    assert run.status == "error"
    assert run.error == ("NameError: `result` was never assigned by `solve` (it keeps the "
                         "value it had before the run)")
    assert ns["result"] == "old"
    assert "was never assigned" in llm.calls[1]  # the repair told the model


def test_existing_output_assigned_the_same_value_is_fine(ns):
    ns["result"] = 5
    run = ReCode(ScriptedLLM({"solve": X("result = 2 + 3")}), namespace=ns).run(
        "t", output="result")
    assert run.status == "done" and ns["result"] == 5


# -- (2) whatever the model or the code raises, the run ends with one line ------------------
@pytest.mark.parametrize("exc", [RuntimeError("backend exploded"),
                                 ConnectionError("connection refused"),
                                 SystemExit(3)])
def test_model_raising_anything_ends_the_run_error_with_one_line(tmp_path, exc):
    def llm(prompt):
        raise exc

    path = tmp_path / "run.json"
    run = ReCode(llm, save_path=str(path)).run("t")
    assert run.status == "error"
    assert run.error == f"{type(exc).__name__}: {exc}" and "\n" not in run.error
    saved = json.loads(path.read_text())
    assert saved["status"] == "error" and saved["error"] == run.error
    assert saved["nodes"]["0"]["state"] == "error"


def test_keyboard_interrupt_from_the_model_ends_interrupted_never_running():
    def llm(prompt):
        raise KeyboardInterrupt

    run = ReCode(llm).run("t")
    assert run.status == "interrupted"


@pytest.mark.parametrize("code", ["raise SystemExit(1)", "stop_here()", "exit_quietly()"])
def test_system_exit_from_code_or_primitive_fails_the_statement_and_is_repaired(ns, code):
    def stop_here():
        """Ends the process (in a script)."""
        raise SystemExit("bye")

    def exit_quietly():
        """Raises GeneratorExit."""
        raise GeneratorExit

    ns.update(stop_here=stop_here, exit_quietly=exit_quietly)
    llm = ScriptedLLM({"solve": [X(code), X("a = act('ok')")]})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done", run.error
    assert ns["a"] == "did ok"
    assert run.root.attempts[0]["kind"] == "repair"
    assert "Exit" in run.root.attempts[0]["error"]


@pytest.mark.parametrize("make_path", [
    lambda tmp: tmp / "a_dir",                      # a directory
    lambda tmp: tmp / "file.txt" / "run.json",      # a file where a folder should be
])
def test_unwritable_save_path_is_a_warning_not_a_traceback(tmp_path, make_path):
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "file.txt").write_text("x")
    path = make_path(tmp_path)
    run = ReCode(ScriptedLLM({"solve": X("a = 1")}), save_path=str(path)).run("t")
    assert run.status == "done"
    assert len(run.warnings) == 1 and run.warnings[0].startswith("could not save the tree to")
    assert "\n" not in run.warnings[0]


# -- (3) builtins stay builtins ------------------------------------------------------------
def test_rebinding_a_builtin_is_refused_and_asked_again(ns):
    llm = ScriptedLLM({"solve": [X("print = None"), X("shown = act('x')")]})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done"
    assert "rule no-shadow-builtin: `print` is a builtin" in llm.calls[1]
    assert "print" not in ns


def test_builtin_shadowed_under_trust_is_removed_at_run_end(ns):
    llm = ScriptedLLM({"solve": X("len = str\nn = len(5)")})
    run = ReCode(llm, namespace=ns, trust=True).run("t")
    assert run.status == "done" and ns["n"] == "5"
    assert "len" not in ns
    assert run.warnings == ["removed `len` at the end of the run: it shadowed the builtin of "
                            "that name"]


# -- (4) names earlier runs made are rebindable only while they hold that run's value ------
def test_name_from_an_earlier_run_is_protected_once_the_user_reassigns_it(ns):
    llm = ScriptedLLM({"solve": [X("total = 1"), X("total = 2"), X("total = 3"),
                                 X("other = 4")]})
    engine = ReCode(llm, namespace=ns, max_retry=0)
    assert engine.run("one").status == "done" and ns["total"] == 1
    assert engine.run("two").status == "done" and ns["total"] == 2  # still the run's value
    ns["total"] = 99                                                # the user's now
    run = engine.run("three")
    assert ns["total"] == 99
    assert "rule no-rebind: `total` must not be rebound" in llm.calls[3]
    assert run.status == "done" and ns["other"] == 4


def test_created_mapping_can_be_handed_to_the_next_engine(ns):
    first = ReCode(ScriptedLLM({"solve": X("total = 1")}), namespace=ns)
    first.run("one")
    assert first.created == {"total": 1}
    llm = ScriptedLLM({"solve": X("total = 2")})
    assert ReCode(llm, namespace=ns, rebindable=first.created).run("two").status == "done"
    assert ns["total"] == 2


# -- (6) harmless code is not refused ------------------------------------------------------
def test_import_of_a_module_the_user_already_imported_is_allowed(ns):
    ns["math"] = math
    run = ReCode(ScriptedLLM({"solve": X("import math\nr = math.sqrt(16)")}),
                 namespace=ns).run("t")
    assert run.status == "done" and ns["r"] == 4.0 and ns["math"] is math


# -- (8) async primitives are awaited -------------------------------------------------------
def _async_ns():
    async def fetch(key):
        """Fetch a value (async)."""
        await asyncio.sleep(0)
        return f"value of {key}"

    return {"fetch": fetch}


def test_async_primitive_is_awaited():
    ns = _async_ns()
    run = ReCode(ScriptedLLM({"solve": X("v = fetch('a')\nn = len(fetch('bc'))")}),
                 namespace=ns).run("t")
    assert run.status == "done", run.error
    assert ns["v"] == "value of a" and ns["n"] == len("value of bc")


def test_async_primitive_is_awaited_inside_a_running_event_loop():
    ns = _async_ns()

    async def in_kernel():  # a kernel runs cells while its event loop runs
        return ReCode(ScriptedLLM({"solve": X("v = fetch('a')")}), namespace=ns).run("t")

    # in a thread of its own: an earlier test (Playwright, jupyter_client) may have left a
    # loop marked running in the main thread, where asyncio.run() refuses to start
    out: dict = {}
    worker = threading.Thread(target=lambda: out.update(run=asyncio.run(in_kernel())))
    worker.start()
    worker.join()
    run = out["run"]
    assert run.status == "done", run.error
    assert ns["v"] == "value of a"


def test_a_coroutine_left_in_a_variable_fails_the_statement_with_one_line():
    async def _fetch():
        return 1

    ns = {"make": primitive(lambda: _fetch())}
    llm = ScriptedLLM({"solve": X("c = make()")})
    run = ReCode(llm, namespace=ns, max_retry=0).run("t")
    assert run.status == "error"
    assert run.error.endswith("`c` holds a coroutine that was never awaited; call an `async "
                              "def` primitive directly (the engine awaits it)")


# -- (5) big inputs never leave the kernel whole ---------------------------------------------
def test_a_huge_input_is_clipped_everywhere_it_leaves_the_kernel(tmp_path):
    big = list(range(3_000_000))
    path = tmp_path / "run.json"
    run = ReCode(ScriptedLLM({"solve": X("n = len(big)")}), save_path=str(path)).run(
        "count", inputs={"big": big})
    assert run.status == "done" and run.namespace["n"] == 3_000_000
    assert len(run.export()) < 5_000 and "globals()['big']" in run.export()
    assert len(json.dumps(run_to_dict(run, 20_000, prompts=False))) < 20_000
    assert path.stat().st_size < 50_000


# -- (10) recode.plan.v1 keeps a failing statement's error --------------------------------
def test_plan_v1_keeps_the_error_text_of_a_failing_statement(ns):
    llm = ScriptedLLM({"solve": X("a = act('x')\nb = 1 / 0")})
    run = ReCode(llm, namespace=ns, max_retry=0).run("t")
    again = load_run(run.to_plan_v1())
    assert again.status == "error"
    assert again.error == "ZeroDivisionError: division by zero"
    failing = [s for s in again.root.steps if s.error]
    assert [s.error for s in failing] == ["ZeroDivisionError: division by zero"]
    assert load_run(again.to_plan_v1()).error == again.error


def test_a_stopped_run_gives_shadowed_values_back_and_resume_hides_them_again(ns):
    ns["limit"] = 5
    seen = []
    ns["peek"] = lambda v: seen.append(v) or v
    llm = ScriptedLLM({"solve": X("r = cap_it(limit=3)\nafter = peek(limit)"),
                       "cap_it": X("r = deeper()"), "deeper": X("r = peek(limit)")})
    run = ReCode(llm, namespace=ns, max_depth=2).run("t")
    assert run.status == "limit" and ns["limit"] == 5     # the user's value is back
    ReCode.for_run(run).resume(run, max_depth=5)
    assert run.status == "done", run.error
    assert seen == [3, 5] and ns["limit"] == 5 and ns["r"] == 3


def test_ctrl_c_in_a_run_start_subscriber_ends_the_run_interrupted_and_resumable():
    def stop_at_start(event, run, node):
        if event == "run_start":
            raise KeyboardInterrupt

    ns: dict = {}
    engine = ReCode(ScriptedLLM({"solve": ["<think>t</think><execute>answer = 2</execute>"]}),
                    ns, on_event=stop_at_start)
    run = engine.run("two", output="answer")
    assert run.status == "interrupted" and run.ended is not None and "answer" not in ns
    assert run.error == "interrupted (KeyboardInterrupt)" and run.root.status == "pending"
    engine.unsubscribe()
    engine.resume(run)
    assert run.status == "done" and ns["answer"] == 2


def test_a_failing_run_start_subscriber_raises_but_leaves_no_pending_run():
    seen = []

    def broken(event, run, node):
        seen.append(run)
        raise ValueError("bug in my subscriber")

    engine = ReCode(ScriptedLLM({}), {}, on_event=broken)
    with pytest.raises(ValueError, match="bug in my subscriber"):
        engine.run("two")
    assert seen[0].status == "error" and "run_start subscriber failed" in seen[0].error


def test_a_reply_cut_at_the_token_limit_is_said_once():
    """A reply cut at max_tokens ran as it came and its error never said it was cut."""
    from recode_magic.llms.base import Reply

    class Capped:
        model = "capped"

        def __call__(self, prompt):
            return self.respond(prompt).text

        def respond(self, prompt, *, on_text=None, depth=None):
            return Reply("<execute>answer = [1, 2,", {"source": "none"}, self.model, "length")

    run = ReCode(Capped(), max_rewrite=1).run("list two numbers")
    assert run.status == "error"
    cut = [w for w in run.warnings if "reply limit" in w]
    assert cut == ["the reply for `solve` was cut at the model's reply limit (max_tokens) and "
                   "run as it came; raise it (%config ReCodeMagics.max_tokens = N, or the "
                   "backend's max_tokens)"], run.warnings
