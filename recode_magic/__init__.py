"""recode_magic: ReCode (recursive code generation for LLM agents) as a Jupyter magic.

``import recode_magic`` stays light: no model SDK and no IPython magics are imported until
``%load_ext recode_magic`` or the first live model call.
"""

from __future__ import annotations

from typing import Any

from .engine.recode import ReCode
from .engine.settings import Settings
from .errors import (
    BlockTimeoutError,
    CassetteMissError,
    ChecksumError,
    ConfigError,
    ConfirmUnavailable,
    DiskFullError,
    FormatError,
    LLMError,
    MissingDependencyError,
    MissingKeyError,
    ModelFileError,
    NoReplyError,
    PolicyError,
    RecodeError,
    RegistryUnreachable,
    ResumeError,
    RunFormatError,
    StepFailed,
    UnknownModelError,
    UnknownToolError,
    WeightsError,
)
from .llms.scripted import ScriptedLLM
from .pycode.namespace import primitive
from .runs.run import Run, load_run
from .runs.status import NodeStatus, RunStatus
from .runs.tree import Node

__version__ = "0.1.0"

__all__ = [
    "ReCode", "ScriptedLLM", "Run", "Node", "load_run", "primitive",
    "RecodeError", "FormatError", "PolicyError", "NoReplyError", "CassetteMissError",
    "UnknownModelError", "LLMError", "MissingKeyError", "MissingDependencyError",
    "BlockTimeoutError", "ConfigError", "ConfirmUnavailable", "ResumeError", "RunFormatError",
    "StepFailed", "UnknownToolError", "WeightsError", "RegistryUnreachable", "DiskFullError",
    "ChecksumError", "ModelFileError", "Settings", "NodeStatus", "RunStatus",
    "load_ipython_extension", "unload_ipython_extension", "__version__",
]


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%recode`` and ``%recode`` (called by ``%load_ext recode_magic``)."""
    from .notebook import batch_magic, steer_magic
    from .notebook.magics import ReCodeMagics

    batch_magic.register()   # %recode batch (issue 16)
    steer_magic.register()   # %recode regenerate | edit | ... | promote | compare (issue 14)
    ipython.register_magics(ReCodeMagics)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics again (``%unload_ext recode_magic``)."""
    magics = ipython.magics_manager.registry.pop("ReCodeMagics", None)
    if magics is not None:
        for kind in ("line", "cell"):
            ipython.magics_manager.magics[kind].pop("recode", None)
