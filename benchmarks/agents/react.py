"""ReAct baseline: one game command per model call, the whole history in the prompt.

The model sees the instructions and the example game (the same example game and commands
ReCode's few-shots show) as the system message, then the task, the first observation and
every earlier turn as a chat: its own ``Thought:/Action:`` turns and the game's
``Observation:`` answers. History is append-only, so a server that reuses a matching prompt
prefix (llama.cpp) only processes the new turn. Caps: 40 actions, 30 model calls.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from agent_examples import (
    EXAMPLE_ROOM,
    EXAMPLE_TASK,
    EXAMPLE_TURNS,
    REACT_INSTRUCTIONS,
    react_example,
)
from tw_game import MAX_CALLS, Game, GameOver

_ACTION = re.compile(r"^\s*Action\s*:\s*(.+?)\s*$", re.M | re.I)
_THOUGHT = re.compile(r"^\s*Thought\s*:\s*(.+?)\s*$", re.M | re.I)

# chat(messages) -> (text, usage dict with input_tokens/output_tokens)
Chat = Callable[[list[dict[str, str]]], "tuple[str, dict[str, int]]"]


def openai_chat(client: Any, model: str, max_tokens: int = 96) -> Chat:
    """A ``Chat`` over an OpenAI-compatible server, temperature 0."""

    def chat(messages: list[dict[str, str]]) -> tuple[str, dict[str, int]]:
        resp = client.chat.completions.create(model=model, messages=messages, temperature=0,
                                              max_tokens=max_tokens,
                                              stop=["\nObservation", "Observation:"])
        u = resp.usage
        usage = {"input_tokens": int(getattr(u, "prompt_tokens", 0) or 0),
                 "output_tokens": int(getattr(u, "completion_tokens", 0) or 0)}
        return resp.choices[0].message.content or "", usage

    return chat


def parse_action(text: str) -> str | None:
    """The command of a ``Thought: ... / Action: ...`` reply, None when there is none."""
    found = _ACTION.search(text or "")
    if not found:
        return None
    action = found.group(1).strip().strip("`'\"").strip()
    return action.rstrip(".") or None


def example_messages() -> list[dict[str, str]]:
    """The example game as real chat turns (user: observation, assistant: thought/action)."""
    msgs = [{"role": "user", "content": f"Task: {EXAMPLE_TASK}\nObservation: {EXAMPLE_ROOM}"}]
    for thought, action, obs in EXAMPLE_TURNS:
        msgs += [{"role": "assistant", "content": f"Thought: {thought}\nAction: {action}"},
                 {"role": "user", "content": f"Observation: {obs}"}]
    return msgs


def run_react(game: Game, chat: Chat, max_calls: int = MAX_CALLS,
              style: str = "system") -> dict[str, Any]:
    """Play ``game`` (already reset) to the end or the caps; returns counters and turns.

    ``style``: ``"system"`` puts the example game in the system message as text;
    ``"chat"`` plays it as earlier chat turns, then says a new game starts and to use only
    the objects the new task and observations name.
    """
    task = f"Task: {game.objective}\nObservation: {game.first_room}"
    if style == "chat":
        messages = [{"role": "system", "content": REACT_INSTRUCTIONS}, *example_messages(),
                    {"role": "user", "content": "That example game is over. A NEW game starts "
                                                "now, with other rooms and objects: use only "
                                                "the objects named in the new task and "
                                                f"observations.\n{task}"}]
    else:
        messages = [{"role": "system", "content": f"{REACT_INSTRUCTIONS}\n\n{react_example()}"},
                    {"role": "user", "content": task}]
    calls = format_errors = 0
    usage = {"input_tokens": 0, "output_tokens": 0}
    turns: list[dict[str, Any]] = []
    stop = "call cap"
    started = time.perf_counter()
    while calls < max_calls:
        text, u = chat(messages)
        calls += 1
        for k in usage:
            usage[k] += u.get(k, 0)
        action = parse_action(text)
        turn: dict[str, Any] = {"reply": text}
        turns.append(turn)
        if action is None:
            format_errors += 1
            messages += [{"role": "assistant", "content": text},
                         {"role": "user", "content": "Observation: (invalid answer) Answer "
                                                     "with two lines: Thought: ... then "
                                                     "Action: <one game command>."}]
            continue
        thought = _THOUGHT.search(text)
        turn["action"] = action
        try:
            obs = game.step(action)
        except GameOver as over:
            stop = str(over)
            break
        turn["observation"] = obs
        clean_reply = (f"Thought: {thought.group(1).strip()}\n" if thought else "") + \
            f"Action: {action}"
        messages += [{"role": "assistant", "content": clean_reply},
                     {"role": "user", "content": f"Observation: {obs}"}]
        if game.done:
            stop = "won" if game.won else "lost"
            break
    return {"llm_calls": calls, "format_errors": format_errors, "usage": usage,
            "stop": stop, "turns": turns, "wall_s": round(time.perf_counter() - started, 2)}
