"""Plan a reply's code for a node: blocks, placeholders, guards, the policy (no model here).

:class:`Planner` is the base of :class:`~recode_magic.engine.expander.Expander` that turns
code (from the model, a user's edit or a sample) into the node's runnable blocks, or refuses
it with a :class:`~recode_magic.errors.FormatError` whose message goes back to the model.
Each check is skipped where nothing it looks at is there (no input to re-type, no primitive
called, no child that could not be written): the per-node path of issue 24.
"""

from __future__ import annotations

import ast
import dataclasses
import linecache
from collections.abc import Callable
from typing import Any

from ..errors import FormatError
from ..pycode import code as C
from ..pycode.namespace import ACTION_ATTR
from ..pycode.policy import check_code, clearly_fine
from ..pycode.wrap import wrap_calls
from .guards import copied_variable, loop_problem, unseen_words, world_seen
from .runstate import Frame, RunState
from .settings import Settings

__all__ = ["Planner", "PLAN_REWRITES", "PLAN_EXAMPLE", "remember_source"]

PLAN_REWRITES = 1  # a plan is asked for twice at most (small models rarely fix one)
_EXAMPLE_STEPS = frozenset({"pick_rows", "summarize_rows"})
PLAN_EXAMPLE = ("A plan looks like this (names and variables of your own step):\n<execute>\n"
                "rows = pick_rows(data)\nresult = summarize_rows(rows)\n</execute>")
#: the node kinds :func:`~.guards.copied_variable` reads (a statement without any: skipped)
_LITERALS = frozenset({ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Constant})


class Planner:
    """Code to blocks for the node on top of the stack (a base of the expander).

    The attributes are the expander's (set by its ``__init__``).
    """

    state: RunState
    ns: dict[str, Any]
    settings: Settings
    #: the variables shown with the step being expanded (a literal copying one is refused)
    inputs: tuple[str, ...]
    #: a decomposition is being asked for: only placeholder lines are usable
    plan_only: bool

    def known(self, name: str) -> bool:
        """True for a name the code may call as it is (bound, or a builtin)."""
        return name in self.ns or name in C.BUILTIN_NAMES

    def plan(self, frame: Frame, code: str) -> list[C.Block]:
        """Split ``code`` into blocks, find placeholders, apply the policy (FormatError)."""
        node, state = frame.node, self.state
        # shown as <recode:id:name:attempt> in tracebacks (limits.user_traceback drops the
        # per-run token); linecache is global, so the key must be unique across runs in
        # threads (two batch tasks have nodes with the same id and name)
        filename = f"<recode:{node.id}:{node.name}:{len(node.attempts)}@{state.token}>"
        blocks = C.plan_blocks(code, self.known, filename=filename,
                               recursive=state.repeats_ancestor, step=node.call)
        self.guard(blocks)
        self.guard_world(frame, blocks)
        if self.plan_only:
            _check_plan(blocks, self.known)
        unwritable, examples = frame.unwritable, state.example_names
        for block in blocks:
            ph = block.placeholder
            dead = sorted(block.calls & unwritable.keys()) if unwritable else None
            if dead and not any(self.known(n) for n in dead):
                raise FormatError(
                    f"`{dead[0]}` could not be written ({unwritable[dead[0]][:300]}): do "
                    f"not call it again; write what it does here, with the primitives and "
                    f"builtins", reply=code)
            leaked = (None if block.calls.isdisjoint(examples)
                      else sorted((block.calls & examples) - {node.name}))
            if leaked and not any(self.known(n) for n in leaked):
                here = ", ".join(f"`{p}`" for p in sorted(state.primitives)) or "none"
                raise FormatError(
                    f"`{leaked[0]}` is a function of the examples, not of this task: it does "
                    f"not exist here; the primitives here are {here} (use them, builtins and "
                    f"the variables)", reply=code)
            if ph is not None and ph.name == node.name:
                raise FormatError(
                    f"`{ph.name}` is the step you are expanding: do not call it again, with any "
                    f"arguments; write this step with the primitives, or split it into "
                    f"different, more specific placeholders", reply=code)
        if not self.settings.trust:
            protected = state.protected  # a frozenset: what check_code would ask first
            for block in blocks:
                if block.facts is None or not clearly_fine(block.facts, protected):
                    check_code(block.stmt, protected=protected, facts=block.facts,
                               allowed_imports=self.settings.allowed_imports, namespace=self.ns)
        if state.async_primitives or state.checks:
            wrap = state.async_primitives | frozenset(state.checks)
            blocks = [dataclasses.replace(b, stmt=wrap_calls(b.stmt, state.async_primitives,
                                                             frozenset(state.checks)),
                                          _code=None)
                      if b.placeholder is None and b.calls & wrap else b for b in blocks]
        ph = blocks[0].placeholder if len(blocks) == 1 else None
        if ph is None or ph.call.keywords:  # else nothing of it runs: no traceback shows it
            remember_source(filename, code)  # (the machine registers it if it ever runs)
        state.sources[filename] = code  # the machine drops them from linecache at the end
        return blocks

    def guard(self, blocks: list[C.Block]) -> None:
        """Refuse code with a loop that never runs or never ends, or that re-types a variable.

        Raises
        ------
        FormatError
            One line for the model (:mod:`recode_magic.engine.guards`).
        """
        s = self.settings
        ground = s.ground and self.inputs  # no variable shown: nothing to re-type
        if not ground and len(blocks) == 1:  # the per-node path: one statement, no inputs
            b = blocks[0]
            if b.facts is not None and "range" not in b.calls and ast.While not in b.facts.kinds:
                return  # what the loop below finds: no loop, nothing to re-type
        loops: list[ast.stmt] = []  # the statements each guard reads (loops: no comprehension)
        literal: list[ast.stmt] = []
        for b in blocks:
            facts = b.facts
            if facts is None or "range" in b.calls or ast.While in facts.kinds:
                loops.append(b.stmt)  # what loop_problem looks at: range() calls, while
            if ground and (facts is None or not facts.kinds.isdisjoint(_LITERALS)):
                literal.append(b.stmt)  # ast.walk's order of the others is unchanged
        if s.loop_guards and loops:
            why = loop_problem(ast.Module(body=loops, type_ignores=[]))
            if why:
                raise FormatError(why)
        if not ground:
            return
        copied = (copied_variable(ast.Module(body=literal, type_ignores=[]), self.ns,
                                  self.inputs) if literal else None)
        if copied:
            name, line = copied
            raise FormatError(f"line {line} re-types the value of the variable `{name}` (its "
                              f"preview may be cut): use the variable `{name}` instead")

    def guard_world(self, frame: Frame, blocks: list[C.Block]) -> None:
        """Refuse a command to an action primitive that names unseen things (``ground``)."""
        primitives = self.state.primitives  # an action is a primitive: none called, no action
        if not self.settings.ground:
            return
        for b in blocks:  # a loop, not any(): no generator on the per-node path
            if not b.calls.isdisjoint(primitives):
                break
        else:
            return
        ns = self.ns
        actions = {n for n in primitives if getattr(ns.get(n), ACTION_ATTR, False)}
        if not (actions and any(b.calls & actions for b in blocks)):
            return
        texts = [v for k in ("task", *self.inputs) if isinstance(v := ns.get(k), str)]
        why = unseen_words(ast.Module(body=[b.stmt for b in blocks], type_ignores=[]),
                           actions, world_seen(frame.node, texts))
        if why:
            raise FormatError(why)


def remember_source(filename: str, code: str) -> None:
    """Put ``code`` in :mod:`linecache` under ``filename`` (tracebacks show its lines)."""
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)


def _check_plan(blocks: list[C.Block], known: Callable[[str], bool]) -> None:
    """Refuse a decomposition that is not 2+ lines ``x = new_step(inputs)`` (FormatError).

    Each input a line passes must exist (``known``) or be assigned by an earlier line: under
    the plan grammar a 1.5B model squeezed code into names (``defConflict_check1meeting1,
    meeting2, answer = check_conflict(meeting1, meeting2)``).
    """
    code = [b.source for b in blocks if b.placeholder is None
            and not isinstance(b.stmt, (ast.Import, ast.ImportFrom))]  # imports: harmless
    if code:
        raise FormatError(f"a plan has only lines `result = new_step(inputs)` calling new "
                          f"functions; this line is code: {code[0].strip()[:120]}. {PLAN_EXAMPLE}")
    copied = sorted({b.placeholder.name for b in blocks if b.placeholder} & _EXAMPLE_STEPS)
    if copied:
        raise FormatError(f"`{copied[0]}` is the example's name: name each sub-step after what "
                          f"it does in this step, and pass it this step's variables")
    missing = _unbound_input(blocks, known)
    if missing:
        raise FormatError(f"`{missing}` is passed to a step but does not exist: pass this "
                          f"step's variables, or what an earlier line of the plan assigns")
    if sum(b.placeholder is not None for b in blocks) < 2:
        raise FormatError("a plan needs at least 2 lines `result = new_step(inputs)`, each a "
                          "smaller part of the step")


def _unbound_input(blocks: list[C.Block], known: Callable[[str], bool]) -> str | None:
    """The first name a plan line passes that neither exists nor an earlier line assigns."""
    bound: set[str] = set()
    for b in blocks:
        ph = b.placeholder
        if ph is not None:
            for arg in [*ph.call.args, *(k.value for k in ph.call.keywords)]:
                for n in ast.walk(arg):
                    if isinstance(n, ast.Name) and n.id not in bound and not known(n.id):
                        return n.id
        bound |= b.binds
    return None
