"""The model of a run that names none: Claude with a key, else the embedded local model.

The rule (``%%recode`` with no ``--llm``):

1. a model the user configured (``%config ReCodeMagics.model`` or ``.models``) is used;
2. else Claude (:data:`~recode_magic.llms.base.DEFAULT_MODEL`) when ``ANTHROPIC_API_KEY``
   is set;
3. else the embedded model when the ``[local]`` extra is installed --
   ``$RECODE_MAGIC_LOCAL_MODEL`` (a model name or a ``.gguf`` path; Binder sets the small
   one), else :data:`~recode_magic.llms.local.DEFAULT_LOCAL` -- with one line saying so
   (which model, where its weights come from, how to switch to Claude);
4. else Claude, whose missing-key error then says how to get the embedded model too
   (:func:`missing_key_hint`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .base import DEFAULT_MODEL, KEY_ENV
from .local import DEFAULT_LOCAL, INSTALL_HINT, PREFIX, available, is_path
from .weights import cache_dir, spec_for

__all__ = ["pick_default", "missing_key_hint", "KEY_ENV", "LOCAL_ENV"]

LOCAL_ENV = "RECODE_MAGIC_LOCAL_MODEL"


def pick_default(configured: str | None = None, *, model_dir: str | None = None,
                 env: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """The model id for a run with no ``--llm``, and the line to show when it is local.

    Parameters
    ----------
    configured : str, optional
        The model the user set (``%config ReCodeMagics.model``); None if they set none.
    model_dir : str, optional
        Where the local weights are cached (for the line).
    env : Mapping, optional
        The environment (default ``os.environ``).

    Examples
    --------
    >>> pick_default("claude-haiku-4-5", env={})
    ('claude-haiku-4-5', None)
    >>> pick_default(None, env={"ANTHROPIC_API_KEY": "sk-..."})
    ('claude-sonnet-5-5', None)
    """
    env = os.environ if env is None else env
    if configured:
        return configured, None
    if env.get(KEY_ENV, "").strip() or not available():
        return DEFAULT_MODEL, None
    name = env.get(LOCAL_ENV, "").strip() or DEFAULT_LOCAL
    if is_path(name):
        what = f"{name}, in this kernel"
    else:
        spec = spec_for(name)
        path = cache_dir(model_dir) / spec.filename
        where = (f"cached at {path}" if path.exists() else f"fetched once, "
                 f"~{spec.size / 1e9:.1f} GB, from {spec.source()} into {path.parent}")
        what = f"{spec.title}, in this kernel; weights {where}"
    note = (f"recode: no {KEY_ENV}, so the embedded model {PREFIX}{name} plans ({what}); "
            f"for Claude: %env {KEY_ENV}=... or --llm {DEFAULT_MODEL}")
    return PREFIX + name, note


def missing_key_hint() -> str:
    """What a missing-key error adds: how to plan without a key.

    >>> missing_key_hint().startswith("; or, with no key: ")
    True
    """
    if available():
        return f"; or, with no key: --llm {PREFIX}{DEFAULT_LOCAL} (the embedded model)"
    return f"; or, with no key: {INSTALL_HINT} for an embedded local model"
