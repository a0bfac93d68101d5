"""Every parse of generated code goes through the AST lock (CPython 3.11 gh-106905)."""

from __future__ import annotations

import threading

from conftest import reply

from recode_magic import ReCode, ScriptedLLM
from recode_magic.pycode import astlock


class CountingLock:
    def __init__(self):
        self.inner, self.entered = threading.RLock(), 0

    def __enter__(self):
        self.inner.acquire()
        self.entered += 1

    def __exit__(self, *exc):
        self.inner.release()


def test_a_run_parses_and_compiles_only_under_the_lock(monkeypatch):
    lock = CountingLock()
    monkeypatch.setattr(astlock, "AST_LOCK", lock)
    llm = ScriptedLLM({"solve": reply("y = double(x=3)\nz = y + 1"),
                       "double": reply("y = x * 2")})
    run = ReCode(llm).run("t")
    assert run.status == "done" and run.namespace["z"] == 7
    # the two replies parsed, their statements and the keyword value compiled, the export
    assert lock.entered >= 5
    before = lock.entered
    run.export()
    assert lock.entered > before
