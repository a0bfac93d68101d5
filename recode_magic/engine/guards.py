"""Checks of a reply's code before it runs, and what a failed lookup is told (issue 21).

Seen in Qwen2.5-Coder-1.5B transcripts of the task suite (README "Evaluation"):

- loops that never run or never end: ``for _ in range(-3): move('south')`` (0 moves, the
  run said done) and a ``while True:`` search with no way out that ran to the timeout;
- data re-typed from the prompt: a list of records written as a literal, copied from the
  variable's preview (values wrong, rows missing) instead of using the variable;
- guessed keys: a ``KeyError`` repaired with ``.get(k, None)`` and then failing on None;
  ``stock_at('north', 'bolt')`` where the task says *bolts*;
- worlds told about things that are not there: ``act("open wooden chest")`` (the words of the
  ``act`` docstring's example) in a game whose room holds a box, three times;
- primitives called with the wrong arguments (``lights("study")`` for a ``lights()`` that
  only reads, where ``switch(room, on)`` was the one to call), repaired the same way twice.

:func:`loop_problem` and :func:`copied_variable` find the first two before the code runs
(the expander refuses the reply with one line); :func:`lookup_shapes` says what the variables
of a failing statement really hold, :func:`unknown_key` which words of the task a missing key
was probably meant to be, and :func:`call_hint` how the primitives are really called, for the
repair prompt.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["loop_problem", "copied_variable", "lookup_shapes", "shape_of", "LOOKUP_ERRORS",
           "unknown_key", "call_hint", "unseen_words", "world_seen"]

#: Error lines whose repair is told what the variables of the statement hold.
LOOKUP_ERRORS = ("KeyError", "IndexError", "string indices must be integers",
                 "list indices must be integers", "not subscriptable", "has no attribute")


def _int_literal(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_literal(node.operand)
        return -inner if inner is not None else None
    return None


def _empty_range(call: ast.Call) -> str | None:
    if not (isinstance(call.func, ast.Name) and call.func.id == "range") or call.keywords:
        return None
    args = [_int_literal(a) for a in call.args]
    if len(args) == 1 and args[0] is not None and args[0] <= 0:
        n = args[0]
        again = f" To repeat {-n} times write `range({-n})`." if n < 0 else ""
        return f"`range({n})` is empty: the loop body never runs.{again}"
    if len(args) == 2 and None not in args and args[1] <= args[0]:  # type: ignore[operator]
        return (f"`range({args[0]}, {args[1]})` is empty: the loop body never runs (to count "
                f"down write `range({args[0]}, {args[1]}, -1)`).")
    return None


class _Exits(ast.NodeVisitor):
    """Finds a ``break`` of this loop, or a ``return``/``raise`` (nested loops' breaks not)."""

    def __init__(self) -> None:
        self.found = False

    def visit_Break(self, node: ast.Break) -> None:
        self.found = True

    def visit_Return(self, node: ast.Return) -> None:
        self.found = True

    def visit_Raise(self, node: ast.Raise) -> None:
        self.found = True

    def _inner_loop(self, node: ast.For | ast.While | ast.AsyncFor) -> None:
        inner = _Exits()
        for stmt in node.body:
            inner.visit(stmt)
        # a break in an inner loop leaves that loop only; return/raise still leave ours
        self.found = self.found or _returns(node.body)
        for stmt in node.orelse:
            self.visit(stmt)

    visit_For = visit_While = visit_AsyncFor = _inner_loop

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:  # its returns are not ours
        return None

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef  # type: ignore[assignment]


def _returns(body: list[ast.stmt]) -> bool:
    return any(isinstance(n, (ast.Return, ast.Raise))
               for stmt in body for n in ast.walk(stmt))


def _always_true(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value) and test.value is not Ellipsis


def loop_problem(tree: ast.AST) -> str | None:
    """One line about a loop that never runs or never ends, else None.

    >>> loop_problem(ast.parse("for _ in range(-3):\\n    move('south')"))
    '`range(-3)` is empty: the loop body never runs. To repeat 3 times write `range(3)`.'
    >>> loop_problem(ast.parse("while True:\\n    x = 1")) # doctest: +ELLIPSIS
    '`while True:` has no `break`...'
    >>> loop_problem(ast.parse("while True:\\n    if x: break")) is None
    True
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (why := _empty_range(node)):
            return why
        if isinstance(node, ast.While) and _always_true(node.test):
            exits = _Exits()
            for stmt in node.body:
                exits.visit(stmt)
            if not exits.found:
                return ("`while True:` has no `break`, so it never ends: loop over the items "
                        "(`for x in items:`) or add a condition that stops it.")
    return None


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - a user's __eq__
        return False


def _copies(lit: Any, value: Any) -> bool:
    """True when the literal ``lit`` re-types (part of) ``value``."""
    if isinstance(lit, str):
        return len(lit) >= 40 and isinstance(value, str) and lit in value
    if isinstance(lit, dict):
        if not isinstance(value, dict) or len(lit) < 3:
            return False
        return all(k in value and _same(value[k], v) for k, v in lit.items())
    if isinstance(lit, (list, tuple, set)):
        items = list(lit)
        if len(items) < 3 or all(isinstance(i, (int, float, bool)) for i in items):
            return False  # small numbers match by chance
        pool = list(value.values()) if isinstance(value, dict) else value
        if not isinstance(pool, (list, tuple, set, frozenset)):
            return False
        pool = list(pool)
        return all(any(_same(i, p) for p in pool) for i in items)
    return False


def copied_variable(tree: ast.AST, variables: Mapping[str, Any],
                    names: Iterable[str]) -> tuple[str, int] | None:
    """``(name, line)`` of the first literal that re-types a variable's value, else None.

    A list/tuple/set of 3+ items all found in a variable's items (or values), a dict of 3+
    items all in a dict variable, or a str of 40+ characters inside a str variable.

    >>> rows = [{"a": 1}, {"a": 2}, {"a": 3}]
    >>> copied_variable(ast.parse("rows2 = [{'a': 1}, {'a': 2}, {'a': 3}]"), {"rows": rows},
    ...                 ["rows"])
    ('rows', 1)
    >>> copied_variable(ast.parse("x = [1, 2, 3]"), {"n": [1, 2, 3]}, ["n"]) is None
    True
    """
    watched = [(n, variables[n]) for n in names if n in variables and not callable(variables[n])]
    if not watched:
        return None
    for node in ast.walk(tree):
        if not isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Constant)):
            continue
        if isinstance(node, ast.Constant) and not isinstance(node.value, str):
            continue
        lit = _literal(node)
        if lit is None:
            continue
        for name, value in watched:
            if _copies(lit, value):
                return name, getattr(node, "lineno", 1)
    return None


def shape_of(value: Any, limit: int = 12) -> str:
    """What a value holds, for a lookup error: type, length, keys (of its first row).

    >>> shape_of({"bolts": 40, "nuts": 10})
    "a dict with keys ['bolts', 'nuts']"
    >>> shape_of([{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bo"}])
    "a list of 2 dicts, keys ['id', 'name']"
    >>> shape_of("abc")
    "a str of 3 characters: 'abc'"
    """
    if isinstance(value, dict):
        keys = list(value)[:limit]
        more = f" (+{len(value) - limit} more)" if len(value) > limit else ""
        return f"a dict with keys {keys!r}{more}"
    if isinstance(value, (list, tuple)):
        kind = type(value).__name__
        if value and all(isinstance(v, dict) for v in value[:5]):
            return f"a {kind} of {len(value)} dicts, keys {list(value[0])[:limit]!r}"
        first = f", first item {value[0]!r:.80}" if value else ""
        return f"a {kind} of {len(value)} items{first}"
    if isinstance(value, str):
        return f"a str of {len(value)} characters: {value[:60]!r}"
    return f"a {type(value).__name__}: {repr(value)[:80]}"


def _last_line(error: str) -> str:
    return error.strip().splitlines()[-1] if error.strip() else ""


def lookup_shapes(statement: str | None, ns: Mapping[str, Any], error: str,
                  skip: Iterable[str] = ()) -> str:
    """What the variables indexed in ``statement`` hold ('' if none, or not a lookup error).

    The keys a ``KeyError`` should have used, the length behind an ``IndexError``.

    >>> print(lookup_shapes("t = stock['bolt']", {"stock": {"bolts": 4}}, "KeyError: 'bolt'"))
    What the variables hold: `stock` is a dict with keys ['bolts'].
    """
    last = _last_line(error)
    if not statement or not any(k in last for k in LOOKUP_ERRORS):
        return ""
    try:
        tree = ast.parse(statement.strip())
    except SyntaxError:
        return ""
    skip = set(skip)
    seen: list[str] = []
    for node in ast.walk(tree):
        base = node.value if isinstance(node, (ast.Subscript, ast.Attribute)) else None
        if isinstance(base, ast.Name) and base.id not in seen and base.id not in skip \
                and base.id in ns and not callable(ns[base.id]):
            seen.append(base.id)
    if not seen:
        return ""
    parts = [f"`{n}` is {shape_of(ns[n])}" for n in seen[:4]]
    return "What the variables hold: " + "; ".join(parts) + "."


def unknown_key(error: str, task: str) -> str:
    """Words of the task close to the key a ``KeyError`` did not find ('' if none).

    >>> unknown_key("KeyError: 'bolt'", "Move all the bolts of the north warehouse")
    "`'bolt'` is not a key that exists; the task says: 'bolts'."
    >>> unknown_key("KeyError: 'north'", "Move all the bolts of the north warehouse")
    ''
    """
    found = re.fullmatch(r"KeyError: '([^']{2,60})'", _last_line(error))
    if not found:
        return ""
    key = found.group(1)
    words = set(re.findall(r"[\w-]+", task))
    if key in words:
        return ""
    close = difflib.get_close_matches(key, sorted(words), n=3, cutoff=0.75)
    if not close:
        return ""
    return f"`{key!r}` is not a key that exists; the task says: " \
           + ", ".join(repr(w) for w in close) + "."


#: TypeError lines that say a function was called with the wrong arguments.
CALL_ERRORS = ("positional argument", "keyword argument", "takes no arguments")


def call_hint(statement: str | None, error: str, lines: Mapping[str, str]) -> str:
    """How the primitives are called, after a ``TypeError`` calling one ('' otherwise).

    ``lines`` maps each primitive's name to its signature line (as the prompt lists them);
    the called ones come first, then the others (up to 8 in all), so a model that called
    the reading primitive to act is shown the acting one.

    >>> lines = {"lights": "lights() -- Each light.", "switch": "switch(room, on) -- Turn."}
    >>> print(call_hint('lights("study")', "TypeError: lights() takes 0 positional "
    ...                 "arguments but 1 was given", lines))
    How the primitives are called: `lights() -- Each light.`; `switch(room, on) -- Turn.`.
    """
    last = _last_line(error)
    if not statement or "TypeError" not in last or not any(k in last for k in CALL_ERRORS):
        return ""
    try:
        tree = ast.parse(statement.strip())
    except SyntaxError:
        return ""
    called = [n.func.id for n in ast.walk(tree)
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in lines]
    if not called:
        return ""
    order = list(dict.fromkeys([*called, *lines]))[:8]
    return "How the primitives are called: " + "; ".join(f"`{lines[n]}`" for n in order) + "."


#: Words a command may use without having been seen (glue and compass directions); its
#: verb (first word) is free too.
_GLUE = frozenset("a an the to from with on onto in into at of up down and then north south "
                  "east west northeast northwest southeast southwest".split())


def _seen(word: str, known: set[str]) -> bool:
    forms = {word, word + "s", word + "es", word[:-1] if word.endswith("s") else word,
             word[:-2] if word.endswith("es") else word}
    return not forms.isdisjoint(known)


def unseen_words(tree: ast.AST, actions: Iterable[str], known: str) -> str | None:
    """One line about the next command to a world if it names unseen things, else None.

    Only the first call of an action primitive in the code is checked: the commands after
    it are written before the world answered it, and with ``world_answers`` the rest of the
    step is asked for again from that answer (and checked then). Its literal command is read
    word by word, the first word (the verb) and small glue words aside: every other word
    must occur in ``known`` (the task, what the world answered so far, the variables' text).
    A small model copies the nouns of a docstring's examples into worlds that do not have
    them.

    >>> tree = ast.parse('act("open wooden chest")\\nact("go east")')
    >>> print(unseen_words(tree, ["act"], "Go to the east, then open the box."))
    ... # doctest: +NORMALIZE_WHITESPACE
    `act('open wooden chest')` names 'wooden', 'chest': nothing you were told about
    (the task, what the world answered) has them; name only what you have seen.
    >>> unseen_words(ast.parse('act("open boxes")'), ["act"], "open the box") is None
    True
    >>> unseen_words(ast.parse('act("go east")\\nact("open chest")'), ["act"], "east") is None
    True
    """
    actions = set(actions)
    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Name) and n.func.id in actions),
                   key=lambda n: (n.lineno, n.col_offset))
    if not calls:
        return None
    first = calls[0]
    arg = first.args[0] if first.args else None
    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
        return None
    words = set(re.findall(r"[a-z]+", known.lower()))
    said = re.findall(r"[a-z]+", arg.value.lower())[1:]
    new = [w for w in dict.fromkeys(said) if w not in _GLUE and len(w) > 2
           and not _seen(w, words)]
    if not new:
        return None
    return (f"`{first.func.id}({arg.value!r})` names {', '.join(repr(w) for w in new)}: "
            f"nothing you were told about (the task, what the world answered) has them; "
            f"name only what you have seen.")


def world_seen(node: Any, texts: Iterable[str]) -> str:
    """What a world command may name: ``texts`` and every answer of ``node``'s run so far.

    ``texts`` are the task and the step's text variables; the answers are those of every
    primitive call of the run (its nodes' steps).
    """
    root = node
    while root.parent is not None:
        root = root.parent
    return "\n".join([*texts, *(a for n in root.walk() for st in n.steps for a in st.answers)])
