"""Limits around one block of generated code: a timeout, a stdout tee, and short reprs.

:class:`block_timeout`
    In the main thread (where ipykernel runs cells) a ``SIGALRM`` timer raises a private
    ``BaseException`` subclass, so generated ``except Exception:`` cannot swallow it; it stops
    pure-Python loops and blocking calls that return on ``EINTR`` (``time.sleep``, socket
    reads, ...). The exception is caught in the harness's own ``__exit__`` and turned into
    :class:`~recode_magic.errors.BlockTimeoutError` (CPython issues 108214 and 130279 let a
    handler's exception skip the generated code's own ``except``/``finally`` in tight loops,
    so nothing relies on those). Off the main thread, or where ``SIGALRM`` does not exist
    (Windows), a ``sys.settrace`` deadline check is used instead: it stops pure-Python code
    but **not** a call blocked in C (``time.sleep(100)``, a long numpy operation, a network
    read), it fires only once (a bare ``except:`` in the generated code could swallow it; the
    guarded policy refuses those), it slows the traced code down, and it suspends a debugger
    or coverage tracer of that thread while the block runs.
:class:`capture_output`
    Tees ``sys.stdout`` only: text still reaches the original stream live (ipykernel's
    ``OutStream`` shows it in the notebook) and is collected up to ``cap`` characters.
    ``stderr`` is left alone: warnings and tracebacks keep their usual path, and the engine
    records exceptions itself. Code holding an earlier reference to ``sys.stdout`` (or writing
    to ``sys.stdout.buffer``) bypasses the copy. Thread-safe for runs in several threads at
    once (``recode_magic.batch``): a tee collects only its own thread's writes and passes the
    others on, and a capture that ends out of order unlinks itself from the chain of tees, so
    ``sys.stdout`` is the original stream again once every capture has ended. Text printed by
    threads that generated code starts is shown but not collected.
:func:`short_repr`, :func:`clip_text`, :func:`user_traceback`
    Bounded reprs and texts (in :mod:`recode_magic.pycode.reprs`, re-exported here).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, TextIO

from ..errors import BlockTimeoutError, ConfigError
from .reprs import clip_text, describe_exception, short_repr, user_traceback

__all__ = ["block_timeout", "capture_output", "CapturedOutput", "short_repr", "TRUNCATED",
           "LIVE_TRUNCATED", "describe_exception", "user_traceback", "clip_text"]

#: Truncation marker of captured output; ``{n}`` is the number of characters left out.
TRUNCATED = "\n… [output truncated: {n} more characters]"
#: Written once to the live stream when a block prints more than ``live_cap`` characters.
LIVE_TRUNCATED = "\n… [recode: output of this statement cut here, see the node's stdout]\n"

# After the first alarm the timer repeats at this interval until the harness disarms it, so
# an alarm that lands in the harness's own frames (ignored there) or is swallowed is retried.
_REPEAT = 0.05


class _Timeout(BaseException):
    """Raised inside the generated code when its block runs out of time (never escapes)."""

    def __init__(self, owner: block_timeout) -> None:
        super().__init__("block timeout")
        self.owner = owner


class block_timeout:  # noqa: N801 - used like contextlib.suppress
    """Context manager that stops the code it wraps after ``seconds`` seconds.

    Parameters
    ----------
    seconds : float or None
        The limit; ``None`` means no limit (the context manager does nothing).

    Raises
    ------
    BlockTimeoutError
        On leaving the ``with`` block, when the limit was hit.
    ValueError
        If ``seconds`` is not positive.

    Notes
    -----
    Nested use is allowed: the innermost limit governs while it is active, and the outer
    timer resumes with its remaining time afterwards.

    Examples
    --------
    >>> import time
    >>> with block_timeout(0.05):  # doctest: +ELLIPSIS
    ...     time.sleep(5)
    Traceback (most recent call last):
    ...
    recode_magic.errors.BlockTimeoutError: block ran longer than 0.05 s (--timeout)
    """

    def __init__(self, seconds: float | None) -> None:
        if seconds is not None and not seconds > 0:
            raise ConfigError(f"timeout must be a positive number of seconds, not {seconds!r}")
        self.seconds = seconds
        self.mode = "off"
        self._armed = False

    def __enter__(self) -> block_timeout:
        if self.seconds is None:
            return self
        if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            try:
                self._previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
            except ValueError:  # not the main interpreter
                pass
            else:
                self.mode = "signal"
                self._start = time.monotonic()
                self._armed = True
                self._previous_timer = signal.setitimer(signal.ITIMER_REAL, self.seconds, _REPEAT)
                return self
        self.mode = "trace"
        self._deadline = time.monotonic() + self.seconds
        self._previous_trace = sys.gettrace()
        self._armed = True
        sys.settrace(self._trace)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._armed = False
        if self.mode == "signal":
            self._restore_signal()
        elif self.mode == "trace":
            sys.settrace(self._previous_trace)
        if isinstance(exc, _Timeout) and exc.owner is self:
            raise BlockTimeoutError(
                f"block ran longer than {self.seconds:g} s (--timeout)") from None

    def _restore_signal(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        previous = self._previous_handler
        # None: installed from C, cannot be restored from Python; the default is the safe bet.
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
        delay, interval = self._previous_timer
        if delay > 0:  # an outer timer was running: give it back what is left
            left = delay - (time.monotonic() - self._start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-4), interval)

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if not self._armed:
            return
        if frame is not None and frame.f_code in _HARNESS_CODE:
            return  # never raise inside the harness; the repeating timer tries again
        raise _Timeout(self)

    def _trace(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if frame.f_code in _HARNESS_CODE:
            return None  # e.g. our own __exit__ is called while the tracer is still on
        if self._armed and time.monotonic() > self._deadline:
            self._armed = False
            raise _Timeout(self)  # also unsets the tracer (CPython does on any error)
        return self._trace


class CapturedOutput:
    """What :class:`capture_output` collected: ``.text`` (truncated) and ``.total`` chars."""

    __slots__ = ("cap", "total", "_chunks", "_kept")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.total = 0
        self._chunks: list[str] = []
        self._kept = 0

    def _add(self, text: str) -> None:
        self.total += len(text)
        room = self.cap - self._kept
        if room > 0:
            piece = text if len(text) <= room else text[:room]
            self._chunks.append(piece)
            self._kept += len(piece)

    @property
    def text(self) -> str:
        """The collected text, with :data:`TRUNCATED` appended when some was left out."""
        text = "".join(self._chunks)
        if self.total > self._kept:
            text += TRUNCATED.format(n=self.total - self._kept)
        return text

    @property
    def truncated(self) -> bool:
        """Whether more was written than ``cap`` characters."""
        return self.total > self._kept


class _Tee:
    """Stand-in for ``sys.stdout``: writes go to the original stream and to a collector."""

    def __init__(self, original: TextIO, sink: CapturedOutput, live_cap: int | None) -> None:
        self._original = original
        self._sink = sink
        self._live_left = live_cap  # characters still shown live; None: no limit
        self._thread = threading.get_ident()

    def write(self, text: str) -> int:
        if threading.get_ident() != self._thread:  # another run's thread: not ours to keep
            return self._original.write(text)
        left = self._live_left
        if left is None or len(text) <= left:
            self._original.write(text)  # first: a bad argument fails as it would without us
            if left is not None:
                self._live_left = left - len(text)
        elif left >= 0:  # the first write past the cap: show what fits, then one marker
            self._original.write(text[:left] + LIVE_TRUNCATED)
            self._live_left = -1
        self._sink._add(text if isinstance(text, str) else str(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        flush = getattr(self._original, "flush", None)
        if flush is not None:
            flush()

    def isatty(self) -> bool:
        isatty = getattr(self._original, "isatty", None)
        return bool(isatty()) if isatty is not None else False

    def fileno(self) -> int:
        return self._original.fileno()  # raises io.UnsupportedOperation where it would

    @property
    def encoding(self) -> str:
        return getattr(self._original, "encoding", None) or "utf-8"

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def close(self) -> None:
        """Do nothing: closing the copy must not close the kernel's stream."""

    @property
    def closed(self) -> bool:
        return bool(getattr(self._original, "closed", False))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class capture_output:  # noqa: N801 - used like contextlib.redirect_stdout
    """Context manager that tees ``sys.stdout`` into a :class:`CapturedOutput`.

    Parameters
    ----------
    cap : int
        Characters kept; the rest is counted and reported by the truncation marker.
    live_cap : int or None
        Characters passed on to the real ``sys.stdout`` (the notebook) before one marker
        line; the rest is dropped so a runaway ``print`` cannot flood the browser.

    Examples
    --------
    >>> with capture_output(cap=5) as out:
    ...     print("hello world")
    hello world
    >>> out.text
    'hello\\n… [output truncated: 7 more characters]'
    """

    def __init__(self, cap: int = 50_000, live_cap: int | None = 100_000) -> None:
        if cap < 0:
            raise ConfigError(f"cap must be >= 0, not {cap!r}")
        self.output = CapturedOutput(cap)
        self.live_cap = live_cap

    def __enter__(self) -> CapturedOutput:
        with _STDOUT_LOCK:
            self._original = sys.stdout
            self._tee = _Tee(self._original, self.output, self.live_cap)
            sys.stdout = self._tee  # type: ignore[assignment]
        return self.output

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with _STDOUT_LOCK:  # restored whatever happened
            above = sys.stdout  # a tee another thread opened after ours: unlink ours below it
            while isinstance(above, _Tee) and above._original is not self._tee:
                above = above._original
            if isinstance(above, _Tee) and above is not self._tee:
                above._original = self._tee._original
            else:
                sys.stdout = self._tee._original  # what was below ours when it ended


_STDOUT_LOCK = threading.Lock()


# The alarm handler never raises while one of these is running (see block_timeout._on_alarm).
_HARNESS_CODE = frozenset(f.__code__ for f in (
    block_timeout.__enter__, block_timeout.__exit__, block_timeout._restore_signal,
    capture_output.__enter__, capture_output.__exit__,
))
