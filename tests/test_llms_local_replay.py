"""A real embedded-model run, replayed: the new user's first cell, recorded from llama.cpp.

``tests/cassettes/local_code_of_<model>.json`` were recorded by this module's ``record``
(``python tests/test_llms_local_replay.py MODEL``) from the real model through
``LocalLLM`` (xllamacpp in-process, temperature 0, package defaults); each file's ``note``
says which model, quantisation, machine and date. Replayed with ``--replay-only``: no model,
no xllamacpp needed, so this runs everywhere, where the live smoke test
(``test_llms_local_kernel.py``) needs the weights.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from IPython.terminal.interactiveshell import TerminalInteractiveShell

HERE = Path(__file__).resolve().parent
CASSETTES = HERE / "cassettes"
TASK = "What is the code of ada? Use code_of."
NOTE = ("Recorded from a real model, not written by hand: {title} GGUF (sha256 {sha}…), "
        "llama.cpp in-process through xllamacpp {version} (LocalLLM, temperature 0, package "
        "defaults), {machine}, {date}; task {task!r} with the user function code_of(name).")


CALLS: list[str] = []


def code_of(name):
    """The code of a person (ada, alan or grace)."""
    CALLS.append(name)
    return {"ada": 1815, "alan": 1912, "grace": 1906}[name]


def cassettes() -> list[Path]:
    return sorted(CASSETTES.glob("local_code_of_*.json"))


@pytest.mark.parametrize("path", cassettes(), ids=lambda p: p.stem)
def test_replayed_local_run_gives_the_answer(path, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    data = json.loads(path.read_text())
    assert data["note"].startswith("Recorded from a real model") and "Qwen2.5-Coder" in data["note"]
    model = {e["model"] for e in data["entries"]}
    assert len(model) == 1 and model.pop().startswith("local:qwen2.5-coder-")
    sh = TerminalInteractiveShell.instance()  # the class start_ipython() makes (test_magic)
    sh.run_line_magic("load_ext", "recode_magic")
    sh.run_line_magic("config", "ReCodeMagics.widget = False")
    sh.run_line_magic("config", "ReCodeMagics.save_dir = ''")
    code_of.__module__ = "__main__"
    sh.user_ns["code_of"] = code_of
    CALLS.clear()
    sh.run_cell_magic("recode", f"--cassette {path} --replay-only -o answer", TASK)
    run = sh.user_ns["_recode"]
    assert run.status == "done" and sh.user_ns["answer"] == 1815, run.error
    assert CALLS == ["ada"]  # the answer came from the user's function
    assert run.usage.get("replayed") == len(data["entries"])
    assert "embedded model" not in capsys.readouterr().err  # a replay is not the default model
    sh.run_line_magic("recode", "cost")
    assert "$0.000000 when recorded" in capsys.readouterr().out


def record(name: str) -> Path:
    """Record the new user's cell on the real ``local:<name>`` model (needs the weights)."""
    import datetime as dt
    import platform

    import xllamacpp

    from recode_magic import ReCode
    from recode_magic.llms.cassette import CassetteLLM
    from recode_magic.llms.local import LocalLLM
    from recode_magic.llms.weights import spec_for

    spec = spec_for(name)
    path = CASSETTES / f"local_code_of_{name}.json"
    path.unlink(missing_ok=True)
    llm = CassetteLLM(LocalLLM(name), path, mode="record")
    code_of.__module__ = "__main__"
    CALLS.clear()
    run = ReCode(llm, namespace={"code_of": code_of}).run(TASK, output="answer")
    if run.status != "done" or run.namespace.get("answer") != 1815 or CALLS != ["ada"]:
        path.unlink(missing_ok=True)
        raise SystemExit(f"{name}: {run.status} {run.namespace.get('answer')!r} {run.error}")
    data = json.loads(path.read_text())
    note = NOTE.format(title=spec.title, sha=spec.sha256[:12], version=xllamacpp.__version__,
                       machine=f"{platform.machine()}, 2 shared CPU cores",
                       date=dt.date.today().isoformat(), task=TASK)
    path.write_text(json.dumps({"version": data.pop("version"), "note": note, **data},
                               indent=1) + "\n")
    return path


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(record(arg))
