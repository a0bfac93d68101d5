"""``--confirm`` shows the cost so far and a projection (issue 15 item 4), through the engine.

The engine passes a :class:`~recode_magic.engine.budget.CostView` as ``cost=`` to a confirm callback
that takes that keyword; a ``confirm(node, code)`` of two parameters is called as before.
"""

from __future__ import annotations

import functools

import pytest
from conftest import Priced

from recode_magic import ReCode, ScriptedLLM
from recode_magic.engine.budget import CostView, Projection, wants_cost
from recode_magic.llms.base import Reply
from recode_magic.notebook.confirm import (
    ConfirmBox,
    confirm_in_notebook,
    confirm_with_buttons,
    make_confirm,
    pick_confirm,
)
from recode_magic.runs.tree import Node


def X(code: str) -> str:
    return f"<think>t</think><execute>{code}</execute>"


REPLIES = {"solve": X("a = one(task)\nb = two(task)\nc = three(task)"),
           "one": X("a = act(1)"), "two": X("b = act(2)"), "three": X("c = act(3)")}


def _engine(llm, confirm, **kw):
    log: list[int] = []

    def act(n):
        """Log n (returns n: a None result would be re-planned)."""
        log.append(n)
        return n
    return ReCode(llm, namespace={"act": act}, confirm=confirm, **kw), log


def _recording():
    seen: list[tuple[str, CostView | None]] = []

    def confirm(node, code, *, cost=None):
        seen.append((node.name, cost))
        return code
    return confirm, seen


# -- the engine fills the view ----------------------------------------------------------------

def test_cost_so_far_and_projection_reach_a_confirm_that_takes_cost():
    confirm, seen = _recording()
    engine, log = _engine(Priced(REPLIES), confirm)
    run = engine.run("t")
    assert run.status == "done" and log == [1, 2, 3]
    assert [name for name, _ in seen] == ["solve", "one", "two", "three"]
    first, second = seen[0][1], seen[1][1]
    assert first is not None and second is not None
    assert (first.calls, first.input_tokens, first.output_tokens) == (1, 2000, 500)
    assert first.usd == pytest.approx(0.0045) and first.placeholders == 3
    lines = first.lines()
    assert len(lines) == 2  # no budget: no budget line
    assert lines[0] == "cost so far: 1 model call, 2,000 input + 500 output tokens, $0.0045"
    assert lines[1].startswith("projection: this code calls 3 placeholders: at least 3 more "
                               "model calls, about 7,500 tokens / $0.0135 at this run's average")
    # one more call: the prompt's estimate plus the backend's max_tokens, priced
    assert 1000 < first.next_call.tokens < 3000
    assert first.next_call.usd == pytest.approx(
        ((first.next_call.tokens - 1000) * 1 + 1000 * 5) / 1e6)
    assert "(claude-haiku-4-5)" in lines[1]
    assert (second.calls, second.tokens, second.placeholders) == (2, 5000, 0)
    assert "this code calls no placeholder" in str(second)


def test_budget_line_says_what_is_left_and_predicts_the_stop():
    confirm, seen = _recording()
    engine, log = _engine(Priced(REPLIES), confirm, budget_tokens=6000)
    run = engine.run("t")
    assert run.status == "limit" and log == [1]  # the third call could pass 6,000 tokens
    views = [cost for _, cost in seen]
    assert len(views) == 2 and all(v is not None for v in views)
    assert views[0].tokens_left == 3500 and views[1].tokens_left == 1000
    assert views[0].lines()[2] == "budget: 3,500 of 6,000 tokens left; the next call fits"
    assert views[1].lines()[2] == ("budget: 1,000 of 6,000 tokens left; the next call may pass "
                                   "it: the run will stop (limit, resumable) before asking")


def test_dollar_budget_left():
    confirm, seen = _recording()
    engine, _ = _engine(Priced(REPLIES), confirm, budget_usd=0.05)
    assert engine.run("t").status == "done"
    view = seen[0][1]
    assert view is not None and view.usd_left == pytest.approx(0.0455)
    assert "$0.0455 of $0.0500 left; the next call fits" in str(view)


def test_cache_tokens_count_as_input():
    confirm, seen = _recording()
    usage = {"input_tokens": 100, "cache_read_input_tokens": 1900, "output_tokens": 50}
    engine, _ = _engine(Priced(REPLIES, usage), confirm)
    engine.run("t")
    view = seen[0][1]
    assert view is not None and (view.input_tokens, view.output_tokens) == (2000, 50)


def test_unknown_price_and_estimated_tokens_are_said():
    confirm, seen = _recording()
    engine, _ = _engine(ScriptedLLM(REPLIES), confirm, budget_usd=0.01)
    assert engine.run("t").status == "done"
    view = seen[0][1]
    assert view is not None and view.usd is None and view.estimated == 1
    spent, projection, budget = view.lines()
    assert spent.startswith("cost so far: 1 model call, ") and "price unknown" in spent
    assert spent.endswith("price unknown (scripted); tokens of 1 call estimated "
                          "(~4 characters a token)")
    assert projection.endswith("tokens, price unknown (scripted)")
    assert budget == "budget: $0.0100 not enforced (price unknown); the next call fits"


def test_replayed_calls_are_free_and_said():
    class Replayed(Priced):
        def respond(self, prompt, *, on_text=None, depth=None):
            return Reply(self.scripted(prompt), {"replayed": 1, "source": "cassette"},
                         self.model)
    confirm, seen = _recording()
    engine, _ = _engine(Replayed(REPLIES), confirm)
    engine.run("t")
    view = seen[1][1]
    assert view is not None and view.usd == 0 and view.average is None
    assert view.lines()[0] == ("cost so far: 2 model calls, 0 input + 0 output tokens, "
                               "$0.0000; 2 replayed from a cassette, free")


# -- the pinned contract: confirm(node, code) ---------------------------------------------------

def test_a_two_parameter_confirm_still_works():
    got: list[tuple[str, str]] = []

    def confirm(node, code):
        got.append((node.name, code))
        return code
    engine, log = _engine(Priced(REPLIES), confirm)
    assert engine.run("t").status == "done" and log == [1, 2, 3]
    assert [n for n, _ in got] == ["solve", "one", "two", "three"]

    engine, log = _engine(Priced(REPLIES), lambda node, code: None)
    run = engine.run("t")
    assert run.status == "interrupted" and log == []


def test_wants_cost_reads_the_signature():
    def kwargs_only(node, code, **kw):
        return code
    assert not wants_cost(lambda node, code: code)
    assert not wants_cost(kwargs_only)  # only a named `cost` parameter gets it
    assert not wants_cost(print)
    assert wants_cost(confirm_in_notebook) and wants_cost(confirm_with_buttons)
    assert wants_cost(functools.partial(confirm_with_buttons, render_timeout=1.0))
    assert wants_cost(pick_confirm(widget=False))


# -- the text prompt and the buttons show it ---------------------------------------------------

def test_text_prompt_shows_cost_and_projection(monkeypatch, capsys):
    monkeypatch.setattr("builtins.input", lambda _q: "y")
    engine, log = _engine(Priced(REPLIES), confirm_in_notebook, budget_tokens=20_000)
    assert engine.run("t").status == "done" and log == [1, 2, 3]
    out = capsys.readouterr().out
    assert ("---\ncost so far: 1 model call, 2,000 input + 500 output tokens, $0.0045\n"
            "projection: this code calls 3 placeholders") in out
    assert "budget: 17,500 of 20,000 tokens left; the next call fits" in out
    assert out.count("cost so far:") == 4


def test_make_confirm_without_cost_shows_no_cost_line():
    shown: list[str] = []
    confirm = make_confirm(ask=lambda _q: "y", show=shown.append)
    assert confirm(Node(id="0", name="solve", call="solve(task)"), "x = 1") == "x = 1"
    assert "cost so far" not in shown[0]


def test_buttons_show_the_cost_line(monkeypatch):
    import recode_magic.notebook.confirm as confirm_mod
    import recode_magic.notebook.confirm_box as box_mod

    boxes: list[ConfirmBox] = []

    def click_run(box, _poll):
        boxes.append(box)
        box.run_button.click()
    monkeypatch.setattr(confirm_mod, "buttons_available", lambda: True)
    monkeypatch.setattr(box_mod, "_waiter", lambda: click_run)
    monkeypatch.setattr(ConfirmBox, "show", lambda self: self)
    engine, log = _engine(Priced(REPLIES), confirm_with_buttons, budget_usd=1.0)
    assert engine.run("t").status == "done" and log == [1, 2, 3]
    assert len(boxes) == 4
    first = boxes[0]
    want = "cost so far: 1 model call, 2,000 input + 500 output tokens, $0.0045"
    assert f'<div class="rc-confirm-cost">{want}</div>' in first.cost_view.value
    assert first.cost_view in first.box.children
    bundle = first.bundle()
    assert f"{want}\nprojection: this code calls 3 placeholders" in bundle["text/plain"]
    assert bundle["text/plain"].endswith("$1.0000 left; the next call fits\n[ran]\n")
    assert want in bundle["text/html"] and "$0.9955 of $1.0000 left" in bundle["text/html"]


def test_box_escapes_the_cost_line():
    view = CostView(calls=1, input_tokens=1, output_tokens=1, usd=None, placeholders=0,
                    next_call=Projection(5, None),
                    next_model="<m>", unpriced=("<m>",))
    box = ConfirmBox(Node(id="0", name="solve", call="solve(task)"), "x = 1", cost=view)
    assert "(&lt;m&gt;)" in box.cost_view.value and "<m>" not in box.cost_view.value
