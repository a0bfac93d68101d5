"""Reply parsing, block splitting and static placeholder detection."""

from __future__ import annotations

import pytest

from recode_magic import ReCode, ScriptedLLM
from recode_magic.errors import FormatError
from recode_magic.prompting.reply import parse_reply
from recode_magic.pycode.code import (
    find_placeholder,
    is_compound_call,
    parse_code,
    placeholder_variables,
    plan_blocks,
    split_blocks,
)


def known_from(*names):
    return lambda n: n in names


@pytest.mark.parametrize("reply, code", [
    ("<think>a</think><execute>x = 1</execute>", "x = 1"),
    ("<think>a</think>\n<execute>\n    x = 1\n    y = 2\n</execute>", "x = 1\ny = 2"),
    ("<execute>```python\nx = 1\n```</execute>", "x = 1"),
    ("text\n```py\nx = 1\n```\nmore", "x = 1"),
    ("<think>stopped early</think><execute>x = 1", "x = 1"),
    ("<EXECUTE>x = 1</EXECUTE>", "x = 1"),
    ("<think>nothing to do</think><execute></execute>", ""),
    ("<execute>x = 1</execute>\nmore: <execute>x = 2</execute>", "x = 1"),
    ("<execute>\nx = 1\n```\n\nThis code sets x.", "x = 1"),
    ("<execute>\n  ```python\nx = 1\n```\n</execute>", "x = 1"),
])
def test_parse_reply(reply, code):
    assert parse_reply(reply)[1] == code


@pytest.mark.parametrize("reply, message", [
    ("just words", "no <execute> block"),
    (b"<execute>x = 1</execute>", "not text"),
])
def test_parse_reply_errors(reply, message):
    with pytest.raises(FormatError, match=message):
        parse_reply(reply)


@pytest.mark.parametrize("code, message", [
    ("x = (", "SyntaxError"),
    ("class A: pass", "`class A` is not allowed"),
    ("async def f(): pass", "`def f` is not allowed"),
    ("def f():\n    class B: pass", "`class B` is not allowed"),
])
def test_parse_code_rejects(code, message):
    with pytest.raises(FormatError, match=message):
        parse_code(code)


@pytest.mark.parametrize("code", [
    "return 3", "break", "x = 1\nnonlocal x", "x = f(a=1, a=2)", "__debug__ = 1",
    "x = 1\ny = g(x)\nfor i in x:\n    yield i", "x = 1\nf(__debug__=2)",
    "a, *b, *c = d", "y = 1\nglobal y", "x = 1\nfrom __future__ import annotations"])
def test_compile_errors_found_per_statement(code):
    with pytest.raises(FormatError, match="SyntaxError"):
        plan_blocks(code, known_from())


def test_a_compile_error_is_the_whole_replys_first():
    """Statements are compiled one by one; the error reported is still the whole reply's."""
    code = "a = 1\nfor i in a:\n    pass\nbreak\nnonlocal a"
    try:
        compile(code, "<recode>", "exec")
    except SyntaxError as exc:
        expected = exc.msg
    with pytest.raises(FormatError, match=expected):
        plan_blocks(code, known_from())


def test_statements_that_cannot_fail_are_compiled_once_when_they_run():
    blocks = plan_blocks("x = 1\ny = step(x)\nfor i in range(x):\n    print(i)",
                         known_from())
    assert [b._code is not None for b in blocks] == [False, False, True]  # the loop: checked
    assert blocks[0].code is blocks[0].code  # compiled on first use, kept


def blocks(code):
    return split_blocks(parse_code(code), code)


def test_split_blocks_one_per_statement_even_on_one_line():
    assert [b.source for b in blocks("a = 1; b = 2\nfor i in x:\n    f(i)")] == [
        "a = 1", "b = 2", "for i in x:\n    f(i)"]


@pytest.mark.parametrize("code, name, targets", [
    ("out = step(a, k=1)", "step", ["out"]),
    ("step(a)", "step", []),
    ("a, b = step(x)", "step", ["a", "b"]),
    ("a, *rest = step(x)", "step", ["a", "rest"]),
    ("n: int = step(x)", "step", ["n"]),
    ("out = step(len(x), key=str(y))", "step", ["out"]),
])
def test_whole_statement_placeholders(code, name, targets):
    ph = find_placeholder(blocks(code)[0], known_from("len", "str"))
    assert (ph.name, ph.targets) == (name, targets)


@pytest.mark.parametrize("code, hoisted", [
    ("y = 1 + step()", ["step_result = step()", "y = 1 + step_result"]),
    ("y = print(step())", ["step_result = step()", "y = print(step_result)"]),
    ("y = other(step())", ["step_result = step()", "y = other(step_result)"]),
    ("x.attr = step()", ["step_result = step()", "x.attr = step_result"]),
    ("avg = round(mean(step(x)), 1)",
     ["step_result = step(x)", "mean_result = mean(step_result)", "avg = round(mean_result, 1)"]),
    ("if step(x):\n    print(x)", ["step_result = step(x)", "if step_result:\n    print(x)"]),
    ("for i in step(x):\n    print(i)",
     ["step_result = step(x)", "for i in step_result:\n    print(i)"]),
])
def test_placeholder_evaluated_once_is_hoisted_before_its_statement(code, hoisted):
    blocks = plan_blocks(code, known_from("x", "print"))
    assert [b.source for b in blocks] == hoisted
    first = blocks[0].placeholder
    assert first.name == "step" and first.targets == ["step_result"] and not first.compound
    # the rest reads the hoisted names, never calls `step` again
    assert all("step(" not in b.source for b in blocks[1:])


def test_hoisted_names_never_clash_with_existing_ones():
    blocks = plan_blocks("step_result = 1\ny = 1 + step(step_result)", known_from())
    assert [b.source for b in blocks] == [
        "step_result = 1", "step_result_2 = step(step_result)", "y = 1 + step_result_2"]


@pytest.mark.parametrize("code, name, reads, targets", [
    ("for i in x:\n    step(i)", "loop_step", ["x"], []),
    ("while go:\n    step()", "loop_step", ["go"], []),
    ("if c:\n    out = step()\nelse:\n    out = 0", "branch_step", ["c"], ["out"]),
    ("with c:\n    step()", "with_step", ["c"], []),
    ("try:\n    step()\nexcept E:\n    pass", "try_step", ["E"], []),
    ("y = [step(i) for i in x]", "loop_step", ["x"], ["y"]),
    ("y = c or step(x)", "branch_step", ["c", "x"], ["y"]),
    ("key = lambda r: step(r)", "lambda_step", [], ["key"]),
    ("for i in x:\n    total += step(i)", "loop_step", ["x", "total"], ["total"]),
])
def test_placeholder_under_loop_or_condition_makes_the_statement_one_node(
        code, name, reads, targets):
    (block,) = plan_blocks(code, known_from("x", "c", "go", "E", "total"))
    ph = block.placeholder
    assert ph.compound and ph.inner == ("step",)
    assert (ph.name, ph.targets) == (name, targets)
    assert placeholder_variables(ph) == reads
    assert is_compound_call(block.source)


def test_compound_targets_are_the_names_later_statements_read():
    blocks = plan_blocks("for i in x:\n    a = step(i)\n    b = 2\nprint(a)", known_from("x"))
    assert blocks[0].placeholder.targets == ["a"]


def test_compound_statement_written_again_is_a_format_error():
    (block,) = plan_blocks("for i in x:\n    step(i)", known_from("x"))
    sig = block.placeholder.signature
    with pytest.raises(FormatError, match="you wrote the statement you are expanding again"):
        plan_blocks("for i in x:\n    step(i)", known_from("x"), forbidden_signatures={sig})


def test_top_level_def_calling_known_names_is_code_not_a_placeholder():
    blocks = plan_blocks("def clean(s):\n    return s.strip().lower()\n"
                         "words = [clean(w) for w in doc.split()]", known_from("doc"))
    assert [b.placeholder for b in blocks] == [None, None]


@pytest.mark.parametrize("code, message", [
    ("def f(s):\n    return helper(s)", "`def f` calls `helper`, which does not exist"),
    ("if c:\n    def f(): pass", "`def f` is not allowed here"),
    ("def solve(task):\n    return len(task)\n# usage", "`def solve` is never called"),
])
def test_def_refusals(code, message):
    with pytest.raises(FormatError, match=message):
        plan_blocks(code, known_from("c"))


def test_nothing_in_a_compound_statement_runs_before_it_is_expanded():
    log = []

    def act(x):
        """Do an action."""
        log.append(x)

    X = "<think>t</think><execute>{}</execute>".format
    llm = ScriptedLLM({
        "solve": X("act('first')\nfor i in range(3):\n    act(i)\n    step(i)\nact('last')"),
        "loop_step": X("for i in range(3):\n    act(i)\n    act(-i)"),
    })
    run = ReCode(llm, namespace={"act": act}).run("t")
    assert run.status == "done", run.error
    # the loop's own act(0) never ran: the expansion replaced the whole statement
    assert log == ["first", 0, 0, 1, -1, 2, -2, "last"]
    child = run.root.children[0]
    assert child.name == "loop_step" and child.call.startswith("for i in range(3):")
    assert "Placeholder" in llm.calls[1] and "    step(i)" in llm.calls[1]


def test_nothing_in_a_statement_runs_before_its_hoisted_placeholder():
    log = []

    def act(x):
        """Do an action."""
        log.append(x)
        return x

    X = "<think>t</think><execute>{}</execute>".format
    llm = ScriptedLLM({"solve": X("avg = act(round(mean(xs), 1))"),
                       "mean": X("log.append('mean')\nmean_result = sum(xs) / len(xs)")})
    ns = {"act": act, "log": log}
    run = ReCode(llm, namespace=ns).run("t", inputs={"xs": [1, 2]})
    assert run.status == "done", run.error
    assert log == ["mean", 1.5] and ns["avg"] == 1.5
    assert [n.call for n in run.nodes()] == ["solve(task, xs)", "mean_result = mean(xs)"]


def test_names_bound_in_block_or_earlier_are_not_placeholders():
    assert find_placeholder(blocks("f = len; n = f(x)")[1], known_from("x")) is not None
    # a loop variable that is called is bound in the same statement
    assert find_placeholder(blocks("for g in fs:\n    g()")[0], known_from("fs")) is None
    # plan_blocks sees `f` bound by the first statement
    assert [b.source for b in plan_blocks("f = len\nn = f(x)", known_from("x"))] == [
        "f = len", "n = f(x)"]


def test_plan_blocks_rejects_self_call_with_same_arguments():
    sig = find_placeholder(blocks("r = tidy(room)")[0], known_from("room")).signature
    with pytest.raises(FormatError, match="calls itself again with the same arguments"):
        plan_blocks("r = tidy(room)", known_from("room"), forbidden_signatures={sig})
    # different arguments: a legitimate recursion on a smaller input
    plan_blocks("r = tidy(rest)", known_from("rest"), forbidden_signatures={sig})


def test_a_reply_defining_the_step_itself_runs_it_with_the_step_call():
    code = "def solve(task):\n    return task.upper()"
    blocks = plan_blocks(code, known_from("task"), step="answer = solve(task)")
    assert [b.source for b in blocks] == [code, "answer = solve(task)"]
    assert [b.placeholder for b in blocks] == [None, None]
    ns = {"task": "go"}
    for b in blocks:
        exec(b.code, ns)
    assert ns["answer"] == "GO"
    # called by the reply itself: nothing appended; another name: still never called
    assert len(plan_blocks(code + "\nanswer = solve(task)", known_from("task"),
                           step="answer = solve(task)")) == 2
    with pytest.raises(FormatError, match="`def helper` is never called"):
        plan_blocks("def helper(t):\n    return t", known_from(), step="answer = solve(task)")


@pytest.mark.parametrize("code", [
    "v = step_1()", "x5 = act(5)", "a, b = split(x, 'y', k=z)", "report(total, sep=', ')",
    "x = f(a=1, a=2)", "f(__debug__=1)", "__x = f()", "x = f(*a)", "x = f(**k)",
    "(a, b), c = f()", "x = f(" + ", ".join(["1"] * 396) + ")",
    "x = f(" + ", ".join(["1"] * 397) + ")", "x = f(g(y))", "x.y = f(1)"])
def test_the_quick_read_of_a_call_statement_finds_what_the_walk_finds(code):
    from recode_magic.pycode.scan import _walk, scan

    stmt = parse_code(code).body[0]
    assert scan(stmt) == _walk(stmt)
