"""Make the TextWorld games of the agent evaluation, offline, from fixed seeds.

    python benchmarks/agents/make_games.py [--out benchmarks/agents/games] [--only NAME,...]

Needs ``textworld`` (``pip install textworld``; ``tw-make`` ships with its own Inform 7
compiler, no network). Writes ``<out>/<name>.z8`` (+ ``.json``/``.ni``) and ``<out>/games.json``
(name, set, path, kind, quest length, seed, max score, walkthrough length). Set "A" is
the first ten games, set "B" ten more from new seeds (quest length 2-4). The games are
binaries (~400 KB each): the folder is gitignored, rebuild it with this script.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name, kind, quest length, seed, world size, number of objects
GAMES = [
    ("q2_s11", "custom", 2, 11, 3, 6),
    ("q2_s12", "custom", 2, 12, 3, 6),
    ("q2_s13", "custom", 2, 13, 3, 6),
    ("q3_s21", "custom", 3, 21, 4, 8),
    ("q3_s22", "custom", 3, 22, 4, 8),
    ("q3_s23", "custom", 3, 23, 4, 8),
    ("q4_s31", "custom", 4, 31, 5, 10),
    ("q4_s32", "custom", 4, 32, 5, 10),
    ("q4_s33", "custom", 4, 33, 5, 10),
    ("simple_dense_s41", "tw-simple", None, 41, None, None),
]

# set B: ten more games from new seeds (quest length 2-4), for the "textworld" suite
GAMES_B = [
    ("b_q2_s51", "custom", 2, 51, 3, 6),
    ("b_q2_s52", "custom", 2, 52, 3, 6),
    ("b_q2_s53", "custom", 2, 53, 3, 6),
    ("b_q3_s61", "custom", 3, 61, 4, 8),
    ("b_q3_s62", "custom", 3, 62, 4, 8),
    ("b_q3_s65", "custom", 3, 65, 4, 8),
    ("b_q3_s64", "custom", 3, 64, 4, 8),
    ("b_q4_s71", "custom", 4, 71, 5, 10),
    ("b_q4_s72", "custom", 4, 72, 5, 10),
    ("b_q4_s73", "custom", 4, 73, 5, 10),
]
SETS = {**{g[0]: "A" for g in GAMES}, **{g[0]: "B" for g in GAMES_B}}


def tw_make() -> str:
    """The ``tw-make`` next to this Python (its venv), else on PATH."""
    local = Path(sys.executable).with_name("tw-make")
    found = str(local) if local.exists() else shutil.which("tw-make")
    if not found:
        raise SystemExit("tw-make not found: pip install textworld")
    return found


def command(name: str, kind: str, quest: int | None, seed: int, world: int | None,
            objects: int | None, out: Path) -> list[str]:
    path = str(out / f"{name}.z8")
    if kind == "custom":
        return [tw_make(), "custom", "--world-size", str(world), "--nb-objects", str(objects),
                "--quest-length", str(quest), "--seed", str(seed), "--output", path, "-f",
                "--silent"]
    return [tw_make(), "tw-simple", "--rewards", "dense", "--goal", "detailed", "--seed",
            str(seed), "--output", path, "-f", "--silent"]


def game_info(path: Path) -> dict:
    """Max score and walkthrough length read from the game itself."""
    import textworld

    env = textworld.start(str(path), request_infos=textworld.EnvInfos(
        max_score=True, policy_commands=True, objective=True))
    try:
        state = env.reset()
        return {"max_score": state.max_score, "walkthrough": list(state.policy_commands or []),
                "objective": state.objective}
    finally:
        env.close()


def make(out: Path, only: set[str] | None = None) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for name, kind, quest, seed, world, objects in GAMES + GAMES_B:
        if only and name not in only:
            continue
        path = out / f"{name}.z8"
        if not path.exists():
            subprocess.run(command(name, kind, quest, seed, world, objects, out), check=True)
        info = game_info(path)
        manifest.append({"name": name, "set": SETS[name],
                         "path": os.path.relpath(path, out), "kind": kind,
                         "quest_length": quest, "seed": seed, "world_size": world,
                         "nb_objects": objects, "max_score": info["max_score"],
                         "walkthrough": info["walkthrough"], "objective": info["objective"]})
        print(f"{name:18} max score {info['max_score']:>2}  walkthrough "
              f"{len(info['walkthrough']):>2} commands")
    if not only:
        (out / "games.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "games"))
    ap.add_argument("--only", default="", help="comma-separated game names")
    args = ap.parse_args()
    make(Path(args.out), set(filter(None, args.only.split(","))) or None)


if __name__ == "__main__":
    main()
