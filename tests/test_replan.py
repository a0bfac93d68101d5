"""Re-planning on what the world answers (issue 12, lever 3): ``@primitive(check=...)`` and
``StepFailed`` make the engine re-plan the rest of the node with the observation."""

from __future__ import annotations

import pytest
from conftest import reply as X

from recode_magic import ReCode, ScriptedLLM, StepFailed, primitive
from recode_magic.runs.tree import run_to_dict


@pytest.fixture
def world():
    log: list[str] = []

    @primitive(check=lambda obs: "can't" in obs)
    def act(command):
        """Send a game command; returns what the game says."""
        log.append(command)
        if command == "take key":
            return "You can't see any such thing."
        return f"You {command}."

    def open_door(door):
        """Open a door."""
        log.append(f"open {door}")
        if door == "red":
            raise StepFailed("the red door is locked")
        return "opened"

    return {"act": act, "open_door": open_door}, log


def test_checked_answer_makes_the_engine_replan_the_rest_of_the_node(world):
    ns, log = world
    llm = ScriptedLLM({"solve": [X("act('go hall')\nact('take key')\nact('unlock door')"),
                                 X("act('look')\nact('take key from table')")]})
    run = ReCode(llm, namespace=ns).run("get the key")
    assert run.status == "done", run.error
    # what ran before the refusal is not repeated; the rest of the plan was rewritten
    assert log == ["go hall", "take key", "look", "take key from table"]
    prompt = llm.calls[1]
    assert "These statements already ran (their effects happened; do not repeat them):\n" \
           "act('go hall')" in prompt
    assert "This statement ran, but the world refused it:\nact('take key')" in prompt
    assert "The world answered: You can't see any such thing." in prompt
    attempt = run.root.attempts[0]
    assert attempt["kind"] == "replan" and "can't see" in attempt["error"]
    saved = run_to_dict(run)["nodes"]["0"]["attempts"]
    assert [a["kind"] for a in saved] == ["replan"]
    assert [s.error is not None for s in run.root.steps] == [False, True, False, False]


def test_step_failed_raised_by_a_primitive_is_a_replan(world):
    ns, log = world
    llm = ScriptedLLM({"solve": [X("r = open_door('red')"), X("r = open_door('blue')")]})
    run = ReCode(llm, namespace=ns).run("open a door")
    assert run.status == "done" and ns["r"] == "opened"
    assert "The world answered: the red door is locked" in llm.calls[1]
    assert run.root.attempts[0]["kind"] == "replan"


def test_a_refusal_the_code_catches_still_replans(world):
    ns, log = world
    llm = ScriptedLLM({"solve": [X("try:\n    act('take key')\nexcept Exception:\n    pass"),
                                 X("act('look')")]})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done" and log == ["take key", "look"]
    assert run.root.attempts[0]["kind"] == "replan"


def test_replans_are_bounded_by_max_retry(world):
    ns, log = world
    llm = ScriptedLLM({"solve": [X("act('take key')")] * 3})
    run = ReCode(llm, namespace=ns, max_retry=2).run("t")
    assert run.status == "error" and len(llm.calls) == 3
    assert [a["kind"] for a in run.root.attempts] == ["replan", "replan"]
    assert "can't see" in run.error


def test_replan_off_makes_a_refusal_a_plain_error(world):
    ns, log = world
    llm = ScriptedLLM({"solve": [X("act('take key')"), X("act('look')")]})
    run = ReCode(llm, namespace=ns, replan=False).run("t")
    assert run.status == "done"
    assert run.root.attempts[0]["kind"] == "repair"
    assert "The world answered" not in llm.calls[1]


def test_plain_primitive_decorator_still_works():
    @primitive
    def beep():
        """Beep."""
        return "beep"

    ns = {"beep": beep}
    run = ReCode(ScriptedLLM({"solve": X("b = beep()")}), namespace=ns).run("t")
    assert run.status == "done" and ns["b"] == "beep"


def test_check_that_returns_a_reason_uses_it(world):
    ns, _ = world

    @primitive(check=lambda r: "empty result" if not r else None)
    def search(q):
        """Search."""
        return [] if q == "nothing" else [q]

    ns["search"] = search
    llm = ScriptedLLM({"solve": [X("hits = search('nothing')"), X("hits = search('x')")]})
    run = ReCode(llm, namespace=ns).run("t")
    assert run.status == "done" and ns["hits"] == ["x"]
    assert run.root.attempts[0]["error"] == "StepFailed: empty result"
    assert "The world answered: []" in llm.calls[1]


def test_a_replan_shows_what_the_world_answered_to_the_statements_that_ran(world):
    ns, log = world
    llm = ScriptedLLM({"solve": [X("act('go hall')\nact('take key')"),
                                 X("act('take key from table')")]})
    run = ReCode(llm, namespace=ns).run("get the key")
    assert run.status == "done", run.error
    assert "act('go hall')\n# act('go hall') -> 'You go hall.'\n" in llm.calls[1]
    assert run.root.steps[0].answers == ["act('go hall') -> 'You go hall.'"]


def test_a_second_identical_replan_asks_for_something_else(world):
    ns, log = world
    llm = ScriptedLLM({"solve": [X("act('go hall')\nact('take key')"), X("act('take key')"),
                                 X("act('take key from table')")]})
    run = ReCode(llm, namespace=ns).run("get the key")
    assert run.status == "done", run.error
    assert "failed the same way" not in llm.calls[1]
    assert "Your previous answer to this same situation failed the same way" in llm.calls[2]
