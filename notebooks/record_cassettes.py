"""Make the notebooks' cassettes from replies WRITTEN BY HAND, then save executed notebooks.

    python notebooks/record_cassettes.py [quickstart teaching_granularity ...] [--execute-only]

No model is involved. For each notebook in ``NOTEBOOKS`` below, every ``%%recode`` cell that
has ``--cassette`` and no ``--llm`` is run once (in a fresh kernel, cwd = notebooks/, with the
notebook's earlier cells) with ``--llm _handwritten`` added: ``_handwritten`` is a
:class:`ScriptedLLM` holding the replies written in this file, and its ``model`` is the magic's
default model, so every reply is stored under the exact key (model + full prompt) the
unmodified notebook sends. The cassette then gets a top-level ``note`` saying the replies were
written by hand.

``text_world_agent``, ``local_model`` and ``planning_levers`` (in ``REAL_MODEL``) replay
replies recorded from a real model: they are never re-recorded here, only executed.

Then the notebook itself is executed as it is (no ``--llm``, ``ANTHROPIC_API_KEY`` removed from
the environment, so every reply must come from the cassette) and saved with its outputs; the
widget outputs are saved as their static HTML/text views only (see :func:`execute`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = "claude-sonnet-5-5"   # ReCodeMagics.model's default
NOTE = ("Replies written by hand, not recorded from a model: notebooks/record_cassettes.py "
        "ran the notebook's %%recode cell with a ScriptedLLM holding these replies, named "
        f"after the default model ({DEFAULT_MODEL}) so that each one is keyed on the exact "
        "prompt the notebook sends.")


def X(thought: str, code: str) -> str:
    """Return a reply in the format the prompt asks for."""
    return f"<think>{thought}</think>\n<execute>{code.strip()}</execute>"


# --------------------------------------------------------------------------- quickstart
QUICKSTART = {
    "solve": X(
        "Two stages, each needing several moves: fetch the spare battery, then carry it to "
        "the charger and dock. Both are placeholders; the caller expects `level`.",
        """
carrying = fetch_battery()
level = dock_at_charger(carrying)
print(f"Docked carrying the {carrying}: battery at {level}%")
"""),
    "fetch_battery": X(
        "Find the battery, walk there (several steps, so a placeholder), then pick it up.",
        """
battery = where("battery")
walk_to(battery)
carrying = pick_up()
"""),
    "dock_at_charger": X(
        "Find the charger, walk there (a placeholder), then dock, which returns the level.",
        """
charger = where("charger")
walk_to(charger)
level = dock()
"""),
    # walk_to is expanded twice, with different variables: once per call
    "walk_to": [
        X("Step along x, then along y, until the robot stands on the battery; a loop of "
          "primitive calls only.",
          """
x, y = where("robot")
while x != battery[0]:
    x, y = step("right" if battery[0] > x else "left")
while y != battery[1]:
    x, y = step("down" if battery[1] > y else "up")
"""),
        X("Same as before, towards the charger: step along x, then along y.",
          """
x, y = where("robot")
while x != charger[0]:
    x, y = step("right" if charger[0] > x else "left")
while y != charger[1]:
    x, y = step("down" if charger[1] > y else "up")
"""),
    ],
}

NOTEBOOKS: dict[str, dict[str, dict]] = {
    # notebook name -> cassette file name -> replies
    "quickstart": {"quickstart.cassette.json": QUICKSTART},
}
# Notebooks whose cassettes hold replies RECORDED FROM A REAL MODEL (their cassette's "note"
# names the model, quantisation and date): never re-recorded here, only executed (replayed).
# To re-record one, delete its cassette and execute the notebook with the model server up.
REAL_MODEL = ("text_world_agent", "local_model", "planning_levers")


# --------------------------------------------------------------------------- machinery
ALL = ["quickstart", "teaching_granularity", "batch", "text_world_agent", "local_model",
       "planning_levers"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_CASSETTE = re.compile(r"--cassette\s+(\S+)")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_AUTH_TOKEN")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _execute(nb: nbformat.NotebookNode, timeout: int = 600) -> nbformat.NotebookNode:
    saved, env = dict(os.environ), _env()
    os.environ.clear()
    os.environ.update(env)   # the kernel inherits this environment: no API keys
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(HERE)}},
                                store_widget_state=False, allow_errors=False)
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def record(name: str) -> None:
    """Run the notebook's cassette cells with the hand-written replies, writing cassettes."""
    if name in REAL_MODEL:
        raise SystemExit(f"{name}: its cassette was recorded from a real model; not "
                         "overwriting it with hand-written replies (use --execute-only)")
    cassettes = NOTEBOOKS[name]
    nb = nbformat.read(HERE / f"{name}.ipynb", as_version=4)
    cells, last = [], None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        src = cell.source
        first = src.split("\n", 1)[0]
        m = _CASSETTE.search(first) if first.startswith("%%recode") else None
        if m and "--llm" not in first:
            replies = cassettes[m.group(1)]
            (HERE / m.group(1)).unlink(missing_ok=True)
            cells.append(nbformat.v4.new_code_cell(
                "from recode_magic import ScriptedLLM as _S\n"
                f"_handwritten = _S(__import__('json').loads({json.dumps(json.dumps(replies))}),"
                f" model={DEFAULT_MODEL!r})\ndel _S"))
            src = src.replace("%%recode", "%%recode --llm _handwritten", 1)
            last = len(cells)
        cells.append(nbformat.v4.new_code_cell(src))
    if last is None:
        raise SystemExit(f"{name}: no %%recode cell with --cassette and without --llm")
    run_nb = nbformat.v4.new_notebook(metadata=nb.metadata)
    run_nb.cells = cells[: last + 1]
    _execute(run_nb)
    for file in cassettes:
        path = HERE / file
        data = json.loads(path.read_text())
        data = {"version": data["version"], "note": NOTE,
                **{k: v for k, v in data.items() if k != "version"}}
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        print(f"{name}: {path.name}: {len(data['entries'])} replies recorded")


def execute(name: str) -> None:
    """Execute the notebook as it is (replay from its cassettes, no key) and save it."""
    path = HERE / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    _execute(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                out.get("metadata", {}).pop("transient", None)
                # The saved file keeps the widget's static views (text/html, text/plain) and
                # not its view reference: that model lives only in the kernel that ran it, and
                # a front end opening the file would show "Error displaying widget: model not
                # found" in place of the tree. Running the cell brings the live widget back.
                out.get("data", {}).pop(WIDGET_VIEW, None)
    nb.metadata.pop("widgets", None)   # widget state left by an earlier nbconvert run
    nbformat.write(nb, path)
    print(f"{name}: executed and saved")


def main(argv: list[str]) -> None:
    """Record the named notebooks' cassettes (all by default), then execute and save them."""
    only_exec = "--execute-only" in argv
    names = [a for a in argv if not a.startswith("--")] or ALL
    for name in names:
        if not only_exec and name in NOTEBOOKS:
            record(name)
        execute(name)


if __name__ == "__main__":
    main(sys.argv[1:])
