"""The guarded policy: a static AST check of generated code before it runs in the kernel.

This is a guard rail against a model's *mistakes* (importing ``os`` to "clean up", overwriting
the user's ``data``, poking at ``__class__``), **not a sandbox against an adversary**. Python
offers many ways around any AST check (``getattr`` with a computed name, ``str.format``
field access, objects the primitives hand back, ...). Code that must not run in the user's
kernel must not be sent there; ``--trust`` lifts this check entirely.

Rules (the id is what :class:`~recode_magic.errors.PolicyError` carries as ``.rule``):

``no-import``
    ``import``/``from ... import`` of a top-level package outside the allow-list; relative
    imports; ``from m import *`` (it can rebind anything).
``no-dunder``
    Attribute access to a dunder (``x.__class__``), a dunder name (``__builtins__``), or
    ``getattr``/``setattr``/``delattr``/``hasattr`` with a literal dunder string.
``no-builtin``
    Calling *or naming* one of :data:`FORBIDDEN_BUILTINS` (``f = eval`` is refused too).
    ``input``/``help`` are refused because they block the run on a prompt (``--confirm`` is the
    way to involve the user); ``exit``/``quit`` because in a kernel they end the session.
``no-catch-all``
    A bare ``except:`` or ``except BaseException``/``KeyboardInterrupt``/``SystemExit``: it
    would swallow the kernel interrupt and the ``--timeout`` signal.
``no-rebind``
    Binding or deleting a *protected* name (the primitives and the user's variables from
    before the run, minus the ``-o`` target): assignment targets including unpacking,
    augmented assignment, ``for``/``with ... as``/``except ... as`` targets, walrus, ``del``,
    ``global``/``nonlocal``, ``import ... as``, ``def``/``class`` names and ``match``
    captures. Mutation (``data.append(1)``, ``data[0] = 1``, ``obj.x = 1``) is allowed.
    An import that binds the very module (or object) the name already holds (``import
    math`` when ``math`` is that module) is not a rebinding: pass ``namespace`` to allow it.
``no-shadow-builtin``
    Binding a builtin's name (``print = None``, ``len = str``, ``for id in ...``): it would
    break the user's kernel after the run. Comprehension variables are local and allowed.

Every message is one line that names the rule and the offending name, written to be sent back
to the model as a rewrite request.

Examples
--------
>>> import ast
>>> check_code(ast.parse("import math\\nx = math.sqrt(2)"))
>>> check_code(ast.parse("import os"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
recode_magic.errors.PolicyError: rule no-import: `import os` is not allowed (allowed: ...
>>> check_code(ast.parse("t = x.__class__"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
recode_magic.errors.PolicyError: rule no-dunder: `.__class__` is not allowed (dunder access); ...
>>> check_code(ast.parse("y = eval('1+1')"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
recode_magic.errors.PolicyError: rule no-builtin: `eval` is not allowed; write plain code ...
>>> check_code(ast.parse("move, y = 1, 2"), protected={"move"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
recode_magic.errors.PolicyError: rule no-rebind: `move` must not be rebound ...
>>> check_code(ast.parse("len = str"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
recode_magic.errors.PolicyError: rule no-shadow-builtin: `len` is a builtin; ...
>>> import math
>>> check_code(ast.parse("import math"), protected={"math"}, namespace={"math": math})
"""

from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Collection, KeysView, Mapping
from typing import Any

from ..errors import PolicyError
from .scan import Facts

__all__ = ["DEFAULT_ALLOWED_IMPORTS", "FORBIDDEN_BUILTINS", "BUILTIN_NAMES", "check_code",
           "clearly_fine"]

#: Standard-library modules with no file, process, network or interpreter access: pure
#: computation, text, dates and data structures. ``time`` is in (``time.sleep`` is bounded by
#: ``--timeout``); ``csv`` is in (it reads and writes only the iterables and file objects it is
#: given, and ``open`` is refused); ``io`` is not (``io.open``). ``os``, ``sys``,
#: ``subprocess``, ``shutil``, ``socket``, ``pathlib``, ``importlib``, ``ctypes``,
#: ``pickle``, ``builtins``, ``inspect``, ``gc`` are never in.
DEFAULT_ALLOWED_IMPORTS: frozenset[str] = frozenset({
    "bisect", "calendar", "cmath", "collections", "copy", "csv", "dataclasses", "datetime",
    "decimal", "difflib", "enum", "fractions", "functools", "heapq", "itertools", "json",
    "math", "numbers", "operator", "pprint", "random", "re", "statistics", "string",
    "textwrap", "time", "typing", "unicodedata",
})

#: What a refused import is told to do instead, for modules small models reach for.
_IMPORT_HINTS = {"io": "for text in a variable use `text.splitlines()` (csv.reader takes a "
                       "list of lines)",
                 "pandas": "use plain lists and dicts", "numpy": "use plain lists and math"}

#: Builtins that generated code may neither call nor name.
FORBIDDEN_BUILTINS: frozenset[str] = frozenset({
    "exec", "eval", "compile", "open", "__import__", "globals", "locals", "vars",
    "breakpoint", "input", "help", "exit", "quit",
})

#: Builtins generated code may not rebind (rule ``no-shadow-builtin``).
BUILTIN_NAMES: frozenset[str] = frozenset(n for n in dir(builtins) if not n.startswith("_"))

_ATTR_FUNCS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
_QUICK_REFUSED = FORBIDDEN_BUILTINS | _ATTR_FUNCS
_CATCH_ALL = frozenset({"BaseException", "KeyboardInterrupt", "SystemExit"})


def check_code(
    tree: ast.AST,
    *,
    protected: Collection[str] = (),
    allowed_imports: Collection[str] = DEFAULT_ALLOWED_IMPORTS,
    namespace: Mapping[str, Any] | None = None,
    facts: Facts | None = None,
) -> None:
    """Refuse code that breaks the guarded policy; return ``None`` when it is fine.

    Parameters
    ----------
    tree : ast.AST
        The parsed code (a module, a block's statement, or any node).
    protected : Collection[str]
        Names the code must not rebind or delete. A set or a mapping (e.g. a namespace dict)
        is used as it is; other collections are copied into a frozenset.
    allowed_imports : Collection[str]
        Top-level package names that may be imported.
    namespace : Mapping, optional
        Where the code will run: an import binding a protected name to the object it
        already holds is allowed.
    facts : Facts, optional
        What :func:`~recode_magic.pycode.scan.scan` found in ``tree``: code that names
        nothing the rules look at is passed without walking it again.

    Raises
    ------
    PolicyError
        On the first violation in source order; ``.rule`` is the rule id.
    """
    protected = _as_set(protected)
    if facts is not None and clearly_fine(facts, protected):
        return
    _PolicyVisitor(protected, _as_set(allowed_imports), namespace).visit(tree)


def clearly_fine(facts: Facts, protected: Collection[str]) -> bool:
    """True when no rule can refuse the code ``facts`` describes (else walk it).

    What :func:`check_code` asks first; ``protected`` a set, frozenset or mapping (a caller
    asking before :func:`check_code`, on the per-node path, skips the call when it is true).

    Only names, attributes and calls are checked beyond node kinds (``facts.plain``): no
    forbidden or dunder name or attribute, no ``getattr`` & co, and nothing bound that is
    a builtin or protected (comprehension variables included: then the walk decides).
    """
    if not facts.plain or facts.dunder or not facts.names.isdisjoint(_QUICK_REFUSED) \
            or not facts.binds.isdisjoint(BUILTIN_NAMES):  # isdisjoint: no set made
        return False
    for name in facts.binds:
        if name in protected:
            return False
    return True


def _as_set(names: Collection[str]) -> Collection[str]:
    if isinstance(names, (set, frozenset, Mapping, KeysView)):
        return names
    return frozenset(names)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _refuse(rule: str, text: str) -> PolicyError:
    return PolicyError(f"rule {rule}: {text}", rule=rule)


class _PolicyVisitor(ast.NodeVisitor):
    """Walk the tree in source order and raise on the first violation.

    ``visit`` walks with an explicit stack (generated code can nest deeper than the recursion
    limit: ``x = ------...1`` compiles at 700 levels); each ``visit_*`` checks one node only.
    """

    def __init__(self, protected: Collection[str], allowed: Collection[str],
                 namespace: Mapping[str, Any] | None = None) -> None:
        self.all_protected = self.protected = protected
        self.allowed = allowed
        self.namespace = namespace
        self.local = False

    def visit(self, node: ast.AST) -> None:
        handlers = _HANDLERS
        stack: list[tuple[ast.AST, bool]] = [(node, False)]
        pop, push = stack.pop, stack.append
        while stack:
            node, local = pop()
            handler = handlers.get(type(node))
            if handler is not None:
                # Comprehension variables are local to the comprehension: not a rebinding.
                self.protected = _NOTHING if local else self.all_protected
                self.local = local
                handler(self, node)
            target = node.target if type(node) is ast.comprehension else None
            for field in reversed(node._fields):
                value = getattr(node, field, None)
                if isinstance(value, list):
                    for item in reversed(value):
                        if isinstance(item, ast.AST):
                            push((item, local))
                elif isinstance(value, ast.AST) and not isinstance(value, ast.expr_context):
                    push((value, local or value is target))

    # -- imports --------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(alias.name, f"import {alias.name}")
            name = alias.asname or alias.name.partition(".")[0]
            module = sys.modules.get(alias.name if alias.asname else name, _ABSENT)
            if not self._holds(name, module):
                self._check_bind(name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        names = ", ".join(a.name for a in node.names)
        if node.level:
            raise _refuse("no-import", f"relative import `from {module} import {names}` is not "
                          "allowed; use the primitives instead")
        self._check_module(module, f"from {module} import {names}")
        for alias in node.names:
            if alias.name == "*":
                raise _refuse("no-import", f"`from {module} import *` is not allowed; import "
                              "the names you need explicitly")
            value = getattr(sys.modules.get(module), alias.name, _ABSENT)
            if not self._holds(alias.asname or alias.name, value):
                self._check_bind(alias.asname or alias.name)

    def _holds(self, name: str, value: Any) -> bool:
        """True when ``name`` already holds ``value`` (re-importing it changes nothing)."""
        ns = self.namespace
        return ns is not None and value is not _ABSENT and ns.get(name, _ABSENT) is value

    def _check_module(self, module: str, text: str) -> None:
        if module.partition(".")[0] not in self.allowed:
            allowed = ", ".join(sorted(self.allowed)) or "none"
            hint = _IMPORT_HINTS.get(module.partition(".")[0], "use the primitives instead")
            raise _refuse("no-import", f"`{text}` is not allowed (allowed: {allowed}); {hint}")

    # -- names, attributes, calls ---------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_BUILTINS:
            raise _refuse("no-builtin", f"`{node.id}` is not allowed; write plain code or "
                          "call a primitive instead")
        if _is_dunder(node.id):
            raise _refuse("no-dunder", f"`{node.id}` is not allowed (dunder access); use "
                          "ordinary names and the primitives instead")
        if not isinstance(node.ctx, ast.Load):
            self._check_bind(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _is_dunder(node.attr):
            raise _refuse("no-dunder", f"`.{node.attr}` is not allowed (dunder access); use "
                          "the object's public API or a primitive instead")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in _ATTR_FUNCS and len(node.args) >= 2:
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) \
                    and _is_dunder(name.value):
                raise _refuse("no-dunder", f"`{func.id}(..., {name.value!r})` is not allowed "
                              "(dunder access); use the object's public API instead")

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        caught = _caught_names(node.type)
        if caught is None or caught & _CATCH_ALL:
            what = "bare `except:`" if caught is None else f"`except {min(caught & _CATCH_ALL)}`"
            raise _refuse("no-catch-all", f"{what} is not allowed (it swallows interrupts and "
                          "timeouts); catch `Exception` or a specific error instead")
        if node.name:
            self._check_bind(node.name)

    # -- other bindings -------------------------------------------------------------------
    def visit_Global(self, node: ast.Global | ast.Nonlocal) -> None:
        for name in node.names:
            self._check_bind(name)

    visit_Nonlocal = visit_Global

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
                          ) -> None:
        self._check_bind(node.name)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_MatchAs(self, node: ast.MatchAs | ast.MatchStar) -> None:
        if node.name:
            self._check_bind(node.name)

    visit_MatchStar = visit_MatchAs

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self._check_bind(node.rest)

    def _check_bind(self, name: str) -> None:
        if name in BUILTIN_NAMES and not self.local:
            raise _refuse("no-shadow-builtin", f"`{name}` is a builtin; do not rebind it (it "
                          f"would break the notebook); use another name, e.g. `{name}_value`")
        if name in self.protected:
            raise _refuse("no-rebind", f"`{name}` must not be rebound (it is a primitive or a "
                          "variable defined before the run); store the result under a new name")


_NOTHING: frozenset[str] = frozenset()
_ABSENT: Any = object()
_HANDLERS = {getattr(ast, name[len("visit_"):]): method
             for name, method in vars(_PolicyVisitor).items()
             if name.startswith("visit_") and hasattr(ast, name[len("visit_"):])}


def _caught_names(node: ast.expr | None) -> set[str] | None:
    """Names an ``except`` clause catches (``None`` for a bare ``except:``)."""
    if node is None:
        return None
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    names = set()
    for item in items:
        if isinstance(item, ast.Name):
            names.add(item.id)
        elif isinstance(item, ast.Attribute):
            names.add(item.attr)
    return names
