"""Ask, parse, plan: turn one node into runnable blocks (the model's side of the engine)."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import FormatError, PolicyError, StepFailed
from ..llms.base import ask, merge_usage
from ..prompting.feedback import reask_feedback
from ..prompting.nearest import Nearby
from ..prompting.prompts import Prompt, build_prompt
from ..prompting.reply import parse_reply
from ..prompting.session import remember
from ..pycode import code as C
from ..pycode.limits import short_repr
from ..pycode.namespace import preview, variable_lines
from ..pycode.wrap import AWAIT, OBSERVE, run_coroutine
from ..runs.status import RunStatus
from ..runs.tree import Node, RunData
from .budget import Projection, confirm_cost, model_at, over_budget, project, wants_cost
from .planner import PLAN_REWRITES, Planner
from .prefetch import Prefetcher
from .runstate import Frame, RunState, Stop, decomposed
from .sampling import TEMPERATURE, choose, sampleable

__all__ = ["Expander", "NoUsableCode", "AWAIT", "OBSERVE", "run_coroutine"]


Emit = Callable[[str, RunData, "Node | None"], None]


class NoUsableCode(Exception):  # noqa: N818 - internal signal, its message is the error
    """The model gave no usable code within ``max_rewrite`` re-asks."""


class Expander(Planner):
    """Build prompts, ask the model, parse and check its code for the node on top of the stack.

    Parameters
    ----------
    state : RunState
        The run's state (settings, model, fixed prompt part, protected names, frames).
    namespace : dict
        The run's namespace (for variable summaries and "is this name known").
    emit : callable
        ``emit(event, run, node)`` for progress.
    """

    def __init__(self, state: RunState, namespace: dict[str, Any], emit: Emit) -> None:
        self.state, self.ns, self.emit = state, namespace, emit
        self.settings = state.settings
        #: calls asked ahead of time (:mod:`recode_magic.engine.prefetch`), set by the machine
        self.prefetch: Prefetcher | None = None
        #: the variables shown with the step being expanded (a literal copying one is refused)
        self.inputs: tuple[str, ...] = ()
        #: a decomposition is being asked for: only placeholder lines are usable
        self.plan_only = False
        #: what the steps are matched to for the worked examples (read once, when asked)
        self.nearby: Nearby | None = None
        self.remembered: RunData | None = None  # the run :func:`remember` was given
        #: name -> (value, it is the task, its prompt line) for immutable values (:meth:`lines`)
        self.kept_lines: dict[str, tuple[Any, bool, str]] = {}

    def summary(self, value: Any) -> str:
        """A variable's value for the prompt (the task text is kept longer)."""
        limit = self.settings.repr_limit
        if value is self.ns.get("task"):
            return short_repr(value, max(limit, self.settings.task_limit))
        if self.settings.previews:  # its structure when the repr would be cut (issue 21)
            return preview(value, limit, short_repr)
        return short_repr(value, limit)

    def expand(self, run: RunData, frame: Frame, feedback: str | None) -> list[C.Block]:
        """Ask for the node's code until it is usable.

        Raises
        ------
        NoUsableCode
            After ``max_rewrite + 1`` unusable replies (the message is the node's error).
        Stop
            At the model-call limit, or when the user rejects the code (``--confirm``).
        """
        node, s = frame.node, self.settings
        if run is not self.remembered:  # a later run in this namespace may show its done
            remember(run)  # steps (examples); held weakly, once is enough
            self.remembered = run
        variables, task = self.shown(run, frame)
        compound = frame.placeholder.compound if frame.placeholder is not None else None
        fixed, shown = (self.examples(node.call, variables) if s.examples
                        else (self.state.fixed, ""))
        hint, last, previous = None, "", ""
        refused: list[str] = []
        for attempt in range((PLAN_REWRITES if self.plan_only else s.max_rewrite) + 1):
            if hint and self.plan_only:  # the re-ask's "no new functions" would contradict
                hint = f"{hint}\nYour answer (attempt {attempt}) was code, not a plan."
            elif hint:  # show the unusable answer: at temperature 0 the same prompt repeats it
                hint = reask_feedback(hint, previous, attempt)
            text = f"{feedback}\n{hint}" if feedback and hint else feedback or hint or None
            prompt = build_prompt(fixed, node.call, variables, name=node.name,
                                  feedback=text, compound=compound, task=task, examples=shown)
            # the same refused answer twice: at temperature 0 it would come a third time
            warm = len(refused) > 1 and refused[-1] == refused[-2]
            reply = (self.ask(run, node, prompt, temperature=TEMPERATURE, seed=attempt)
                     if warm else self.ask(run, node, prompt))
            code = None
            try:
                thought, code = parse_reply(reply)
                if reply.count("<execute>") > 1:
                    _note_extra_blocks(run, node.name, reply)
                blocks = self.plan(frame, code)
            except FormatError as exc:  # shown again: the code, or the reply it is not in
                previous = (reply.strip() if code is None else code)[:2000]
                last = str(exc)
                refused.append(previous)
                node.attempts.append({"kind": "rewrite", "reply": reply[:20_000],
                                      "error": last})
                hint = (exc.hint if isinstance(exc, PolicyError)
                        else f"{last.rstrip('.')}. Fix it and answer again in the same format.")
                self.emit("node", run, node)
                continue
            if self.state.confirm is not None:
                code, blocks = self._confirm(node, code, blocks, frame)
            node.thought, node.reply = thought, reply
            node.code = "\n".join([*frame.ran, code]) if frame.ran else code
            self.emit("node", run, node)
            if s.samples > 1 and sampleable(self, frame, blocks, feedback):
                blocks = choose(self, run, frame, blocks, feedback)  # sample, run, choose
            return blocks
        raise NoUsableCode(f"FormatError: no usable code for `{node.name}` after "
                           f"{s.max_rewrite + 1} replies (last: {last})")

    def shown(self, run: RunData, frame: Frame) -> tuple[list[str], str | None]:
        """The variable lines of ``frame``'s prompt, and the root's task text (else None).

        The root shows its task as text above its call, not only as a ``repr``; so does a
        sub-step of a decomposed node (``decompose``), with :data:`PART_NOTE` after it: its
        call's name alone lost the task's details (a 1.5B model's ``join_slugs(slugs)``
        cannot know the slugs are joined with ``-``).
        """
        names = frame.variables or (["task", *run.inputs] if run.inputs else _TASK_ONLY)
        self.inputs = (() if names is _TASK_ONLY  # a step with no arguments: no comprehension
                       else tuple([n for n in names if n != "task"]))
        part = frame.placeholder is not None and _in_plan(frame.node)
        if frame.placeholder is not None and not part:  # the commonest step: no task text
            return self.lines(names), None
        task = self.ns.get("task")
        if not isinstance(task, str):
            return self.lines(names), None
        return self.with_task(task, part, names, self.lines, run.warnings)

    def with_task(self, task: str, part: bool, names: Sequence[str],
                  lines: Callable[[list[str]], list[str]], warnings: list[str]
                  ) -> tuple[list[str], str]:
        """Variable lines and task text of a step shown its task as text (the root, a part).

        ``part``: a sub-step of a decomposition (issue 21), its task followed by
        :data:`PART_NOTE`; ``lines`` makes the other variables' lines; a cut is said in
        ``warnings``.
        """
        text = f"{task}\n{PART_NOTE}" if part else task
        return (["- task (str): the task text above", *lines([n for n in names if n != "task"])],
                cut_task(text, self.settings.task_limit, warnings))

    def lines(self, names: Sequence[str]) -> list[str]:
        """``variable_lines(names, ns, summary)``, a line kept while its value cannot change.

        A value of an immutable type (str, int, float, bool, None) that is still the very
        object, and still is (or is not) the task, has the same line: the chain's steps
        show the same task line at every node.
        """
        ns, kept = self.ns, self.kept_lines
        task = ns.get("task")
        if names is _TASK_ONLY:  # a step with no arguments: the task's line, kept
            hit = kept.get("task")
            if hit is not None and hit[0] is task and hit[1] and task is not None:
                return [hit[2]]
        out: list[str] = []
        for name in names:
            if name not in ns:
                continue
            value = ns[name]
            hit = kept.get(name)
            if hit is not None and hit[0] is value and hit[1] is (value is task):
                out.append(hit[2])
                continue
            (line,) = variable_lines((name,), ns, self.summary)
            if type(value) in _IMMUTABLE:
                kept[name] = (value, value is task, line)
            out.append(line)
        return out

    def first_prompt(self, call: str, ph: C.Placeholder, default_names: Sequence[str],
                     keywords: Mapping[str, Any], part: bool = False) -> Prompt:
        """The prompt :meth:`expand` will build first for ``ph``'s node, built ahead of time.

        ``keywords``: the values its keyword arguments will bind (literals); ``part``: the
        node is a sub-step of a decomposition (shown the task with :data:`PART_NOTE`, as
        :meth:`shown` does). The prefetch is used only if the two are byte-identical anyway.
        """
        names = C.placeholder_variables(ph) or list(default_names)
        ns = ChainMap(dict(keywords), self.ns) if keywords else self.ns
        task = self.ns.get("task") if part else None
        if isinstance(task, str):
            variables, task = self.with_task(
                task, True, names, lambda shown: variable_lines(shown, ns, self.summary), [])
        else:
            variables, task = variable_lines(names, ns, self.summary), None
        fixed, shown = self.examples(call, variables)
        return build_prompt(fixed, call, variables, name=ph.name, compound=ph.compound,
                            task=task, examples=shown)

    def examples(self, call: str, variables: Sequence[str]) -> tuple[str, str]:
        """A step's fixed prompt part and worked examples (``examples``; prompting/nearest)."""
        if not self.settings.examples:
            return self.state.fixed, ""
        if self.nearby is None:
            self.nearby = Nearby.of(self.ns, self.state.primitives, self.state, self.known)
        fixed, text, names = self.nearby.for_step(self.settings, self.state.fixed,
                                                  self.ns.get("task"), call, variables, self.known)
        self.state.example_names |= names
        return fixed, text

    def _confirm(self, node: Node, code: str, blocks: list[C.Block],
                 frame: Frame) -> tuple[str, list[C.Block]]:
        confirm = self.state.confirm
        if confirm is None or not code:
            return code, blocks
        approved = (confirm(node, code, cost=confirm_cost(self.state, node, blocks))
                    if wants_cost(confirm) else confirm(node, code))  # cost: --confirm shows it
        if approved is None:
            raise Stop(RunStatus.INTERRUPTED, f"code for `{node.name}` rejected by the user "
                                              f"(%recode resume asks the model again)")
        if approved != code:
            return approved, self.plan(frame, approved)
        return code, blocks

    def ask(self, run: RunData, node: Node, prompt: Prompt, **sampling: Any) -> str:
        """Ask the model once, through :func:`~recode_magic.llms.base.ask`.

        Counted on the run and the node; the streamed text goes to ``node.reply_partial``;
        ``sampling``: this call's ``temperature``/``seed``.
        """
        s = self.settings
        if run.llm_calls >= s.max_calls:
            raise Stop(RunStatus.LIMIT, f"model call limit reached (max_calls={s.max_calls})")
        if s.budget_tokens is not None or s.budget_usd is not None:
            reason = self.over_budget(run, prompt, node.depth)
            if reason:
                raise Stop(RunStatus.LIMIT, reason)
        node.prompt = str(prompt)
        node.reply_partial = ""
        reply = self.prefetch.take(prompt) if self.prefetch is not None else None
        if reply is not None:  # asked ahead with this very prompt
            node.reply_partial = reply.text
            self.emit("stream", run, node)
        else:
            def on_text(text: str) -> None:
                node.reply_partial = text
                self.emit("stream", run, node)

            # no `**sampling` when there is none: an empty one costs a dict merge per node
            reply = (ask(self.state.llm, prompt, on_text=on_text, depth=node.depth, node=node,
                         **sampling) if sampling
                     else ask(self.state.llm, prompt, on_text=on_text, depth=node.depth,
                              node=node))
        run.llm_calls += 1  # answered calls: one cut off by Ctrl-C is asked again on resume
        node.llm_calls += 1
        if reply.stop_reason in _CUT:  # the code ends where the model's reply limit was
            _note_cut(run, node.name)
        merge_usage(node.usage, reply.usage)
        node.model = reply.model or model_at(self.state.llm, node.depth) or ""
        self.state.spend.add(reply.usage, node.model or None, prompt, reply.text)
        return reply.text

    def over_budget(self, run: RunData, prompt: str, depth: int | None,
                    sending: bool = False) -> str | None:
        """Why a call with ``prompt`` would pass the run's budget (None: it fits).

        The call the engine makes now is checked as the sequential engine checks it (what
        was spent, plus this call), so prefetching never stops a run earlier. A call about
        to be asked ahead (``sending``) must also leave room for the calls already asked
        ahead and for the call being made meanwhile (counted at this one's size). A dollar
        budget with no price for the model is noted once in ``run.warnings``.
        """
        llm = self.state.llm
        call = project(llm, prompt, depth)
        if call.usd is None and self.settings.budget_usd is not None:
            note = (f"budget_usd is not enforced for model {model_at(llm, depth)!r}: no price "
                    f"is known for it (recode_magic.llms.pricing.set_price)")
            if note not in run.warnings:
                run.warnings.append(note)
        tokens, usd = 0, 0.0
        if sending and self.prefetch is not None:
            for sent, at in [*self.prefetch.pending(), (prompt, depth)]:
                p = project(llm, sent, at)
                tokens, usd = tokens + p.tokens, usd + (p.usd or 0.0)
        return over_budget(self.settings, self.state.spend, Projection(tokens, usd), call,
                           model_at(llm, depth))

    def helpers(self, failures: list[str]) -> dict[str, Any]:
        """The functions wrapped calls use while a block runs (see pycode.wrap)."""
        checks = self.state.checks

        def observe(name: str, result: Any) -> Any:
            verdict = checks[name](result)
            if verdict is True or (isinstance(verdict, str) and verdict):
                observation = short_repr(result, 1000) if not isinstance(result, str) \
                    else result[:1000]
                why = verdict if isinstance(verdict, str) else observation
                failures.append(f"{name}(...) answered: {observation}")
                raise StepFailed(why, observation=observation)
            return result

        return {AWAIT: run_coroutine, OBSERVE: observe}


_TASK_ONLY = ("task",)  # shared: never mutated
_IMMUTABLE = frozenset({str, int, float, bool, type(None)})  # a line kept while the object is


#: Said under the task shown to a sub-step of a decomposition.
PART_NOTE = "(The placeholder below is one part of this task: write only that part.)"


def _in_plan(node: Node) -> bool:
    """True when ``node``'s parent was decomposed into a plan (``node`` is one sub-step)."""
    parent = node.parent  # no attempts: the common case, no call made
    return parent is not None and bool(parent.attempts) and decomposed(parent)


#: stop reasons of a reply cut at the backend's token limit (OpenAI/llama.cpp, Anthropic)
_CUT = frozenset({"length", "max_tokens"})


def _note_cut(run: RunData, name: str) -> None:
    """Say once per run that a reply was cut at the model's reply limit (run as it came)."""
    note = (f"the reply for `{name}` was cut at the model's reply limit (max_tokens) and run "
            f"as it came; raise it (%config ReCodeMagics.max_tokens = N, or the backend's "
            f"max_tokens)")
    if not any(w.startswith("the reply for `") and "reply limit" in w for w in run.warnings):
        run.warnings.append(note)


def _note_extra_blocks(run: RunData, name: str, reply: str) -> None:
    """Say once per node when a reply held several ``<execute>`` blocks (the first ran)."""
    count = reply.count("<execute>")
    if count < 2:
        return
    note = (f"the reply for `{name}` had {count} <execute> blocks: only the first ran (as "
            f"with a stop sequence at </execute>)")
    if note not in run.warnings:
        run.warnings.append(note)


def cut_task(task: str, limit: int, warnings: list[str]) -> str:
    """The task text for the prompt: whole, or its first ``limit`` characters, cut marked.

    The cut is also said once in ``warnings`` (the limit and how to raise it).

    >>> notes = []
    >>> print(cut_task("abcdef", 4, notes))
    abcd
    [... the task is cut here: 2 more characters are not shown (task_limit=4)]
    >>> notes[0].split(" (")[0]
    'the task is 6 characters long; prompts show its first 4'
    >>> "ReCode(task_limit=N)" in notes[0], "ReCodeMagics.levers = {'task_limit': N}" in notes[0]
    (True, True)
    >>> cut_task("abc", 4, notes)
    'abc'
    """
    if len(task) <= limit:
        return task
    note = (f"the task is {len(task)} characters long; prompts show its first {limit} "
            f"(raise it with ReCode(task_limit=N), in a notebook %config "
            f"ReCodeMagics.levers = {{'task_limit': N}})")
    if note not in warnings:
        warnings.append(note)
    return (f"{task[:limit]}\n[... the task is cut here: {len(task) - limit} more characters "
            f"are not shown (task_limit={limit})]")
