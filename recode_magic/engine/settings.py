"""Every knob of a ReCode run, frozen and checked once: :class:`Settings`."""

from __future__ import annotations

import keyword
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..errors import ConfigError
from ..prompting.prompts import FEW_SHOTS
from ..pycode.policy import DEFAULT_ALLOWED_IMPORTS

__all__ = ["Settings", "check_output_name", "TASK_LIMIT"]

TASK_LIMIT = 4000  # characters of the task text shown in prompts (other values: repr_limit)


@dataclass(frozen=True)
class Settings:
    """The settings of a run; a run keeps the ones it started with (``resume`` reuses them).

    Parameters
    ----------
    max_depth : int
        A placeholder at this depth is not expanded (node ``stub``, run ``limit``).
    max_rewrite : int
        Extra model calls allowed for a reply that cannot be used (format, policy).
    max_retry : int
        Repairs (and re-plans) of a node before its error goes to the parent.
    timeout : float or None
        Seconds per block; finite and > 0.
    tools : tuple of str or None
        Exactly these names are the primitives (None: discover them).
    trust : bool
        Lift the guarded policy.
    allowed_imports : frozenset of str
        Top-level packages generated code may import.
    max_calls, max_nodes : int
        Model calls and nodes per run.
    few_shots : str
        Examples in the fixed part of the prompt.
    stdout_cap : int
        Characters of printed output kept per node.
    repr_limit : int
        Characters of a variable's summary in a prompt.
    save_path : str or None
        Where the tree is saved as JSON while the run goes on.
    replan : bool
        Re-plan the rest of a node when a primitive says the step failed (``StepFailed``
        or a ``@primitive(check=...)`` answer); False treats it as a plain error.
    prefetch : int or None
        Parallel expansion: at most this many model calls asked ahead of time for later
        placeholders whose prompts are already known (:mod:`recode_magic.engine.prefetch`); 0 is
        off; None (the default) is 8 for a model that declares ``thread_safe = True`` and
        off for any other. A model that is not thread-safe is never asked concurrently.
    budget_tokens : int or None
        Tokens per run: the run stops ``limit`` (resumable) before a model call that could
        pass it (:mod:`recode_magic.engine.budget`).
    budget_usd : float or None
        Dollars per run, the same way (needs a known price for the model).
    check_results : bool
        Re-plan a step once when it ran without an error but left a result its caller
        expects None or empty (:mod:`recode_magic.engine.resultcheck`).
    decompose : bool
        A node whose code still fails after its repairs, runs into the timeout, or leaves its
        result empty after the result check is asked once for a short plan of new named
        sub-steps, each written on its own (:mod:`recode_magic.engine.repair`, issue 21);
        with ``samples``, so is a pure step whose candidates all ran to different results.
        The plan is sampled under a plan grammar where the backend has one, and each
        sub-step is shown the task.
    samples : int
        Candidates asked for a step that touches nothing outside (no primitive, no child):
        each runs on a scratch copy of the variables and the result most of them agree on
        is kept (:mod:`recode_magic.engine.sampling`); 1 asks once.
    previews : bool
        A variable whose repr does not fit ``repr_limit`` is shown by its structure (length,
        keys, first rows or lines: :func:`recode_magic.pycode.namespace.preview`) instead of
        a cut repr. Off by default: it changes the prompt of any run with such a variable,
        and the shipped notebooks replay cassettes recorded without it.
    ground : bool
        A literal that re-types a variable is refused ("use the variable `NAME`"), and a
        failed lookup's repair is told what the variables hold
        (:mod:`recode_magic.engine.guards`).
    loop_guards : bool
        Refuse, before it runs, a ``range`` that is empty by its literal bounds and a
        ``while True`` with no way out (:func:`recode_magic.engine.guards.loop_problem`).
    world_answers : bool
        After a statement that called a primitive marked ``@primitive(action=True)``, the
        rest of the step is asked for again with what the world answered (and a repeated
        identical action with an identical answer is pointed out); False runs the plan as
        written.
    task_limit : int
        Characters of the task text shown in prompts; a longer task is cut, the cut is
        marked in the prompt and said once in ``run.warnings``.
    examples : bool, int or str
        Show, above each step, the worked example of the built-in library nearest to it
        (:mod:`recode_magic.prompting.nearest`: a word score over the task, the placeholder,
        the variables and the primitives), after the fixed few-shots; an int is how many (0
        to 3; True is 1); ``"instead"`` shows the nearest one in place of the few-shots (they
        stay for a step no example is near). Off by default: it changes every prompt, and
        the shipped cassettes were recorded without it.

    Examples
    --------
    >>> Settings(max_depth=3).max_depth
    3
    >>> Settings(timeout=float("nan"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recode_magic.errors.ConfigError: timeout must be a finite number of seconds > 0, got nan
    >>> Settings().with_(max_depth=12).max_depth
    12
    """

    max_depth: int = 10
    max_rewrite: int = 3
    max_retry: int = 2
    timeout: float | None = None
    tools: tuple[str, ...] | None = None
    trust: bool = False
    allowed_imports: frozenset[str] = DEFAULT_ALLOWED_IMPORTS
    max_calls: int = 300
    max_nodes: int = 10_000
    few_shots: str = field(default=FEW_SHOTS, repr=False)
    stdout_cap: int = 50_000
    repr_limit: int = 200
    save_path: str | None = None
    replan: bool = True
    prefetch: int | None = None
    budget_tokens: int | None = None
    budget_usd: float | None = None
    check_results: bool = True
    decompose: bool = False
    samples: int = 1
    previews: bool = False
    ground: bool = True
    loop_guards: bool = True
    world_answers: bool = True
    task_limit: int = TASK_LIMIT
    examples: bool | int | str = False

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_rewrite", "max_retry"):
            _check_int(name, getattr(self, name), 0)
        for name in ("max_calls", "max_nodes", "repr_limit", "samples", "task_limit"):
            _check_int(name, getattr(self, name), 1)
        _check_int("stdout_cap", self.stdout_cap, 0)
        t = self.timeout
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))
                              or not math.isfinite(t) or t <= 0):
            raise ConfigError(f"timeout must be a finite number of seconds > 0, got {t!r}")
        if self.tools is not None:
            object.__setattr__(self, "tools", tuple(_names("tools", self.tools)))
        object.__setattr__(self, "allowed_imports",
                           frozenset(_names("allowed_imports", self.allowed_imports)))
        if self.prefetch is not None:
            _check_int("prefetch", self.prefetch, 0)
        if self.budget_tokens is not None:
            _check_int("budget_tokens", self.budget_tokens, 1)
        b = self.budget_usd
        if b is not None and (isinstance(b, bool) or not isinstance(b, (int, float))
                              or not math.isfinite(b) or b <= 0):
            raise ConfigError(f"budget_usd must be a finite number of dollars > 0, got {b!r}")
        if self.examples != "instead" and (not isinstance(self.examples, int)
                                           or not 0 <= self.examples <= 3):
            raise ConfigError(f"examples must be True, False, an int from 0 to 3 or "
                              f"'instead', got {self.examples!r}")
        if not isinstance(self.few_shots, str):
            raise ConfigError(f"few_shots must be a str, got {type(self.few_shots).__name__}")

    def with_(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (checked again)."""
        return replace(self, **changes)

    def as_meta(self) -> dict[str, Any]:
        """The settings worth recording in a saved run (no few-shots, no path)."""
        skip = {"few_shots", "save_path", "allowed_imports", "tools"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} must be an int >= {low}, got {value!r}")


def _names(label: str, names: Iterable[str] | str) -> list[str]:
    if isinstance(names, str):
        raise ConfigError(f"{label} must be a collection of names, not a str ({names!r})")
    out = list(names)
    bad = [n for n in out if not isinstance(n, str)]
    if bad:
        raise ConfigError(f"{label} must hold names (str), got {bad[0]!r}")
    return out


def check_output_name(output: Any) -> None:
    """Refuse an ``output`` that cannot be assigned to (a keyword, not an identifier).

    >>> check_output_name("result")
    >>> check_output_name("class")
    Traceback (most recent call last):
    ...
    recode_magic.errors.ConfigError: output must be a variable name, got 'class' (a Python keyword)
    """
    if output is None:
        return
    if not isinstance(output, str) or not output.isidentifier():
        raise ConfigError(f"output must be a variable name, got {output!r}")
    if keyword.iskeyword(output):
        raise ConfigError(f"output must be a variable name, got {output!r} (a Python keyword)")
