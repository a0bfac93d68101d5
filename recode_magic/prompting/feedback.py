"""What the model is told when its answer could not be used, failed, or left no result.

Each function returns the feedback text that
:func:`~recode_magic.prompting.prompts.build_prompt` puts under "Your previous answer for
this placeholder could not be used:". The wording was chosen from real 1.5B-model
transcripts (issue 12; README "Evaluation"): at temperature 0 the same question gets the
same answer, so each re-ask changes what is asked.

- :func:`reask_feedback`: an unusable reply (format, policy, self-call), shown back;
- :func:`repair_feedback` / :func:`restart_feedback`: a statement raised (the rest of the
  step after what ran, or the whole step again when it touched nothing outside);
- :func:`replan_feedback`: the world refused a step (``check=`` / ``StepFailed``);
- :func:`result_feedback`: the step ran but left its result unset or empty.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import Any

from ..pycode.astlock import parse

__all__ = ["repair_feedback", "restart_feedback", "reask_feedback", "replan_feedback",
           "decompose_feedback", "heard_feedback", "PLAN_ASK",
           "result_feedback", "ran_with_answers", "ERROR_HINTS"]


def repair_feedback(ran: list[str], error: str, line: str | None) -> str:
    """What a repair asks: the statements that already ran, the one that failed, the error.

    >>> print(repair_feedback(["a = 1"], "Traceback...\\nZeroDivisionError: x", "b = a / 0"))
    These statements already ran (their variables are set; do not repeat them):
    a = 1
    This statement failed:
    b = a / 0
    Error: ZeroDivisionError: x
    Write the code for the rest of this step, starting from the failed statement, fixing the cause.
    """
    done = "\n".join(ran) or "(nothing)"
    last = _last_line(error)
    tip = next((f"\nHint: {t}" for pattern, t in ERROR_HINTS if pattern.search(last)), "")
    return (f"These statements already ran (their variables are set; do not repeat them):\n"
            f"{done}\n"
            f"This statement failed:\n{line or '?'}\n"
            f"Error: {last}{tip}\n"
            f"Write the code for the rest of this step, starting from the failed statement, "
            f"fixing the cause.")


def restart_feedback(code: str, error: str, line: str | None) -> str:
    """What a repair asks of a step that called no primitive: the whole step again.

    Such a step changed nothing outside the namespace, so it can run again from its start;
    asking only for "the rest" made a 1.5B model repeat the statements that ran anyway (a
    total summed twice).

    >>> print(restart_feedback("a = [1]\\nb = a['x']", "Traceback...\\nTypeError: no",
    ...                        "b = a['x']"))
    Your code:
    a = [1]
    b = a['x']
    failed at this statement:
    b = a['x']
    Error: TypeError: no
    Write the whole step again, fixed (it runs again from its start).
    """
    last = _last_line(error)
    tip = next((f"\nHint: {t}" for pattern, t in ERROR_HINTS if pattern.search(last)), "")
    return (f"Your code:\n{code.strip()}\nfailed at this statement:\n{line or '?'}\n"
            f"Error: {last}{tip}\nWrite the whole step again, fixed (it runs again from its "
            f"start).")


#: Runtime errors a small model repeated through both repairs, with what fixes them.
ERROR_HINTS = [
    (re.compile(r"'tuple' object does not support item assignment"),
     "a tuple cannot be changed: build a list (list(t)) or a new tuple instead."),
    (re.compile(r"(too many|not enough) values to unpack|cannot unpack non-iterable"),
     "to loop over a dict's keys and values write `for key, value in d.items():`; "
     "check how many items each element really has."),
    (re.compile(r"'(dict|list|str|int|float|NoneType)' object is not callable"),
     "a variable with that value is called like a function; use another name or index it."),
    (re.compile(r"'NoneType' object"),
     "a value is None: a function that prints or changes something in place returns None."),
    (re.compile(r"(list|string|tuple) index out of range"),
     "check the length first, or loop over the items instead of using fixed indexes."),
    (re.compile(r"string indices must be integers"),
     "the value indexed with a key is a str, not a dict (e.g. a list already turned into "
     "names): keep the dicts until the last line."),
    (re.compile(r"KeyError"),
     "the key is missing: look at the variable's keys shown above, or use d.get(key)."),
]


_SELF_CALL = re.compile(r"calls itself|is the step you are expanding|statement you are "
                        r"expanding again")
_NAME = re.compile(r"`(\w+)`")
_COMPOUND_REPEAT = re.compile(r"statement you are expanding again \(it calls `\w+`")
_REBOUND = re.compile(r"`(\w+)` must not be rebound")


class _Rename(ast.NodeTransformer):
    """Rename a variable from its first assignment on; calls of the name are left alone."""

    def __init__(self, old: str, new: str):
        self.old, self.new, self.bound = old, new, False

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func
        if not (isinstance(func, ast.Name) and func.id == self.old):
            node.func = self.visit(func)
        node.args = [self.visit(a) for a in node.args]
        node.keywords = [self.visit(k) for k in node.keywords]
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        node.value = self.visit(node.value)  # the value is read before the name is bound
        node.targets = [self.visit(t) for t in node.targets]
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        node.value = self.visit(node.value)
        if isinstance(node.target, ast.Name) and node.target.id == self.old and not self.bound:
            # `x += 1` on a protected x: the new name starts from the old value
            self.bound = True
            return ast.Assign(targets=[ast.Name(self.new, ast.Store())],
                              value=ast.BinOp(ast.Name(self.old, ast.Load()), node.op,
                                              node.value))
        node.target = self.visit(node.target)
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == self.old:
            if isinstance(node.ctx, ast.Store):
                self.bound = True
                return ast.copy_location(ast.Name(self.new, node.ctx), node)
            if self.bound:
                return ast.copy_location(ast.Name(self.new, node.ctx), node)
        return node


def _renamed(code: str, name: str) -> str | None:
    """``code`` with the variable ``name`` renamed from its first assignment on.

    >>> print(_renamed("doc = doc.lower()\\nwords = doc.split()", "doc"))
    doc_value = doc.lower()
    words = doc_value.split()
    >>> print(_renamed("neighbors = neighbors(node)\\nfor n in neighbors:\\n    print(n)",
    ...                "neighbors"))
    neighbors_value = neighbors(node)
    for n in neighbors_value:
        print(n)
    >>> print(_renamed("def neighbors(n):\\n    return []\\nnext_nodes = neighbors('A')",
    ...                "neighbors"))
    next_nodes = neighbors('A')
    """
    try:
        tree = parse(code)
    except (SyntaxError, ValueError):
        return None
    # `def neighbors(...)` over the primitive `neighbors`: the primitive exists, drop the def
    body = [s for s in tree.body if not (isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                                         and s.name == name)]
    dropped = len(body) < len(tree.body)
    tree.body = body
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    new, i = f"{name}_value", 1
    while new in used:
        i += 1
        new = f"{name}_value{i}"
    rename = _Rename(name, new)
    tree = ast.fix_missing_locations(rename.visit(tree))
    return ast.unparse(tree) if rename.bound or (dropped and tree.body) else None


def reask_feedback(hint: str, previous: str, attempt: int) -> str:
    """A re-ask that shows the unusable answer and changes what is asked.

    At temperature 0 the same question gets the same answer, so: the answer is shown (from
    the second re-ask only its first line: a 1.5B model copied a whole answer shown back to
    it three times); a step that only repeated itself is asked for the code that does it,
    with an example; from the second re-ask on, primitives and builtins only.

    >>> print(reask_feedback("line 1: SyntaxError", "x = (", 1))
    line 1: SyntaxError
    Your answer (attempt 1) was:
    <execute>x = (</execute>
    Do not repeat it; write different code.
    >>> print(reask_feedback("`count_words` is the step you are expanding: ...",
    ...                      "n = count_words(text)", 2))  # doctest: +ELLIPSIS
    `count_words` is the step you are expanding: ...
    Your answer (attempt 2) began with: n = count_words(text)
    That answer only repeats the step. Do not call `count_words`: write the code that does ...
    This time use no new functions: only the primitives, builtins and the variables.
    """
    if attempt >= 2:  # shown again and again, the answer is copied again (screening)
        first = previous.strip().splitlines()[0][:120] if previous.strip() else ""
        text = f"{hint}\nYour answer (attempt {attempt}) began with: {first}\n"
    else:
        text = f"{hint}\nYour answer (attempt {attempt}) was:\n<execute>{previous}</execute>\n"
    rebound = _REBOUND.search(hint)
    fixed = _renamed(previous, rebound.group(1)) if rebound else None
    if fixed:
        text += (f"Do not repeat it. The same code without rebinding `{rebound.group(1)}`, "
                 f"which is allowed:\n"
                 f"<execute>{fixed}</execute>\nUse it (fix anything else that is wrong).")
    elif _COMPOUND_REPEAT.search(hint) and (name := _NAME.search(hint)):
        # the model wants the function: let it define it (then the statement runs as written)
        text += (f"That answer repeats the statement. Keep the statement, but first define "
                 f"`{name.group(1)}` in the same answer: `def {name.group(1)}(...):` with a "
                 f"body that computes and returns its value with builtins and the primitives.")
    elif _SELF_CALL.search(hint):
        name = _NAME.search(hint)
        what = f"Do not call `{name.group(1)}`: " if name else ""
        text += (f"That answer only repeats the step. {what}write the code that does it. "
                 f"For example, for `n = count_words(text)` the answer is "
                 f"<execute>n = len(text.split())</execute>.")
    else:
        text += "Do not repeat it; write different code."
    if attempt >= 2:
        text += "\nThis time use no new functions: only the primitives, builtins and the variables."
    return text


def replan_feedback(ran: list[str], call: str, observation: str) -> str:
    """What a re-plan asks: what ran, the step the world refused, and what it answered.

    Used when a primitive says a step failed (it raised ``StepFailed``, or its ``check``
    marked the answer a failure): the plan written before the world answered is redone.

    >>> print(replan_feedback(["go('hall')"], "take('key')", "You can't see any such thing."))
    These statements already ran (their effects happened; do not repeat them):
    go('hall')
    This statement ran, but the world refused it:
    take('key')
    The world answered: You can't see any such thing.
    Re-plan the rest of this step from here, using what the world answered.
    """
    done = "\n".join(ran) or "(nothing)"
    answer = " ".join(observation.split())[:1000] or "(nothing)"
    return (f"These statements already ran (their effects happened; do not repeat them):\n"
            f"{done}\n"
            f"This statement ran, but the world refused it:\n{call or '?'}\n"
            f"The world answered: {answer}\n"
            f"Re-plan the rest of this step from here, using what the world answered.")


def result_feedback(code: str, name: str, value: str | None, *, restart: bool,
                    variables: Sequence[str] = ()) -> str:
    """What a result check asks: the step ran without an error but left ``name`` unset/empty.

    ``value`` is the result's repr (None: never assigned); ``variables`` what the code set
    (``name = value`` lines). With ``restart`` (the step called no primitive, so running it
    again changes nothing outside) the whole step is asked for again; else only what is
    missing, after what ran.

    >>> print(result_feedback("t = {}\\nfor l in log: pass", "answer", None, restart=True,
    ...                       variables=["t = {}"]))
    Your code ran without an error:
    t = {}
    for l in log: pass
    but it never assigned `answer`, which the step must set.
    After it ran: t = {}
    Write the whole step again, fixed, and assign `answer`.
    """
    what = ("never assigned `" + name + "`, which the step must set." if value is None else
            f"left `{name}` = {value} (empty), which is not what the step asks for.")
    seen = f"After it ran: {'; '.join(variables)}\n" if variables else ""
    todo = ("Write the whole step again, fixed" if restart else
            "Write only the statements still needed (what ran already happened)")
    return (f"Your code ran without an error:\n{code.strip()}\nbut it {what}\n{seen}"
            f"{todo}, and assign `{name}`.")


def _last_line(error: str) -> str:
    """The last line of ``error`` (its ``Type: message``), or ``error`` itself when blank.

    >>> _last_line("Traceback ...\\nKeyError: 'x'\\n"), _last_line("")
    ("KeyError: 'x'", '')
    """
    text = error.strip()
    return text.splitlines()[-1] if text else error


#: The words of a decomposition request; a prompt that holds them is sampled as a plan
#: (:attr:`~recode_magic.prompting.prompts.Prompt.shape`, a grammar where the model has one).
PLAN_ASK = "Answer with only lines `result = new_step_name(inputs)`"


def decompose_feedback(code: str, error: str, ran: Sequence[str], targets: Sequence[str],
                       *, restart: bool) -> str:
    """What a decomposition asks (issue 21): the flat code failed, write a plan of sub-steps.

    ``ran``: statements whose effects already happened (``restart`` False: the plan is for
    the rest of the step). ``targets``: what the step must assign.

    >>> print(decompose_feedback("x = f(", "SyntaxError: bad", [], ["answer"], restart=True))
    ... # doctest: +ELLIPSIS
    Your code for this step failed: SyntaxError: bad
    Do not write that code again. Split the step into 2 to 4 smaller steps instead. ...
    """
    last = _last_line(error)
    done = ("These statements already ran (their effects happened; do not repeat them):\n"
            + "\n".join(ran) + "\n") if ran and not restart else ""
    what = "the rest of the step" if done else "the step"
    last_line = (f" The last line assigns {', '.join(f'`{t}`' for t in targets)}."
                 if targets else "")
    return (f"{done}Your code for this step failed: {last}\n"
            f"Do not write that code again. Split {what} into 2 to 4 smaller steps instead. "
            f"{PLAN_ASK}, one per line: each "
            f"calls a NEW function whose name says what it does (it does not exist yet; each "
            f"is written later on its own, with the variables you pass it).{last_line}\n"
            f"For example (use the names and variables of your own step):\n<execute>\n"
            f"rows = pick_rows(data)\nresult = summarize_rows(rows)\n</execute>")


def heard_feedback(ran: Sequence[str], rest: Sequence[str], *, repeated: str | None) -> str:
    """What the model is asked after an action answered (issue 21, ``world_answers``).

    >>> print(heard_feedback(["act('go east')", "# act('go east') -> 'You are in a sauna.'"],
    ...                      ["act('take key')"], repeated=None))  # doctest: +ELLIPSIS
    These statements already ran; the comments say what the world answered:
    act('go east')
    # act('go east') -> 'You are in a sauna.'
    The rest of your plan, written before the world answered, was:
    act('take key')
    Write the rest of this step from here, using what the world answered: keep that plan ...
    """
    again = (f"`{repeated.strip()}` was sent before and got the same answer: do something "
             f"else.\n" if repeated else "")
    return ("These statements already ran; the comments say what the world answered:\n"
            + "\n".join(ran) + "\nThe rest of your plan, written before the world answered, "
            "was:\n" + "\n".join(rest) + f"\n{again}Write the rest of this step from here, "
            "using what the world answered: keep that plan if it still fits, change it if not.")


def ran_with_answers(ran: Sequence[str], steps: Sequence[Any]) -> list[str]:
    """The statements that ran, each followed by what its primitive calls answered.

    ``ran``: the sources of the node's statements that ran; ``steps``: its steps
    (:class:`~recode_magic.runs.node.Step`). The answers are comment lines (``# act('go
    east') -> '-= Sauna =- ...'``): a re-plan written after the world answered should know
    what it answered, not only the refusal.
    """
    ok = [st for st in steps if st.error is None]
    ok = ok[len(ok) - len(ran):] if ran else []
    out: list[str] = []
    for src, st in zip(ran, ok, strict=False):
        out.append(src)
        if st.code == src:
            out += [f"# {a}" for a in st.answers]
    return out
