"""Replay one real-model TextWorld game end to end from its cassette: no model, no network.

The cassette under ``benchmarks/agents/cassettes/recode/`` was recorded by
``benchmarks/agents/run_eval.py`` (Qwen2.5-Coder-1.5B-Instruct Q4_K_M on llama.cpp). The test
rebuilds the same game with ``tw-make`` from its fixed seed, runs the product's engine on it
with the recorded replies, and checks it plays the same commands and reaches the same score.
A prompt that differs from the recording (engine prompt change, different game text) is a
cassette miss and fails the test, naming the placeholder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("textworld", reason="textworld is not installed (pip install textworld): "
                                        "it builds and plays the recorded game")

AGENTS = Path(__file__).resolve().parents[1] / "benchmarks" / "agents"
LABEL = "recode"
GAME = "q2_s12"


@pytest.fixture(scope="module")
def agents_path():
    sys.path.insert(0, str(AGENTS))
    yield
    sys.path.remove(str(AGENTS))


@pytest.mark.slow
def test_recorded_game_replays_to_the_same_score(tmp_path, agents_path):
    import make_games
    import run_eval
    import tw_game

    from recode_magic.llms.cassette import CassetteLLM

    recorded = json.loads((AGENTS / "results.json").read_text())["runs"][LABEL][GAME]
    make_games.make(tmp_path, only={GAME})
    game = tw_game.Game(str(tmp_path / f"{GAME}.z8"))
    objective, _ = game.reset()
    assert objective == recorded["objective"]
    llm = CassetteLLM(None, AGENTS / recorded["cassette"], mode="replay")
    try:
        out = run_eval.run_recode(game, llm)
    finally:
        game.close()
    assert llm.hits == recorded["llm_calls"], out["error"]
    assert [t["command"] for t in game.transcript] == \
        [t["command"] for t in recorded["transcript"]]
    assert (game.score, game.max_score, game.won) == \
        (recorded["score"], recorded["max_score"], recorded["won"])
    assert out["stats"]["nodes"] == recorded["stats"]["nodes"]
