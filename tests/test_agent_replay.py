"""Replay one real-model TextWorld game end to end from its cassette: no model, no network.

The cassette under ``benchmarks/agents/cassettes/<LABEL>/textworld/`` was recorded by
``benchmarks/agents/run_eval.py --suite textworld --act-check --label <LABEL>``
(Qwen2.5-Coder-1.5B-Instruct Q4_K_M on llama.cpp, the package's default settings, only ``act``
as the primitive, marked with a check for the game's refusals). The test
rebuilds the same game with ``tw-make`` from its fixed seed, runs the product's engine on it
with the recorded replies only, and checks it sends the same commands and reaches the same
outcome. A prompt that differs from the recording (engine prompt change, different game
text) is a cassette miss: the test FAILS naming the placeholder; re-record with::

    python benchmarks/agents/run_eval.py --suite textworld --act-check --label L --tasks G
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("textworld", reason="textworld is not installed (pip install textworld): "
                                        "it builds and plays the recorded game")

AGENTS = Path(__file__).resolve().parents[1] / "benchmarks" / "agents"
# the package defaults of e149e3b, `act` marked @primitive(check=refused) (--act-check)
LABEL = "t4-layout-ex2-answers-actcheck"
GAMES = ["q2_s12@1"]  # a refused command, then a re-plan that sees the game's answers


@pytest.fixture(scope="module")
def agents_path():
    sys.path.insert(0, str(AGENTS))
    yield
    sys.path.remove(str(AGENTS))


@pytest.mark.slow
@pytest.mark.parametrize("key", GAMES)
def test_recorded_game_replays_to_the_same_outcome(key, tmp_path, agents_path):
    import make_games
    import suites
    from tw_game import Game

    from recode_magic.llms.cassette import CassetteLLM

    entry = json.loads((AGENTS / "results.json").read_text())["suites"]["textworld"][LABEL]
    rec = entry["items"][key]
    make_games.make(tmp_path, only={rec["game"]})
    # exact prompts only; misses are counted even when the engine turns one into a failed node
    replay = CassetteLLM(None, AGENTS / rec["cassette"], mode="replay", strict=True)
    game = Game(str(tmp_path / f"{rec['game']}.z8"))
    try:
        game.reset()
        assert game.objective == rec["objective"]
        row = suites.run_textworld_recode(game, replay, entry["config"]["engine_kw"],
                                          act_check=entry["config"].get("act_check", False))
    finally:
        game.close()
    assert replay.misses == 0, (f"cassette miss (prompt changed; re-record {rec['cassette']}): "
                                f"placeholders {replay.missed}, {row.get('error')}")
    assert replay.hits == rec["llm_calls"], row.get("error")
    assert [t["command"] for t in row["transcript"]] == \
        [t["command"] for t in rec["transcript"]]
    assert (row["won"], row["score"], row["status"]) == (rec["won"], rec["score"], rec["status"])
