"""Fuzz the reply parser, block splitter and policy: only the documented errors may escape.

About 10,500 generated replies in all (random text, tag soup, Python-ish code in tags, bytes
decoded with ``surrogateescape``), plus a few 1 MB replies.
"""

from __future__ import annotations

import signal
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recode_magic.errors import FormatError, PolicyError
from recode_magic.prompting.reply import parse_reply
from recode_magic.pycode.code import plan_blocks
from recode_magic.pycode.limits import block_timeout
from recode_magic.pycode.policy import check_code


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")  # e.g. "invalid literal"
KNOWN = frozenset({"task", "move", "read_sensor", "print", "len", "range", "data"})
PROTECTED = frozenset({"move", "read_sensor", "data"})

TAGS = ["<think>", "</think>", "<execute>", "</execute>", "<EXECUTE>", "</Execute>",
        "```python\n", "```py\n", "```\n", "```", "<think", "execute>", "</", "<>"]
TOKENS = ["x", "y", "out", "task", "move", "data", "foo", "step_one", "print", "os", "(", ")",
          "[", "]", "{", "}", ",", ":", "=", "==", ":=", "+=", "-", "*", "**", ".", "@", "->",
          "'", '"', '"""', "f'{", "\\", "#", "1", "0x", "1e9", "...", " ", "    ", "\n", "\t",
          "if ", "else", "elif ", "for ", " in ", "while ", "def ", "class ", "lambda ",
          "return ", "yield ", "await ", "async ", "import ", "from ", " as ", "global ",
          "nonlocal ", "del ", "try:", "except", "finally:", "with ", "match ", "case ",
          "__class__", "__import__", "eval", "exec", "open", "pass", "break", "continue",
          "None", "True", "not ", " and ", " or ", "\x00", "\u00e9", "\ud800"]
NAMES = st.sampled_from(["x", "y", "out", "move", "data", "task", "foo", "plan_step", "_", "os"])


@st.composite
def statements(draw: st.DrawFn) -> str:
    t, t2, f, a = draw(NAMES), draw(NAMES), draw(NAMES), draw(NAMES)
    template = draw(st.sampled_from([
        "{t} = {f}({a})", "{f}({a}, k={a})", "{t}, {t2} = {f}({a})",
        "for {t} in {a}:\n    {f}({t})",
        "if {a}:\n    {t} = {f}()", "{t} = [{f}(i) for i in {a}]", "{t} = {f}({f}({a}))",
        "import {a}", "from {a} import {t}", "{t} += {f}({a})", "print({t}.__class__)",
        "{t} = {f}(" + "-" * draw(st.integers(0, 1200)) + "1)", "{f}({a}",
        "def {f}():\n    pass",
        "try:\n    {f}()\nexcept:\n    pass", "del {t}", "{t} = lambda: {f}({a})",
        "while {a}:\n    {f}()", "{t} = {f}(*{a}, **{a})", "{t}: int = {f}({a})",
        "{t} = {a}({f}({a}), k={f}(*{a}))[{f}()]", "if {f}({a}) and {t}:\n    {f}()",
        "with {f}({a}) as {t}:\n    {t} = {f}()", "def {f}({a}):\n    return {t}({a})",
        "{t}.x, {t2}[{f}()] = {f}({a}), {a}", "print(*{f}({a}), sep={f}())",
    ]))
    return template.format(t=t, t2=t2, f=f, a=a)


@st.composite
def python_ish(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(st.sampled_from(TOKENS), statements()), max_size=40))
    return "\n".join(parts) if draw(st.booleans()) else "".join(parts)


@st.composite
def replies(draw: st.DrawFn) -> str:
    code = draw(python_ish())
    thought = draw(st.text(max_size=50))
    shape = draw(st.sampled_from([
        "<think>{t}</think><execute>{c}</execute>", "<execute>{c}</execute>", "<execute>{c}",
        "<think>{t}<execute>{c}</execute>", "```python\n{c}\n```", "<execute>```python\n{c}```"
        "</execute>", "{t}<execute>{c}</execute><execute>{c}</execute>", "{c}",
        "<EXECUTE>\n    {c}\n</EXECUTE>",
    ]))
    return shape.format(t=thought, c=code)


TAG_SOUP = st.lists(st.one_of(st.sampled_from(TAGS), st.sampled_from(TOKENS), st.text(max_size=8)),
                    max_size=30).map("".join)
SURROGATE_TEXT = st.binary(max_size=400).map(lambda b: b.decode("utf-8", "surrogateescape"))
SURROGATE_REPLY = st.tuples(st.binary(max_size=200), st.sampled_from(TAGS[2:])).map(
    lambda p: f"<execute>{p[0].decode('utf-8', 'surrogateescape')}</execute>{p[1]}")


def consume(reply: str) -> None:
    """Everything the engine does with a reply before running it: only documented errors."""
    try:
        thought, code = parse_reply(reply)
        assert isinstance(thought, str) and isinstance(code, str)
        blocks = plan_blocks(code, known=KNOWN.__contains__,
                             forbidden_signatures={"step_one" + "Tuple(elts=[], ctx=Load())"})
    except FormatError as exc:
        assert isinstance(exc.hint, str) and str(exc)
        return
    for block in blocks:
        if block.placeholder is None:  # hoisting rewrote it: it must still compile
            assert block.code is not None
        try:
            check_code(block.stmt, protected=PROTECTED)
        except PolicyError as exc:
            assert "\n" not in str(exc) and exc.rule


@fuzz(2500)
@given(st.text(max_size=300))
def test_random_text(reply: str) -> None:
    consume(reply)


@fuzz(2500)
@given(TAG_SOUP)
def test_tag_soup(reply: str) -> None:
    consume(reply)


@fuzz(3500)
@given(replies())
def test_python_ish_replies(reply: str) -> None:
    consume(reply)


@fuzz(2000)
@given(st.one_of(SURROGATE_TEXT, SURROGATE_REPLY))
def test_non_utf8_replies(reply: str) -> None:
    consume(reply)


HUGE_SECONDS = 60  # a hang fails fast and clearly instead of at pytest-timeout's limit
slow = pytest.mark.slow


@pytest.mark.parametrize("reply", [
    pytest.param("<execute>" + "x = 1\n" * 170_000 + "</execute>", id="many-lines", marks=slow),
    pytest.param("<think>" + "a" * 1_000_000 + "</think><execute>x = 1</execute>",
                 id="huge-thought"),
    pytest.param("<execute>" + "(" * 1_000_000 + "</execute>", id="open-parens"),
    pytest.param("<execute>x = " + "-" * 1_000_000 + "1</execute>", id="deep-unary"),
    pytest.param("<execute>x = '" + "\\" * 1_000_000 + "'</execute>", id="backslashes"),
    pytest.param("<execute>" * 100_000, id="many-opens"),
    pytest.param("```python\n" + "print(1); " * 100_000 + "\n```", id="one-long-line",
                 marks=slow),
    pytest.param("".join(string.printable[i % 100] for i in range(1_000_000)), id="printable"),
    pytest.param(b"\xff\xfe<execute>\x80x = 1\xc3</execute>".decode("utf-8", "surrogateescape"),
                 id="bad-bytes"),
])
def test_huge_and_odd_replies(reply: str) -> None:
    with block_timeout(HUGE_SECONDS if hasattr(signal, "setitimer") else None):
        consume(reply)
