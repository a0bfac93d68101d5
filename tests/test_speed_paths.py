"""The per-node path's shortcuts (issue 24) give what the general path gives.

No timing here (speed is measured in ``benchmarks/``): each shortcut is checked against the
general code it skips, and through the public API where a user could see a difference.
"""

from __future__ import annotations

import ast
import pickle

import pytest

from recode_magic import ReCode, ScriptedLLM, load_run
from recode_magic.pycode import code as C
from recode_magic.pycode.calltally import Answers, CallTally
from recode_magic.pycode.namespace import describe_primitive
from recode_magic.runs.node import Step


def X(code: str) -> str:
    return f"<think>t</think><execute>{code}</execute>"


KNOWN = frozenset({"act", "len", "print", "x", "items"})


@pytest.mark.parametrize("code", [
    "v = step_1()", "x5 = act(5)", "a, b = split_it(x, 'y', k=items)", "report(x, sep=', ')",
    "v: int = count_it(items)", "v = act(step_two(x))", "v = step(a.b())", "a = b = make()",
    "x.y = make_it(1)", "v = make(*items)", "v = make(**items)", "x = x_again(x)",
    "print(len(find_it(items)))", "for i in items:\n    step(i)", "def f(a):\n    return a",
])
def test_the_quick_placeholder_is_the_general_paths(code):
    """``[targets =] name(...)``: same placeholder as hoisting then find_placeholder."""
    def known(n: str) -> bool:
        return n in KNOWN

    tree = C.parse_code(code)
    (block,) = C.split_blocks(tree, code)
    quick = C._quick_placeholder(block, known)
    parts = C._hoisted(block, known, lambda base: base + "_new")
    general = (C.find_placeholder(parts[0], known)
               if len(parts) == 1 and not isinstance(block.stmt, ast.FunctionDef) else False)
    if quick is False:  # not that shape: the general path decides
        return
    assert general is not False
    if quick is None:
        assert general is None
    else:
        assert general is not None and not general.compound
        assert (quick.name, quick.targets, quick.call) == (general.name, general.targets,
                                                           general.call)


def test_a_cached_placeholder_is_checked_again_when_its_name_became_known():
    block = C.plan_blocks("v = make_it(1)", lambda n: False)[0]
    assert block.placeholder is not None
    assert C.find_placeholder(block, lambda n: False) is block.placeholder
    assert C.find_placeholder(block, lambda n: n == "make_it") is None  # bound meanwhile


def test_answers_of_a_list_a_later_statement_changes_show_it_as_it_was_answered():
    def fetch(n):
        """Fetch n items."""
        return list(range(n))

    ns = {"fetch": fetch}
    llm = ScriptedLLM({"solve": X("rows = fetch(2)\nrows.append(9)\ntotal = fetch(1)")})
    run = ReCode(llm, namespace=ns).run("t", output="total")
    assert run.status == "done", run.error
    steps = run.root.steps
    assert steps[0].answers == ["fetch(2) -> [0, 1]"]  # not [0, 1, 9]: formatted at once
    assert steps[2].answers == ["fetch(1) -> [0]"]


def test_answers_formatted_later_read_and_save_the_same(tmp_path):
    def act(command, times=1):
        """Do one action."""
        return f"done: {command}" if times == 1 else (command, times)

    llm = ScriptedLLM({"solve": X("a = act('go east')\nb = act('wait', times=2)")})
    path = tmp_path / "run.json"
    run = ReCode(llm, namespace={"act": act}, save_path=str(path)).run("t")
    assert run.status == "done", run.error
    answers = [s.answers for s in run.root.steps]
    assert answers == [["act('go east') -> 'done: go east'"],
                       ["act('wait', times=2) -> ('wait', 2)"]]
    assert [s.answers for s in load_run(str(path)).root.steps] == answers
    again = pickle.loads(pickle.dumps(run.root.steps))
    assert [s.answers for s in again] == answers


def test_a_step_holds_answers_as_a_list_or_as_calls_to_format():
    calls = Answers((("act", (1,), {"k": "v"}, None),))
    step = Step(code="act(1, k='v')", answers=calls)  # type: ignore[arg-type]
    assert step == Step(code="act(1, k='v')", answers=["act(1, k='v') -> None"])
    assert step.to_dict()["answers"] == ["act(1, k='v') -> None"]
    assert Step(code="x").answers == [] and Step(code="x").answers is not Step("x").answers


def test_pending_formats_at_once_what_may_change():
    tally = CallTally()
    ns = {"get": lambda: {"a": 1}, "num": lambda: 3}
    with tally.watching(ns, ["get"]):
        ns["get"]()
    assert tally.pending() == ["get() -> {'a': 1}"]  # a dict: text now
    tally.reset()
    with tally.watching(ns, ["num"]):
        ns["num"]()
    pending = tally.pending()
    assert isinstance(pending, Answers) and pending.texts() == ["num() -> 3"]
    tally.reset()
    assert tally.pending() == []


def test_a_primitive_redefined_is_described_anew():
    def make(default):
        def act(x, n=default):
            """Act."""
            return x
        return act

    assert describe_primitive("act", make(1)) == "act(x, n=1) -- Act."
    assert describe_primitive("act", make(2)) == "act(x, n=2) -- Act."  # same code
    assert describe_primitive("act", make([1])) == "act(x, n=[1]) -- Act."
    listed = make([])
    assert describe_primitive("act", listed) == "act(x, n=[]) -- Act."
    listed.__defaults__[0].append(5)  # a default changed in place: read again
    assert describe_primitive("act", listed) == "act(x, n=[5]) -- Act."
    fn = make(1)
    fn.__annotations__["x"] = int
    assert describe_primitive("act", fn) == "act(x: int, n=1) -- Act."


# -- fifth pass: a one-line call statement without the parser, a plain reply without regexes

_ATOMS = ["x", "y1", "_a", "k", "None", "True", "if", "match", "_", "__debug__", "__x", "0",
          "7", "01", "123456789012345678", "1234567890123456789", "1.5", "1e3", "0x1", "1_0",
          "'a b'", "''", '""', "\"x'y\"", "'#)'", "'a\"b'", "'\\n'", "'\\t'", "'\t'", "-1",
          "[1]", "f(x)", "a.b", "é", "'é'", "b'x'", "f'x'", "u'x'", "'a' 'b'", "x=1"]


def _quick_cases(n: int = 4000) -> list[str]:
    import random

    rnd = random.Random(24)
    cases = ["v = step_1()", "x0 = act(0)", "r0 = part_0(n=0)", "print('done')",
             "v = f(x, k=1, s='a b')", "f(k=x)", "v = f(1, 'a', \"b\")", "f(a, b=\"#)\")",
             "v = f(a=1, a=2)", "v = f(a=1, b)", "v = f(a, )", "v = f(a,)", "v = f( a)",
             "v = f(a)  # c", "v = f(a);", "v = f(a)\nw = g(v)", "v = f(\ta)", "\tv = f(a)"]
    for _ in range(n):
        args = []
        for _ in range(rnd.randrange(0, 4)):
            a = rnd.choice(_ATOMS if rnd.random() < 0.3 else _ATOMS[:3] + _ATOMS[11:13])
            if rnd.random() < 0.4:
                a = rnd.choice(["k", "n", "if", "__x", "k "]) + rnd.choice(["=", " = ", "=="]) + a
            args.append(a)
        sep = rnd.choice([",", " ,", ",  "]) if rnd.random() < 0.1 else ", "
        body = sep.join(args) + (rnd.choice([",", ", "]) if rnd.random() < 0.05 else "")
        head = rnd.choice(["", "v = ", "v = ", "v  = ", "v=", "a, b = ", "None = ", "x.y = ",
                           "__debug__ = ", "case = ", "x1 = "])
        fn = rnd.choice(["f", "step_1", "print", "None", "if", "_f", "__f", "f.g", "match"])
        tail = rnd.choice(['', ' ', '  # c', ';'])
        if rnd.random() < 0.6:  # the shape itself, with varied arguments
            head, fn, tail = rnd.choice(["", "v = ", "x1 = "]), rnd.choice(["f", "_f2"]), ""
        cases.append(f"{head}{fn}({body}){tail}")
    return cases


def test_a_quick_tree_is_what_the_parser_builds():
    """Same nodes, fields, positions; None (parsed as before) for anything else."""
    from recode_magic.pycode.quickparse import quick_tree

    built = 0
    for code in _quick_cases():
        quick = quick_tree(code)
        try:
            parsed = ast.parse(code)
        except (SyntaxError, ValueError):
            assert quick is None, code
            continue
        if quick is not None:
            built += 1
            assert (ast.dump(quick, include_attributes=True)
                    == ast.dump(parsed, include_attributes=True)), code
            # the same attributes in the same order (vars, copies and pickles see them)
            assert ([list(vars(n)) for n in ast.walk(quick)]
                    == [list(vars(n)) for n in ast.walk(parsed)]), code
            assert ast.dump(pickle.loads(pickle.dumps(quick))) == ast.dump(parsed), code
    assert built > 500  # the shape is common enough in the cases to be tested


def test_a_quick_tree_compiles_and_plans_as_a_parsed_one():
    code = "v = make_it(x, 2, s='a', n=k)"
    blocks = C.plan_blocks(code, lambda n: n in {"x", "k"})
    (block,) = blocks
    assert block.placeholder is not None and block.placeholder.name == "make_it"
    assert block.placeholder.signature == "make_it" + ast.dump(ast.Tuple(elts=[
        ast.parse(a, mode="eval").body for a in ("x", "2", "'a'", "k")])) + "s,n"
    ns = {"make_it": lambda *a, **k: (a, k), "x": 1, "k": 3}
    exec(compile(C.parse_code(code), "<t>", "exec"), ns)  # noqa: S102 - the test's own code
    assert ns["v"] == ((1, 2), {"s": "a", "n": 3})


def _reply_cases(n: int = 4000) -> list[str]:
    import random

    rnd = random.Random(5)
    parts = ["<think>", "</think>", "<execute>", "</execute>", "<THINK>", "</Think>",
             "<EXECUTE>", "</execute >", "```python\n", "```", "x = 1", "v = step_1()", " ",
             "\n", "\t", "  y = 2\n", "plan", "a < b", "`", "\\n", "é", ""]
    cases = ["<think>t</think><execute>v = step_1()</execute>",
             "<think> t </think><execute>\nv = f()\n</execute> more <execute>x</execute>",
             "<think>t</think><execute>  v = f()</execute>", "<think></think><execute></execute>"]
    for _ in range(n):
        if rnd.random() < 0.7:
            plain = parts if rnd.random() < 0.3 else parts[10:13] + parts[16:17]
            cases.append(f"<think>{rnd.choice(plain)}{rnd.choice(plain)}</think><execute>"
                         f"{rnd.choice(plain)}{rnd.choice(plain)}{rnd.choice(plain)}"
                         f"</execute>{rnd.choice(parts)}")
        else:
            cases.append("".join(rnd.choice(parts) for _ in range(rnd.randrange(1, 8))))
    return cases


def test_a_plain_reply_is_read_as_the_regular_expressions_read_it():
    from recode_magic.prompting import reply as R

    read = 0
    for text in _reply_cases():
        quick = R._plain(text)
        if quick is None:
            continue
        read += 1
        assert quick == R._general(text), text
    assert read > 200
    assert R.parse_reply("<think> t </think><execute>v = f()  </execute>") == ("t", "v = f()")


def test_a_one_line_block_is_what_splitting_the_parsed_reply_gives():
    seen = 0
    for code in _quick_cases(1500):
        quick = C._one_line(code, "<f>")
        if quick is None:
            continue
        seen += 1
        (general,) = C.split_blocks(ast.parse(code), code, "<f>")
        (block,) = quick
        assert (ast.dump(block.stmt, include_attributes=True)
                == ast.dump(general.stmt, include_attributes=True)), code
        assert (block.source, block.calls, block.binds, block.filename, block.facts) == (
            general.source, general.calls, general.binds, general.filename, general.facts)
        assert block._code is None and block.placeholder is None
    assert seen > 200


def test_a_variable_line_kept_between_steps_follows_its_value():
    """The prompt line of an unchanged str is kept; a rebound or mutable value is shown anew."""
    llm = ScriptedLLM({
        "solve": X("a = 'one'\nxs = [1]\nv = step_1(a, xs)\na = 'two'\nxs.append(2)\n"
                   "w = step_2(a, xs)\nz = step_3(a, xs)"),
        "step_1": X("v = 1"), "step_2": X("w = 2"), "step_3": X("z = task")})
    run = ReCode(llm).run("the task")
    assert run.status == "done", run.error
    prompts = {n.name: n.prompt for n in run.nodes()}
    assert "- a (str): 'one'\n- xs (list): [1]\n" in prompts["step_1"]
    assert "- a (str): 'two'\n- xs (list): [1, 2]\n" in prompts["step_2"]
    assert "- a (str): 'two'\n- xs (list): [1, 2]\n" in prompts["step_3"]


def test_the_frame_fields_push_child_passes_by_position_keep_their_order():
    from dataclasses import fields

    from recode_magic.engine.runstate import Frame

    assert [f.name for f in fields(Frame)][:10] == [
        "node", "blocks", "pc", "retries", "child_block", "ran", "placeholder", "variables",
        "shadowed", "keywords"]
    assert [f.default for f in fields(Frame)][1:5] == [None, 0, 0, None]
