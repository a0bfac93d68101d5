"""The worked example nearest to a step: a TF-IDF word score, and the example as prompt text.

The score is written by hand on purpose (a dozen lines; a library such as scikit-learn would be
a heavy dependency for sixteen short documents): words are lowercase letter runs (so
``next_stops`` gives ``next`` and ``stop``), a plural ``s`` and an ``able``/``ing``/``ed``
ending are dropped, and one-letter and common words are left out. Each example is a document
(its task, placeholder, variable names, primitives, thought and family words); the step is the
query (the task text, the placeholder's call, its variables' names, types and dict keys -- not
their values, which are data -- and the run's primitives with their first docstring line). A
word weighs ``(1 + ln tf) * idf`` with ``idf = 1 + ln((n + 1) / (df + 1))`` over the ``n``
documents, and the score is the cosine of the two vectors: 0 (no word shared) to 1. Words no
example has are ignored; an example needs a cosine of :data:`MIN_SCORE` and :data:`MIN_SHARED`
distinct shared words, so a step far from every family gets none (one shared word such as
``room`` or ``item`` is no family).

The documents are the built-in library (:mod:`.examples`) and the steps that ended done in
earlier runs of the same namespace (:mod:`.session`), ranked together. An example is never
offered when one of its own names (its primitives, its placeholder) is a real name of the
run or a name of the step's call: "its primitives exist only in this example" must stay true
(:func:`own_names` gives the names the engine then refuses if the model calls them).
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..pycode.namespace import describe_primitive
from .examples import LIBRARY, SESSION, Example
from .session import done_steps, earlier_runs

__all__ = ["Scored", "nearest", "render", "words", "MIN_SCORE", "own_names", "offer", "MIN_SHARED",
           "INSTEAD", "without_shots", "Step", "Nearby",
           "query_text"]

#: Below this cosine an example is not offered (a step of no family gets none). Chosen so
#: that a step sharing only a generic word or two (``list``, ``store``) stays under it.
MIN_SCORE = 0.12
#: ... and an example must share at least this many distinct words with the step (one word,
#: say ``room`` or ``item``, is no family).
MIN_SHARED = 2

_STOP = frozenset(
    "the and for with from that this then than each are was were its his her their into "
    "your you not but all any one two use using store key keys "
    "value values name names new step text above solve task answer variable variables "
    "given give there which what when who how per in of to is it as at by on or an be if "
    "no so do we me my up can only need them they these those must should will would also "
    "just sorted".split())
_WORD = re.compile(r"[a-z]+")
_SUFFIXES = ("able", "ing", "ed")  # reachable, reaching, reached: reach
_CALLED = re.compile(r"(\w+)\(")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_DICT_KEY = re.compile(r"'(\w+)':")

Scored = tuple[float, Example]


class Step(NamedTuple):
    """What a step is matched on (:func:`query_text`): its task, call, variables, primitives."""

    task: str | None
    call: str
    variables: Sequence[str]
    primitives: Sequence[str]


#: ``examples=INSTEAD``: the nearest example replaces the fixed few-shots (when one is near).
INSTEAD = "instead"


def words(text: str) -> list[str]:
    """The words of ``text`` the score counts, each cut to a crude stem.

    >>> words("How many next_stops to the Museums? Store it in `rides`.")
    ['many', 'next', 'stop', 'museum', 'ride']
    >>> words("reached, reachable, following, locked")
    ['reach', 'reach', 'follow', 'lock']
    """
    out = []
    for w in _WORD.findall(text.lower()):
        if w in _STOP:
            continue
        if w.endswith("s") and len(w) > 3 and not w.endswith("ss"):
            w = w[:-1]
        for suffix in _SUFFIXES:
            if w.endswith(suffix) and len(w) - len(suffix) >= 4:
                w = w[:-len(suffix)]
                break
        if len(w) > 1 and w not in _STOP:
            out.append(w)
    return out


def _document(ex: Example) -> str:
    tools = " ".join(f"{t.signature} {t.doc}" for t in ex.tools.values())
    shown = query_text(None, "", ex.shown, ())  # an earlier step's variables, as a query's
    return " ".join([ex.task, ex.call, " ".join(ex.inputs), shown, tools, ex.thought,
                     ex.words])


@functools.lru_cache(maxsize=4)
def _index(library: tuple[Example, ...]) -> tuple[dict[str, float],
                                                   tuple[dict[str, float], ...]]:
    docs = [Counter(words(_document(ex))) for ex in library]
    df = Counter(w for d in docs for w in d)
    idf = {w: 1.0 + math.log((len(docs) + 1) / (n + 1)) for w, n in df.items()}
    return idf, tuple(_unit({w: _tf(tf) * idf[w] for w, tf in d.items()}) for d in docs)


def _tf(count: int) -> float:
    """A word said five times weighs 2.6 times a word said once, not 5 times."""
    return 1.0 + math.log(count)


def _unit(vec: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {w: v / norm for w, v in vec.items()}


def nearest(query: str, k: int = 1, *, library: tuple[Example, ...] = LIBRARY,
            taken: Callable[[str], bool] = lambda name: False,
            min_score: float = MIN_SCORE) -> list[Scored]:
    """The ``k`` examples nearest to ``query``, best first, each with its score.

    ``taken(name)``: True for a name that exists in the run; an example using such a name
    is skipped. Examples under ``min_score`` are left out (the list may be empty).

    >>> [ex.family for _, ex in nearest("fewest hops from A to B with neighbors(place)")]
    ['graph']
    >>> nearest("write a haiku")
    []
    """
    idf, vecs = _index(library)
    q = _unit({w: _tf(tf) * idf[w] for w, tf in Counter(words(query)).items() if w in idf})
    scored = [(sum(q.get(w, 0.0) * v for w, v in vec.items()), i)
              for i, vec in enumerate(vecs)
              if len(q.keys() & vec.keys()) >= MIN_SHARED]
    scored.sort(key=lambda s: (-s[0], s[1]))
    out: list[Scored] = []
    for score, i in scored:
        ex = library[i]
        if score < min_score or len(out) >= k:
            break
        if not any(taken(n) for n in own_names(ex)):
            out.append((round(score, 3), ex))
    return out


def own_names(ex: Example) -> frozenset[str]:
    """The names that exist only in ``ex``: its primitives and its placeholder's function.

    >>> from recode_magic.prompting.examples import LIBRARY
    >>> sorted(own_names(LIBRARY[1]))
    ['forwards_to', 'servers_reached']
    """
    if ex.family == SESSION:  # it called real functions only; its step may be called again
        return frozenset()
    step = _step_name(ex)
    return frozenset(({step} if step != "solve" else set()) | set(ex.tools))


def _step_name(ex: Example) -> str:
    head = _CALLED.search(ex.call)
    return head.group(1) if head else ""


def render(ex: Example, head: str = "Another example, near your step") -> str:
    """``ex`` as prompt text, in the form of the fixed examples.

    >>> from recode_magic.prompting.examples import LIBRARY
    >>> print("\\n".join(render(LIBRARY[1]).splitlines()[:5]))
    Another example, near your step (its primitive `forwards_to` exists only in this example):
    Placeholder: reached, sinks = servers_reached(start)
    Variables:
    - start (str): 'gateway'
    Its primitives:
    """
    names = sorted(ex.tools)
    said = " and ".join(f"`{n}`" for n in names) if len(names) < 3 else \
        ", ".join(f"`{n}`" for n in names)
    own = (f" (its primitives {said} exist only in this example)" if len(names) > 1 else
           f" (its primitive {said} exists only in this example)" if names else
           " (done earlier in this session; its step and variables are not yours)"
           if ex.family == SESSION else " (its step and variables are not yours)")
    lines = [f"{head}{own}:"]
    if _step_name(ex) == "solve":
        lines += ["Task:", ex.task]
    call = (f"solve({', '.join(['task', *ex.inputs])})" if ex.call == "solve(task)"
            else ex.call)  # a root's call passes its inputs, as the engine writes it
    lines += [f"Placeholder: {call}", "Variables:"]
    shown = [*(["- task (str): the task text above"] if ex.call == "solve(task)" else []),
             *(f"- {n} ({type(v).__name__}): {v!r}" for n, v in ex.inputs.items()),
             *ex.shown]
    lines += shown or ["(none)"]
    if names:
        lines += ["Its primitives:", *(f"- {ex.tools[n].signature} -- {ex.tools[n].doc}"
                                       for n in names)]
    lines += [f"<think>{ex.thought}</think>", "<execute>", ex.code, "</execute>"]
    return "\n".join(lines) + "\n\n"


def offer(step: Step, setting: int | str, known: Callable[[str], bool],
          session: tuple[Example, ...] = ()) -> tuple[str, frozenset[str]]:
    """The prompt text of the examples nearest to ``step`` ("" for none) and their own names.

    ``setting``: how many (the ``examples`` setting; :data:`INSTEAD` is one, headed
    "Example": it replaces the fixed few-shots). ``known(name)``: the name exists in the
    run. ``session``: steps of earlier runs (:func:`~.session.done_steps`), ranked with the
    built-in library. An example is skipped if one of its own names is known or is a name
    of the step's call.
    """
    instead = setting == INSTEAD
    here = set(_IDENTIFIER.findall(step.call))
    chosen = nearest(query_text(*step), 1 if instead else int(setting),
                     library=LIBRARY + session, taken=lambda n: n in here or known(n))
    head = "Example, near your step" if instead else "Another example, near your step"
    names: frozenset[str] = frozenset()
    for _, ex in chosen:
        names |= own_names(ex)
    return "".join(render(ex, head) for _, ex in chosen), names


def query_text(task: str | None, call: str, variables: Sequence[str],
               primitives: Sequence[str]) -> str:
    """What a step is matched on: task, call, variables and primitive descriptions.

    Of a variable line only its name, type and the dict keys in its value count: the values
    are data (a title that says "code" is no hint of the step's family).

    >>> query_text(None, "n = count_rows(rows)", ["- rows (list): [{'city': 'Rome'}]"], [])
    '\\nn = count_rows(rows)\\n- rows (list) city'
    """
    shapes = [" ".join([line.split(":", 1)[0], *_DICT_KEY.findall(line)]) for line in variables]
    return "\n".join([task or "", call, *shapes, *primitives])


def without_shots(fixed: str, few_shots: str) -> str:
    """``fixed`` (a :func:`~.prompts.fixed_part`) without its few-shot examples at the end.

    >>> from recode_magic.prompting.prompts import fixed_part
    >>> without_shots(fixed_part(["f(x)"], "SHOTS"), "SHOTS") == fixed_part(["f(x)"], "")
    True
    """
    tail = f"{few_shots}\n"
    if not few_shots or not fixed.endswith(tail):
        return fixed
    return f"{fixed[:-len(tail)]}\n"


@dataclass(frozen=True)
class Nearby:
    """What one run's steps are matched against, read once per run.

    ``primitives``: the run's primitives as the prompt lists them; ``session``: the steps of
    earlier runs in its namespace (:func:`~.session.done_steps`).
    """

    primitives: tuple[str, ...]
    session: tuple[Example, ...]

    @classmethod
    def of(cls, namespace: dict[str, Any], primitives: Iterable[str], state: Any,
           known: Callable[[str], bool]) -> Nearby:
        """Read them for the run of ``state`` (its namespace, its primitives' names)."""
        return cls(tuple(describe_primitive(n, namespace[n]) for n in sorted(primitives)
                         if n in namespace),
                   done_steps(earlier_runs(namespace, state), known))

    def for_step(self, settings: Any, fixed: str, task: Any, call: str,
                 variables: Sequence[str],
                 known: Callable[[str], bool]) -> tuple[str, str, frozenset[str]]:
        """The step's fixed part, its examples' text and their own names (:func:`offer`).

        ``settings``: the run's (``examples``, ``few_shots``). With ``examples`` :data:`INSTEAD`
        and an example near, the fixed part loses the few-shots. The engine refuses a call of
        one of the names (they exist only in the examples).
        """
        step = Step(task if isinstance(task, str) else None, call, variables, self.primitives)
        text, names = offer(step, settings.examples, known, self.session)
        if text and settings.examples == INSTEAD:
            fixed = without_shots(fixed, settings.few_shots)
        return fixed, text, names
