"""What the primitives did while a statement ran too long.

A statement that hits the per-block timeout is usually a loop whose condition never changes
(`while position() != target: move('north')`). "block ran longer than 30 s" does not say
why; the calls the primitives received in that time do, to the user and to the model that
repairs the step. While a block runs under a timeout, each primitive it names is replaced
in the namespace by a counting wrapper (put back when the block ends, whatever happens);
after a timeout, :meth:`CallTally.summary` is added to the error.

Written by hand: it is a dozen lines of bookkeeping, and no library counts calls of
functions swapped into an ``exec`` namespace.
"""

from __future__ import annotations

import functools
import inspect
from collections import deque
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from .limits import short_repr

__all__ = ["CallTally", "Answers"]


@dataclass
class CallTally:
    """Calls per primitive while one block runs: how many, and the last call and result.

    >>> ns = {"move": lambda d: (0, 1)}
    >>> tally = CallTally()
    >>> with tally.watching(ns, ["move"]):
    ...     _ = [ns["move"]("north") for _ in range(3)]
    >>> tally.summary()
    "move was called 3 times (last: move('north') -> (0, 1))"
    >>> CallTally().summary()
    'no primitive was called'
    """

    counts: dict[str, int] = field(default_factory=dict)
    #: the last few calls that returned, in order: (name, args, kwargs, result)
    recent: deque[tuple[str, tuple[Any, ...], dict[str, Any], Any]] = field(
        default_factory=lambda: deque(maxlen=4))
    #: name -> (args, kwargs, result) of its last call that returned (formatted by `summary`)
    last: dict[str, tuple[tuple[Any, ...], dict[str, Any], Any]] = field(default_factory=dict)
    #: name -> (primitive, its counting wrapper): made once, reused by every block
    wrappers: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = field(
        default_factory=dict, repr=False)

    def reset(self) -> None:
        """Forget the calls counted so far (the wrappers stay): the next block starts at 0."""
        if self.counts:  # a call counted is in all three
            self.counts.clear()
            self.recent.clear()
            self.last.clear()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` counting its calls under ``name``."""
        counts, last, recent = self.counts, self.last, self.recent  # reset() clears in place

        @functools.wraps(fn)
        def counted(*args: Any, **kwargs: Any) -> Any:
            counts[name] = counts.get(name, 0) + 1
            result = fn(*args, **kwargs)
            last[name] = (args, kwargs, result)
            recent.append((name, args, kwargs, result))
            return result
        return counted

    def watching(self, ns: MutableMapping[str, Any], names: Iterable[str]) -> _Watching:
        """Swap counting wrappers for ``names`` into ``ns``; put the originals back after.

        A context manager (a class, not a generator: it runs around every statement).
        """
        # plain functions only: a class or a callable object must stay itself
        # (`isinstance(p, Point)`, `robot.speed` in the same statement)
        if not names:
            return _NOTHING
        swapped = {}
        for n in names:
            fn = ns.get(n)
            made = self.wrappers.get(n)
            if made is None or made[0] is not fn:
                if not _plain_function(fn):
                    continue
                made = self.wrappers[n] = (fn, self.wrap(n, fn))  # type: ignore[arg-type]
            swapped[n] = made
        return _Watching(ns, swapped)

    def summary(self, most: int = 3) -> str:
        """One line: the most called primitives, with their last call and result."""
        if not self.counts:
            return "no primitive was called"
        top = sorted(self.counts.items(), key=lambda kv: -kv[1])[:most]
        return "; ".join(f"{n} was called {_about(c)} (last: {self._last(n)})" for n, c in top)

    def answers(self, limit: int = 300) -> list[str]:
        """The last few calls and what they returned: ``act('go east') -> '-= Sauna =-...'``.

        >>> tally = CallTally()
        >>> ns = {"act": lambda c: c.upper()}
        >>> with tally.watching(ns, ["act"]):
        ...     _ = ns["act"]("go east")
        >>> tally.answers()
        ["act('go east') -> 'GO EAST'"]
        """
        return [_call(n, a, k, r, limit) for n, a, k, r in self.recent]

    def pending(self, limit: int = 300) -> Answers | list[str]:
        """What :meth:`answers` gives, formatted when first read if it cannot change.

        Calls whose arguments and results are numbers, strings, ``None`` (or tuples of
        those) give :class:`Answers`, formatted later with the same text; the others are
        formatted now (a list or object a primitive returned may change afterwards).

        >>> tally = CallTally()
        >>> ns = {"act": lambda c: c.upper()}
        >>> with tally.watching(ns, ["act"]):
        ...     _ = ns["act"]("go east")
        >>> tally.pending().texts()
        ["act('go east') -> 'GO EAST'"]
        """
        recent = self.recent
        if not recent:
            return []
        fixed = _FIXED
        for _, args, kwargs, result in recent:
            if not ((type(result) in fixed or _fixed(result))
                    and all(type(a) in fixed or _fixed(a) for a in args)
                    and (not kwargs or all(map(_fixed, kwargs.values())))):
                return self.answers(limit)
        return Answers(tuple(recent), limit)

    def _last(self, name: str) -> str:
        if name not in self.last:
            return "no call returned"
        args, kwargs, result = self.last[name]
        return _call(name, args, kwargs, result, 60)


@dataclass(slots=True)  # not frozen: a frozen dataclass is made several times slower
class Answers:
    """The last calls of a statement and their results, formatted by :meth:`texts`.

    Kept by ``Step.answers`` until it is read (most never are: a re-plan, the widget and a
    saved tree read them); only values whose text cannot change (see :meth:`CallTally.pending`).
    """

    calls: tuple[tuple[str, tuple[Any, ...], dict[str, Any], Any], ...]
    limit: int = 300

    def texts(self) -> list[str]:
        """``act('go east') -> 'You go east.'`` for each call, in order."""
        return [_call(n, a, k, r, self.limit) for n, a, k, r in self.calls]


#: types whose values cannot change (their text, formatted later, is the same)
_FIXED = frozenset({int, float, complex, bool, type(None), str, bytes})


def _fixed(value: Any) -> bool:
    t = type(value)
    return t in _FIXED or (t is tuple and len(value) <= 16
                           and all(type(v) in _FIXED for v in value))


@dataclass(slots=True)
class _Watching:
    """Puts ``swapped`` wrappers into ``ns`` on entry, the originals back on exit."""

    ns: MutableMapping[str, Any]
    swapped: dict[str, tuple[Callable[..., Any], Callable[..., Any]]]

    def __enter__(self) -> None:
        for n, (_, wrapper) in self.swapped.items():
            self.ns[n] = wrapper

    def __exit__(self, *exc: object) -> None:
        ns = self.ns
        for n, (fn, wrapper) in self.swapped.items():
            if ns.get(n) is wrapper:
                ns[n] = fn


_NOTHING = _Watching({}, {})  # a statement calling no primitive: nothing to swap


def _plain_function(value: Any) -> bool:
    return (inspect.isfunction(value) or inspect.ismethod(value) or inspect.isbuiltin(value)
            or isinstance(value, functools.partial))


def _about(count: int) -> str:
    """A call count, exact below 10, else its order of magnitude.

    The exact count of calls in a timed-out block depends on the machine's speed and load;
    it goes into the repair prompt, so a coarse figure keeps the prompt (and a cassette key)
    the same more often.

    >>> _about(1), _about(7), _about(12), _about(34_144_979)
    ('once', '7 times', 'over 10 times', 'over 10,000,000 times')
    """
    if count == 1:
        return "once"
    if count < 10:
        return f"{count} times"
    return f"over {10 ** (len(str(count)) - 1):,} times"


def _call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any,
          limit: int) -> str:
    call = ", ".join([*(short_repr(a, 40) for a in args),
                      *(f"{k}={short_repr(v, 40)}" for k, v in kwargs.items())])
    shown = " ".join(short_repr(result, limit).split())  # one line
    return f"{name}({call}) -> {shown}"
