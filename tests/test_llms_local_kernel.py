"""A new user with no key, in a real kernel, on the real embedded model (Qwen2.5-Coder-0.5B).

The one real-model test of CI: ``.ci/setup`` installs ``recode_magic[local]`` and fetches the
0.5B weights into the user cache; without them the module is skipped (say so with ``-ra``).
The kernel has no ``ANTHROPIC_API_KEY`` and no configuration, only
``RECODE_MAGIC_LOCAL_MODEL=qwen2.5-coder-0.5b`` (the small default, as on Binder): a
``%%recode -o answer`` cell calling a user function gets its answer from the model.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kernel_helper import Kernel, one_line, usage_error

from recode_magic.llms import local, weights

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

MODEL = "qwen2.5-coder-0.5b"
_CACHED = (weights.cache_dir() / weights.MODELS[MODEL].filename).exists()
if not (local.available() and _CACHED):
    pytest.skip(f"needs recode_magic[local] and the {MODEL} weights in the cache "
                f"(bash .ci/setup fetches them)", allow_module_level=True)

SETUP = '''
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
def code_of(name):
    """The code of a person (ada, alan or grace)."""
    calls.append(name)
    return {"ada": 1815, "alan": 1912, "grace": 1906}[name]
calls = []
'''


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    with pytest.MonkeyPatch.context() as mp:  # the kernel inherits this environment
        mp.delenv("ANTHROPIC_API_KEY", raising=False)
        mp.setenv("RECODE_MAGIC_LOCAL_MODEL", MODEL)
        k = Kernel(cwd=str(tmp_path_factory.mktemp("kernel")))
    assert k.execute(SETUP).status == "ok"
    yield k
    k.stop()


@pytest.mark.timeout(900)
def test_no_key_no_config_plans_on_the_embedded_model(kernel):
    res = kernel.execute("%%recode -o answer\nWhat is the code of ada? Use code_of.", timeout=800)
    assert res.error is None, res.error
    assert kernel.value("_recode.status") == "done", res.stderr
    assert kernel.value("answer") == 1815 and kernel.value("calls") == ["ada"]
    note = [ln for ln in res.stdout.splitlines() if "embedded model" in ln]  # a note: stdout
    assert not [ln for ln in res.lines if "embedded model" in ln], res.stderr
    assert len(note) == 1 and f"local:{MODEL}" in note[0] and "ANTHROPIC_API_KEY" in note[0]
    assert kernel.value("_recode.meta['model']") == f"local:{MODEL}"
    assert kernel.value("_recode.usage['input_tokens'] + "
                        "_recode.usage['cache_read_input_tokens']") > 100
    cost = kernel.execute("%recode cost").stdout
    assert "cost                 $0.000000" in cost and "output tokens" in cost


def test_bad_model_name_and_missing_file_are_one_line(kernel):
    line = usage_error(kernel.execute("%%recode --llm local:qwen-9b\nAny task."))
    assert "unknown local model: 'qwen-9b'" in line and MODEL in line
    line = usage_error(kernel.execute("%%recode --llm local:/no/such/model.gguf\nAny task."))
    assert "no such model file: '/no/such/model.gguf'" in line


@pytest.mark.timeout(900)
def test_ctrl_c_while_the_model_writes_ends_the_run_interrupted(kernel):
    started = time.monotonic()
    res = kernel.execute("%%recode --no-widget -o story\nWrite a long story about a cat, "
                         "one sentence per line, as a list of strings.",
                         timeout=800, interrupt_after=4)
    assert time.monotonic() - started < 60
    assert kernel.value("_recode.status") == "interrupted"
    assert one_line(res).startswith("recode: run interrupted"), res.stderr
