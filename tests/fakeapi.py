"""A fake Anthropic Messages API and OpenAI chat-completions API on 127.0.0.1 for tests."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union

__all__ = ["FakeAPI", "serve", "closed_port_url", "count_tokens", "ANTHROPIC_ERRORS", "TEST_KEY"]

TEST_KEY = "sk-ant-test-000"
Reply = Union[str, list, Callable[[dict], str]]  # noqa: UP007 (a runtime alias)
ANTHROPIC_ERRORS = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 529: "overloaded_error",
}
_PLACEHOLDER = re.compile(r"^Placeholder: (?:.*?=\s*)?([A-Za-z_]\w*)\s*\(", re.M)


def count_tokens(text: str) -> int:
    """Rough token count (about 4 characters a token, like English text with Claude)."""
    return (len(text) + 3) // 4


def _placeholder(text: str) -> str | None:
    found = _PLACEHOLDER.findall(text)
    return found[-1] if found else None


class FakeAPI:
    """Both APIs on one loopback port, scripted by the test.

    ``replies`` maps a placeholder name (read from the last ``Placeholder: ...`` line of the
    request text) to a reply string, a list of successive replies, or a callable taking the
    request body; ``"*"`` is the fallback. ``errors`` is a queue of HTTP statuses returned
    (one per request) before normal service resumes; ``"overloaded-midstream"`` sends a
    stream that fails with an ``error`` event after the first delta. Every request is kept
    in ``requests`` as ``{"method", "path", "headers", "body"}``.

    Chat completions behave like the server chosen by ``flavor``: ``"openai"`` (usage in the
    stream when asked, unknown body fields refused with 400 like OpenAI's
    ``Unrecognized request argument``), ``"llamacpp"`` (llama-cpp-python: no usage in the
    stream, a ``grammar`` field, ``POST /extras/tokenize/count``) or ``"llama-server"``
    (llama.cpp's own server: ``POST /tokenize``). ``stop`` sequences cut the reply as real
    servers do (the stop text is not returned). ``tokenize`` counts the tokenizer calls.
    """

    def __init__(self, replies: dict[str, Reply] | None = None, *, api_key: str = TEST_KEY,
                 min_cache_tokens: int = 1024, chunk: int | None = None,
                 retry_after_ms: int = 10, flavor: str = "openai"):
        self.replies: dict[str, Reply] = dict(replies or {})
        self.api_key = api_key
        self.min_cache_tokens = min_cache_tokens
        # llama.cpp servers stream one token a chunk (here: 4 characters, as count_tokens)
        self.chunk = chunk or (12 if flavor == "openai" else 4)
        self.retry_after_ms = retry_after_ms
        self.errors: list[int | str] = []
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []
        self.flavor = flavor
        self.stream_usage = flavor != "llamacpp"  # llama-cpp-python ignores stream_options
        self.tokenize = 0
        self.interrupts = 0
        self._cache: set[str] = set()
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (the OpenAI base URL adds ``/v1``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAPI:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- scripting --------------------------------------------------------------------------
    def reply_for(self, text: str, body: dict[str, Any]) -> str:
        name = _placeholder(text)
        with self._lock:
            script = self.replies.get(name or "", self.replies.get("*"))
            if script is None:
                return f"<think>no scripted reply</think><execute>pass  # {name}</execute>"
            if callable(script):
                return str(script(body))
            if isinstance(script, str):
                return script
            i = self._used.get(name or "*", 0)
            self._used[name or "*"] = i + 1
            return str(script[min(i, len(script) - 1)])

    def take_interrupt(self) -> bool:
        """Cut this stream short (``interrupts`` streams to go, like a busy shared server)."""
        with self._lock:
            if self.interrupts > 0:
                self.interrupts -= 1
                return True
            return False

    def next_error(self) -> int | str | None:
        with self._lock:
            return self.errors.pop(0) if self.errors else None

    def cache_lookup(self, model: str, prefix: str) -> tuple[int, int]:
        """Prompt-cache bookkeeping: ``(cache_creation, cache_read)`` tokens for a prefix."""
        tokens = count_tokens(prefix)
        if not prefix or tokens < self.min_cache_tokens:
            return 0, 0
        key = hashlib.sha256(f"{model}\n{prefix}".encode()).hexdigest()
        with self._lock:
            if key in self._cache:
                return 0, tokens
            self._cache.add(key)
        return tokens, 0

    def model_requests(self) -> list[dict[str, Any]]:
        """The recorded requests that asked for a completion (either API)."""
        return [r for r in self.requests if r["method"] == "POST"
                and r["path"].startswith(("/v1/messages", "/v1/chat/completions"))]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    @property
    def fake(self) -> FakeAPI:
        return self.server.fake  # type: ignore[attr-defined]

    # -- plumbing ---------------------------------------------------------------------------
    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
              ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_{uuid.uuid4().hex[:20]}")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, event: str | None, payload: Any) -> None:
        head = f"event: {event}\n" if event else ""
        body = payload if isinstance(payload, str) else json.dumps(payload)
        self._chunk(f"{head}data: {body}\n\n".encode())

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        self.fake.requests.append({"method": "GET", "path": self.path,
                                   "headers": {k.lower(): v for k, v in self.headers.items()},
                                   "body": None})
        self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                    "message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.fake.requests.append({"method": "POST", "path": self.path, "headers": headers,
                                   "body": body})
        if self.fake.delay:
            self.fake._stop.wait(self.fake.delay)
        if self.path.startswith("/v1/messages"):
            self._anthropic(body, headers)
        elif self.path.startswith("/v1/chat/completions"):
            self._openai(body, headers)
        elif self.path in _TOKENIZE.get(self.fake.flavor, {}):
            self._tokenize(body)
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    # -- Anthropic Messages API -------------------------------------------------------------
    def _anthropic_error(self, status: int, message: str) -> None:
        kind = ANTHROPIC_ERRORS.get(status, "api_error")
        extra = {"retry-after-ms": str(self.fake.retry_after_ms)} if status in (429, 500, 529) \
            else {}
        self._json(status, {"type": "error", "error": {"type": kind, "message": message},
                            "request_id": f"req_{uuid.uuid4().hex[:20]}"}, extra)

    def _anthropic(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        # SDKs up to 0.x send x-api-key, newer ones "authorization: Bearer"; the API takes both
        sent = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if sent != self.fake.api_key:
            return self._anthropic_error(401, "invalid x-api-key")
        error = self.fake.next_error()
        if isinstance(error, int):
            return self._anthropic_error(error, f"scripted error {error}")
        model = body.get("model", "")
        system = body.get("system") or []
        if isinstance(system, str):
            system = [{"type": "text", "text": system}]
        # The cacheable prefix is every system block up to the last one with cache_control.
        cut = max((i + 1 for i, b in enumerate(system) if b.get("cache_control")), default=0)
        prefix = "".join(b["text"] for b in system[:cut])
        rest = "".join(b["text"] for b in system[cut:])
        user_text = ""
        for m in body.get("messages", []):
            content = m.get("content")
            if isinstance(content, str):
                user_text += content
            else:
                user_text += "".join(c.get("text", "") for c in content or [])
        write, read = self.fake.cache_lookup(model, prefix)
        uncached = count_tokens(rest + user_text) + (0 if write or read else count_tokens(prefix))
        reply = self.fake.reply_for(prefix + rest + user_text, body)
        usage = {"input_tokens": uncached, "output_tokens": count_tokens(reply),
                 "cache_creation_input_tokens": write, "cache_read_input_tokens": read}
        msg_id = f"msg_{uuid.uuid4().hex[:24]}"
        if not body.get("stream"):
            return self._json(200, {
                "id": msg_id, "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": reply}], "stop_reason": "end_turn",
                "stop_sequence": None, "usage": usage})
        self._start_stream()
        self._event("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {**usage, "output_tokens": 1}}})
        self._event("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "text", "text": ""}})
        self._event("ping", {"type": "ping"})
        step = self.fake.chunk
        for i in range(0, len(reply), step):
            self._event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta",
                                                          "text": reply[i:i + step]}})
            if error == "overloaded-midstream":
                self._event("error", {"type": "error", "error": {
                    "type": "overloaded_error", "message": "Overloaded"}})
                return self._end_stream()
        self._event("content_block_stop", {"type": "content_block_stop", "index": 0})
        self._event("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                      "usage": {"output_tokens": usage["output_tokens"]}})
        self._event("message_stop", {"type": "message_stop"})
        self._end_stream()

    # -- OpenAI chat completions ------------------------------------------------------------
    def _tokenize(self, body: dict[str, Any]) -> None:
        self.fake.tokenize += 1
        text = body.get("input") or body.get("content") or body.get("prompt") or ""
        n = count_tokens(text)
        if self.path == "/extras/tokenize/count":
            return self._json(200, {"count": n})
        return self._json(200, {"tokens": list(range(n))})

    def _openai(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        if headers.get("authorization") != f"Bearer {self.fake.api_key}":
            return self._json(401, {"error": {"message": "Incorrect API key provided",
                                              "type": "invalid_request_error", "param": None,
                                              "code": "invalid_api_key"}})
        error = self.fake.next_error()
        if isinstance(error, int):
            return self._json(error, {"error": {"message": f"scripted error {error}",
                                                "type": "server_error", "param": None,
                                                "code": None}},
                              {"retry-after-ms": str(self.fake.retry_after_ms)})
        unknown = sorted(set(body) - _OPENAI_FIELDS) if self.fake.flavor == "openai" else []
        if unknown:
            return self._json(400, {"error": {
                "message": f"Unrecognized request argument supplied: {unknown[0]}",
                "type": "invalid_request_error", "param": None, "code": None}})
        model = body.get("model", "")
        messages = body.get("messages", [])
        system = "".join(m["content"] for m in messages if m.get("role") == "system")
        user = "".join(m["content"] for m in messages if m.get("role") != "system")
        _, read = self.fake.cache_lookup(model, system)  # automatic prefix caching
        prompt_tokens = count_tokens(system) + count_tokens(user)
        reply = self.fake.reply_for(system + user, body)
        finish = "stop"
        stops = body.get("stop") or []
        for stop in [stops] if isinstance(stops, str) else stops:
            if stop in reply:
                reply = reply[:reply.index(stop)]
        if body.get("max_tokens") and count_tokens(reply) > body["max_tokens"]:
            reply, finish = reply[:4 * body["max_tokens"]], "length"
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": count_tokens(reply),
                 "total_tokens": prompt_tokens + count_tokens(reply),
                 "prompt_tokens_details": {"cached_tokens": read}}
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:20]}", int(time.time())
        if not body.get("stream"):
            return self._json(200, {
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "finish_reason": finish,
                             "message": {"role": "assistant", "content": reply}}],
                "usage": usage})

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": cid, "object": "chat.completion.chunk", "created": created,
                    "model": model, "choices": [{"index": 0, "delta": delta,
                                                 "finish_reason": finish}]}

        self._start_stream()
        self._event(None, chunk({"role": "assistant", "content": ""}))
        step = self.fake.chunk
        for i in range(0, len(reply), step):
            self._event(None, chunk({"content": reply[i:i + step]}))
            if self.fake.take_interrupt():  # llama-cpp-python: another request arrived
                self._event(None, "[DONE]")
                return self._end_stream()
        self._event(None, chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage") and self.fake.stream_usage:
            self._event(None, {"id": cid, "object": "chat.completion.chunk", "created": created,
                               "model": model, "choices": [], "usage": usage})
        self._event(None, "[DONE]")
        self._end_stream()


_OPENAI_FIELDS = {"model", "messages", "stream", "stream_options", "max_tokens", "temperature",
                  "stop", "response_format", "top_p", "seed", "max_completion_tokens"}
_TOKENIZE = {"llamacpp": {"/extras/tokenize/count"}, "llama-server": {"/tokenize"}}


@contextlib.contextmanager
def serve(replies: dict[str, Reply] | None = None, **options: Any) -> Iterator[FakeAPI]:
    """Run a :class:`FakeAPI` for the duration of a ``with`` block (used by the fixtures)."""
    api = FakeAPI(replies, **options).start()
    try:
        yield api
    finally:
        api.stop()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
