r"""Constrained decoding for OpenAI-compatible servers: the reply shape enforced by the server.

A small model often answers in the wrong shape (prose, a fenced block, two ``<execute>``
blocks). Servers that sample under a grammar can make every reply have the shape
``<think>…</think><execute>…</execute>``. Each server family spells it differently:

========  ==========================================  ============================
dialect   request field                               servers
========  ==========================================  ============================
gbnf      ``grammar`` (GBNF text)                     llama.cpp ``llama-server``,
                                                      llama-cpp-python's server
regex     ``structured_outputs: {"regex": ...}``      vLLM >= 0.10.2
json      ``response_format`` (JSON schema)           Ollama, OpenAI
========  ==========================================  ============================

The grammar forces the shape and nothing else: the thought is free text without ``<``
(at most :data:`THINK_MAX` characters, so a model cannot think forever), then up to two
spaces or newlines, then the code, free text up to ``</execute>`` (the code may contain
``<``, ``<=``, ``<<``, but not the two characters ``</``), then the end. With the ``json``
dialect the reply is a ``{"think", "execute"}`` object, turned back into the tag form by
:func:`from_json`.

Examples
--------
>>> print(GBNF)
root  ::= "<think>" think "</think>" sep "<execute>" code "</execute>"
think ::= [^<]{0,1200}
sep   ::= [ \n]{0,2}
code  ::= ([^<] | "<" [^/])*
>>> import re
>>> bool(re.fullmatch(REGEX, "<think>two steps</think>\n<execute>x = a < b</execute>"))
True
>>> from_json('{"think": "easy", "execute": "x = 1"}')
'<think>easy</think><execute>x = 1</execute>'
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["THINK_MAX", "GBNF", "PLAN_GBNF", "REGEX", "JSON_SCHEMA", "DIALECTS", "STOP",
           "dialect_for", "constraint_fields", "from_json", "close_execute"]

THINK_MAX = 1200  # characters of thought (about 300 tokens)
STOP = "</execute>"

GBNF = (f'root  ::= "<think>" think "</think>" sep "<execute>" code "</execute>"\n'
        f"think ::= [^<]{{0,{THINK_MAX}}}\n"
        "sep   ::= [ \\n]{0,2}\n"
        'code  ::= ([^<] | "<" [^/])*')
#: The shape of a decomposition's answer (issue 21, ``decompose``): a thought that starts
#: "Smaller steps:", then 2 to 4 lines ``out = new_step(inputs)`` and nothing else, each
#: calling a name with an underscore (no builtin has one: ``list(...)`` and ``sorted(...)``
#: cannot pass for a step). A 1.5B model asked for a plan in words answers with code;
#: under this grammar it writes the plan (the expander still checks each line calls a new
#: step). Names, numbers, strings, targets (3) and inputs (6) are bounded: unbounded, plans
#: ran a number, and "logging, logging, ..." as targets, to the 512-token cap.
PLAN_GBNF = ('root  ::= "<think>" think "</think>" sep "<execute>\\n" step step step? step? '
             '"</execute>"\n'
             'think ::= "Smaller steps: " [^<]{0,400}\n'
             "sep   ::= [ \\n]{0,2}\n"
             'step  ::= names " = " call "(" args? ")\\n"\n'
             'names ::= name (", " name){0,2}\n'
             'call  ::= [a-z] [a-z0-9]* "_" [a-z0-9_]{1,40}\n'
             'args  ::= arg (", " arg){0,5}\n'
             'arg   ::= (name "=")? value\n'
             """value ::= name | [0-9]{1,9} | "'" [^'\\n]{0,60} "'"\n"""
             "name  ::= [a-zA-Z_] [a-zA-Z0-9_]{0,30}")
REGEX = rf"<think>[^<]{{0,{THINK_MAX}}}</think>[ \n]{{0,2}}<execute>([^<]|<[^/])*</execute>"
JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"think": {"type": "string", "maxLength": THINK_MAX},
                   "execute": {"type": "string"}},
    "required": ["think", "execute"],
    "additionalProperties": False,
}
DIALECTS = ("gbnf", "regex", "json")
_SERVER_DIALECT = {"llamacpp": "gbnf", "vllm": "regex", "ollama": "json", "openai": "json"}


def dialect_for(grammar: bool | str, server: str | None, base_url: str | None) -> str | None:
    """Which constraint to send: a dialect of :data:`DIALECTS`, or ``None`` for none.

    ``grammar=False`` sends none. ``"auto"`` sends the server's dialect, except to OpenAI
    itself (no ``base_url``, or ``api.openai.com``), whose models follow the format
    unaided. ``True`` or a grammar text always sends one. The server is ``server`` when
    given, else guessed from ``base_url``: Ollama's port 11434, OpenAI's host, otherwise
    llama.cpp (the server an unknown local ``/v1`` most often is; a server that rejects
    the field is detected on the first call, see ``OpenAICompatLLM``).

    >>> dialect_for("auto", None, "http://127.0.0.1:8080/v1")
    'gbnf'
    >>> dialect_for("auto", None, "http://localhost:11434/v1"), dialect_for("auto", None, None)
    ('json', None)
    >>> dialect_for(True, None, None), dialect_for("auto", "vllm", None)
    ('json', 'regex')
    >>> dialect_for(False, "llamacpp", None) is None
    True
    """
    if grammar is False:
        return None
    if server is None:
        if not base_url or "api.openai.com" in base_url:
            server = "openai"
        elif ":11434" in base_url:
            server = "ollama"
        else:
            server = "llamacpp"
    if server == "openai" and grammar == "auto":
        return None
    return _SERVER_DIALECT.get(server, "gbnf")


def constraint_fields(dialect: str, grammar: bool | str, shape: str = "code"
                      ) -> dict[str, Any]:
    """The request fields of ``dialect``: the built-in constraint, or ``grammar`` if text.

    ``shape``: ``"plan"`` (a prompt that asks for a decomposition,
    :attr:`~recode_magic.prompting.prompts.Prompt.shape`) is sampled under
    :data:`PLAN_GBNF` with the ``gbnf`` dialect and the built-in grammar; the other
    dialects and a custom grammar keep the code shape.

    >>> constraint_fields("regex", "auto")["structured_outputs"]["regex"] == REGEX
    True
    >>> constraint_fields("gbnf", 'root ::= "x"')
    {'grammar': 'root ::= "x"'}
    >>> constraint_fields("gbnf", "auto", "plan")["grammar"] == PLAN_GBNF
    True
    """
    custom = grammar if isinstance(grammar, str) and grammar != "auto" else None
    if dialect == "gbnf":
        return {"grammar": custom or (PLAN_GBNF if shape == "plan" else GBNF)}
    if dialect == "regex":
        return {"structured_outputs": {"regex": custom or REGEX}}
    schema = json.loads(custom) if custom else JSON_SCHEMA
    return {"response_format": {"type": "json_schema",
                                "json_schema": {"name": "recode_reply", "schema": schema}}}


def from_json(text: str) -> str:
    """A ``{"think", "execute"}`` reply in the tag form (``text`` itself if it is not one)."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if not isinstance(data, dict) or not isinstance(data.get("execute"), str):
        return text
    return f"<think>{data.get('think', '')}</think><execute>{data['execute']}</execute>"


def close_execute(text: str, finish: str | None) -> str:
    """Put back the ``</execute>`` a stop sequence removed (servers drop the stop text).

    >>> close_execute("<think>t</think><execute>x = 1", "stop")
    '<think>t</think><execute>x = 1</execute>'
    >>> close_execute("<execute>x = 1", "length")
    '<execute>x = 1'
    """
    if finish == "stop" and "<execute>" in text and STOP not in text.split("<execute>")[-1]:
        return text + STOP
    return text
