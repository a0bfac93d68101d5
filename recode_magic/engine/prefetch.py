"""Parallel expansion: ask for later placeholders' expansions ahead of time (issue 15.1).

The engine is sequential: a node's blocks run one by one and a placeholder is expanded when
it is reached. Yet the prompt of a later placeholder is often known long before: in

    a = find_rooms(task)
    b = find_people(task)

``find_people``'s prompt is its call text, the fixed part and the summary of ``task`` --
all known while ``find_rooms`` is still being expanded. :func:`candidates` picks such
placeholders conservatively (their variables are bound now, nothing before them in the
block list binds them or may mutate them, keyword arguments are literals), the
:class:`Prefetcher` sends their prompts to the model in worker threads, and when the engine
reaches the node it builds the prompt as it always does and uses a prefetched reply only
if that prompt is **byte-identical** to the one sent (then the reply is the one the model
would have given the sequential engine). Otherwise the engine asks again and the prefetch
is counted as wasted. Nothing else changes: generated code and primitives run in the main
thread in the sequential order, so the tree, the primitive calls and their order are the
sequential engine's; a used reply is counted on its node as a sequential call would be.

Who is asked concurrently: only a model that declares ``thread_safe = True`` (see
:mod:`recode_magic.llms.base`); plain callables, ``ScriptedLLM`` (its replies depend on
call order) and the cassette (it records in call order and would record wasted calls)
never are, so a cassette recorded with prefetching on is the sequential one.

Why threads and not the SDKs' async clients: every backend the engine accepts is a sync
callable (``llm(prompt)`` or ``respond``): user functions, routed and recorded models; an
async path would need a twin of each, and an event loop of its own anyway, since the
engine runs inside the kernel's running loop. A model call is network (or server) wait, which
releases the GIL, so a few threads overlap them fully; workers only ever call the model --
no generated code, no ``repr`` of user values, no event -- so nothing else needs a lock.
The pool is bounded (``Settings.prefetch``) and so is the waste: at most that many calls
are asked and not yet used at any time; those still unused when the run stops are counted
in ``run.meta["prefetch_stats"]`` (``prefetched``, ``used``, ``wasted``, ``cancelled``).
"""

from __future__ import annotations

import ast
import concurrent.futures as cf
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..llms.base import Reply, ask, is_thread_safe
from ..pycode import code as C
from ..pycode.nesting import loaded_names
from .runstate import decomposed

if TYPE_CHECKING:
    from ..runs.tree import RunData
    from .runstate import Frame
    from .settings import Settings

__all__ = ["Prefetcher", "candidates", "ask_ahead", "prefetch_workers", "DEFAULT_PREFETCH",
           "Candidate", "Asker", "bound_by"]

#: Calls asked ahead at most, for a thread-safe model when ``Settings.prefetch`` is None.
DEFAULT_PREFETCH = 8
LOOKAHEAD = 64  # blocks looked at past the current one (a reply of 1,000 statements...)
_IMMUTABLE = (str, bytes, int, float, complex, bool, type(None), range, frozenset)

#: ``(block, placeholder, literal keyword values)``
Candidate = tuple[C.Block, C.Placeholder, dict[str, Any]]


def prefetch_workers(setting: int | None, llm: Any) -> tuple[int, str | None]:
    """The number of calls to ask ahead for ``llm``, and a warning when a setting is ignored.

    >>> prefetch_workers(None, lambda p: p), prefetch_workers(4, lambda p: p)[0]
    ((0, None), 0)
    >>> class Safe:
    ...     thread_safe = True
    ...     def __call__(self, prompt): return prompt
    >>> prefetch_workers(None, Safe()), prefetch_workers(0, Safe()), prefetch_workers(3, Safe())
    ((8, None), (0, None), (3, None))
    """
    if setting == 0:
        return 0, None
    # a legacy backend takes its stream callback as an attribute: not per call, so not safe
    safe = is_thread_safe(llm) and (callable(getattr(llm, "respond", None))
                                    or not hasattr(llm, "on_text"))
    if not safe:
        return 0, (None if setting is None else
                   f"prefetch={setting} ignored: the model does not declare thread_safe = True,"
                   f" so it is asked one call at a time")
    return (DEFAULT_PREFETCH if setting is None else setting), None


class Asker(Protocol):
    """What :func:`ask_ahead` needs of the expander (no import of it: no cycle)."""

    prefetch: Prefetcher | None
    settings: Settings
    ns: dict[str, Any]

    def first_prompt(self, call: str, ph: C.Placeholder, default_names: Sequence[str],
                     keywords: Mapping[str, Any], part: bool = False) -> str:
        """The prompt the node of ``ph`` will be asked with first (``part``: a sub-step)."""

    def over_budget(self, run: RunData, prompt: str, depth: int | None,
                    sending: bool = False) -> str | None:
        """Why a call with ``prompt`` would pass the run's budget (None: it fits)."""


def bound_by(ph: C.Placeholder) -> set[str]:
    """Names the placeholder's statement may change: its targets, keywords it binds.

    ``k=k`` binds nothing (the name already holds that value), so it is left out.

    >>> blocks = C.plan_blocks("r = part(n=1, items=items)", known=lambda n: n == "items")
    >>> sorted(bound_by(blocks[0].placeholder))
    ['n', 'r']
    """
    return {*ph.targets, *(k.arg for k in ph.call.keywords if k.arg and not (
        isinstance(k.value, ast.Name) and k.value.id == k.arg))}


def _immutable(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return isinstance(value, _IMMUTABLE)


def _literal_keywords(ph: C.Placeholder) -> dict[str, Any] | None:
    """Keyword values known without running anything (``k=k`` or a constant), else None."""
    out: dict[str, Any] = {}
    for k in ph.call.keywords:
        if k.arg is None:
            return None
        if isinstance(k.value, ast.Name) and k.value.id == k.arg:
            continue
        if not isinstance(k.value, ast.Constant):
            return None
        out[k.arg] = k.value.value
    return out


def candidates(blocks: Sequence[C.Block], start: int, ns: Mapping[str, Any],
               dirty: Collection[str] = (), default_names: Sequence[str] = ("task",),
               lookahead: int = LOOKAHEAD) -> list[Candidate]:
    """Placeholders among ``blocks[start:]`` whose prompt can be built now.

    Conservative: a placeholder qualifies when its name (and, for a compound one, the names
    it calls) is still unbound, its keyword arguments are ``k=k`` or literals, and every
    other variable its prompt shows is bound now, not bound by a statement before it from
    ``start`` on (or in ``dirty``), and not a mutable value that an earlier
    non-placeholder statement mentions. A name its own call binds to a literal (``n=1``)
    shows that literal whatever an earlier sibling bound (``n=0``), so it is no
    dependency. The byte-identical check at use time stays the guarantee; this only keeps
    the waste low.

    >>> blocks = C.plan_blocks("a = f(task)\\nb = g(a)\\nc = h(task)\\nxs.append(1)\\n"
    ...                        "d = k(xs)\\ne = p(n=0)\\nf = q(n=1)\\ng = r(n)",
    ...                        known=lambda n: n in ("task", "xs"))
    >>> [ph.name for _, ph, _ in candidates(blocks, 0, {"task": "t", "xs": []})]
    ['f', 'h', 'p', 'q']
    """
    dirty = set(dirty)
    out: list[Candidate] = []
    for block in blocks[start:start + lookahead]:
        ph = block.placeholder
        if ph is None:
            dirty |= block.binds
            dirty |= {n for n in loaded_names(block.stmt) if not _immutable(ns.get(n))}
            continue
        keywords = _literal_keywords(ph)
        calls = ph.inner if ph.compound else (ph.name,)
        if keywords is not None and not any(n in ns or n in dirty for n in calls):
            reads = [n for n in C.placeholder_variables(ph) or default_names
                     if n not in keywords]  # its own literals: known whatever came before
            if not dirty.intersection(reads) and all(n in ns for n in reads):
                out.append((block, ph, keywords))
        dirty |= block.binds
        dirty |= bound_by(ph)
    return out


def ask_ahead(x: Asker, run: RunData, frame: Frame, start: int, dirty: set[str]) -> None:
    """Ask for the placeholders of ``frame.blocks[start:]`` whose prompts are known now.

    Within the prefetcher's bound, the run's ``max_calls`` and its budgets (with room for
    the calls already asked ahead); never for children the depth limit would stub.
    """
    pf, blocks, s = x.prefetch, frame.blocks, x.settings
    if pf is None or blocks is None or pf.full:
        return
    if start == frame.pc and start < len(blocks) and blocks[start].placeholder is not None:
        return  # pushed next: the push asks ahead past it while it is being asked
    depth = frame.node.depth + 1
    if depth >= s.max_depth:
        return  # its children would be stubs
    default = ["task", *run.inputs]
    part = decomposed(frame.node)  # its children are sub-steps: shown the task
    for block, ph, keywords in candidates(blocks, start, x.ns, dirty, default):
        if pf.full or run.llm_calls + pf.outstanding >= s.max_calls:
            return
        if pf.asked(block):
            continue
        try:
            prompt = x.first_prompt(block.source, ph, default, keywords, part)
        except Exception:  # noqa: BLE001 - asking ahead must never fail the run
            continue
        if (s.budget_tokens is not None or s.budget_usd is not None) \
                and x.over_budget(run, prompt, depth, sending=True):
            return
        pf.submit(block, prompt, depth)


class Prefetcher:
    """Asks ``llm`` for prompts ahead of time in a bounded thread pool; hands replies back.

    ``take(prompt)`` returns the reply of a prefetch sent with exactly that prompt (waiting
    for it if it is still running), or None (the caller asks itself). ``close()`` ends the
    pool and counts what was never used.
    """

    def __init__(self, llm: Any, workers: int) -> None:
        self.llm, self.workers = llm, workers
        self._pool: cf.ThreadPoolExecutor | None = None
        self._queued: dict[str, deque[cf.Future[Reply]]] = {}
        self._depth: dict[cf.Future[Reply], int | None] = {}
        self._asked: dict[int, C.Block] = {}  # blocks already asked for (kept alive: ids)
        self.stats = {"workers": workers, "prefetched": 0, "used": 0, "wasted": 0,
                      "cancelled": 0}
        self.wasted: list[tuple[str, Reply, int | None]] = []  # answered, never used

    @property
    def outstanding(self) -> int:
        """Calls asked ahead and not used yet (running or answered)."""
        return len(self._depth)

    @property
    def full(self) -> bool:
        """True when no more calls may be asked ahead now."""
        return self.outstanding >= self.workers

    def pending(self) -> list[tuple[str, int | None]]:
        """``(prompt, depth)`` of the calls asked ahead and not used yet."""
        return [(p, self._depth[f]) for p, q in self._queued.items() for f in q]

    def asked(self, block: C.Block) -> bool:
        """True when ``block``'s placeholder was already asked for."""
        return id(block) in self._asked

    def submit(self, block: C.Block, prompt: str, depth: int | None) -> None:
        """Ask for ``prompt`` in a worker thread (not streamed: no event off the main thread)."""
        if self._pool is None:
            self._pool = cf.ThreadPoolExecutor(self.workers,
                                               thread_name_prefix="recode-prefetch")
        future = self._pool.submit(ask, self.llm, prompt, depth=depth)
        self._asked[id(block)] = block
        self._queued.setdefault(str(prompt), deque()).append(future)
        self._depth[future] = depth
        self.stats["prefetched"] += 1

    def take(self, prompt: str) -> Reply | None:
        """The reply of a prefetch sent with exactly ``prompt``, or None."""
        queue = self._queued.get(str(prompt))
        if not queue:
            return None
        future = queue.popleft()
        if not queue:
            del self._queued[str(prompt)]
        try:
            reply = future.result()
        except KeyboardInterrupt:
            self._queued.setdefault(str(prompt), deque()).appendleft(future)
            raise
        except Exception:  # noqa: BLE001 - the engine asks again itself (and then it counts)
            del self._depth[future]
            self.stats["wasted"] += 1
            return None
        del self._depth[future]
        self.stats["used"] += 1
        return reply

    def close(self) -> dict[str, int]:
        """Cancel what has not started; count the rest as wasted; end the pool."""
        for prompt, queue in self._queued.items():
            for future in queue:
                depth = self._depth.pop(future, None)
                if future.cancel():
                    self.stats["cancelled"] += 1
                    self.stats["prefetched"] -= 1
                    continue
                self.stats["wasted"] += 1
                if future.done() and future.exception() is None:
                    self.wasted.append((prompt, future.result(), depth))
        self._queued.clear()
        self._depth.clear()
        self._asked.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        return dict(self.stats)
