"""The embedded backend (recode_magic.llms.local) with a fake server, and the default rule.

The fake stands for ``xllamacpp.Server``: ``handle_chat_completions(request, callback)``
streams OpenAI-shaped chunks into the callback and stops when it returns True.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time

import pytest
from IPython.terminal.interactiveshell import TerminalInteractiveShell

from recode_magic import ReCode
from recode_magic.errors import LLMError, ModelFileError, UnknownModelError
from recode_magic.llms import base, default, local, make_llm
from recode_magic.llms.constrain import GBNF
from recode_magic.llms.local import LocalLLM
from recode_magic.llms.pricing import cost_report, format_cost
from recode_magic.prompting.prompts import Prompt

REPLY = "<think>add them</think>\n<execute>answer = add(2, 3)"


class FakeServer:
    """Streams ``pieces`` (one per token), then a usage chunk; ``delay`` seconds a token."""

    def __init__(self, pieces=None, *, delay=0.0, error=None, forever=False):
        self.pieces = list(pieces if pieces is not None else [REPLY[:9], REPLY[9:30],
                                                            REPLY[30:]])
        self.delay, self.error, self.forever = delay, error, forever
        self.requests, self.stopped, self.threads = [], False, []

    def handle_chat_completions(self, req, callback):
        self.requests.append(req)
        self.threads.append(threading.current_thread().name)
        if self.error:
            callback({"error": self.error})
            return None
        i = 0
        while i < len(self.pieces) or self.forever:
            piece = self.pieces[i % len(self.pieces)]
            time.sleep(self.delay)
            if callback({"choices": [{"index": 0, "finish_reason": None,
                                      "delta": {"content": piece}}]}):
                self.stopped = True
                return None
            i += 1
        callback({"choices": [{"index": 0, "finish_reason": "stop", "delta": {}}]})
        callback({"choices": [], "usage": {"prompt_tokens": 120, "completion_tokens": 17,
                                           "prompt_tokens_details": {"cached_tokens": 100}}})
        return None


def test_request_is_the_small_model_mode():
    llm = LocalLLM("qwen2.5-coder-0.5b", server=FakeServer())
    req = llm.request(Prompt.join("RULES\n", "Placeholder: solve(task)"))
    assert req["messages"] == [{"role": "system", "content": "RULES\n"},
                               {"role": "user", "content": "Placeholder: solve(task)"}]
    assert req["grammar"] == GBNF and req["stop"] == ["</execute>"]
    assert req["temperature"] == 0.0 and req["stream"] is True
    llm.grammar = False
    assert "grammar" not in llm.request("p") and "stop" not in llm.request("p")


def test_respond_streams_counts_tokens_and_closes_execute():
    server = FakeServer()
    llm = LocalLLM("qwen2.5-coder-1.5b", server=server)
    seen = []
    reply = llm.respond("Placeholder: solve(task)", on_text=seen.append)
    assert reply.text == REPLY + "</execute>" and reply.stop_reason == "stop"
    assert seen[-1] == REPLY and all(REPLY.startswith(s) for s in seen)
    assert reply.usage == {"input_tokens": 20, "output_tokens": 17,
                           "cache_creation_input_tokens": 0, "cache_read_input_tokens": 100,
                           "source": "server", "constrained": 1}
    assert reply.model == "local:qwen2.5-coder-1.5b" and llm.calls == 1
    assert server.threads == ["recode-local-llm"]  # generation off the calling thread


def test_cost_shows_tokens_at_price_zero():
    reply = LocalLLM("qwen2.5-coder-1.5b", server=FakeServer()).respond("p")
    text = format_cost(cost_report(reply.usage, model=reply.model))
    assert "input tokens         120" in text and "output tokens        17" in text
    assert "cost                 $0.000000" in text


def test_server_error_is_one_llm_error():
    err = {"code": 400, "message": "request (5000 tokens) exceeds the available context "
                                   "size (4096 tokens), try increasing it"}
    llm = LocalLLM("qwen2.5-coder-0.5b", server=FakeServer(error=err))
    with pytest.raises(LLMError, match=r"local model qwen2.5-coder-0.5b refused the request: "
                                       r"request \(5000 tokens\) exceeds") as info:
        llm.respond("p")
    assert info.value.status == 400


def test_interrupt_stops_generation_at_the_next_token():
    server = FakeServer(["x"], delay=0.01, forever=True)
    llm = LocalLLM("qwen2.5-coder-0.5b", server=server)

    def interrupt(text):
        if len(text) > 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        llm.respond("p", on_text=interrupt)
    assert stops(server)


def stops(server, within=2.0):
    """The fake saw the callback ask it to stop (at its next token), within a few seconds."""
    end = time.monotonic() + within
    while not server.stopped and time.monotonic() < end:
        time.sleep(0.01)
    return server.stopped


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="SIGINT goes to the main thread")
def test_ctrl_c_ends_the_run_interrupted():
    """A real SIGINT while the model generates: the run ends 'interrupted', generation stops.

    A handler that raises as Python's own does, and the garbage of earlier tests collected
    first: in the full suite (1,250 tests in one process) the single SIGINT was lost twice
    (never raised in the run; the test hung until its timeout), never with any subset. A
    user whose Ctrl-C is lost presses it again: so does the test, every 0.5 s while the
    model still generates.
    """
    server = FakeServer(["x"], delay=0.01, forever=True)
    engine = ReCode(LocalLLM("qwen2.5-coder-0.5b", server=server))
    gc.collect()
    ended = threading.Event()

    def ctrl_c(signum, frame):  # Python's default handler, silent once the run returned
        if not ended.is_set():
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, ctrl_c)

    def press() -> None:  # again only while the model still generates
        time.sleep(0.3)
        while not ended.is_set() and not server.stopped:
            os.kill(os.getpid(), signal.SIGINT)
            ended.wait(0.5)

    presser = threading.Thread(target=press, daemon=True)
    presser.start()
    started = time.perf_counter()
    try:
        run = engine.run("add 2 and 3")
    finally:
        ended.set()
        presser.join()
        signal.signal(signal.SIGINT, previous)
    assert run.status == "interrupted" and stops(server)
    assert time.perf_counter() - started < 3


def test_a_real_run_on_the_fake_server():
    engine = ReCode(LocalLLM("qwen2.5-coder-0.5b", server=FakeServer()),
                    namespace={"add": lambda a, b: a + b})
    run = engine.run("add 2 and 3", output="answer")
    assert run.status == "done" and run.namespace["answer"] == 5
    assert run.usage["input_tokens"] == 20 and run.usage["cache_read_input_tokens"] == 100


def test_registry_and_factory(tmp_path):
    llm = base.backend_for("local:qwen2.5-coder-0.5b")
    assert isinstance(llm, LocalLLM) and llm.model == "local:qwen2.5-coder-0.5b"
    assert not llm.thread_safe and LocalLLM("qwen2.5-coder-0.5b", parallel=2).thread_safe
    (tmp_path / "mine.gguf").write_bytes(b"GGUF...")
    built = make_llm(f"local:{tmp_path}/mine.gguf", grammar=False, model_dir="/m")
    assert built.model == "local:mine.gguf" and built.grammar is False
    with pytest.raises(ModelFileError, match="no such model file"):  # before any run
        make_llm(f"local:{tmp_path}/other.gguf")
    assert make_llm("local:qwen2.5-coder-0.5b", model_dir="/m").model_dir == "/m"
    with pytest.raises(UnknownModelError, match="unknown local model: 'qwen-9b'"):
        make_llm("local:qwen-9b")


def test_import_recode_magic_stays_light():
    import subprocess
    import sys

    code = ("import sys, recode_magic, recode_magic.llms; "
            "print('xllamacpp' in sys.modules, 'tqdm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["False", "False"], out.stderr


# -- the default rule -----------------------------------------------------------------------
@pytest.fixture
def extra(monkeypatch):
    """Pretend the [local] extra is installed (or not): ``extra(True)``."""
    def set_(installed: bool) -> None:
        monkeypatch.setattr(default, "available", lambda: installed)
    return set_


def test_default_without_key_is_the_embedded_model(extra, tmp_path):
    extra(True)
    model, note = default.pick_default(None, model_dir=str(tmp_path), env={})
    assert model == "local:" + local.DEFAULT_LOCAL
    assert note.startswith("recode: no ANTHROPIC_API_KEY, so the embedded model local:")
    assert "fetched once" in note and str(tmp_path) in note and "\n" not in note
    assert "%env ANTHROPIC_API_KEY=... or --llm claude-sonnet-5-5" in note
    spec = local.spec_for(local.DEFAULT_LOCAL)
    (tmp_path / spec.filename).write_bytes(b"GGUF")
    assert "cached at" in default.pick_default(None, model_dir=str(tmp_path), env={})[1]
    small = {"RECODE_MAGIC_LOCAL_MODEL": "qwen2.5-coder-0.5b"}
    assert default.pick_default(None, env=small)[0] == "local:qwen2.5-coder-0.5b"


def test_default_with_key_or_configured_model_or_no_extra(extra):
    extra(True)
    assert default.pick_default(None, env={"ANTHROPIC_API_KEY": "k"}) == \
        ("claude-sonnet-5-5", None)
    assert default.pick_default("openai:qwen", env={}) == ("openai:qwen", None)
    extra(False)
    assert default.pick_default(None, env={}) == ("claude-sonnet-5-5", None)
    assert 'pip install "recode_magic[local]"' in default.missing_key_hint()
    extra(True)
    assert "--llm local:" in default.missing_key_hint()


@pytest.fixture
def shell(monkeypatch, tmp_path, extra):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    extra(True)
    sh = TerminalInteractiveShell.instance()  # the class start_ipython() makes (test_magic)
    sh.run_line_magic("load_ext", "recode_magic")
    sh.run_line_magic("config", "ReCodeMagics.widget = False")
    sh.run_line_magic("config", f"ReCodeMagics.model_dir = {str(tmp_path)!r}")
    servers = []

    def fake_local(model, *, base_url=None, **options):
        llm = LocalLLM(model, server=FakeServer(), **options)
        servers.append(llm)
        return llm

    monkeypatch.setitem(base._REGISTRY, "local:", (fake_local, True))
    sh.user_ns["add"] = lambda a, b: a + b
    yield sh, servers
    sh.run_line_magic("config", "ReCodeMagics.model_dir = ''")


def test_magic_plans_on_the_embedded_model_and_says_so_once(shell, capsys):
    sh, servers = shell
    sh.run_cell_magic("recode", "-o answer", "Add 2 and 3.")
    assert sh.user_ns["answer"] == 5 and sh.user_ns["_recode"].status == "done"
    out = capsys.readouterr().out  # a note, on stdout (no pink box in JupyterLab)
    assert out.count("so the embedded model local:") == 1 and servers[0].model_dir
    sh.run_cell_magic("recode", "-o answer", "Add 2 and 3 again.")
    assert "embedded model" not in capsys.readouterr().out  # once per session
    sh.run_cell_magic("recode", "--llm local:qwen2.5-coder-0.5b -o answer", "Add 2 and 3.")
    assert servers[-1].model == "local:qwen2.5-coder-0.5b"


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="SIGINT handlers are set in the main thread only")
def test_ctrl_c_while_the_model_loads_keeps_the_server_then_interrupts(monkeypatch, tmp_path):
    """A server dropped just after it started can hang llama.cpp's process for good: a
    Ctrl-C during the load is raised once the server is kept, and the next call reuses it."""
    import sys
    import types

    made: list[object] = []

    class Server:
        def __init__(self, params):
            os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C while it loads
            time.sleep(0.2)
            made.append(self)

    fake = types.SimpleNamespace(Server=Server, CommonParams=lambda: types.SimpleNamespace(
        model=types.SimpleNamespace(path=""), cpuparams=types.SimpleNamespace(),
        cpuparams_batch=types.SimpleNamespace()))
    monkeypatch.setitem(sys.modules, "xllamacpp", fake)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    # Python's own handler, as a kernel has it (earlier tests of the suite may leave another)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            local.load_server(gguf)
        assert local.load_server(gguf) is made[0] and len(made) == 1  # kept, not loaded again
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)
        local.unload(gguf)
