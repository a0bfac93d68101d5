"""Sample, run, choose (issue 21): several candidates for a pure step, kept by agreement.

A step is *pure* when its code is flat and calls no primitive and no function of the user's:
it can change nothing outside the variables, so any number of candidates may be run on a
scratch copy of them. With ``samples=k`` every answer the model gives for such a step is
candidate 1 of ``k``:

- at the step's first expansion, candidates 2..k are the **same prompt** asked again at
  :data:`TEMPERATURE`, each with its own seed (a cassette keys each candidate by its
  temperature and seed, so it replays its own reply);
- at a repair or re-plan that restarts the step (it failed, or left its result empty),
  candidate 1 is the repaired answer and candidates 2..k are **fresh samples** of the
  step's plain prompt (no error shown): for models of 0.5-1.5B a fresh sample beats
  re-showing the failing code more often than not (issue 21 cites the study); the pool
  holds both kinds and running them decides.

Candidates 2..k are asked **concurrently** when the model takes several calls at once
(:func:`~recode_magic.llms.base.asks_together`: a thread-safe backend such as a llama.cpp
server with slots, or a cassette over one), one after the other otherwise; candidate 1 runs
on its scratch copy meanwhile. Worker threads only call the model; replies are counted, and
every candidate is parsed, checked and run, on the calling thread. A model that takes no
per-call temperature (a plain callable, :class:`~recode_magic.llms.scripted.ScriptedLLM`)
is asked the same way and answers as it always does (said once in ``run.warnings``).

The choice: each candidate's result is the repr of the step's targets after its code ran on
a scratch copy; a candidate that failed, timed out or left a target empty (the result check)
gets no vote. The result most candidates agree on wins, ties going to the earliest: when no
two agree, that is the earliest candidate that ran (candidate 1 if it did; code that fails
is wrong for sure, code that runs may be right, as in CodeT and S*); when nothing ran,
candidate 1 is kept (it runs for real and fails as before, then is repaired). The winner
is run for real by the machine as any code is. The attempt ``{"kind": "sample", ...}`` records
what each candidate gave, the temperature, whether they were asked concurrently, and the
wall seconds of asking (``ask_s``) and of the whole sampling (``wall_s``).
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import time
from collections import Counter
from collections.abc import Callable, Mapping
from types import CodeType
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import FormatError, LLMError, NoReplyError
from ..llms.base import Reply, ask, asks_together, merge_usage, one_line, takes_sampling
from ..prompting.prompts import Prompt
from ..prompting.reply import parse_reply
from ..pycode import code as C
from ..pycode.limits import block_timeout, capture_output, short_repr
from ..pycode.namespace import PURE_ATTR
from .budget import Projection, model_at, over_budget, project
from .resultcheck import is_empty
from .runstate import Frame

if TYPE_CHECKING:
    from ..runs.tree import Node, RunData
    from .runstate import RunState
    from .settings import Settings

__all__ = ["choose", "sampleable", "ran_to_results", "TEMPERATURE", "FAILED", "UNUSABLE",
           "Expander"]

#: Temperature of candidates 2..k. 0.6-0.8 is where code-sampling studies draw k of 4-10
#: (Codex pass@k, CodeT, S*): lower, a 1.5B model's candidates are mostly the same program;
#: higher, more of them break the reply format or the code. A module constant, not a
#: setting: one knob (``samples``) for users; change it here to experiment.
TEMPERATURE = 0.7

_SCRATCH_TIMEOUT = 10.0  # seconds per candidate statement (pure code: it should be quick)

Candidate = tuple[str, list[C.Block], str | None]  # (code, blocks, result or None)


class Expander(Protocol):
    """What sampling uses of :class:`~recode_magic.engine.expander.Expander` (which calls it).

    Declared here so this module does not import the expander back (one-way imports).
    """

    state: RunState
    ns: dict[str, Any]
    settings: Settings
    plan_only: bool

    def plan(self, frame: Frame, code: str) -> list[C.Block]: ...  # noqa: D102
    def emit(self, event: str, run: RunData, node: Node | None) -> None: ...  # noqa: D102


def sampleable(x: Expander, frame: Frame, blocks: list[C.Block],
               feedback: str | None = None) -> bool:
    """True for flat code with targets to compare that calls no primitive or user function.

    A primitive marked ``@primitive(pure=True)`` (it only reads) does not count.

    Only for code that is the whole step (nothing of it ran before): its first answer, or
    with ``feedback`` a repair or re-plan that starts the step over (a pure step that
    failed or left its result empty).
    """
    st = x.state
    if (not frame.node.targets or not blocks or st.confirm is not None or x.plan_only
            or frame.ran):
        return False
    for b in blocks:
        if b.placeholder is not None:
            return False
        if any((n in st.primitives and not _reads_only(n, x.ns.get(n), st))
               or (n not in st.primitives and n in st.before and callable(x.ns.get(n)))
               for n in b.calls):
            return False
    return True


def _reads_only(name: str, fn: Any, st: RunState) -> bool:
    """A primitive marked ``@primitive(pure=True)`` (neither async nor checked: run as is)."""
    return (getattr(fn, PURE_ATTR, False) is True and name not in st.async_primitives
            and name not in st.checks)


def _reads(blocks: list[C.Block]) -> set[str]:
    """Every name the blocks' code objects (and those nested in them) mention."""
    names: set[str] = set()
    todo = [b.code for b in blocks]
    while todo:
        co = todo.pop()
        names.update(co.co_names)
        todo.extend(c for c in co.co_consts if isinstance(c, CodeType))
    return names


def _scratch(ns: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """A copy of the variables among ``names``; functions and the builtins are shared.

    A notebook's other variables and its history are left out: copied for every candidate
    they cost 0.6 s a candidate with 300k unrelated rows in the namespace. The policy refuses
    ``globals()``/``vars()``, the only way to reach a name the code does not mention.
    """
    out: dict[str, Any] = {k: ns[k] for k in ("__builtins__",) if k in ns}
    for k in names & ns.keys():
        v = ns[k]
        if callable(v):
            out[k] = v
            continue
        try:
            out[k] = copy.deepcopy(v)
        except Exception:  # noqa: BLE001 - an object that cannot be copied is shared
            out[k] = v
    return out


def _result(blocks: list[C.Block], ns: dict[str, Any], targets: list[str],
            timeout: float) -> str | None:
    """The targets' values after running ``blocks`` on a scratch copy (None: failed/empty)."""
    scratch = _scratch(ns, _reads(blocks))
    try:
        with capture_output(2000):
            for b in blocks:
                with block_timeout(timeout):
                    exec(b.code, scratch)  # noqa: S102 - the candidate, on a copy
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - a failing candidate gets no vote
        return None
    values = [scratch.get(t) for t in targets]
    if any(t not in scratch or is_empty(v) for t, v in zip(targets, values, strict=True)):
        return None
    return _vote_key(tuple(values))


def _vote_key(value: Any, limit: int = 4000) -> str:
    """The text two candidates' results are compared by: equal values, equal texts.

    A ``repr`` would set apart results that are equal: a ``defaultdict`` and the ``dict``
    with the same items, two dicts filled in another order, two equal sets (seen: the one
    right log count and its ``defaultdict`` twin got one vote each). Containers are written
    with their items sorted (dicts, sets) and dict subclasses as dicts; lists and tuples
    keep their order and type. Cut at ``limit`` characters, as the repr was; a result too
    big to walk (more than 20,000 items) is its cut repr.

    >>> from collections import defaultdict
    >>> _vote_key({"b": 2, "a": [1, {3}]}) == _vote_key(defaultdict(int, a=[1, {3}], b=2))
    True
    >>> _vote_key(([1, 2],)) == _vote_key(((1, 2),))
    False
    """
    budget = [20_000]

    def text(v: Any) -> str:
        budget[0] -= 1
        if budget[0] < 0:
            raise OverflowError
        if isinstance(v, Mapping):
            return "{" + ", ".join(sorted(f"{text(k)}: {text(x)}" for k, x in v.items())) + "}"
        if isinstance(v, (set, frozenset)):
            return "{" + ", ".join(sorted(text(x) for x in v)) + "}"
        if isinstance(v, (list, tuple)):
            inner = ", ".join(text(x) for x in v)
            return f"[{inner}]" if isinstance(v, list) else f"({inner})"
        return repr(v)

    try:
        return text(value)[:limit]
    except Exception:  # noqa: BLE001 - too big or deep, or a repr that fails: as before
        return short_repr(value, limit)


#: Where :func:`~recode_magic.prompting.prompts.build_prompt` appends feedback to a prompt.
_FEEDBACK = "\nYour previous answer for this placeholder could not be used:\n"


def _plain_prompt(x: Expander, node: Node) -> Prompt:
    """The prompt candidate 1 was asked with, less any feedback or re-ask hint after it.

    Cut from the prompt itself rather than built again, so it is the same prompt byte for
    byte (with whatever the expander puts in it) but for what the model was told of a
    previous answer.
    """
    text, fixed = node.prompt or "", x.state.fixed
    fixed = fixed if fixed and text.startswith(fixed) else ""
    dynamic = text[len(fixed):]
    cut = dynamic.find(_FEEDBACK)
    return Prompt.join(fixed, dynamic if cut < 0 else dynamic[:cut], node.name)


def _how_many(x: Expander, run: RunData, prompt: str, depth: int) -> int:
    """Candidates 2..k that fit the run's ``max_calls`` and budgets (0: sample none)."""
    s, llm = x.settings, x.state.llm
    n = min(s.samples - 1, s.max_calls - run.llm_calls)
    if n > 0 and (s.budget_tokens is not None or s.budget_usd is not None):
        call = project(llm, prompt, depth)
        while n > 0 and over_budget(s, x.state.spend, Projection(
                call.tokens * (n - 1), (call.usd or 0.0) * (n - 1)), call,
                model_at(llm, depth)):
            n -= 1
    return max(n, 0)


def _start(llm: Any, prompt: str, depth: int, seeds: list[int]
           ) -> tuple[cf.ThreadPoolExecutor | None, list[cf.Future[Reply]]]:
    """Send the candidates' calls to worker threads (none: the model takes one at a time)."""
    if len(seeds) < 2 or not asks_together(llm):
        return None, []
    pool = cf.ThreadPoolExecutor(len(seeds), thread_name_prefix="recode-sample")
    return pool, [pool.submit(ask, llm, prompt, depth=depth, temperature=TEMPERATURE, seed=s)
                  for s in seeds]


def _replies(llm: Any, prompt: str, depth: int, seeds: list[int],
             pool: cf.ThreadPoolExecutor | None, futures: list[cf.Future[Reply]],
             late: Callable[[Reply], None]) -> list[Reply | Exception]:
    """Each candidate's reply, in seed order; a call that failed gives its error.

    Ctrl-C while waiting: the calls already sent are not waited for, but each one that
    still answers is passed to ``late`` (counted: the tokens were spent).
    """
    out: list[Reply | Exception] = []
    try:
        for i, seed in enumerate(seeds):
            try:
                out.append(futures[i].result() if pool is not None else
                           ask(llm, prompt, depth=depth, temperature=TEMPERATURE, seed=seed))
            except (LLMError, NoReplyError) as exc:  # in the attempt; candidate 1 stands
                out.append(exc)
    except BaseException:
        for f in futures[len(out):]:
            f.add_done_callback(lambda f: None if f.cancelled() or f.exception() is not None
                                else late(f.result()))
        raise
    finally:
        if pool is not None:  # Ctrl-C: do not wait for the calls still running
            pool.shutdown(wait=False, cancel_futures=True)
    return out


def _count(x: Expander, run: RunData, node: Node, prompt: str, reply: Reply) -> None:
    """Count one answered call on the run and the node, as the expander counts its own."""
    run.llm_calls += 1
    node.llm_calls += 1
    merge_usage(node.usage, reply.usage)
    node.model = reply.model or model_at(x.state.llm, node.depth) or ""
    x.state.spend.add(reply.usage, node.model or None, prompt, reply.text)


def choose(x: Expander, run: RunData, frame: Frame, blocks: list[C.Block],
           feedback: str | None = None) -> list[C.Block]:
    """The blocks of the candidate most agree with (``blocks``, candidate 1, when none ran).

    ``blocks`` is the model's answer just planned (to ``feedback`` if given: a repair).
    Asks up to ``samples - 1`` more candidates (see the module docstring); a candidate the
    model could not write in the right form, or whose call failed, gets no vote.
    """
    node, s = frame.node, x.settings
    started = time.perf_counter()
    prompt = _plain_prompt(x, node)
    n = _how_many(x, run, prompt, node.depth)
    if n <= 0:
        return blocks
    if not takes_sampling(x.state.llm):
        note = (f"samples={s.samples}: the model takes no per-call temperature, so its "
                f"candidates are the same prompt asked again (they may all be the same)")
        if note not in run.warnings:
            run.warnings.append(note)
    done = sum(a.get("kind") == "sample" for a in node.attempts)
    seeds = [done * (s.samples - 1) + i for i in range(1, n + 1)]
    cands, texts, together, asked = _gather(x, run, frame, blocks, prompt, seeds)
    pick = _pick(cands)
    code, chosen, result = cands[pick]
    votes = Counter(r for _, _, r in cands if r is not None)
    node.attempts.append({
        "kind": "sample", "on": "first" if feedback is None else "repair",
        "candidates": len(cands), "chosen": pick + 1,
        "agree": votes[result] if result is not None else 0,
        "results": [(r or (FAILED if b else t if t.startswith(_CALL_FAILED)
                          else UNUSABLE))[:200]
                    for (_, b, r), t in zip(cands, texts, strict=True)],
        "codes": [c[:2000] for c, _, _ in cands], "temperature": TEMPERATURE,
        "seeds": seeds, "concurrent": together, "ask_s": round(asked, 3),
        "wall_s": round(time.perf_counter() - started, 3)})
    if pick:
        node.reply = texts[pick]
        node.thought = _thought(texts[pick])
        node.code = code
        chosen = x.plan(frame, code)  # again: its source is what tracebacks show
    x.emit("node", run, node)
    return chosen


_CALL_FAILED = "call failed: "
#: What the attempt's ``results`` say of a candidate that ran to no result / was not usable.
FAILED, UNUSABLE = "failed or empty", "no usable code"


def ran_to_results(attempt: dict[str, Any]) -> list[str]:
    """The results of a ``sample`` attempt's candidates that ran to one (vote texts)."""
    return [r for r in attempt.get("results", ())
            if r not in (FAILED, UNUSABLE) and not r.startswith(_CALL_FAILED)]


def _gather(x: Expander, run: RunData, frame: Frame, blocks: list[C.Block], prompt: str,
            seeds: list[int]) -> tuple[list[Candidate], list[str], bool, float]:
    """Run every candidate on its scratch copy; also their texts, concurrency, ask seconds.

    Candidate 1 (the node's own answer, ``blocks``) runs while the others are asked. The
    seconds are the wall time until the last candidate's reply was in.
    """
    node, llm, s = frame.node, x.state.llm, x.settings
    timeout = min(s.timeout or _SCRATCH_TIMEOUT, _SCRATCH_TIMEOUT)
    started = time.perf_counter()
    pool, futures = _start(llm, prompt, node.depth, seeds)
    try:
        cands: list[Candidate] = [(node.code or "", blocks,
                                   _result(blocks, x.ns, node.targets, timeout))]
    except BaseException:  # Ctrl-C while candidate 1 ran: do not wait for the others
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    replies = _replies(llm, prompt, node.depth, seeds, pool, futures,
                       lambda reply: _count(x, run, node, prompt, reply))
    asked = time.perf_counter() - started
    texts: list[str] = [node.reply or ""]
    for reply in replies:
        if isinstance(reply, Exception):
            cands.append(("", [], None))
            texts.append(_CALL_FAILED + one_line(str(reply)))
            continue
        _count(x, run, node, prompt, reply)
        texts.append(reply.text)
        cands.append(_candidate(x, frame, reply.text, timeout))
    return cands, texts, pool is not None, asked


def _candidate(x: Expander, frame: Frame, text: str, timeout: float) -> Candidate:
    """Parse, plan and run one candidate's reply (no blocks: not usable, no vote)."""
    try:
        _, code = parse_reply(text)
        blocks = x.plan(frame, code)
    except FormatError:
        return ("", [], None)
    if not sampleable(x, frame, blocks):
        return (code, [], None)
    return (code, blocks, _result(blocks, x.ns, frame.node.targets, timeout))


def _pick(cands: list[Candidate]) -> int:
    """The index of the result most agree on (earliest on a tie); 0 when none ran."""
    votes = Counter(r for _, _, r in cands if r is not None)
    if not votes:
        return 0
    best = max(votes.values())
    return next(i for i, (_, _, r) in enumerate(cands) if r is not None and votes[r] == best)


def _thought(text: str) -> str:
    try:
        return parse_reply(text)[0]
    except FormatError:
        return ""
