"""Reply parsing, block splitting and static placeholder detection."""

from __future__ import annotations

import pytest

from recode_magic.code import find_placeholder, parse_code, parse_reply, plan_blocks, split_blocks
from recode_magic.errors import FormatError


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
])
def test_parse_reply(reply, code):
    assert parse_reply(reply)[1] == code


@pytest.mark.parametrize("reply, message", [
    ("just words", "no <execute> block"),
    ("<execute>a</execute><execute>b</execute>", "2 <execute> blocks"),
])
def test_parse_reply_errors(reply, message):
    with pytest.raises(FormatError, match=message):
        parse_reply(reply)


@pytest.mark.parametrize("code, message", [
    ("x = (", "SyntaxError"),
    ("class A: pass", "`class A` is not allowed"),
    ("async def f(): pass", "`def f` is not allowed"),
])
def test_parse_code_rejects(code, message):
    with pytest.raises(FormatError, match=message):
        parse_code(code)


@pytest.mark.parametrize("code", ["return 3", "break", "x = 1\nnonlocal x"])
def test_compile_errors_found_per_statement(code):
    with pytest.raises(FormatError, match="SyntaxError"):
        plan_blocks(code, known_from())


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


@pytest.mark.parametrize("code, where", [
    ("for i in x:\n    step(i)", "a for loop"),
    ("while go:\n    step()", "a while loop"),
    ("if c:\n    step()", "an if"),
    ("with c:\n    step()", "a with block"),
    ("try:\n    step()\nexcept E:\n    pass", "a try block"),
    ("y = [step(i) for i in x]", "a comprehension"),
    ("y = 1 + step()", "another expression"),
    ("y = print(step())", "another expression"),
    ("y = other(step())", "another expression"),
    ("x.attr = step()", "another expression"),
])
def test_nested_placeholders_are_format_errors(code, where):
    with pytest.raises(FormatError, match=f"placeholder `(step|other)` is inside {where}"):
        find_placeholder(blocks(code)[0], known_from("x", "c", "go", "E", "print"))


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
