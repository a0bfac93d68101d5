"""Shared test fixtures: model replies, a real kernel, the loopback fake API.

- :func:`reply` (also a fixture of the same name): a model reply in ReCode's format.
- ``kernel``: one real IPython kernel per test module (``jupyter_client``), started in a
  temporary directory; the module's ``KERNEL_SETUP`` string (if any) runs in it first.
- ``api``: the loopback fake model server of ``tests/fakeapi.py`` (Anthropic and
  OpenAI-compatible routes), answering ``solve`` with ``a = 1``; set ``api.replies`` or
  use :func:`fakeapi.serve` directly for other replies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported when a fixture needs them: unit tests skip jupyter_client
    from fakeapi import FakeAPI
    from kernel_helper import Kernel

__all__ = ["reply", "start_kernel"]


def reply(code: str, thought: str = "t") -> str:
    """A model reply: ``<think>thought</think><execute>code</execute>``.

    >>> reply("a = 1")
    '<think>t</think><execute>a = 1</execute>'
    """
    return f"<think>{thought}</think><execute>{code}</execute>"


@pytest.fixture(name="reply")
def reply_fixture() -> Callable[..., str]:
    """:func:`reply`, for tests that prefer a fixture to an import."""
    return reply


def start_kernel(tmp_path_factory: pytest.TempPathFactory, setup: str = "") -> Kernel:
    """A real kernel in a fresh temporary directory, with ``setup`` run in it."""
    from kernel_helper import Kernel

    k = Kernel(cwd=str(tmp_path_factory.mktemp("kernel")))
    if setup:
        res = k.execute(setup)
        if res.status != "ok":
            k.stop()
            raise RuntimeError(f"kernel set-up failed: {res.error}")
    return k


@pytest.fixture(scope="module")
def kernel(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    """One real kernel for the test module, set up with the module's ``KERNEL_SETUP`` if any."""
    k = start_kernel(tmp_path_factory, getattr(request.module, "KERNEL_SETUP", ""))
    yield k
    k.stop()


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    """The loopback fake model API, answering ``solve`` with ``a = 1``."""
    from fakeapi import serve

    with serve({"solve": "<execute>a = 1</execute>"}) as fake:
        yield fake


class Priced:
    """A backend that reports usage and has a price (claude-haiku-4-5: $1 / $5 per M tokens).

    ``usage`` per call: 2,000 input and 500 output tokens unless given.
    """

    model = "claude-haiku-4-5"
    max_tokens = 1000

    def __init__(self, replies, usage=None):
        from recode_magic import ScriptedLLM

        self.scripted = ScriptedLLM(replies)
        self.usage = usage or {"input_tokens": 2000, "output_tokens": 500}

    def respond(self, prompt, *, on_text=None, depth=None):
        from recode_magic.llms.base import Reply

        return Reply(self.scripted(prompt), {**self.usage, "source": "server"}, self.model)

    def __call__(self, prompt):
        return self.respond(prompt).text

