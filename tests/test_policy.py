from __future__ import annotations

import ast

import pytest

from recode_magic.errors import FormatError, PolicyError
from recode_magic.pycode.policy import DEFAULT_ALLOWED_IMPORTS, FORBIDDEN_BUILTINS, check_code

PROTECTED = frozenset({"move", "data", "read_sensor"})


def check(code: str, **kwargs: object) -> None:
    kwargs.setdefault("protected", PROTECTED)
    check_code(ast.parse(code), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", [
    "import math\nx = math.sqrt(2)",
    "import collections.abc",
    "from itertools import chain as ch",
    "from collections import Counter, defaultdict",
    "x = move(1, 2)",
    "data.append(3)",
    "data[0] = 1",
    "move.calls = 0",
    "total = sum(x for x in data)",
    "squares = [data for data in range(3)]",  # comprehension variables are local
    "pattern = re.compile('a+')",  # an attribute named compile is not the builtin
    "x = obj.name",
    "x = getattr(obj, 'name')",
    "try:\n    move(1, 2)\nexcept Exception as exc:\n    err = exc",
    "try:\n    move(1, 2)\nexcept (ValueError, KeyError):\n    pass",
    "y = lambda move: move + 1",
    "with ctx() as handle:\n    pass",
    "for i, item in enumerate(data):\n    print(i, item)",
    "if (n := len(data)) > 2:\n    pass",
])
def test_allowed(code: str) -> None:
    check(code)


@pytest.mark.parametrize(("code", "rule", "match"), [
    ("import os", "no-import", r"rule no-import: `import os` is not allowed \(allowed: bisect, "),
    ("import math, subprocess", "no-import", r"`import subprocess`"),
    ("import os.path", "no-import", r"`import os\.path`"),
    ("from shutil import rmtree", "no-import", r"`from shutil import rmtree`"),
    ("from . import secrets", "no-import", r"relative import `from \. import secrets`"),
    ("from math import *", "no-import", r"`from math import \*` is not allowed"),
    ("import importlib", "no-import", r"`import importlib`"),
    ("t = x.__class__", "no-dunder", r"rule no-dunder: `\.__class__` is not allowed"),
    ("x.__dict__['a'] = 1", "no-dunder", r"`\.__dict__`"),
    ("t = getattr(x, '__globals__')", "no-dunder", r"`getattr\(\.\.\., '__globals__'\)`"),
    ("setattr(x, '__class__', Y)", "no-dunder", r"setattr"),
    ("b = __builtins__", "no-dunder", r"`__builtins__`"),
    ("y = eval('1')", "no-builtin", r"rule no-builtin: `eval` is not allowed"),
    ("exec('x = 1')", "no-builtin", r"`exec`"),
    ("f = open('notes.txt')", "no-builtin", r"`open`"),
    ("m = __import__('os')", "no-builtin", r"`__import__`"),
    ("g = globals()", "no-builtin", r"`globals`"),
    ("f = eval", "no-builtin", r"`eval`"),
    ("answer = input('?')", "no-builtin", r"`input`"),
    ("exit()", "no-builtin", r"`exit`"),
    ("try:\n    move(1, 2)\nexcept:\n    pass", "no-catch-all", r"bare `except:`"),
    ("try:\n    move(1, 2)\nexcept BaseException:\n    pass", "no-catch-all",
     r"`except BaseException`"),
    ("try:\n    pass\nexcept (ValueError, KeyboardInterrupt):\n    pass", "no-catch-all",
     r"KeyboardInterrupt"),
    ("move = 3", "no-rebind", r"rule no-rebind: `move` must not be rebound"),
    ("x, (y, data) = 1, (2, 3)", "no-rebind", r"`data`"),
    ("first, *data = [1, 2]", "no-rebind", r"`data`"),
    ("data += [1]", "no-rebind", r"`data`"),
    ("for move in range(3):\n    pass", "no-rebind", r"`move`"),
    ("with ctx() as data:\n    pass", "no-rebind", r"`data`"),
    ("if (data := 3):\n    pass", "no-rebind", r"`data`"),
    ("xs = [(data := i) for i in range(3)]", "no-rebind", r"`data`"),
    ("del data", "no-rebind", r"`data`"),
    ("global data", "no-rebind", r"`data`"),
    ("import math as data", "no-rebind", r"`data`"),
    ("from math import sqrt as move", "no-rebind", r"`move`"),
    ("try:\n    pass\nexcept ValueError as data:\n    pass", "no-rebind", r"`data`"),
    ("class move:\n    pass", "no-rebind", r"`move`"),
    ("def read_sensor():\n    pass", "no-rebind", r"`read_sensor`"),
    ("match x:\n    case [1, data]:\n        pass", "no-rebind", r"`data`"),
    ("match x:\n    case {'a': 1, **data}:\n        pass", "no-rebind", r"`data`"),
])
def test_refused(code: str, rule: str, match: str) -> None:
    with pytest.raises(PolicyError, match=match) as info:
        check(code)
    assert info.value.rule == rule
    message = str(info.value)
    assert message.startswith(f"rule {rule}: ")
    assert "\n" not in message


def test_policy_error_is_a_format_error_with_the_message_as_hint() -> None:
    with pytest.raises(FormatError, match="no-import") as info:
        check("import socket")
    assert info.value.hint == str(info.value)


def test_first_violation_in_source_order_wins() -> None:
    with pytest.raises(PolicyError, match="no-builtin"):
        check("y = eval('1')\nimport os")


def test_custom_allow_list() -> None:
    check("import numpy as np", allowed_imports={"numpy"})
    with pytest.raises(PolicyError, match=r"`import math` is not allowed \(allowed: numpy\)"):
        check("import math", allowed_imports=["numpy"])
    with pytest.raises(PolicyError, match=r"\(allowed: none\)"):
        check("import math", allowed_imports=())


def test_protected_may_be_a_namespace_dict() -> None:
    namespace = {"move": object(), "x": 1}
    with pytest.raises(PolicyError, match="`x` must not be rebound"):
        check_code(ast.parse("x = 2"), protected=namespace)
    check_code(ast.parse("y = 2"), protected=namespace.keys())


def test_nothing_protected_by_default() -> None:
    check_code(ast.parse("move = 3\ndel move"))


def test_default_allow_list_excludes_dangerous_modules() -> None:
    dangerous = {"os", "sys", "subprocess", "shutil", "socket", "pathlib", "importlib",
                 "ctypes", "pickle", "builtins", "inspect", "gc"}
    assert not dangerous & DEFAULT_ALLOWED_IMPORTS
    assert {"math", "json", "re", "itertools", "collections"} <= DEFAULT_ALLOWED_IMPORTS
    assert {"exec", "eval", "compile", "open", "__import__", "globals"} <= FORBIDDEN_BUILTINS


def test_accepts_a_single_statement_node() -> None:
    stmt = ast.parse("import os").body[0]
    with pytest.raises(PolicyError, match="no-import"):
        check_code(stmt)


def test_deeply_nested_code_does_not_hit_the_recursion_limit() -> None:
    deep = "x = move(" + "-" * 2000 + "1)"
    check(deep)
    with pytest.raises(PolicyError, match="no-dunder"):
        check("x = move(" + "-" * 2000 + "y.__class__)")


@pytest.mark.parametrize("code, name", [
    ("print = None", "print"),
    ("len = str", "len"),
    ("for id in [1, 2]:\n    pass", "id"),
    ("sum, n = 0, 1", "sum"),
    ("import math as max", "max"),
])
def test_rebinding_a_builtin_is_refused(code: str, name: str) -> None:
    with pytest.raises(PolicyError, match=f"rule no-shadow-builtin: `{name}` is a builtin") \
            as info:
        check(code, protected=())
    assert info.value.rule == "no-shadow-builtin"


def test_builtin_names_are_fine_as_comprehension_variables() -> None:
    check("ids = [id for id in range(3)]", protected=())


def test_importing_what_a_protected_name_already_holds_is_allowed() -> None:
    import math
    from collections import Counter

    ns = {"math": math, "Counter": Counter, "json": "not the module"}
    check("import math\nfrom collections import Counter", protected=set(ns), namespace=ns)
    with pytest.raises(PolicyError, match="rule no-rebind: `json`"):
        check("import json", protected=set(ns), namespace=ns)
    with pytest.raises(PolicyError, match="rule no-rebind: `math`"):
        check("import math", protected={"math"})  # no namespace given: a rebinding
