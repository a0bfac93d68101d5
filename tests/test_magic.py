"""The magic in-process (fast): options, config traits, errors, README example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.testing.globalipapp import start_ipython

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ip():
    shell = start_ipython()
    shell.run_line_magic("load_ext", "recode_magic")
    shell.run_line_magic("config", 'ReCodeMagics.save_dir = ""')
    shell.run_line_magic("config", "ReCodeMagics.widget = False")
    yield shell


def cell(ip, line, body):
    return ip.run_cell_magic("recode", line, body)


def test_readme_ten_line_example(ip, capsys):
    text = (ROOT / "README.md").read_text()
    section = text.split("## Ten lines", 1)[1]
    python, magic = re.findall(r"```(?:python)?\n(.*?)```", section, re.S)[:2]
    ip.run_cell(python)
    first, body = magic.split("\n", 1)
    assert first.startswith("%%recode ")
    cell(ip, first[len("%%recode "):], body)
    assert ip.user_ns["result"] == 10
    assert ip.user_ns["_recode"].status == "done"
    assert "add_pair" in capsys.readouterr().out


@pytest.mark.parametrize("line, message", [
    ("--max-depth -1", "--max-depth must be >= 0"),
    ("--timeout -2", "--timeout must be >= 0 seconds"),
    ("-o 'a b'", "-o needs a variable name"),
    ("--in nope", "--in names 'nope', which is not defined"),
    ("--llm 123abc", "unknown model or callable: '123abc'"),
    ("--bogus", "unrecognized arguments: --bogus"),
    ("--tools no_such_tool", "--tools names 'no_such_tool', which is not a callable"),
    ("--in task", "input names must be identifiers other than 'task'"),
])
def test_bad_options_are_one_line_usage_errors(ip, line, message):
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        cell(ip, line, "a task")
    assert "\n" not in str(info.value)


def test_empty_task_is_usage_error(ip):
    with pytest.raises(UsageError, match="needs a task"):
        cell(ip, "", "   \n")


def test_config_trait_sets_default_depth(ip):
    from recode_magic import ScriptedLLM

    ip.user_ns["deep_llm"] = ScriptedLLM({"solve": "<execute>a = go_deeper()</execute>",
                                          "go_deeper": "<execute>a = 1</execute>"})
    ip.run_line_magic("config", "ReCodeMagics.max_depth = 1")
    try:
        cell(ip, "--llm deep_llm", "t")
        assert ip.user_ns["_recode"].status == "limit"
        cell(ip, "--llm deep_llm --max-depth 3", "t")
        assert ip.user_ns["_recode"].status == "done"
    finally:
        ip.run_line_magic("config", "ReCodeMagics.max_depth = 10")


def test_no_run_yet_and_unknown_subcommand(ip):
    with pytest.raises(UsageError, match="must be one of"):
        ip.run_line_magic("recode", "nonsense")


def test_unload_removes_magics(ip):
    ip.run_line_magic("unload_ext", "recode_magic")
    assert "recode" not in ip.magics_manager.magics["cell"]
    ip.run_line_magic("load_ext", "recode_magic")
    assert "recode" in ip.magics_manager.magics["cell"]


def test_graph_without_dot_is_a_clear_usage_error(ip, monkeypatch):
    from recode_magic import ScriptedLLM

    ip.user_ns["g_llm"] = ScriptedLLM({"solve": "<execute>a = 1</execute>"})
    cell(ip, "--llm g_llm", "t")
    graph = ip.run_line_magic("recode", "graph")
    assert "solve" in graph.source  # a graphviz.Digraph the user can .render()
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(UsageError, match="`dot` program is not installed"):
        ip.run_line_magic("recode", "graph")
