"""``ScriptedLLM``: replies chosen by the name of the placeholder being expanded."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from ..errors import NoReplyError

__all__ = ["ScriptedLLM", "placeholder_name"]

Reply = str | Sequence[str] | Callable[[str], str]
_PLACEHOLDER = re.compile(r"^Placeholder: (?:.*?=\s*)?([A-Za-z_]\w*)\s*\(", re.M)


def placeholder_name(prompt: str) -> str | None:
    """The name of the placeholder an expansion prompt asks for (the last one in it).

    >>> placeholder_name("...\\nPlaceholder: a, b = split_it(x)\\nVariables:")
    'split_it'
    """
    name = getattr(prompt, "placeholder", "")
    if name:
        return str(name)
    found = _PLACEHOLDER.findall(prompt)
    return found[-1] if found else None


class ScriptedLLM:
    """A model whose replies are written in advance, keyed by placeholder name.

    A string is the reply every time; a list gives successive replies (then raises);
    a callable gets the prompt.

    >>> llm = ScriptedLLM({"solve": "<execute>x = 1</execute>"})
    >>> llm("Placeholder: solve(task)\\n")
    '<execute>x = 1</execute>'
    >>> len(llm.calls)
    1
    """

    def __init__(self, replies: Mapping[str, Reply], *, model: str = "scripted"):
        self.replies = dict(replies)
        self.calls: list[str] = []
        self.model = model
        self.last_usage: dict[str, int] | None = None
        self._used: dict[str, int] = {}

    def __call__(self, prompt: str) -> str:
        """Return the scripted reply for the placeholder ``prompt`` asks to expand."""
        self.calls.append(prompt)
        name = getattr(prompt, "placeholder", "")  # what placeholder_name reads first
        name = str(name) if name else placeholder_name(prompt)
        reply = self.replies.get(name) if name is not None else None  # type: ignore[arg-type]
        if type(reply) is str:  # the commonest: one reply, every time
            return reply
        if reply is None:
            known = ", ".join(sorted(self.replies)) or "none"
            raise NoReplyError(
                f"ScriptedLLM has no reply for placeholder {name!r} "
                f"(scripted placeholders: {known})", placeholder=name)
        if callable(reply):
            return str(reply(prompt))
        if isinstance(reply, str):
            return reply
        i = self._used.get(name, 0)
        if i >= len(reply):
            raise NoReplyError(
                f"ScriptedLLM ran out of replies for placeholder {name!r} "
                f"(it had {len(reply)}, this is call {i + 1})", placeholder=name)
        self._used[name] = i + 1
        return str(reply[i])

    def __repr__(self) -> str:
        return f"ScriptedLLM({sorted(self.replies)}, calls={len(self.calls)})"
