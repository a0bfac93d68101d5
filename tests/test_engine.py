"""The engine through the pinned public API (ReCode, ScriptedLLM, Run, Node)."""

from __future__ import annotations

import pytest
from conftest import reply as X

from recode_magic import ConfigError, ReCode, RecodeError, ScriptedLLM


@pytest.fixture
def log():
    return []


@pytest.fixture
def ns(log):
    def act(name):
        """Do an action and log it."""
        log.append(name)
        return f"did {name}"

    def add(a, b):
        """Add two numbers."""
        log.append(("add", a, b))
        return a + b

    return {"act": act, "add": add}


def test_three_levels_preorder_and_flat_scope(ns, log):
    llm = ScriptedLLM({
        "solve": X("a = first_part(task)\nb = second_part(a)\nact('end')"),
        "first_part": X("act('p1')\na = leaf_one(k=2)"),
        "leaf_one": X("a = add(k, 1)"),
        "second_part": X("b = add(a, 10)"),
    })
    run = ReCode(llm, namespace=ns).run("go")
    assert run.status == "done", run.error
    assert [n.name for n in run.nodes()] == ["solve", "first_part", "leaf_one", "second_part"]
    assert [n.depth for n in run.nodes()] == [0, 1, 2, 1]
    # primitives ran once each, in depth-first order
    assert log == ["p1", ("add", 2, 1), ("add", 3, 10), "end"]
    # one flat namespace: the literal keyword became a variable, outputs visible to siblings
    assert ns["k"] == 2 and ns["a"] == 3 and ns["b"] == 13
    assert run.llm_calls == 4 and len(llm.calls) == 4
    assert all(n.status == "done" for n in run.nodes())


def test_output_binds_root_result(ns):
    llm = ScriptedLLM({"solve": X("res = add(2, 3)")})
    run = ReCode(llm, namespace=ns).run("add", output="res")
    assert run.root.call == "res = solve(task)"
    assert ns["res"] == 5 and run.result == 5


def test_inputs_are_root_arguments(ns):
    llm = ScriptedLLM({"solve": X("out = add(x, y)")})
    run = ReCode(llm, namespace=ns).run("sum", inputs={"x": 1, "y": 2}, output="out")
    assert run.root.call == "out = solve(task, x, y)"
    assert "- x (int): 1" in llm.calls[0] and "- y (int): 2" in llm.calls[0]
    assert ns["out"] == 3


def test_no_side_effect_before_placeholder_and_no_rerun(ns, log):
    # act('before') is in the same statement list as the placeholder: it must run once,
    # and nothing of the placeholder's statement runs before it is expanded.
    llm = ScriptedLLM({
        "solve": X("act('before'); r = handle_item(x=1)\nact('after')"),
        "handle_item": X("r = act('inside')"),
    })
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done", run.error
    assert log == ["before", "inside", "after"]


def test_prompt_has_call_text_variables_and_primitives(ns):
    ns["items"] = list(range(10_000))
    llm = ScriptedLLM({"solve": X("n = count_them(items)"), "count_them": X("n = len(items)")})
    ReCode(llm, namespace=ns).run("count")
    prompt = llm.calls[1]
    assert "Placeholder: n = count_them(items)" in prompt
    assert "- items (list): [0, 1, 2" in prompt
    assert len(prompt) < 6000  # a big object is summarised, never dumped whole
    assert "act(name) -- Do an action and log it." in prompt
    assert "add(a, b) -- Add two numbers." in prompt
    # the fixed part is byte-identical between expansions (prompt caching)
    assert llm.calls[0].fixed == llm.calls[1].fixed


def test_format_error_reask_then_success(ns):
    llm = ScriptedLLM({"solve": ["no code at all", X("z = ("), X("z = add(1, 1)")]})
    run = ReCode(llm, namespace=ns, max_rewrite=3).run("t")
    assert run.status == "done"
    assert ns["z"] == 2
    assert len(llm.calls) == 3
    assert "no <execute> block" in llm.calls[1]
    assert "SyntaxError" in llm.calls[2]
    assert [a["kind"] for a in run.root.attempts] == ["rewrite", "rewrite"]
    assert run.root.attempts[0]["error"].startswith("reply has no <execute>")


def test_format_error_exhausted_ends_error(ns):
    llm = ScriptedLLM({"solve": "nothing useful"})
    run = ReCode(llm, namespace=ns, max_rewrite=1).run("t")
    assert run.status == "error"
    assert "no usable code for `solve` after 2 replies" in run.error
    assert len(llm.calls) == 2


def test_fenced_block_is_accepted(ns):
    llm = ScriptedLLM({"solve": "Here:\n```python\nq = add(4, 4)\n```"})
    assert ReCode(llm, namespace=ns).run("t").status == "done" and ns["q"] == 8


def test_repair_puts_error_in_prompt(ns, log):
    llm = ScriptedLLM({"solve": [X("act('a')\nv = 1 / 0\nact('never')"),
                                 X("v = 1 / 1\nact('b')")]})
    run = ReCode(llm, namespace=ns, max_retry=2).run("t")
    assert run.status == "done", run.error
    repair = llm.calls[1]
    assert "ZeroDivisionError: division by zero" in repair
    assert "v = 1 / 0" in repair and "already ran" in repair
    assert log == ["a", "b"]  # act('a') did not run twice
    assert run.root.steps[1].error.startswith("ZeroDivisionError")


def test_error_propagates_to_parent_after_retries(ns):
    llm = ScriptedLLM({"solve": X("r = fragile_step(x=0)"),
                       "fragile_step": X("r = 10 / x")})
    run = ReCode(llm, namespace=ns, max_retry=1).run("t")
    assert run.status == "error"
    # child: first try + 1 repair; then the root is repaired once with the child's error
    names = [c.split("Placeholder: ")[-1].split("\n")[0] for c in llm.calls]
    assert names == ["solve(task)", "r = fragile_step(x=0)", "r = fragile_step(x=0)",
                     "solve(task)", "r = fragile_step(x=0)", "r = fragile_step(x=0)"]
    assert "placeholder `fragile_step` failed: ZeroDivisionError" in llm.calls[3]
    assert run.root.status == "error" and "ZeroDivisionError" in run.error
    assert "Traceback" in run.root.children[0].error


def test_depth_limit_makes_stub_and_limit(ns):
    llm = ScriptedLLM({"solve": X("a = level_one()"), "level_one": X("a = level_two()"),
                       "level_two": X("a = 1")})
    run = ReCode(llm, namespace=ns, max_depth=2).run("t")
    assert run.status == "limit"
    assert [n.status for n in run.nodes()] == ["expanded", "expanded", "stub"]
    assert len(llm.calls) == 2
    # resume with a deeper limit finishes without asking for expanded nodes again; the run
    # alone is enough (its state keeps the settings, model and namespace)
    assert run.state is not None and run.state.settings.max_depth == 2
    ReCode.for_run(run).resume(run, max_depth=5)
    assert run.status == "done" and ns["a"] == 1 and len(llm.calls) == 3
    assert run.state.settings.max_depth == 5


def test_self_recursion_rejected_before_running(ns, log):
    llm = ScriptedLLM({"solve": X("r = tidy(room=1)"),
                       "tidy": [X("act('x'); r = tidy(room=1)"), X("r = act('ok')")]})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done"
    assert "calls itself again with the same arguments" in llm.calls[2]
    assert log == ["ok"]


def test_unbound_target_is_error_of_that_node(ns):
    llm = ScriptedLLM({"solve": X("res = make_it()"),
                       "make_it": [X("other = 1"), X("other = 2"), X("other = 3")]})
    run = ReCode(llm, namespace=ns, max_retry=0).run("t")
    child = run.root.children[0]
    assert "finished without assigning `res`" in (child.error or "")


def test_unbound_target_repaired(ns):
    llm = ScriptedLLM({"solve": X("res = make_it()"),
                       "make_it": [X("other = 1"), X("res = other + 1")]})
    run = ReCode(llm, namespace=ns, max_retry=1).run("t")
    assert run.status == "done" and ns["res"] == 2
    assert "never assigned `res`, which the step must set" in llm.calls[2]


def test_empty_code_marks_skipped(ns):
    llm = ScriptedLLM({"solve": X("noop_step()\nx = 1"), "noop_step": X("")})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done"
    assert [n.status for n in run.nodes()] == ["done", "skipped"]


def test_name_error_fallback_for_placeholder_hidden_at_plan_time(ns, log):
    # `later` is in the namespace when the code is checked, deleted before its statement runs
    ns["later"] = lambda: None
    llm = ScriptedLLM({"solve": X("del later\nv = later()"), "later": X("v = act('late')")})
    run = ReCode(llm, namespace=ns, trust=True).run("t")
    assert run.status == "done", run.error
    assert log == ["late"]


def test_primitive_exception_then_repair(ns):
    def flaky(x):
        raise RuntimeError(f"sensor {x} offline")
    ns["flaky"] = flaky
    llm = ScriptedLLM({"solve": [X("v = flaky(3)"), X("v = add(1, 2)")]})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done"
    assert "RuntimeError: sensor 3 offline" in llm.calls[1]


def test_missing_reply_ends_error_and_resume_continues(ns):
    replies = {"solve": X("a = part_one()\nb = part_two()")}
    llm = ScriptedLLM(replies)
    engine = ReCode(llm, namespace=ns)
    run = engine.run("t")
    assert run.status == "error" and "no reply for placeholder 'part_one'" in run.error
    replies["part_one"] = X("a = 1")
    replies["part_two"] = X("b = 2")
    llm.replies.update(replies)
    engine.resume(run)
    assert run.status == "done" and ns["a"] == 1 and ns["b"] == 2
    assert len(llm.calls) == 4  # the root was not asked again


def test_interrupt_then_resume_makes_no_extra_calls(ns, log):
    state = {"interrupt": True}

    def slow(x):
        if state.pop("interrupt", False):
            raise KeyboardInterrupt
        log.append(("slow", x))
    ns["slow"] = slow
    llm = ScriptedLLM({"solve": X("a = part_one()\nb = part_two()"),
                       "part_one": X("a = act('one')"),
                       "part_two": X("slow(1)\nb = act('two')")})
    engine = ReCode(llm, namespace=ns)
    run = engine.run("t")
    assert run.status == "interrupted"
    assert log == ["one"]
    engine.resume(run)
    assert run.status == "done"
    assert log == ["one", ("slow", 1), "two"]
    assert len(llm.calls) == 3


def test_model_call_limit(ns):
    count = iter(range(1000))
    llm = lambda prompt: X(f"a = level_{next(count)}()")  # noqa: E731 - always one level deeper
    run = ReCode(llm, namespace=ns, max_calls=5, max_depth=50).run("t")
    assert run.status == "limit" and "max_calls=5" in run.error
    assert len(run.nodes()) == 6 and not any(n.attempts for n in run.nodes())  # 6th unasked


def test_reask_shows_the_unusable_answer(ns):
    llm = ScriptedLLM({"solve": [X("a = (1,\n"), X("a = add(1, 1)")]})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done"
    assert "Your answer (attempt 1) was:\n<execute>a = (1,</execute>" in llm.calls[1]
    assert "Do not repeat it; write different code." in llm.calls[1]


def test_repair_that_restarts_the_step_does_not_repeat_side_effects(ns, log):
    llm = ScriptedLLM({"solve": [X("act('one')\nact('two')\nv = 1 / 0"),
                                 X("act('one')\nact('two')\nv = 1")]})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done", run.error
    assert log == ["one", "two"]  # the repeated statements were dropped, not run again


def test_direct_self_call_with_other_arguments_is_refused(ns, log):
    llm = ScriptedLLM({"solve": X("r = tidy(room=1)"),
                       "tidy": [X("r = tidy(room=2)"), X("r = act('tidied')")]})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done"
    assert "`tidy` is the step you are expanding" in llm.calls[2]
    assert log == ["tidied"]


def test_resume_without_unfinished_nodes_is_clear_error(ns):
    llm = ScriptedLLM({"solve": X("a = 1")})
    engine = ReCode(llm, namespace=ns)
    run = engine.run("t")
    with pytest.raises(RecodeError, match="nothing to resume"):
        engine.resume(run)


def test_bad_arguments_are_clear():
    with pytest.raises(ConfigError, match="llm must be a callable"):
        ReCode("claude")
    with pytest.raises(ValueError, match="max_depth must be an int >= 0"):
        ReCode(lambda p: "", max_depth=-1)
    with pytest.raises(ValueError, match="output must be a variable name"):
        ReCode(lambda p: "").run("t", output="not a name")


def test_events_cover_every_node(ns):
    events = []
    llm = ScriptedLLM({"solve": X("a = part_one()"), "part_one": X("a = 1")})
    ReCode(llm, namespace=ns, on_event=lambda e, r, n: events.append(
        (e, n.name if n else None, n.status if n else r.status))).run("t")
    assert events[0] == ("run_start", None, "pending")
    assert events[-1] == ("run_end", None, "done")
    assert ("node", "part_one", "done") in events


def test_deep_chain_has_no_recursion_limit():
    n = 1500
    llm = ScriptedLLM({"solve": X("v = step_0()"),
                       **{f"step_{i}": X(f"v = step_{i + 1}()") for i in range(n)},
                       f"step_{n}": X("v = 42")})
    run = ReCode(llm, max_depth=n + 5, max_calls=10**6).run("deep")
    assert run.status == "done", run.error
    assert run.namespace["v"] == 42 and len(run.nodes()) == n + 2


def test_wide_fan_is_linear_enough():
    n = 400
    body = "\n".join(f"x{i} = item_{i}()" for i in range(n))
    llm = ScriptedLLM({"solve": X(body), **{f"item_{i}": X(f"x{i} = {i}") for i in range(n)}})
    run = ReCode(llm, max_calls=10**6).run("wide")
    assert run.status == "done" and run.namespace["x399"] == 399


def test_keyword_arguments_become_variables_without_clobbering(ns, log):
    ns["items"] = ["a", "b"]  # a user variable: protected
    llm = ScriptedLLM({"solve": X("n = count_them(items=items, label='pens', size=len(items))"),
                       "count_them": X("n = (label, size)")})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done", run.error
    assert ns["n"] == ("pens", 2) and ns["items"] == ["a", "b"]
    assert "- label (str): 'pens'" in llm.calls[1] and "- size (int): 2" in llm.calls[1]


def test_keyword_that_hides_a_user_variable_is_shadowed_for_the_child(ns):
    ns["limit"] = 5
    seen = []
    ns["peek"] = lambda v: seen.append(v) or v
    llm = ScriptedLLM({"solve": X("r = cap_it(limit=3)\nafter = peek(limit)"),
                       "cap_it": X("r = peek(limit)")})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done", run.error
    # the child saw 3; the user's 5 was put back when the child ended
    assert seen == [3, 5] and ns["limit"] == 5 and ns["r"] == 3 and ns["after"] == 5
    assert "- limit (int): 3" in llm.calls[1]


def test_shadowed_keyword_is_restored_when_the_child_fails(ns):
    ns["limit"] = 5
    llm = ScriptedLLM({"solve": X("r = cap_it(limit=3)"), "cap_it": X("r = 1 / 0")})
    run = ReCode(llm, namespace=ns, max_retry=0).run("t")
    assert run.status == "error" and ns["limit"] == 5


def test_a_reply_that_defines_the_step_and_never_calls_it_runs_the_step():
    """A small model's habit: `def first_half(x): ...` as the expansion of `first_half(x)`."""
    llm = ScriptedLLM({"solve": "<execute>a = first_half(x)</execute>",
                       "first_half": "<execute>def first_half(x):\n    return x + 1</execute>"})
    run = ReCode(llm).run("t", inputs={"x": 1})
    assert (run.status, run.namespace["a"], run.llm_calls) == ("done", 2, 2)
