"""Token counts for servers whose stream reports no usage: the server's own tokenizer endpoint.

llama-cpp-python's server ignores ``stream_options`` and sends no usage; it offers
``POST /extras/tokenize/count`` (``{"input"}`` -> ``{"count"}``). llama.cpp's ``llama-server``
offers ``POST /tokenize`` (``{"content"}`` -> ``{"tokens"}``) and vLLM ``POST /tokenize``
(``{"prompt"}`` -> ``{"count", "tokens"}``). :class:`ServerTokenizer` finds the one the
server has on first use and remembers it; with none it answers ``None`` and the caller
estimates. Counts cover the message texts, not the chat template's few tokens per message.

llama-cpp-python serves one request at a time, tokenizer requests included: on a server
busy with other clients a count can wait minutes. A request that times out makes the
tokenizer rest for :attr:`ServerTokenizer.BACKOFF` seconds (those calls are estimated).
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

__all__ = ["ServerTokenizer", "ROUTES"]

# (path relative to the server root, body builder)
ROUTES: tuple[tuple[str, str], ...] = (
    ("/extras/tokenize/count", "input"),   # llama-cpp-python
    ("/tokenize", "content"),              # llama.cpp llama-server, vLLM (reads "prompt")
)


class ServerTokenizer:
    """Count tokens with a server's tokenizer endpoint.

    Parameters
    ----------
    base_url : str
        The OpenAI-compatible root (``.../v1``); the tokenizer routes live beside it.
    model : str
        Sent with the request (servers with several models pick the tokenizer by it).
    api_key : str, optional
        Sent as ``Authorization: Bearer``.
    timeout : float
        Seconds per request.
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *,
                 timeout: float = 30.0):
        root = base_url.rstrip("/")
        self.root = root[: -len("/v1")] if root.endswith("/v1") else root
        self.model = model
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.route: str | None = None  # the working path, once found
        self.available: bool | None = None  # None: not tried yet
        self._cache: dict[str, int] = {}
        self._lock = threading.Lock()
        self._rest_until = 0.0  # after a timeout: the server is busy, do not wait on it

    #: Seconds without tokenizer requests after one timed out (each would add ``timeout``).
    BACKOFF = 120.0

    def count(self, text: str, *, cache: bool = False) -> int | None:
        """Tokens in ``text``, or ``None`` when the server has no tokenizer route.

        ``cache`` keeps the count by the text's hash (for the fixed prompt part, the same
        in every call of a run).
        """
        if not text:
            return 0
        key = hashlib.sha256(text.encode()).hexdigest() if cache else ""
        if key and key in self._cache:
            return self._cache[key]
        if self.available is False or time.monotonic() < self._rest_until:
            return None
        n = self._ask(text)
        if n is not None and key:
            self._cache[key] = n
        return n

    def _ask(self, text: str) -> int | None:
        import httpx

        routes = [r for r in ROUTES if r[0] == self.route] if self.route else list(ROUTES)
        for path, field in routes:
            body: dict[str, Any] = {field: text, "model": self.model}
            if field == "content":
                body["prompt"] = text  # vLLM's name for it
            try:
                resp = httpx.post(self.root + path, json=body, headers=self._headers,
                                  timeout=self.timeout)
            except httpx.TimeoutException:  # busy server: estimate for a while
                self._rest_until = time.monotonic() + self.BACKOFF
                return None
            except httpx.HTTPError:
                break
            if resp.status_code != 200:
                continue
            n = _parse(resp)
            if n is not None:
                with self._lock:
                    self.route, self.available = path, True
                return n
        with self._lock:
            if self.route is None:
                self.available = False
        return None


def _parse(resp: Any) -> int | None:
    try:
        data = resp.json()
    except ValueError:
        return None
    if isinstance(data, dict):
        if isinstance(data.get("count"), int):
            return int(data["count"])
        if isinstance(data.get("tokens"), list):
            return len(data["tokens"])
    return None
