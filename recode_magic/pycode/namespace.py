"""The user's namespace: primitive discovery, descriptions and variable summaries."""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, overload

from ..errors import ConfigError, UnknownToolError

__all__ = ["primitive", "discover_primitives", "describe_primitive", "variable_lines", "preview",
           "UnknownToolError", "CHECK_ATTR", "ACTION_ATTR", "PURE_ATTR"]

F = TypeVar("F", bound=Callable[..., Any])
_MARK = "__recode_primitive__"
CHECK_ATTR = "__recode_check__"
ACTION_ATTR = "__recode_action__"
PURE_ATTR = "__recode_pure__"


@overload
def primitive(fn: F, /) -> F: ...
@overload
def primitive(*, check: Callable[[Any], Any] | None = None,
              action: bool = False, pure: bool = False) -> Callable[[F], F]: ...


def primitive(fn: F | None = None, /, *, check: Callable[[Any], Any] | None = None,
              action: bool = False, pure: bool = False) -> F | Callable[[F], F]:
    """Mark a callable as a primitive so it is listed in the prompt wherever it was defined.

    ``@primitive`` or ``@primitive(check=...)``: ``check(result)`` returning ``True`` or a
    non-empty string (the reason) says the world refused the step, and the engine re-plans
    the rest of the node with that answer (a primitive may also raise
    :class:`~recode_magic.errors.StepFailed`). ``action=True``: the primitive acts on a world
    that answers (a game's ``act``); after a statement that calls it, the rest of the step
    is written again from what it answered (``Settings.world_answers``, issue 21).
    ``pure=True``: the primitive only reads (a lookup: calling it changes nothing), so a
    step that calls no other primitive may be sampled, each candidate run on a scratch copy
    (``Settings.samples``); the engine takes your word for it.

    >>> @primitive
    ... def beep(): "Make a sound."
    >>> getattr(beep, "__recode_primitive__")
    True
    >>> @primitive(check=lambda obs: "can't" in obs)
    ... def act(command): return "You can't go that way."
    >>> getattr(act, CHECK_ATTR)(act("north"))
    True
    """
    if check is not None and not callable(check):
        raise ConfigError(f"check must be a callable check(result), got {check!r}")
    if pure and (action or check is not None):
        raise ConfigError("a pure primitive only reads: it cannot be an action or have a check")

    def mark(f: F) -> F:
        try:
            setattr(f, _MARK, True)
            if check is not None:
                setattr(f, CHECK_ATTR, check)
            if action:
                setattr(f, ACTION_ATTR, True)
            if pure:
                setattr(f, PURE_ATTR, True)
        except (AttributeError, TypeError):  # e.g. a builtin: nothing to mark, still usable
            pass
        return f

    return mark if fn is None else mark(fn)


def _is_candidate(name: str, value: Any, kernel: bool) -> bool:
    if name.startswith("_") or isinstance(value, types.ModuleType) or not callable(value):
        return False
    if getattr(value, _MARK, False) is True:
        return True
    if not (inspect.isfunction(value) or inspect.isclass(value)):
        return False
    return getattr(value, "__module__", None) == "__main__" if kernel else True


def discover_primitives(namespace: Mapping[str, Any],
                        tools: Iterable[str] | None = None) -> dict[str, Callable[..., Any]]:
    """The primitives the model may call.

    With ``tools``: exactly those names. Otherwise, in a kernel namespace (``__name__ ==
    "__main__"``), the functions and classes the user defined there plus anything marked with
    :func:`primitive`; in a plain dict, every public function or class in it.

    >>> def add(a, b): return a + b
    >>> sorted(discover_primitives({"add": add, "x": 1, "_h": add}))
    ['add']
    """
    kernel = namespace.get("__name__") == "__main__"
    if tools is not None:
        out = {}
        for name in tools:
            value = namespace.get(name)
            if not callable(value):  # in a kernel, those the user defined (not ipykernel's)
                have = sorted(n for n, v in namespace.items()
                              if _is_candidate(n, v, kernel=kernel))[:10]
                raise UnknownToolError(f"--tools names {name!r}, which is not a callable in "
                                       f"the namespace (callables: {', '.join(have) or 'none'})")
            out[name] = value
        return out
    return {n: v for n, v in list(namespace.items()) if _is_candidate(n, v, kernel)}


def describe_primitive(name: str, fn: Callable[..., Any]) -> str:
    """``name(signature)  -- first docstring line``.

    >>> def move(dx, dy=0):
    ...     '''Move the robot by (dx, dy).
    ...
    ...     More text.'''
    >>> describe_primitive("move", move)
    'move(dx, dy=0) -- Move the robot by (dx, dy).'
    """
    sig = _signature(fn)
    doc = inspect.getdoc(fn) if (inspect.isfunction(fn) or inspect.isclass(fn)
                                 or getattr(fn, _MARK, False)) else None
    first = doc.strip().splitlines()[0].strip() if doc and doc.strip() else ""
    return f"{name}{sig}" + (f" -- {first[:160]}" if first else "")


#: what a plain function's signature is made from -> its text (:func:`_signature`)
_SIGNATURES: dict[tuple[Any, ...], str] = {}
_SCALARS = frozenset({int, float, complex, bool, type(None), str, bytes})


def _signature(fn: Callable[..., Any]) -> str:
    """``str(inspect.signature(fn))``, ``(...)`` when there is none; kept for plain functions.

    A run describes every primitive and :func:`inspect.signature` costs tens of
    microseconds. The text of a plain function is kept under what it is made from: its
    code object, default values and annotations (so a function defined again by the same
    code, as a ``setup`` of a batch does for each task, is read once). Functions with a
    default that is not a number, string, ``None`` (its repr could change in place), a
    ``__wrapped__`` or ``__signature__`` are read each time.

    >>> def f(a, b=1): ...
    >>> _signature(f), _signature(f)
    ('(a, b=1)', '(a, b=1)')
    >>> f.__defaults__ = (2,)
    >>> _signature(f)
    '(a, b=2)'
    """
    key = _signature_key(fn)
    if key is None:
        return _read_signature(fn)
    sig = _SIGNATURES.get(key)
    if sig is None:
        if len(_SIGNATURES) >= 4096:  # bounded: a long session defining many functions
            _SIGNATURES.clear()
        sig = _SIGNATURES[key] = _read_signature(fn)
    return sig


def _signature_key(fn: Callable[..., Any]) -> tuple[Any, ...] | None:
    """What :func:`_signature`'s text is made from, hashable; None: read it each time."""
    if type(fn) is not types.FunctionType or "__wrapped__" in fn.__dict__ \
            or "__signature__" in fn.__dict__:
        return None
    values = [*(fn.__defaults__ or ()), *(fn.__kwdefaults__ or {}).values()]
    if any(type(v) not in _SCALARS for v in values):
        return None
    ann = fn.__annotations__
    try:
        key = (fn.__code__, tuple(repr(v) for v in values),  # the text shown for each
               tuple(fn.__kwdefaults__ or ()), tuple((k, type(v), v) for k, v in ann.items()))
        hash(key)
    except TypeError:  # an annotation that cannot be hashed
        return None
    return key


def _read_signature(fn: Callable[..., Any]) -> str:
    try:  # annotations as the function holds them (strings under `from __future__ ...`)
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return "(...)"


def variable_lines(names: Iterable[str], namespace: Mapping[str, Any],
                   short_repr: Callable[[Any], str]) -> list[str]:
    """Prompt lines ``- name (type): value`` for the names that are bound.

    >>> variable_lines(["n", "missing"], {"n": 3}, repr)
    ['- n (int): 3']
    """
    out = []
    for name in names:
        if name in namespace:
            value = namespace[name]
            out.append(f"- {name} ({type(value).__name__}): {short_repr(value)}")
    return out


def preview(value: Any, limit: int, short_repr: Callable[[Any, int], str]) -> str:
    """A variable's value for the prompt: its repr if it fits in ``limit``, else its structure.

    The structure (issue 21): length, keys of dicts, a few real rows, the first lines of a text.

    A cut repr made a 1.5B model re-type the data it could see (rows missing, values wrong);
    a preview says how much there is and what one item looks like, so code uses the variable.

    >>> rows = [{"region": "north", "amount": i} for i in range(30)]
    >>> print(preview(rows, 80, lambda v, n: repr(v)[:n]))  # doctest: +ELLIPSIS
    list of 30 dicts, keys ['region', 'amount']; first rows: {'region': 'north', 'amount': 0}...
    >>> preview([1, 2], 80, lambda v, n: repr(v)[:n])
    '[1, 2]'
    """
    full = short_repr(value, limit)
    if not full.endswith(("…", "…'", '…"')) and len(full) < limit:
        return full
    return _structure(value, limit, short_repr) or full


def _structure(value: Any, limit: int, short_repr: Callable[[Any, int], str]) -> str | None:
    room = max(limit, 300)
    if isinstance(value, str):
        lines = value.splitlines()
        head = "\n".join(f"    {line[:160]}" for line in lines[:6])
        more = f"\n    … ({len(lines) - 6} more lines)" if len(lines) > 6 else ""
        return (f"str of {len(value)} characters, {len(lines)} lines; it begins (raw "
                f"text, indented here):\n{head}{more}")
    if isinstance(value, (list, tuple)) and value:
        kind = type(value).__name__
        if all(isinstance(v, dict) for v in value[:20]):
            keys = list(value[0])[:16]
            rows = "; ".join(short_repr(v, 160) for v in value[:3])
            return (f"{kind} of {len(value)} dicts, keys {keys!r}; first rows: "
                    f"{rows[:room]}")
        items = ", ".join(short_repr(v, 80) for v in value[:5])
        return f"{kind} of {len(value)} items; first items: {items[:room]}"
    if isinstance(value, dict) and value:
        keys = list(value)[:20]
        more = f" (+{len(value) - 20} more)" if len(value) > 20 else ""
        first = "; ".join(f"{k!r}: {short_repr(v, 100)}" for k, v in list(value.items())[:3])
        return f"dict with {len(value)} keys {keys!r}{more}; first items: {first[:room]}"
    return None
