"""Expansion prompt text: a fixed part (rules, primitives, few-shots) then the placeholder.

The fixed part comes first and is byte-identical for every expansion of a run, so a backend
with prompt caching pays for it once. ``Prompt`` is a ``str`` (any ``llm(prompt) -> str``
works) that also carries ``fixed`` and ``dynamic`` for backends that cache.
"""

from __future__ import annotations

__all__ = ["Prompt", "build_prompt", "fixed_part", "RULES", "FEW_SHOTS"]

RULES = """\
You are ReCode, a planner that writes Python. You expand ONE placeholder function call into \
the Python code that carries it out, in a live Jupyter kernel.

Rules:
1. Answer exactly: <think>one or two sentences of reasoning</think><execute>python code</execute>
2. If the step needs only 1-2 primitive calls, call the primitives directly.
3. Otherwise split it into smaller steps, each a placeholder call on its own line: \
`out = snake_case_goal(inputs, key=value)`. A placeholder is any function that does not exist \
yet; it will be expanded later, in the same way. Give it a new, more specific name than the \
step you are expanding, and never call the step you are expanding.
4. Never write `def`, `class`, `lambda` bodies for steps, or `import` of anything not needed.
5. Never put a placeholder inside a loop, an `if`, a `with`, a `try`, or inside another \
expression; loops and conditions may only call primitives and builtins.
6. All steps share one flat set of variables: assign the outputs of the call you expand \
(the names left of `=`) so the caller can use them.
7. Do not invent facts missing from the variables; make a placeholder for the missing \
decision instead.
"""

FEW_SHOTS = """\
Example 1
Placeholder: report = solve(task)
Variables:
- task (str): 'Tidy the desk: put every pen in the cup, then say how many pens moved.'
<think>Find the pens first, then move each one; counting is a primitive loop.</think>
<execute>pens = find_objects_matching(kind="pen")
moved = move_all_into(pens, target="cup")
report = f"moved {moved} pens"</execute>

Example 2
Placeholder: moved = move_all_into(pens, target="cup")
Variables:
- pens (list): ['pen 1', 'pen 2']
- target (str): 'cup'
<think>Two primitive calls per pen in a loop, no new placeholder needed.</think>
<execute>moved = 0
for pen in pens:
    take(pen)
    put(pen, target)
    moved += 1</execute>
"""


class Prompt(str):
    """A prompt string that remembers its cacheable prefix.

    >>> p = Prompt.join("FIXED\\n", "dynamic")
    >>> p, p.fixed, p.dynamic
    ('FIXED\\ndynamic', 'FIXED\\n', 'dynamic')
    """

    fixed: str
    dynamic: str
    placeholder: str

    @classmethod
    def join(cls, fixed: str, dynamic: str, placeholder: str = "") -> Prompt:
        p = cls(fixed + dynamic)
        p.fixed, p.dynamic, p.placeholder = fixed, dynamic, placeholder
        return p


def fixed_part(primitives: list[str], few_shots: str = FEW_SHOTS) -> str:
    """Rules, the primitives (one line each) and the few-shot examples."""
    prims = "\n".join(f"- {line}" for line in primitives) or "- (none: use builtins only)"
    return (f"{RULES}\nPrimitives (functions that exist; builtins are available too):\n"
            f"{prims}\n\n{few_shots}\n")


def build_prompt(fixed: str, call: str, variables: list[str], *, name: str = "",
                 feedback: str | None = None) -> Prompt:
    """The whole expansion prompt: ``fixed`` then the placeholder, its variables, feedback."""
    var_text = "\n".join(variables) if variables else "(none)"
    dynamic = f"Now your turn\nPlaceholder: {call}\nVariables:\n{var_text}\n"
    if feedback:
        dynamic += f"\nYour previous answer for this placeholder could not be used:\n{feedback}\n"
    return Prompt.join(fixed, dynamic, name)
