"""The error family of recode_magic: one base class, each also a natural built-in."""

from __future__ import annotations

__all__ = [
    "RecodeError",
    "FormatError",
    "PolicyError",
    "NoReplyError",
    "UnknownModelError",
    "LLMError",
    "MissingKeyError",
    "MissingDependencyError",
    "BlockTimeoutError",
    "TaskTimeout",
    "CassetteMissError",
    "ConfigError",
    "UnknownToolError",
    "ConfirmUnavailable",
    "ResumeError",
    "RunFormatError",
    "StepFailed",
    "WeightsError",
    "RegistryUnreachable",
    "DiskFullError",
    "ChecksumError",
    "ModelFileError",
]


class RecodeError(Exception):
    """Base class of every error recode_magic raises on purpose."""


class FormatError(RecodeError, ValueError):
    """A model reply that cannot be used as it is (the engine asks the model again).

    Attributes
    ----------
    reply : str or None
        The raw reply that was rejected.
    hint : str
        The sentence sent back to the model to say what to fix.
    """

    def __init__(self, message: str, *, reply: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.reply = reply
        self.hint = hint or message


class PolicyError(FormatError):
    """Code refused by the guarded policy (``--trust`` lifts it); names the rule broken."""

    def __init__(self, message: str, *, rule: str, reply: str | None = None):
        super().__init__(message, reply=reply)
        self.rule = rule


class NoReplyError(RecodeError, LookupError):
    """A scripted model or cassette has no reply for a placeholder."""

    def __init__(self, message: str, *, placeholder: str | None = None):
        super().__init__(message)
        self.placeholder = placeholder


class CassetteMissError(NoReplyError):
    """A replay-only cassette has no recorded reply for this prompt."""


class UnknownModelError(RecodeError, LookupError):
    """``--llm`` names neither a known model family nor a callable in the namespace."""


class LLMError(RecodeError, RuntimeError):
    """A model backend failed (HTTP error, connection refused, rejected key...)."""

    def __init__(self, message: str, *, status: int | None = None, model: str | None = None):
        super().__init__(message)
        self.status = status
        self.model = model


class MissingKeyError(LLMError):
    """No API key in the environment."""


class MissingDependencyError(RecodeError, RuntimeError):
    """An optional package or binary is not installed (the message says how to get it)."""


class WeightsError(RecodeError):
    """Base of the errors of fetching and checking a local model's weights.

    Attributes
    ----------
    model : str or None
        The local model's name (``qwen2.5-coder-1.5b``) or file.
    """

    def __init__(self, message: str, *, model: str | None = None):
        super().__init__(message)
        self.model = model


class RegistryUnreachable(WeightsError, ConnectionError):
    """The package registry holding a model's weight packages could not be reached."""


class DiskFullError(WeightsError, OSError):
    """No room left to write a model's weights (the partial file is removed)."""


class ChecksumError(WeightsError, ValueError):
    """Assembled weights whose sha256 is not the pinned one (the file is never used)."""


class ModelFileError(WeightsError, FileNotFoundError):
    """A local model file that does not exist or is not a GGUF file."""


class BlockTimeoutError(RecodeError, TimeoutError):
    """A block of generated code ran longer than ``--timeout`` seconds."""


class TaskTimeout(RecodeError, TimeoutError):
    """A task of :func:`~recode_magic.batch.run_many` ran longer than ``task_timeout``."""


class ConfigError(RecodeError, ValueError, TypeError):
    """A setting or argument of the engine is wrong (raised before any model call).

    Both a ``ValueError`` and a ``TypeError``: a bad setting is either, and callers that
    caught the built-in one before keep working.
    """


class UnknownToolError(RecodeError, LookupError):
    """``--tools`` names something that is not a callable in the namespace."""


class ConfirmUnavailable(RecodeError, RuntimeError):
    """``--confirm`` cannot show its buttons or read an answer in this frontend."""


class ResumeError(RecodeError, RuntimeError):
    """A run cannot be resumed (it finished, or it was loaded from a file)."""


class RunFormatError(RecodeError, ValueError):
    """A saved run is not in a format :func:`~recode_magic.load_run` reads."""


class StepFailed(RecodeError, RuntimeError):
    """Raised by a primitive to say the world refused the step (the engine re-plans).

    ``observation`` is what the world answered (shown to the model when it re-plans).

    Examples
    --------
    >>> raise StepFailed("door is locked")
    Traceback (most recent call last):
    ...
    recode_magic.errors.StepFailed: door is locked
    """

    def __init__(self, message: str = "", *, observation: str | None = None):
        super().__init__(message)
        self.observation = message if observation is None else observation
