"""A TextWorld game with the evaluation's caps, and the primitives both agents act through.

Both agents see the same things: the game's objective, the first room description, and
what each command returns. No list of admissible commands is given to either agent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MAX_ACTIONS = 40
MAX_CALLS = 30
OBS_CHARS = 600          # an observation longer than this is cut (both agents)

_BANNER = re.compile(r"^.*\$\$.*$", re.M)
# the right-aligned status line "-= Room =-0/3"
_STATUS = re.compile(r"[ \t]{20,}-= [^\n]*=-\d+/\d+[ \t]*")


# What the game answers when a command did nothing (Inform 7 parser and library messages)
REFUSALS = ("That's not a verb I recognise", "You can't see any such thing",
            "You can't go that way", "I only understood you as far as",
            "I didn't understand that sentence", "You need to be holding",
            "You haven't got that", "That's not something you can",
            "It seems to be locked", "That doesn't seem to fit the lock",
            "You can't reach", "You aren't holding", "You can't use multiple objects")


class CommandRefused(RuntimeError):
    """``act`` in strict mode: the game did not accept the command (nothing happened)."""


class GameOver(KeyboardInterrupt):
    """Raised by ``act`` once the game is won/lost or the action cap is reached.

    A KeyboardInterrupt subclass on purpose: ReCode ends the run cleanly on it
    (status ``interrupted``) and generated ``except Exception:`` cannot swallow it.
    """


def clean(text: str) -> str:
    """The game's text without the ASCII-art banner, prompts and runs of blank lines."""
    text = _STATUS.sub("", _BANNER.sub("", text or ""))
    text = text.replace("\n>", "\n").rstrip().rstrip(">").strip()
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    if len(text) > OBS_CHARS:
        text = text[:OBS_CHARS].rstrip() + " …"
    return text


class Game:
    """One TextWorld game: reset, step with caps, score/won read from the game."""

    def __init__(self, path: str, max_actions: int = MAX_ACTIONS):
        import textworld

        self.path = path
        self.max_actions = max_actions
        self.env = textworld.start(path, request_infos=textworld.EnvInfos(
            max_score=True, won=True, lost=True, objective=True, description=True))
        self.actions = 0
        self.score = 0
        self.max_score = 0
        self.won = False
        self.lost = False
        self.done = False
        self.transcript: list[dict[str, Any]] = []
        self.objective = ""
        self.first_room = ""

    def reset(self) -> tuple[str, str]:
        """Start the game; returns ``(objective, first room description)``."""
        state = self.env.reset()
        self.actions, self.done, self.won, self.lost = 0, False, False, False
        self.score, self.max_score = int(state.score or 0), int(state.max_score or 0)
        self.objective = " ".join((state.objective or "").split())
        self.first_room = clean(state.description or state.feedback)
        self.transcript = []
        return self.objective, self.first_room

    def step(self, command: str) -> str:
        """Play one command; raises GameOver when the game ended or the cap is reached."""
        if self.done:
            raise GameOver("the game is over")
        if self.actions >= self.max_actions:
            self.done = True
            raise GameOver(f"action cap reached ({self.max_actions})")
        command = " ".join(str(command).split())[:120]
        state, _, done = self.env.step(command)
        self.actions += 1
        self.score = int(state.score or 0)
        self.won, self.lost = bool(state.won), bool(state.lost)
        obs = clean(state.feedback)
        self.transcript.append({"command": command, "observation": obs, "score": self.score})
        if done or self.won or self.lost:
            self.done = True
        return obs

    def close(self) -> None:
        self.env.close()

    def result(self) -> dict[str, Any]:
        return {"won": self.won, "lost": self.lost, "score": self.score,
                "max_score": self.max_score, "actions": self.actions}


def refused(obs: str) -> bool:
    """True when the game's answer says the command did nothing."""
    return any(obs.strip().startswith(r) for r in REFUSALS)


def primitives(game: Game, strict: bool = False) -> dict[str, Callable[..., str]]:
    """The plain functions ReCode may call (listed in its prompt with their docstrings).

    ``strict``: ``act`` raises :class:`CommandRefused` with the game's answer when the game
    did not accept the command, so the engine's repair (re-expansion with the error) can
    fix the command. Otherwise the refusal is just returned as the observation.
    """

    def act(command: str) -> str:
        """Send one text command to the game and return what it says, e.g. act("go east"), act("take red key from shelf"), act("open wooden chest"), act("unlock wooden chest with red key"), act("put apple on table"), act("insert apple into box")."""  # noqa: E501 (one line: it is the prompt's line)
        obs = game.step(command)
        if game.done:                    # won or lost: stop the agent right here
            raise GameOver("won" if game.won else "lost")
        if strict and refused(obs):
            raise CommandRefused(f"the game did not accept {command!r}: {obs}")
        return obs

    def look() -> str:
        """Describe the room you are in: its objects and exits."""
        return act("look")

    def inventory() -> str:
        """List what you are carrying."""
        return act("inventory")

    return {"act": act, "look": look, "inventory": inventory}
