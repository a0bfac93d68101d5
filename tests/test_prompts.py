"""The default prompt: what a small model is shown, and how a re-ask changes the question."""

from __future__ import annotations

import ast
import re

import pytest

from recode_magic import ReCode, ScriptedLLM
from recode_magic.prompting.prompts import (
    COMPOUND_NOTE,
    FEW_SHOTS,
    RULES,
    build_prompt,
    fixed_part,
    reask_feedback,
    repair_feedback,
)
from recode_magic.prompting.reply import parse_reply
from recode_magic.pycode.code import BUILTIN_NAMES

X = "<think>t</think><execute>{}</execute>".format


def example_codes() -> list[str]:
    return [parse_reply(m)[1] for m in re.findall(r"<execute>.*?</execute>", FEW_SHOTS, re.S)]


def test_a_function_only_the_examples_call_is_refused_if_the_model_calls_it():
    # the 1.5B model called the examples' find/move/say/take as if they existed: every name
    # an example calls is either a builtin or listed by example_names, which the engine
    # refuses before it runs (tests/test_resultcheck.py runs that refusal)
    from recode_magic.prompting.prompts import example_names

    codes = example_codes()
    assert codes
    leaked = example_names(FEW_SHOTS)
    for code in codes:
        called = {n.func.id for n in ast.walk(ast.parse(code))
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert called <= BUILTIN_NAMES | leaked, called
    assert {"press", "read"} <= leaked and "len" not in leaked
    # the example that uses them says they exist only there
    assert "`press` and `read` exist only in this example" in FEW_SHOTS
    assert "Primitives:" not in FEW_SHOTS


def test_fixed_part_is_short_and_lists_the_user_primitives_once():
    fixed = fixed_part(["act(command) -- Send one command to the game."])
    assert fixed.startswith(RULES) and fixed.count("act(command)") == 1
    assert len(fixed) < 2000  # a small model reads all of it on every expansion


def test_fixed_part_is_byte_identical_between_expansions_and_first():
    ns = {}
    exec("def act(c):\n    '''Do c.'''\n    return c", ns)
    llm = ScriptedLLM({"solve": X("r = first_step(task)\nfor i in range(2):\n    helper(i)"),
                       "first_step": X("r = act(task)"),
                       "loop_helper": X("for i in range(2):\n    act(i)")})
    run = ReCode(llm, namespace=ns, tools=["act"]).run("go")
    assert run.status == "done", run.error
    assert len(llm.calls) == 3
    assert len({p.fixed for p in llm.calls}) == 1
    assert all(p.startswith(p.fixed) for p in llm.calls)


def test_compound_placeholder_is_shown_as_a_statement_with_what_to_write():
    simple = build_prompt("F\n", "x = step(a)", ["- a (int): 1"])
    assert "Placeholder: x = step(a)" in simple and COMPOUND_NOTE not in simple
    compound = build_prompt("F\n", "for a in xs:\n    step(a)", ["- xs (list): [1]"])
    assert "for a in xs:\n    step(a)\nVariables:\n- xs (list): [1]" in compound
    assert COMPOUND_NOTE in compound and compound.fixed == "F\n"


@pytest.mark.parametrize("hint", [
    "`find_words` is the step you are expanding: do not call it again",
    "`find_words` calls itself again with the same arguments, which never ends",
])
def test_self_call_reask_asks_for_the_code_with_an_example(hint):
    text = reask_feedback(hint, "words = find_words(doc)", 1)
    assert "<execute>words = find_words(doc)</execute>" in text
    assert "Do not call `find_words`" in text and "n = len(text.split())" in text
    assert "no new functions" not in text


def test_second_reask_asks_for_primitives_only():
    first = reask_feedback("line 1: SyntaxError", "x = (", 1)
    second = reask_feedback("line 1: SyntaxError", "x = (", 2)
    assert "no new functions" not in first and "no new functions" in second


def test_repeated_self_call_gets_a_different_question_each_time():
    llm = ScriptedLLM({"solve": X("words = find_words(task)"),
                       "find_words": [X("words = find_words(task)")] * 2
                       + [X("words = task.split()")]})
    run = ReCode(llm, max_rewrite=3).run("a b")
    assert run.status == "done", run.error
    asks = [p.dynamic for p in llm.calls if p.placeholder == "find_words"]
    assert len(asks) == 3 and len(set(asks)) == 3
    assert "Do not call `find_words`" in asks[1] and "no new functions" in asks[2]


@pytest.mark.parametrize("error, tip", [
    ("TypeError: 'tuple' object does not support item assignment", "a tuple cannot be changed"),
    ("ValueError: too many values to unpack (expected 2)", "d.items()"),
    ("KeyError: 'price'", "d.get(key)"),
])
def test_repair_names_the_fix_of_errors_a_small_model_repeats(error, tip):
    text = repair_feedback(["a = 1"], f"Traceback...\n{error}", "b = f(a)")
    assert f"Error: {error}\nHint: " in text and tip in text


def test_repair_of_other_errors_has_no_hint():
    assert "Hint" not in repair_feedback([], "ZeroDivisionError: division by zero", "1 / 0")


def test_compound_flag_given_by_the_engine_wins_over_the_call_text():
    assert COMPOUND_NOTE in build_prompt("F\n", "x = step(a)", [], compound=True)
    assert COMPOUND_NOTE not in build_prompt("F\n", "for a in b:\n    s(a)", [], compound=False)


def test_from_the_second_reask_the_answer_is_not_shown_whole():
    answer = "def solve(task):\n    return 1\nsolve(task)"
    assert answer in reask_feedback("rule no-rebind: ...", answer, 1)
    second = reask_feedback("rule no-rebind: ...", answer, 2)
    assert answer not in second and "began with: def solve(task):" in second


def test_rebinding_refusal_is_answered_with_the_corrected_code():
    hint = ("rule no-rebind: `doc` must not be rebound (it is a primitive or a variable "
            "defined before the run); store the result under a new name")
    text = reask_feedback(hint, "doc = doc.lower()\nanswer = sorted(set(doc.split()))", 1)
    assert ("<execute>doc_value = doc.lower()\nanswer = sorted(set(doc_value.split()))"
            "</execute>") in text


def test_rebound_input_is_fixed_by_copying_the_corrected_code_in_a_run():
    def model(prompt):  # a small model copies the corrected code it is shown
        fixed = re.search(r"allowed:\n<execute>(.*?)</execute>", prompt, re.S)
        return X(fixed.group(1) if fixed else "doc = doc.lower()\nanswer = doc.split()")

    llm = ScriptedLLM({"solve": model})
    ns = {}
    run = ReCode(llm, namespace=ns).run("t", inputs={"doc": "A b"}, output="answer")
    assert run.status == "done", run.error
    assert ns["answer"] == ["a", "b"] and ns["doc"] == "A b"


def test_redefining_a_primitive_is_answered_with_the_code_without_that_def():
    hint = "rule no-rebind: `neighbors` must not be rebound (it is a primitive ...)"
    code = "def neighbors(n):\n    return ['B']\npath = neighbors('A')"
    assert "<execute>path = neighbors('A')</execute>" in reask_feedback(hint, code, 1)


def test_a_repeated_compound_statement_is_answered_by_defining_its_function():
    """text_slugs (real 1.5B transcript): `answer.append(slug(title))` in a loop, repeated 12
    times; the re-ask now asks for `def slug(...)` before the statement, which then runs."""
    from recode_magic import ReCode, ScriptedLLM

    def x(code: str) -> str:
        return f"<think>t</think><execute>{code}</execute>"

    loop = "answer = []\nfor title in titles:\n    answer.append(slug(title))"
    body = "for title in titles:\n    answer.append(slug(title))"
    llm = ScriptedLLM({"solve": x(loop),
                       "loop_slug": [x(loop), x("def slug(t):\n    return t.lower()\n" + body)]})
    run = ReCode(llm).run("t", inputs={"titles": ["A", "B"]}, output="answer")
    assert run.status == "done" and run.namespace["answer"] == ["a", "b"]
    assert "Keep the statement, but first define `slug` in the same answer" in llm.calls[2]
