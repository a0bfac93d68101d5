"""Expansion prompt text: a fixed part (rules, primitives, few-shots) then the placeholder.

The fixed part comes first and is byte-identical for every expansion of a run, so a backend
with prompt caching pays for it once. ``Prompt`` is a ``str`` (any ``llm(prompt) -> str``
works) that also carries ``fixed`` and ``dynamic`` for backends that cache.

The defaults were chosen by screening with Qwen2.5-Coder-1.5B (issue 12; rows and cassettes in
``benchmarks/agents/p_screening``): short rules, one example that calls builtins only (the
earlier four examples leaked: their ``find``/``take`` were called as if they existed), and
re-asks that change the question (the corrected code for a rebinding, an example for a
self-call, primitives only from the second re-ask). Same 6 tasks: 0/6 solved before, 5/6 after.

Second round (same model, the 24-task suite and TextWorld; README "Evaluation"): the root's
task is shown as text above its call, and a second example shows instructions done in order
with primitives (``press``/``read``, which exist only in the example: a call of a function of
the examples is refused before it runs, see :func:`example_names`).
"""

from __future__ import annotations

import ast
import functools
import re

from ..pycode.astlock import parse
from ..pycode.code import is_compound_call
from .feedback import (
    ERROR_HINTS,
    PLAN_ASK,
    reask_feedback,
    repair_feedback,
    replan_feedback,
    restart_feedback,
    result_feedback,
)

__all__ = ["Prompt", "build_prompt", "fixed_part", "repair_feedback", "reask_feedback", "RULES",
           "FEW_SHOTS", "replan_feedback", "result_feedback", "restart_feedback", "COMPOUND_NOTE",
           "ERROR_HINTS", "example_names"]

RULES = """\
You write the Python code for ONE step of a task. The code runs at once in a live Python \
session where the variables listed with the step already exist.

Answer in exactly this form:
<think>one or two short sentences</think>
<execute>
python code
</execute>

Rules:
1. What exists: the primitives listed below, Python builtins, small standard modules \
(math, re, json, collections, itertools) and the variables. Nothing else.
2. Write the whole step with them when you can, as plain statements (loops and conditions \
are fine); do not wrap it in a function.
3. Only when the step is long, split it: a few lines `out = new_step_name(inputs)`, one per \
line; each new step is written later, the same way. Never call the step you are writing.
4. Assign the names left of `=` in the step, so the caller can use them.
5. Use only facts from the task and the variables.
"""

FEW_SHOTS = """\
Example (its step and variables are not yours):
Placeholder: total = add_prices(items)
Variables:
- items (list): [{'name': 'tea', 'price': 3.5}, {'name': 'jam', 'price': 4.0}]
<think>A loop over the items is enough; I assign total.</think>
<execute>
total = 0
for item in items:
    total += item["price"]
</execute>

Example 2 (its primitives `press` and `read` exist only in this example):
Task:
Switch the lamp on, then store the room temperature in `temp`.
Placeholder: solve(task)
Variables:
- task (str): the task text above
<think>Two instructions, in order: one primitive call each.</think>
<execute>
press("lamp on")
temp = read("temperature")
</execute>
"""

COMPOUND_NOTE = ("Write code that does what this statement does, with the primitives and "
                 "builtins. A function that does not exist may be called only as a whole line "
                 "`out = name(inputs)`, never inside a loop, a condition or an expression.")


_EXECUTE = re.compile(r"<execute>(.*?)</execute>", re.S)
_PLACEHOLDER_LINE = re.compile(r"^Placeholder:\s*(.+)$", re.M)


@functools.lru_cache(maxsize=16)  # read once per run, from the same few-shots every time
def example_names(few_shots: str) -> frozenset[str]:
    """Names the few-shot examples call: functions that exist only in the examples.

    A small model calls them as if they existed (the earlier default examples' ``find`` and
    ``take`` were); the engine refuses such a call before it runs (:mod:`.expander`), unless
    the name really exists in the run (a primitive, a variable, a builtin).

    >>> sorted(example_names(FEW_SHOTS))
    ['add_prices', 'press', 'read', 'solve']
    >>> sorted(example_names("Placeholder: x = f(a)\\n<execute>y = g(x) + len(x)</execute>"))
    ['f', 'g', 'len']
    """
    names: set[str] = set()
    for text in [*_EXECUTE.findall(few_shots), *_PLACEHOLDER_LINE.findall(few_shots)]:
        try:
            tree = parse(text.strip())
        except (SyntaxError, ValueError):
            continue
        names |= {n.func.id for n in ast.walk(tree)
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return frozenset(names)


class Prompt(str):
    """A prompt string that remembers its cacheable prefix.

    >>> p = Prompt.join("FIXED\\n", "dynamic")
    >>> p, p.fixed, p.dynamic
    ('FIXED\\ndynamic', 'FIXED\\n', 'dynamic')
    """

    fixed: str
    dynamic: str
    placeholder: str
    #: ``"code"``, or ``"plan"`` for a prompt that asks for a decomposition (a backend with a
    #: grammar samples the reply under :data:`~recode_magic.llms.constrain.PLAN_GBNF`).
    shape: str

    @classmethod
    def join(cls, fixed: str, dynamic: str, placeholder: str = "", shape: str = "code"
             ) -> Prompt:
        """Build the prompt ``fixed + dynamic`` that remembers both parts."""
        p = cls(fixed + dynamic)
        p.__dict__ = {"fixed": fixed, "dynamic": dynamic, "placeholder": placeholder,
                      "shape": shape}  # one dict, not four stores (per node, issue 24)
        return p


def fixed_part(primitives: list[str], few_shots: str = FEW_SHOTS) -> str:
    """Rules, the primitives (one line each) and the few-shot examples."""
    prims = "\n".join(f"- {line}" for line in primitives) or "- (none: use builtins only)"
    return (f"{RULES}\nPrimitives (functions that exist; builtins are available too):\n"
            f"{prims}\n\n{few_shots}\n")


def build_prompt(fixed: str, call: str, variables: list[str], *, name: str = "",
                 feedback: str | None = None, compound: bool | None = None,
                 task: str | None = None, examples: str = "") -> Prompt:
    """The whole expansion prompt: ``fixed`` then the placeholder, its variables, feedback.

    A compound placeholder (a whole statement with calls of functions that do not exist yet
    inside a loop or condition) is shown as the statement, with what to write instead.
    ``compound`` says which it is when the caller knows (the engine does, from the parsed
    placeholder); None parses ``call`` to find out. ``task``: the root's task text, shown as
    text above its call (in the variables it is a ``repr``, and a 1.5B model parsed it with
    code instead of doing what it says: TextWorld plans split ``task`` on newlines).
    ``examples``: worked examples chosen for this step (:mod:`.nearest`), put first in the
    dynamic part (the fixed part stays the same for every step); "" leaves the prompt as it
    was.

    >>> print(build_prompt("RULES\\n", "solve(task)", ["- task (str): the task text above"],
    ...                    task="Go east, then open the box."))
    RULES
    Now your turn
    Task:
    Go east, then open the box.
    Placeholder: solve(task)
    Variables:
    - task (str): the task text above
    <BLANKLINE>
    """
    var_text = "\n".join(variables) if variables else "(none)"
    if compound if compound is not None else is_compound_call(call):
        dynamic = (f"Now your turn\nPlaceholder (a whole statement; the functions it calls "
                   f"that are not primitives do not exist yet):\n{call}\nVariables:\n"
                   f"{var_text}\n{COMPOUND_NOTE}\n")
    else:
        head = f"Task:\n{task}\n" if task is not None else ""
        dynamic = f"Now your turn\n{head}Placeholder: {call}\nVariables:\n{var_text}\n"
    if feedback:
        dynamic += f"\nYour previous answer for this placeholder could not be used:\n{feedback}\n"
    return Prompt.join(fixed, examples + dynamic, name,
                       "plan" if feedback and PLAN_ASK in feedback else "code")
