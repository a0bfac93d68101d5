"""``%config ReCodeMagics`` settings as a notebook user sets them, in a real kernel.

``max_tokens`` reaches the model server the magic builds; a bad value is one line and the
setting keeps its value.
"""

from __future__ import annotations

import pytest
from fakeapi import TEST_KEY
from kernel_helper import usage_error

pytestmark = pytest.mark.kernel

KERNEL_SETUP = rf'''
import os
os.environ["OPENAI_API_KEY"] = "{TEST_KEY}"  # the fake server's key
%load_ext recode_magic
%config ReCodeMagics.widget = False
%config ReCodeMagics.save_dir = ""
from recode_magic import ScriptedLLM
sl = ScriptedLLM({{"solve": "<execute>a = 1</execute>"}})
'''


def asked_max_tokens(kernel, api, line: str = "--llm openai:fake") -> list:
    """Run one cell against the fake OpenAI-compatible server; the max_tokens it was sent."""
    api.requests.clear()
    kernel.execute(f"%config ReCodeMagics.base_url = {api.url + '/v1'!r}")
    try:
        res = kernel.execute(f"%%recode {line}\nSet a to 1.", timeout=120)
    finally:
        kernel.execute('%config ReCodeMagics.base_url = ""')
    assert kernel.value("str(_recode.status)") == "done", res.stderr
    return [r["body"].get("max_tokens") for r in api.model_requests()]


def test_max_tokens_reaches_the_server_and_none_gives_the_backend_default(kernel, api):
    res = kernel.execute("%config ReCodeMagics.max_tokens = 64")
    assert res.status == "ok" and not res.stderr, res.stderr
    assert set(asked_max_tokens(kernel, api)) == {64}
    kernel.execute("%config ReCodeMagics.max_tokens = None")
    assert set(asked_max_tokens(kernel, api)) == {4096}  # OpenAICompatLLM's own default


def test_max_tokens_reaches_every_route(kernel, api):
    kernel.execute("%config ReCodeMagics.max_tokens = 96")
    try:
        sent = asked_max_tokens(kernel, api, '--llm "openai:fake, 1:openai:other"')
    finally:
        kernel.execute("%config ReCodeMagics.max_tokens = None")
    assert set(sent) == {96}


@pytest.mark.parametrize("value, says", [
    ("0", "ReCodeMagics.max_tokens must be >= 1, not 0; it stays 128"),
    ("'many'", "ReCodeMagics.max_tokens expects an int, not the str 'many'; it stays 128"),
])
def test_a_bad_max_tokens_is_one_line_and_the_setting_stays(kernel, value, says):
    kernel.execute("%config ReCodeMagics.max_tokens = 128")
    res = kernel.execute(f"%config ReCodeMagics.max_tokens = {value}")
    assert res.status == "ok" and res.error is None
    assert res.stderr.strip() == says
    assert kernel.value("get_ipython().magics_manager.registry['ReCodeMagics'].max_tokens") \
        == 128
    kernel.execute("%config ReCodeMagics.max_tokens = None")


def test_max_tokens_as_a_flag_points_to_the_setting(kernel):
    res = kernel.execute("%%recode --max-tokens 100\nSet a.")
    assert usage_error(res).endswith(
        "(max_tokens is a setting: %config ReCodeMagics.max_tokens = ...)")


@pytest.mark.parametrize("name, value, says", [
    ("max_depth", "-3", "ReCodeMagics.max_depth must be >= 0, not -3; it stays 10"),
    ("max_calls", "0", "ReCodeMagics.max_calls must be >= 1, not 0; it stays 300"),
    ("max_retry", "-1", "ReCodeMagics.max_retry must be >= 0, not -1; it stays 2"),
    ("timeout", "-5", "ReCodeMagics.timeout must be >= 0.0, not -5.0; it stays 60.0"),
    ("repr_limit", "0", "ReCodeMagics.repr_limit must be >= 1, not 0; it stays 200"),
    ("temperature", "-1", "ReCodeMagics.temperature must be >= 0.0, not -1.0; it stays None"),
    ("models", "{'a': 'b'}",
     "ReCodeMagics.models: keys must be depths (an int), not 'a'; it stays {}"),
])
def test_a_value_out_of_range_is_refused_by_config_in_one_line(kernel, name, value, says):
    """Was accepted silently, then every run failed on it (naming --max-depth, a flag the
    user never gave) until they found the setting again."""
    res = kernel.execute(f"%config ReCodeMagics.{name} = {value}")
    assert res.status == "ok" and res.error is None
    assert res.stderr.strip() == says
    res = kernel.execute('%%recode --llm sl -o a\nSet a to 1.')
    assert res.status == "ok" and not res.stderr, res.stderr
    assert kernel.value("a") == 1


def test_a_bad_value_in_ipython_config_is_one_line_and_the_extension_loads(tmp_path,
                                                                          monkeypatch):
    """Was a TraitError traceback from %load_ext, and no %%recode at all."""
    from conftest import start_kernel

    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_config.py").write_text(
        "c.ReCodeMagics.max_depth = -3\nc.ReCodeMagics.max_tokens = 200\n"
        "c.ReCodeMagics.timeout = 'slow'\nc.ReCodeMagics.widget = False\n")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))

    class Factory:
        def mktemp(self, name):
            (tmp_path / name).mkdir()
            return tmp_path / name

    k = start_kernel(Factory())
    try:
        res = k.execute("%load_ext recode_magic")
        assert res.status == "ok" and res.error is None, res.error
        assert "Traceback" not in res.stderr
        assert res.lines == ["ReCodeMagics.max_depth must be >= 0, not -3; it stays 10",
                             "ReCodeMagics.timeout expects a float, not the str 'slow'; "
                             "it stays 60.0"]
        got = "[getattr(get_ipython().magics_manager.registry['ReCodeMagics'], n) for n in " \
              "('max_depth', 'max_tokens', 'timeout', 'widget')]"
        assert k.value(got) == [10, 200, 60.0, False]  # the good values are loaded
        res = k.execute("%config ReCodeMagics.max_calls = 5")  # later %config: only its own
        assert res.status == "ok" and not res.stderr, res.stderr
        k.execute('from recode_magic import ScriptedLLM\n'
                  'sl = ScriptedLLM({"solve": "<execute>a = 1</execute>"})')
        res = k.execute("%%recode --llm sl -o a\nSet a.")
        assert k.value("str(_recode.status)") == "done", res.stderr
    finally:
        k.stop()


def test_max_tokens_reaches_the_server_from_a_batch_too(kernel, api):
    """%recode batch builds each task's model on its worker: the settings go with it."""
    kernel.execute(f"%config ReCodeMagics.base_url = {api.url + '/v1'!r}\n"
                   "%config ReCodeMagics.max_tokens = 80\n"
                   "%config ReCodeMagics.temperature = 0.0\n"
                   "jobs = ['Set a to 1.', 'Set a to 1 again.']\n"
                   "def fresh(task):\n    return {}\n")
    api.requests.clear()
    try:
        res = kernel.execute("%recode batch jobs --setup fresh --llm openai:fake --workers 1 "
                             "--cassette none --no-progress", timeout=120)
    finally:
        kernel.execute('%config ReCodeMagics.base_url = ""\n'
                       "%config ReCodeMagics.max_tokens = None\n"
                       "%config ReCodeMagics.temperature = None")
    assert res.status == "ok", res.stderr
    bodies = [r["body"] for r in api.model_requests()]
    assert bodies and {b.get("max_tokens") for b in bodies} == {80}, bodies
    assert {b.get("temperature") for b in bodies} == {0.0}


def test_none_for_a_text_setting_says_that_an_empty_string_unsets_it(kernel):
    kernel.execute("%config ReCodeMagics.model = 'claude-haiku-4-5'")
    res = kernel.execute("%config ReCodeMagics.model = None")
    assert res.stderr.strip() == ("ReCodeMagics.model expects a unicode string, not the "
                                  "NoneType None; it stays 'claude-haiku-4-5' ('' unsets it)")
    kernel.execute("%config ReCodeMagics.model = ''")
    m = "get_ipython().magics_manager.registry['ReCodeMagics']"
    # unset: a run with no --llm picks Claude or the embedded model again (pick_default)
    assert kernel.value(f"__import__('recode_magic.notebook.checks').notebook.checks"
                        f".configured_model({m})") == ""


@pytest.mark.parametrize("value, says", [
    ("{'samples': 'x'}", "ReCodeMagics.levers: samples must be an int >= 1, got 'x'; "
                         "it stays {'samples': 2}"),
    ("{'sample': 4}", "ReCodeMagics.levers: unknown setting 'sample' (planning levers: "
                      "decompose, examples, ground, loop_guards, previews, samples, task_limit, "
                      "world_answers); it stays {'samples': 2}"),
])
def test_a_bad_lever_is_refused_when_set(kernel, value, says):
    """Was taken, then every %%recode cell failed on it without naming `levers`."""
    kernel.execute("%config ReCodeMagics.levers = {'samples': 2}")
    try:
        res = kernel.execute(f"%config ReCodeMagics.levers = {value}")
        assert res.status == "ok" and res.stderr.strip() == says, res.stderr
        m = "get_ipython().magics_manager.registry['ReCodeMagics']"
        assert kernel.value(f"{m}.levers") == {"samples": 2}
    finally:
        kernel.execute("%config ReCodeMagics.levers = {}")
