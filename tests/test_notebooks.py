"""The shipped notebooks as files: executed, clean, honest about their cassettes.

nbval (``pytest --nbval notebooks/``) re-runs them and compares outputs; the browser test runs
them in JupyterLab. These checks are about what is *saved*: what GitHub, nbviewer and a
Binder visitor see before running anything, and the cassettes' provenance.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["quickstart", "teaching_granularity", "batch", "text_world_agent", "local_model",
         "planning_levers"]
REAL = re.compile(r"recorded from a real model", re.I)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SECRET = re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9]{20,}")


def _load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _recode_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%recode")]


def _record_module():
    spec = importlib.util.spec_from_file_location("record_cassettes",
                                                  NOTEBOOKS / "record_cassettes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_saved_executed_and_clean(name):
    nb = _load(name)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb.metadata, "widget state saved in the notebook metadata"
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), f"not executed in order: {counts}"
    for cell in code:
        for out in cell.outputs:
            assert out.output_type != "error", f"error output in {cell.source[:40]!r}"
            assert WIDGET_VIEW not in out.get("data", {}), (
                "a saved widget view would show 'Error displaying widget: model not found' "
                "when the file is opened (run notebooks/record_cassettes.py --execute-only)")
    text = json.dumps(nb)
    assert not SECRET.search(text), "something like an API key in the notebook"
    # every %%recode cell left a static tree GitHub can show (text/html + text/plain)
    for cell in _recode_cells(nb):
        if "--no-widget" in cell.source.split("\n", 1)[0]:
            continue
        kinds = {k for out in cell.outputs for k in out.get("data", {})}
        assert {"text/html", "text/plain"} <= kinds, cell.source[:60]


@pytest.mark.parametrize("name", NAMES)
def test_magic_cells_without_llm_replay_from_a_cassette(name):
    """A %%recode cell with no --llm would call the live default model: it needs a cassette."""
    for cell in _recode_cells(_load(name)):
        line = cell.source.split("\n", 1)[0]
        if "--llm" in line:
            continue
        m = re.search(r"--cassette\s+(\S+)", line)
        assert m, f"{name}: {line!r} has neither --llm nor --cassette (needs a key to run)"
        assert (NOTEBOOKS / m.group(1)).exists(), m.group(1)


@pytest.mark.parametrize("name", NAMES)
def test_hand_written_replies_are_labelled(name):
    """Cassettes of hand-written replies say so, in the file and in the notebook."""
    nb = _load(name)
    markdown = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    markdown = " ".join(markdown.split()).replace("**", "")
    cassettes = {m.group(1) for c in _recode_cells(nb)
                 for m in [re.search(r"--cassette\s+(\S+)", c.source.split("\n", 1)[0])] if m}
    uses_scripted = "ScriptedLLM(" in " ".join(c.source for c in nb.cells)
    notes = {file: json.loads((NOTEBOOKS / file).read_text()).get("note", "")
             for file in cassettes}
    real = {file for file, note in notes.items() if REAL.search(note)}
    if uses_scripted or set(cassettes) - real:
        assert "written by hand" in markdown, f"{name}: say that the replies are hand-written"
    for file, note in notes.items():
        if file in real:   # a real model's replies name the model, quantisation and date
            assert REAL.search(markdown), f"{name}: say the replies were recorded from a model"
            models = {e["model"] for e in json.loads((NOTEBOOKS / file).read_text())["entries"]}
            for model in models:
                assert model.split(":")[-1].lower() in " ".join([note, markdown]).lower() \
                    .replace(" ", "-") or "qwen2.5-coder-1.5b" in note.lower().replace(" ", "-")
            assert re.search(r"Q\d_K_\w|\bF16\b", note) and re.search(r"\d{4}-\d\d-\d\d", note)
        else:
            assert "written by hand" in note, f"{file}: no 'note' saying so"
        assert not SECRET.search((NOTEBOOKS / file).read_text())


def test_cassettes_hold_exactly_the_replies_in_record_cassettes():
    """What record_cassettes.py says was written by hand is what the cassettes replay."""
    module = _record_module()
    for cassettes in module.NOTEBOOKS.values():
        for file, replies in cassettes.items():
            data = json.loads((NOTEBOOKS / file).read_text())
            recorded = sorted(e["reply"] for e in data["entries"])
            written = sorted(r for v in replies.values()
                             for r in ([v] if isinstance(v, str) else v))
            assert recorded == written, f"{file} differs from record_cassettes.py: re-record"
            models = {e["model"] for e in data["entries"]}
            assert models == {module.DEFAULT_MODEL}, models


def test_default_model_of_the_cassettes_is_the_magics_default():
    """Replay with no --llm keys on ReCodeMagics.model: the cassettes must use that name."""
    from recode_magic.notebook.magics import ReCodeMagics

    assert _record_module().DEFAULT_MODEL == ReCodeMagics.model.default_value
