"""Expansion prompt text: a fixed part (rules, primitives, few-shots) then the placeholder.

The fixed part comes first and is byte-identical for every expansion of a run, so a backend
with prompt caching pays for it once. ``Prompt`` is a ``str`` (any ``llm(prompt) -> str``
works) that also carries ``fixed`` and ``dynamic`` for backends that cache.
"""

from __future__ import annotations

__all__ = ["Prompt", "build_prompt", "fixed_part", "repair_feedback", "reask_feedback", "RULES",
           "FEW_SHOTS", "replan_feedback"]

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
4. Never write `def` or `class`. Import only small standard modules (math, re, json...) \
when you need them.
5. Never put a placeholder inside a loop, an `if`, a `with`, a `try`, or inside another \
expression; loops and conditions may only call primitives and builtins.
6. All steps share one flat set of variables: assign the outputs of the call you expand \
(the names left of `=`) so the caller can use them.
7. Do not invent facts missing from the variables; make a placeholder for the missing \
decision instead.
"""

FEW_SHOTS = """\
Examples (each is ONE expansion; the primitives in them belong to the example, not to you)

Example 1: the root of a task, split into steps
Primitives: find(kind) -> list[str]; take(obj); put(obj, place); say(text)
Placeholder: solve(task)
Variables:
- task (str): 'Tidy the desk: put every pen in the cup, then say how many pens moved.'
<think>Three steps: locate the pens, move them, report. Moving many pens takes more than two \
primitive calls, so it is its own placeholder; finding and reporting are one call each.</think>
<execute>pens = find("pen")
moved = move_all_into(pens, place="cup")
say(f"I moved {moved} pens into the cup.")</execute>

Example 2: a step small enough for primitives, with a loop over primitives only
Primitives: find(kind) -> list[str]; take(obj); put(obj, place); say(text)
Placeholder: moved = move_all_into(pens, place="cup")
Variables:
- pens (list[str]): ['pen 1', 'pen 2']
- place (str): 'cup'
<think>Each pen needs take then put; a loop of primitive calls is fine. The caller expects \
`moved`, so I assign it.</think>
<execute>moved = 0
for pen in pens:
    take(pen)
    put(pen, place)
    moved += 1</execute>

Example 3: a decision the variables do not settle becomes a placeholder
Primitives: load_csv(path) -> list[dict]; mean(values) -> float; plot(xs, ys, title)
Placeholder: report = summarise_sales(path="sales.csv")
Variables:
- path (str): 'sales.csv'
<think>I can load the rows, but which column holds the amounts is not known yet; I must \
not guess it. A placeholder decides it from the rows, then the numbers are primitives.</think>
<execute>rows = load_csv(path)
amount_key = choose_amount_column(rows)
amounts = [float(r[amount_key]) for r in rows]
average = mean(amounts)
plot(list(range(len(amounts))), amounts, title="Sales")
report = f"{len(rows)} sales, average {average:.2f}"</execute>

Example 4: an answer corrected after feedback
Primitives: read_sensor(name) -> float; move(dx, dy)
Placeholder: level = check_battery()
Variables:
(none)
Your previous answer for this placeholder could not be used:
placeholder `check_battery` calls itself again with the same arguments, which never ends
<think>I must not call check_battery again. Reading the sensor is one primitive call, so I \
write it directly and assign `level`.</think>
<execute>level = read_sensor("battery")</execute>

Mistakes that make an answer unusable:
- a placeholder inside a loop or condition: `for x in xs: handle(x)` where handle does not \
exist. Write `results = handle_all(xs)` and loop inside that placeholder instead.
- a placeholder inside an expression: `total = len(find_items(box))`. Assign it first: \
`items = find_items(box)` then `total = len(items)`.
- `def`, `class`, or calling the placeholder being expanded with the same arguments.
- forgetting to assign the names the caller expects (left of `=` in the placeholder).
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
        """Build the prompt ``fixed + dynamic`` that remembers both parts."""
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
    last = error.strip().splitlines()[-1] if error.strip() else error
    return (f"These statements already ran (their variables are set; do not repeat them):\n"
            f"{done}\n"
            f"This statement failed:\n{line or '?'}\n"
            f"Error: {last}\n"
            f"Write the code for the rest of this step, starting from the failed statement, "
            f"fixing the cause.")


def reask_feedback(hint: str, previous: str, attempt: int) -> str:
    """A re-ask that shows the unusable answer, so a deterministic model answers differently.

    >>> print(reask_feedback("line 1: SyntaxError", "x = (", 1))
    line 1: SyntaxError
    Your answer (attempt 1) was:
    <execute>x = (</execute>
    Do not repeat it; write different code.
    """
    return (f"{hint}\nYour answer (attempt {attempt}) was:\n<execute>{previous}</execute>\n"
            f"Do not repeat it; write different code.")



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
