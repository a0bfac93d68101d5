"""Lever 4 (issue 21): the built-in worked examples are right, and the nearest one is shown.

Every example of the library runs through ``ReCode`` on its own data (its primitives made
from their answer tables) and must leave the values it promises and make the calls it
promises; then ``ReCode(..., examples=True)`` is shown to put the nearest example in the
prompt, to keep the prompt byte-identical with the setting off, and to refuse a call of an
example's primitive. The scripted replies are hand-written.
"""

from __future__ import annotations

import gc
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import reply

from recode_magic import ReCode, ScriptedLLM
from recode_magic.errors import ConfigError
from recode_magic.prompting.examples import LIBRARY, Example, Tool
from recode_magic.prompting.nearest import nearest, own_names, render

SOLVE = "solve(task)"


def fake(name: str, tool: Tool, calls: list[tuple[str, Any]]) -> Any:
    """A primitive answering from ``tool``'s table, recording each call in ``calls``."""
    given: dict[Any, int] = {}

    def primitive(*args: Any) -> Any:
        key = args[0] if len(args) == 1 else tuple(args)
        calls.append((name, key))
        if tool.successive:
            answers = tool.answers.get(key, tool.default)
            if answers is None:
                raise KeyError(key)
            turn = given[key] = given.get(key, -1) + 1
            return answers[min(turn, len(answers) - 1)]
        if key not in tool.answers and tool.default is None:
            raise KeyError(f"{name}: no answer for {key!r}")
        return tool.answers.get(key, tool.default)

    primitive.__name__ = name
    primitive.__doc__ = tool.doc
    return primitive


def run_example(ex: Example) -> tuple[Any, dict[str, Any], list[tuple[str, Any]]]:
    """Run ``ex``'s code as the model's reply, in a namespace holding its data and tools."""
    calls: list[tuple[str, Any]] = []
    ns: dict[str, Any] = {n: fake(n, t, calls) for n, t in ex.tools.items()}
    if ex.call == SOLVE:
        script = {"solve": reply(ex.code, ex.thought)}
    else:
        step = re.search(r"(\w+)\(", ex.call)
        assert step is not None
        script = {"solve": reply(ex.call), step.group(1): reply(ex.code, ex.thought)}
    run = ReCode(ScriptedLLM(script), ns, tools=sorted(ex.tools)).run(
        ex.task, inputs={k: v for k, v in ex.inputs.items()})
    return run, ns, calls


@pytest.mark.parametrize("ex", LIBRARY, ids=[f"{i}-{ex.family}" for i, ex in enumerate(LIBRARY)])
def test_every_example_leaves_what_it_promises_on_its_own_data(ex):
    assert ex.expect or ex.calls  # something to check
    run, ns, calls = run_example(ex)
    assert run.status == "done", run.error
    assert {k: ns.get(k) for k in ex.expect} == dict(ex.expect)
    if ex.calls:
        assert calls == list(ex.calls)


def test_a_wrong_example_would_fail_its_check():
    # the check can fail: the same example with its answer table changed leaves another value
    rides = LIBRARY[0]
    table = dict(rides.tools["next_stops"].answers)
    table["quay"] = ["market", "bridge", "museum"]
    bent = Example(rides.family, rides.task, rides.call, rides.inputs, rides.thought,
                   rides.code, rides.expect, {"next_stops": Tool(
                       "next_stops(station)", "", table)})
    _, ns, _ = run_example(bent)
    assert ns["rides"] == 1 != rides.expect["rides"]


def test_the_library_is_small_and_covers_each_family():
    assert 10 <= len(LIBRARY) <= 16
    families = {ex.family for ex in LIBRARY}
    assert families == {"graph", "join", "group", "parse", "intervals", "world", "inventory"}
    for ex in LIBRARY:  # shown whole in a prompt: a few hundred tokens at most
        assert len(render(ex)) < 1400, ex.task
        # `answer` is the usual output name of a user's task: an example that used it for a
        # reply was copied by the 1.5B model (`answer = turn(key)` left the world's reply)
        assert not re.search(r"\banswer\b", ex.code), ex.task


def test_the_examples_are_not_the_evaluation_tasks():
    # no example may be a copy of a task the project is evaluated on: no shared task text,
    # no shared primitive name, no shared variable name for the data
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "agents"))
    from tasks_suite import TASKS

    for task in TASKS:
        ns = task.setup()
        for ex in LIBRARY:
            assert not (own_names(ex) & set(ns)), (ex.task, task.id)
            assert not (set(ex.inputs) & set(ns)), (ex.task, task.id)
            assert ex.task[:40] not in task.text


@pytest.mark.parametrize(("step", "family"), [
    ("Which towns can a bus reach from 'Oxley' through `routes(town)`? sorted list", "graph"),
    ("fewest hops between two airports with flights_from(airport)", "graph"),
    ("`loans` (keys book_id, member) and `books` (keys id, pages) are lists of dicts: total "
     "the pages read per member", "join"),
    ("`journal` is a log: lines like '2025-01-03 14:22:01 WARN disk: nearly full'; count "
     "warnings per disk", "parse"),
    ("parse the CSV text in `scores_csv` (header name,points) and total the points", "parse"),
    ("`prereqs` maps each build step to the steps before it: give an order to run them",
     "intervals"),
    ("Two meetings overlap when their HH:MM times overlap: list the conflicting pairs",
     "intervals"),
    ("Keep calling `step()` and read each answer until it says the door is open", "world"),
    ("Which rooms can be reached from the porch through `exits`?\nexits(room) -- The rooms "
     "one door away from a room.", "graph"),
    ("Order 2 rolls of tape; item names must be exactly those of `stock_list()`",
     "inventory"),
])
def test_a_step_gets_an_example_of_its_family(step, family):
    found = nearest(step)
    assert found and found[0][1].family == family, [(s, e.task[:40]) for s, e in found]


def test_no_example_for_a_step_of_no_family_nor_one_whose_names_exist_here():
    assert nearest("Write a short poem about autumn") == []
    best = nearest("reach every station from quay with next_stops")[0][1]
    taken = nearest("reach every station from quay with next_stops",
                    taken=lambda n: n in own_names(best))
    assert all(ex is not best for _, ex in taken)


# -- through the public API ------------------------------------------------------------------

LOG = "09:14:03 ana login\n09:20:44 ben login\n11:02:10 ana logout"


def _log_run(**kw: Any) -> tuple[Any, ScriptedLLM, dict[str, Any]]:
    llm = ScriptedLLM({"solve": reply("answer = {}\nfor line in events.splitlines():\n"
                                      "    clock, who, what = line.split()\n"
                                      "    answer[who] = clock")})
    ns: dict[str, Any] = {}
    run = ReCode(llm, ns, **kw).run("`events` is a log, one line per event: time HH:MM:SS, "
                                    "user, action. Store the time of each user's first "
                                    "event in `answer`.", inputs={"events": LOG},
                                    output="answer")
    return run, llm, ns


def test_examples_on_shows_the_nearest_example_above_the_step():
    run, llm, ns = _log_run(examples=True)
    assert run.status == "done", run.error
    prompt = llm.calls[0]
    assert "Another example, near your step" in prompt
    assert "badge_log" in prompt and "Split each line on spaces, not on ':'" in prompt
    assert prompt.index("Another example") > prompt.index("Example 2")  # after the fixed ones
    assert prompt.index("Another example") < prompt.index("Now your turn")
    assert prompt.fixed == _log_run()[1].calls[0].fixed  # the cacheable part is unchanged


def test_examples_off_leaves_the_prompt_byte_identical():
    _, off, _ = _log_run()
    _, default, _ = _log_run(examples=False)
    assert off.calls == default.calls
    assert "Another example" not in off.calls[0]
    _, on, _ = _log_run(examples=True)
    assert on.calls[0].endswith(off.calls[0][len(off.calls[0].fixed):])


def test_examples_instead_replace_the_fixed_few_shots_when_one_is_near():
    from recode_magic.prompting.prompts import FEW_SHOTS

    _, llm, _ = _log_run(examples="instead")
    prompt = llm.calls[0]
    assert FEW_SHOTS not in prompt and "Example 2" not in prompt
    assert prompt.dynamic.startswith("Example, near your step (its step and variables are "
                                     "not yours):\nPlaceholder: last_seen = last_swipes(")
    # a step no example is near keeps the fixed few-shots
    far = ScriptedLLM({"solve": reply("answer = 'autumn'")})
    ReCode(far, {}, examples="instead").run("Write a short poem", output="answer")
    assert FEW_SHOTS in far.calls[0] and "near your step" not in far.calls[0]


def test_a_whole_task_example_shows_its_task_and_its_call_as_the_engine_writes_it():
    _, llm, _ = _log_run(examples=3)
    assert "Task:\n`accounts` is the text of a file" in llm.calls[0]
    assert "Placeholder: solve(task, accounts)\nVariables:\n- task (str): the task text " \
           "above\n- accounts (str): '; access list" in llm.calls[0]


def test_two_examples_when_asked_for_two():
    _, llm, _ = _log_run(examples=2)
    assert llm.calls[0].count("Another example, near your step") == 2


def test_a_call_of_the_shown_examples_primitive_is_refused():
    task = ("What is the fewest number of hops from the node 'a' to 'd' following "
            "`links_from(node)`? Store it in `answer`.")
    graph = {"a": ["b"], "b": ["c", "d"], "c": [], "d": []}

    def links_from(node):
        """The nodes one link away from a node."""
        return graph[node]

    def bfs(neighbours: str) -> str:
        return ("dist = {'a': 0}\nqueue = ['a']\nfor n in queue:\n"
                f"    for m in {neighbours}(n):\n        if m not in dist:\n"
                "            dist[m] = dist[n] + 1\n            queue.append(m)\n"
                "answer = dist['d']")

    llm = ScriptedLLM({"solve": [reply(bfs("next_stops")), reply(bfs("links_from"))]})
    ns: dict[str, Any] = {"links_from": links_from}
    run = ReCode(llm, ns, tools=["links_from"], examples=True).run(task, output="answer")
    assert run.status == "done", run.error
    assert ns["answer"] == 2
    assert "its primitive `next_stops` exists only in this example" in llm.calls[0]
    assert "`next_stops` is a function of the examples" in llm.calls[1]


def test_no_example_is_offered_whose_names_are_the_steps_own():
    # a step the model named `next_stops` is not shown the example whose primitive is
    # `next_stops` (its "exists only in this example" would be false there)
    llm = ScriptedLLM({"solve": reply("stops = next_stops(line)"),
                       "next_stops": reply("stops = line.split()")})
    run = ReCode(llm, {}, examples=True).run("hello", inputs={"line": "a b"})
    assert run.status == "done", run.error
    assert nearest(llm.calls[1].dynamic)[0][1] is LIBRARY[0]  # next_stops' example is nearest
    assert "next_stops(station)" not in llm.calls[1]


@pytest.mark.parametrize("bad", [-1, 4, "yes", 1.5, None])
def test_bad_examples_setting(bad):
    with pytest.raises(ConfigError, match="examples must be"):
        ReCode(ScriptedLLM({}), examples=bad)


class _ThreadSafe(ScriptedLLM):
    """A scripted model the engine may ask ahead of time (prefetch)."""

    thread_safe = True


def test_steps_asked_ahead_get_the_same_prompt_with_its_example():
    # prefetch uses a reply only if the prompt it sent is byte-identical to the one the
    # engine builds when it reaches the step: the example must be chosen the same way
    replies = {"solve": reply("\n".join(f"n{i} = total_csv_column_{i}(csv_text)"
                                        for i in range(3))),
               **{f"total_csv_column_{i}": reply(f"n{i} = {i}") for i in range(3)}}
    llm = _ThreadSafe(replies)
    run = ReCode(llm, {}, prefetch=4, examples=True).run(
        "Parse the CSV text (header line, comma separated) and total each column.",
        inputs={"csv_text": "a,b\n1,2"})
    assert run.status == "done", run.error
    stats = run.meta["prefetch_stats"]
    assert stats["prefetched"] == stats["used"] == 2 and stats["wasted"] == 0
    assert all("crates_per_crop" in p for p in llm.calls)


# -- steps of earlier runs in the session ----------------------------------------------------

def _letters_run(ns: dict[str, Any], text: str, **kw: Any) -> tuple[Any, ScriptedLLM]:
    code = f"answer = {{}}\nfor word in {text}.split():\n" \
           f"    answer[word[0]] = answer.get(word[0], 0) + 1"
    llm = ScriptedLLM({"solve": reply(code, "Count by first letter.")})
    for name in ("word", "k", "answer"):  # left by the run before (a new run may not rebind)
        ns.pop(name, None)
    run = ReCode(llm, ns, **kw).run(f"Count how many words of `{text}` start with each "
                                    f"letter; store {{letter: count}} in `answer`.",
                                    inputs={text: "a bee an"}, output="answer")
    return run, llm


def test_a_step_done_in_an_earlier_run_of_the_session_is_offered_when_nearest():
    ns: dict[str, Any] = {}
    earlier, _ = _letters_run(ns, "poem")  # kept alive here (the magic keeps every run)
    assert earlier.status == "done"
    run, llm = _letters_run(ns, "song", examples=True)
    assert run.status == "done", run.error
    prompt = llm.calls[0]
    assert ("Another example, near your step (done earlier in this session; its step and "
            "variables are not yours):\nTask:\nCount how many words of `poem`") in prompt
    assert "- poem (str): 'a bee an'\n<think>Count by first letter.</think>" in prompt
    # a run in another namespace is not this session's
    _, other = _letters_run({}, "song", examples=True)
    assert "done earlier in this session" not in other.calls[0]
    # a run nobody keeps is forgotten (and only the runs of earlier steps count)
    del earlier, run
    gc.collect()
    _, again = _letters_run(ns, "song", examples=True)
    assert "done earlier in this session" not in again.calls[0]


def test_an_earlier_step_calling_what_no_longer_exists_is_not_offered():
    ns: dict[str, Any] = {}

    def first_letter(word):
        """The first letter of a word."""
        return word[0]

    ns["first_letter"] = first_letter
    llm = ScriptedLLM({"solve": reply("answer = {}\nfor word in poem.split():\n"
                                      "    k = first_letter(word)\n"
                                      "    answer[k] = answer.get(k, 0) + 1")})
    earlier = ReCode(llm, ns, tools=["first_letter"]).run(
        "Count how many words of `poem` start with each letter; store {letter: count} in "
        "`answer`.", inputs={"poem": "a bee an"}, output="answer")
    assert earlier.status == "done"
    seen = _letters_run(ns, "song", examples=True)[1]
    assert "done earlier in this session" in seen.calls[0]
    del ns["first_letter"]
    gc.collect()  # the `song` run just made is gone: only the `poem` run is earlier
    gone = _letters_run(ns, "song", examples=True)[1]
    assert "done earlier in this session" not in gone.calls[0]
