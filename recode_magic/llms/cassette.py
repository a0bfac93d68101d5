"""``CassetteLLM``: record model replies to a JSON file and replay them with no model calls."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import CassetteMissError, ConfigError
from .base import KEY_ENV, Reply, ask, asks_together
from .base import takes_sampling as _takes_sampling
from .scripted import placeholder_name

__all__ = ["CassetteLLM", "cassette_key", "loose_key", "sample_of", "primitive_lines",
           "recorded_models", "MODES", "CASSETTE_VERSION", "SECRET_ENVS", "Sample"]

CASSETTE_VERSION = "recode_magic.cassette.v1"
MODES = ("auto", "record", "replay")
SECRET_ENVS = (KEY_ENV, "OPENAI_API_KEY", "ANTHROPIC_AUTH_TOKEN")
_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
               "cache_read_input_tokens")


Sample = dict[str, float | int]  # {"temperature": t, "seed": s}: a sampled call's options


def cassette_key(model: str, prompt: str, sample: Sample | None = None) -> str:
    r"""Return the lookup key of one expansion: sha256 of ``model + "\n" + prompt``.

    A call with sampling options (``sample``: its ``temperature`` and ``seed``) has them
    appended, so each candidate of one prompt has its own key; a call without has the key
    it always had (older cassettes replay unchanged).

    >>> cassette_key("m", "p")[:12]
    'de175578803a'
    >>> cassette_key("m", "p", {"temperature": 0.7, "seed": 1}) != cassette_key("m", "p")
    True
    """
    text = f"{model}\n{prompt}"
    if sample:
        text += "\n[sampled " + json.dumps(sample, sort_keys=True) + "]"
    return hashlib.sha256(text.encode()).hexdigest()


def sample_of(temperature: float | None, seed: int | None) -> Sample | None:
    """The sampling options a call's key and entry record (None: a plain call).

    >>> sample_of(None, None), sample_of(0.7, 2)
    (None, {'temperature': 0.7, 'seed': 2})
    """
    got = {k: v for k, v in (("temperature", temperature), ("seed", seed)) if v is not None}
    return got or None


_SECTION = re.compile(r"^Primitives\b[^\n]*:[ \t]*\n((?:- [^\n]*\n?)+)", re.M | re.I)
_PRIMITIVE = re.compile(r"^- ([A-Za-z_]\w*)\s*\(", re.M)
_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def primitive_lines(prompt: str) -> dict[str, str]:
    r"""The primitives a prompt lists, ``{name: its whole line}`` (empty if no listing).

    >>> primitive_lines("Rules\nPrimitives (exist):\n- move(dx, dy)  -- Move.\n- look()\n\nEx")
    {'move': '- move(dx, dy)  -- Move.', 'look': '- look()'}
    """
    found = _SECTION.search(prompt)
    if not found:
        return {}
    return {m.group(1): line for line in found.group(1).splitlines()
            if (m := _PRIMITIVE.match(line))}


def loose_key(model: str, prompt: str, sample: Sample | None = None) -> str:
    """The key of a prompt with its primitive listing left out (see :class:`CassetteLLM`)."""
    return cassette_key(model, _SECTION.sub("Primitives:\n", prompt, count=1), sample)


class CassetteLLM:
    r"""Wrap a model so its replies are recorded to, and replayed from, a JSON file.

    Parameters
    ----------
    inner : callable or None
        The live model; ``None`` for replay only.
    path : str or PathLike
        The cassette file (created on the first recording).
    mode : {"auto", "record", "replay"}
        ``"replay"``: answer only from the file, a miss raises :class:`CassetteMissError`;
        ``"record"``: always ask ``inner`` and (re)record; ``"auto"``: replay hits, record
        misses (a miss with no ``inner`` raises like ``"replay"``).
    model : str, optional
        Model name in the key; defaults to ``inner.model``, else the single model recorded.

    Notes
    -----
    The file is ``{"version", "fixed": {id: text}, "entries": [{"key", "placeholder",
    "model", "fixed", "prompt", "reply", "usage"}]}``: the fixed prompt part, the same for
    every expansion of a run, is stored once under ``fixed`` and entries hold the rest.
    A call asked with a per-call ``temperature`` or ``seed`` (sampling's candidates) is
    keyed with them and its entry has ``"sample": {"temperature", "seed"}``: candidate
    ``i`` of a prompt replays its own reply; calls without them keep their old keys. The
    options are passed on to the live model.
    Only prompts, replies and token counts are written, never headers; any value of the
    ``SECRET_ENVS`` variables found in the text is replaced by ``<redacted>``. Writes are
    atomic (temporary file, then rename). A replayed call sets ``last_usage`` to the
    recorded counts under ``replayed_*`` names plus ``replayed: 1``, so ``Run.usage`` keeps
    what was billed in this run apart from what was replayed.

    Misses are reported, never silent: ``misses`` counts the prompts with no recorded reply
    and ``missed`` lists their placeholders (in ``"auto"`` mode with a live model they are
    then asked and recorded; :meth:`summary` says so in one line).

    **Keys that survive unrelated notebook edits.** The key is the model and the whole
    prompt, and the prompt lists every primitive: defining any new function in the notebook
    changes every key. When the exact key misses, an entry is still replayed if (1) the two
    prompts are identical once the primitive listing is left out (same rules, few-shots,
    placeholder call, variables and feedback), (2) exactly one recorded entry matches so
    (two would be ambiguous), and (3) every name the recorded reply calls that either
    listing mentions has the *same line* in both (same signature and docstring; a name
    that became a primitive since, or stopped being one, breaks it). Then the reply runs
    exactly as it did when recorded: the functions it calls are the same and so are the
    inputs the model saw about them; only primitives it did not use were added, removed
    or edited. The model might have answered differently given the new listing, but a
    replay reproduces the recorded run, it does not predict a new one. Such hits are
    counted in ``loose_hits``. ``strict=True`` turns this off.

    **Threads.** Not ``thread_safe`` (prefetching, whose unused calls would be recorded,
    asks it one call at a time), but ``concurrent_calls`` when replaying or when the live
    model is thread-safe: calls whose replies are all used (sampling's candidates, each under
    its own key) may be asked at once; lookups and recordings are serialised by a lock.

    Examples
    --------
    >>> import tempfile, os
    >>> from recode_magic.llms import ScriptedLLM
    >>> path = os.path.join(tempfile.mkdtemp(), "c.json")
    >>> live = ScriptedLLM({"solve": "<execute>x = 1</execute>"})
    >>> CassetteLLM(live, path)("Placeholder: solve(task)\n")
    '<execute>x = 1</execute>'
    >>> replay = CassetteLLM(None, path, mode="replay")
    >>> replay("Placeholder: solve(task)\n"), replay.hits, len(live.calls)
    ('<execute>x = 1</execute>', 1, 1)
    """

    def __init__(self, inner: Callable[[str], str] | None, path: str | os.PathLike[str],
                 mode: str = "auto", *, model: str | None = None, strict: bool = False):
        if mode not in MODES:
            raise ConfigError(f"unknown cassette mode: {mode!r} (must be one of {list(MODES)})")
        if mode == "record" and inner is None:
            raise ConfigError("cassette mode 'record' needs a live model (got inner=None)")
        self.inner = inner
        self.path = Path(path)
        self.mode = mode
        self._model = model
        self.on_text: Callable[[str], Any] | None = None
        self.last_usage: dict[str, int] | None = None
        self.hits = 0
        self.recorded = 0
        self.misses = 0
        self.missed: list[str | None] = []
        self.loose_hits = 0
        self.strict = strict
        self._loose: dict[str, list[str]] = {}
        self._fixed: dict[str, str] = {}
        self._entries: dict[str, dict[str, Any]] = {}
        self._recorded_model: tuple[int, str] | None = None
        self._lock = threading.RLock()
        self.load()

    @property
    def model(self) -> str:
        """The model name used in keys."""
        if self._model:
            return self._model
        inner_model = getattr(self.inner, "model", None)
        if inner_model:
            return str(inner_model)
        if self._recorded_model is None or self._recorded_model[0] != len(self._entries):
            models = {e.get("model", "") for e in self._entries.values()}
            self._recorded_model = (len(self._entries),
                                    models.pop() if len(models) == 1 else "unknown")
        return self._recorded_model[1]  # cached: this runs on every call

    @property
    def takes_sampling(self) -> bool:
        """True when replaying, or when the live model takes per-call sampling options."""
        return self.mode == "replay" or self.inner is None or _takes_sampling(self.inner)

    @property
    def concurrent_calls(self) -> bool:
        """True when several calls may be asked at once (see the class docstring)."""
        return self.mode == "replay" or self.inner is None or asks_together(self.inner)

    def __repr__(self) -> str:
        return (f"CassetteLLM({self.inner!r}, {str(self.path)!r}, mode={self.mode!r}, "
                f"entries={len(self._entries)})")

    def __len__(self) -> int:
        return len(self._entries)

    # -- file -----------------------------------------------------------------------------
    def load(self) -> None:
        """(Re)read the file; a missing file is an empty cassette."""
        self._fixed, self._entries, self._extra, self._loose = {}, {}, {}, {}
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read cassette {str(self.path)!r}: {exc}") from exc
        entries = data.get("entries", []) if isinstance(data, dict) else None
        if not isinstance(entries, list) or not isinstance(data.get("fixed", {}), dict) \
                or not all(isinstance(e, dict) and "key" in e for e in entries):
            raise ConfigError(f"{str(self.path)!r} is not a recode cassette (expected an "
                              f"object with \"fixed\" and \"entries\": [{{\"key\": ...}}])")
        self._fixed = dict(data.get("fixed", {}))
        # keys we do not use (a "note" on where the replies came from...) are kept on save
        self._extra = {k: v for k, v in data.items() if k not in ("version", "fixed", "entries")}
        for entry in data.get("entries", []):
            if entry["key"] not in self._entries:
                self._entries[entry["key"]] = entry
                self._index(entry)

    def _full_prompt(self, entry: dict[str, Any]) -> str:
        return self._fixed.get(entry.get("fixed") or "", "") + str(entry.get("prompt", ""))

    def _index(self, entry: dict[str, Any]) -> None:
        key = loose_key(str(entry.get("model", "")), self._full_prompt(entry),
                        entry.get("sample"))
        keys = self._loose.setdefault(key, [])
        if entry["key"] not in keys:
            keys.append(entry["key"])

    def save(self) -> None:
        """Write the cassette atomically."""
        data = {"version": CASSETTE_VERSION, **self._extra, "fixed": self._fixed,
                "entries": list(self._entries.values())}
        text = _redact(json.dumps(data, indent=1, ensure_ascii=False))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                   dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def entries(self) -> list[dict[str, Any]]:
        """Return the recorded entries with their full prompt text, in recording order."""
        return [{**e, "prompt": self._fixed.get(e.get("fixed") or "", "") + e["prompt"]}
                for e in self._entries.values()]

    # -- call -----------------------------------------------------------------------------
    def __call__(self, prompt: str) -> str:
        """Replay the recorded reply for ``prompt``, or ask the live model and record it."""
        reply = self.respond(prompt, on_text=self.on_text)
        self.last_usage = reply.tokens() or None
        return reply.text

    def respond(self, prompt: str, *, on_text: Callable[[str], Any] | None = None,
                depth: int | None = None, temperature: float | None = None,
                seed: int | None = None) -> Reply:
        """The recorded :class:`Reply` for ``prompt``, or the live one (then recorded).

        A miss is counted in ``misses`` and its placeholder appended to ``missed`` whether
        or not a live model then answers it. ``temperature`` and ``seed`` are part of the
        key when given (see the class docstring) and go to the live model.
        """
        model = self._model_for(depth)
        sample = sample_of(temperature, seed)
        key = cassette_key(model, prompt, sample)
        name = placeholder_name(prompt)
        with self._lock:
            entry = None if self.mode == "record" else self._entries.get(key)
            if entry is None and self.mode != "record" and not self.strict:
                entry = self._loose_match(model, prompt, sample)
            if entry is not None:
                self.hits += 1
            elif self.mode != "record":
                self.misses += 1
                self.missed.append(name)
        if entry is not None:
            if on_text is not None:
                on_text(entry["reply"])
            return _replayed(entry, model)
        if self.inner is None or self.mode == "replay":
            raise CassetteMissError(
                f"cassette {str(self.path)!r} has no reply for placeholder {name!r} "
                f"(model {model!r}; record it with mode 'auto' and a live model)",
                placeholder=name)
        reply = ask(self.inner, prompt, on_text=on_text, depth=depth, temperature=temperature,
                    seed=seed)
        with self._lock:
            self._record(key, model, prompt, reply.text, name, reply.usage, sample)
        return reply

    def _loose_match(self, model: str, prompt: str,
                     sample: Sample | None = None) -> dict[str, Any] | None:
        """The one entry that matches ``prompt`` but for primitives its reply does not use."""
        candidates = self._loose.get(loose_key(model, prompt, sample), [])
        if len(candidates) != 1:
            return None
        entry = self._entries[candidates[0]]
        old, new = primitive_lines(self._full_prompt(entry)), primitive_lines(prompt)
        called = set(_CALLED.findall(str(entry.get("reply", ""))))
        if any(old.get(name) != new.get(name) for name in called & (set(old) | set(new))):
            return None
        self.loose_hits += 1
        return entry

    def summary(self) -> str | None:
        """One line on what the cassette did in this run, or ``None`` if nothing to say.

        >>> import tempfile, os
        >>> c = CassetteLLM(None, os.path.join(tempfile.mkdtemp(), "c.json"), "replay")
        >>> c.summary() is None
        True
        """
        if not self.misses and not self.loose_hits:
            return None
        parts = [f"{self.hits} replayed"]
        if self.loose_hits:
            parts.append(f"{self.loose_hits} of them despite a changed primitive listing")
        if self.misses:
            names = ", ".join(sorted({str(n) for n in self.missed}))
            then = ("live model called and recorded" if self.inner is not None
                    and self.mode != "replay" else "no live model")
            parts.append(f"{self.misses} miss{'es' if self.misses > 1 else ''} ({names}): "
                         f"{then}")
        return f"cassette {self.path.name}: " + ", ".join(parts)

    def _model_for(self, depth: int | None) -> str:
        """The key's model: the routed model at ``depth`` for a depth-routed inner model."""
        pick = getattr(self.inner, "model_at", None)
        if callable(pick) and not self._model:
            return str(pick(depth))
        return self.model

    def _record(self, key: str, model: str, prompt: str, reply: str, name: str | None,
                usage: dict[str, Any] | None, sample: Sample | None = None) -> None:
        fixed = getattr(prompt, "fixed", "") or ""
        fixed_id = None
        if fixed and prompt.startswith(fixed):
            fixed_id = hashlib.sha256(fixed.encode()).hexdigest()[:16]
            self._fixed.setdefault(fixed_id, fixed)
            prompt = prompt[len(fixed):]
        self._entries[key] = {
            "key": key, "placeholder": name, "model": model, "fixed": fixed_id,
            "prompt": str(prompt), "reply": reply,
            "usage": {k: int(usage[k]) for k in _USAGE_KEYS if k in (usage or {})},
        }
        if sample:
            self._entries[key]["sample"] = dict(sample)
        self._index(self._entries[key])
        self.recorded += 1
        self.save()


def _replayed(entry: dict[str, Any], model: str) -> Reply:
    usage: dict[str, Any] = {"replayed": 1, "source": "cassette"}
    for k, v in (entry.get("usage") or {}).items():
        if isinstance(v, (int, float)):
            usage[f"replayed_{k}"] = int(v)
    return Reply(str(entry["reply"]), usage, entry.get("model") or model)


def recorded_models(path: str | os.PathLike[str]) -> list[str]:
    """The distinct models a cassette file holds replies of, in first-recorded order.

    A missing file holds none; an unreadable one raises like :meth:`CassetteLLM.load`.
    """
    probe = CassetteLLM(None, path, "replay")
    return list(dict.fromkeys(str(e.get("model") or "") for e in probe._entries.values()))


def _redact(text: str) -> str:
    """Replace the value of any secret environment variable found in ``text``."""
    for name in SECRET_ENVS:
        value = os.environ.get(name, "").strip()
        if len(value) >= 8:
            text = text.replace(value, "<redacted>")
            text = text.replace(json.dumps(value)[1:-1], "<redacted>")
    return text
