"""Sample, run, choose (issue 21): several candidates for a pure step, kept by agreement.

For a step whose first answer is flat code that calls no primitive and no function of the
user's (it can change nothing outside the variables), ``samples - 1`` more answers are asked
for, each with a short note that asks for another way (the cassette keys on the prompt, so
each candidate has its own recorded reply; the backends take no per-call temperature).
Every candidate runs on a scratch copy of the variables; the result most candidates agree
on (the step's targets, non-empty) wins, ties going to the earliest. The winner is then run
for real by the machine as any code is. The attempt ``{"kind": "sample", ...}`` records
what each candidate gave.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import FormatError
from ..prompting.prompts import Prompt
from ..prompting.reply import parse_reply
from ..pycode import code as C
from ..pycode.limits import block_timeout, capture_output, short_repr
from .resultcheck import is_empty
from .runstate import Frame

if TYPE_CHECKING:
    from ..runs.tree import Node, RunData
    from .runstate import RunState
    from .settings import Settings

__all__ = ["choose", "VARIANTS", "sampleable"]


class Expander(Protocol):
    """What sampling uses of :class:`~recode_magic.engine.expander.Expander` (which calls it).

    Declared here so this module does not import the expander back (one-way imports).
    """

    state: RunState
    ns: dict[str, Any]
    settings: Settings

    def ask(self, run: RunData, node: Node, prompt: Prompt) -> str: ...  # noqa: D102
    def plan(self, frame: Frame, code: str) -> list[C.Block]: ...  # noqa: D102

#: Notes that make each further candidate's prompt differ (one per candidate, cycled).
VARIANTS = ("Write it another way than the most obvious one: plain loops and ifs, one "
            "small statement at a time.",
            "First look at what each variable really holds (the preview above: types, keys, "
            "format), then compute the result from it.")

_SCRATCH_TIMEOUT = 10.0  # seconds per candidate statement (pure code: it should be quick)


def sampleable(x: Expander, frame: Frame, blocks: list[C.Block]) -> bool:
    """True for flat code with targets to compare that calls no primitive or user function."""
    st = x.state
    if not frame.node.targets or not blocks or st.confirm is not None:
        return False
    for b in blocks:
        if b.placeholder is not None:
            return False
        if any(n in st.primitives or (n in st.before and callable(x.ns.get(n)))
               for n in b.calls):
            return False
    return True


def _scratch(ns: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in ns.items():
        if k == "__builtins__" or callable(v):
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
    scratch = _scratch(ns)
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
    return short_repr(tuple(values), 4000)


def choose(x: Expander, run: RunData, frame: Frame, blocks: list[C.Block]) -> list[C.Block]:
    """The blocks of the candidate most agree with (``blocks`` itself when it is among them).

    Asks ``samples - 1`` more candidates of the node's first prompt; a candidate the model
    could not write in the right form is skipped (it gets no vote).
    """
    node, s = frame.node, x.settings
    first = node.prompt or ""
    fixed = getattr(first, "fixed", "") or ""
    dynamic = first[len(fixed):] if first.startswith(fixed) else first
    timeout = min(s.timeout or _SCRATCH_TIMEOUT, _SCRATCH_TIMEOUT)
    cands: list[tuple[str, list[C.Block], str | None]] = [
        (node.code or "", blocks, _result(blocks, x.ns, node.targets, timeout))]
    reply, thought = node.reply, node.thought
    for i in range(1, s.samples):
        note = VARIANTS[(i - 1) % len(VARIANTS)]
        # the note goes above the placeholder: appended at the end, the 0.5B model answered
        # the rules' format template ("<execute>python code</execute>") instead
        varied = dynamic.replace("Now your turn\n", f"Now your turn (candidate {i + 1}: "
                                 f"{note})\n", 1)
        prompt = Prompt.join(fixed, varied, node.name)
        text = x.ask(run, node, prompt)
        try:
            _, code = parse_reply(text)
            more = x.plan(frame, code)
        except FormatError:
            continue
        if not sampleable(x, frame, more):
            continue
        cands.append((code, more, _result(more, x.ns, node.targets, timeout)))
    node.prompt, node.reply, node.thought = first, reply, thought
    votes = Counter(r for _, _, r in cands if r is not None)
    pick = 0
    if votes:
        best = max(votes.values())
        pick = next(i for i, (_, _, r) in enumerate(cands) if r is not None
                    and votes[r] == best)
    node.attempts.append({"kind": "sample", "candidates": len(cands), "chosen": pick + 1,
                          "agree": votes.get(cands[pick][2], 0) if cands[pick][2] else 0,
                          "results": [(r or "failed or empty")[:200] for _, _, r in cands]})
    if pick:
        node.code = "\n".join([*frame.ran, cands[pick][0]]) if frame.ran else cands[pick][0]
    return cands[pick][1]
