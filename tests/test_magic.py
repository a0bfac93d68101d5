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
    ("--timeout -2", "--timeout must be a finite number of seconds >= 0"),
    ("--timeout nan", "--timeout must be a finite number of seconds >= 0 (0: none), got nan"),
    ("--timeout inf", "--timeout must be a finite number of seconds >= 0 (0: none), got inf"),
    ("-o 'a b'", "-o needs a variable name"),
    ("-o class", "-o needs a variable name, got 'class'"),
    ("--in nope", "--in names 'nope', which is not defined"),
    ("--llm 123abc", "unknown model or callable: '123abc'"),
    ("--bogus", "unrecognized arguments: --bogus"),
    ("--tools no_such_tool", "--tools names 'no_such_tool', which is not a callable"),
    ("--in task", "--in task: the cell text is bound to `task` already"),
])
def test_bad_options_are_one_line_usage_errors(ip, line, message):
    from recode_magic import ScriptedLLM

    ip.user_ns["counted"] = counted = ScriptedLLM({"solve": "<execute>a = 1</execute>"})
    llm = "" if "--llm" in line else "--llm counted "
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        cell(ip, llm + line, "a task")
    assert "\n" not in str(info.value)
    assert counted.calls == []  # refused before any model call


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


def test_config_levers_reach_every_run_and_a_bad_one_is_one_line(ip):
    from recode_magic import ScriptedLLM

    reply = "<execute>answer = len(rows)</execute>"
    ip.user_ns["lever_llm"] = llm = ScriptedLLM({"solve": [reply] * 3})
    ip.user_ns["rows"] = [1, 2, 3]
    ip.run_line_magic("config", "ReCodeMagics.levers = {'samples': 3}")
    try:
        cell(ip, "--llm lever_llm -o answer --in rows", "count the rows")
        assert ip.user_ns["answer"] == 3 and len(llm.calls) == 3  # two more candidates
        assert ip.user_ns["_recode"].meta["samples"] == 3
        # refused when set, in one line (tests/test_settings_kernel.py); the levers stay
        ip.run_line_magic("config", "ReCodeMagics.levers = {'sample': 3}")
        assert ip.magics_manager.registry["ReCodeMagics"].levers == {"samples": 3}
    finally:
        ip.run_line_magic("config", "ReCodeMagics.levers = {}")


def test_no_run_yet_and_unknown_subcommand(ip):
    with pytest.raises(UsageError, match="must be one of") as info:
        ip.run_line_magic("recode", "nonsense")
    from recode_magic.notebook.commands import SUBCOMMANDS
    for name in ("show", "tree", "graph", "export", "stats", "cost", "resume", "list", "load"):
        assert name in SUBCOMMANDS and name in str(info.value)


def test_help_is_built_from_the_table_and_registration_adds_a_row(ip):
    from recode_magic.notebook.commands import SUBCOMMANDS, register_subcommand

    doc = ip.find_line_magic("recode").__doc__
    for row in SUBCOMMANDS.values():
        assert f"%recode {row.name}" in doc and row.help in doc
    assert "Examples" in doc and "Examples" in ip.find_cell_magic("recode").__doc__
    seen = []
    register_subcommand("echo", lambda magics, argv: seen.append(argv) or "echoed",
                        "repeat the words", usage="WORDS...")
    try:
        assert ip.run_line_magic("recode", "echo 'a b' c") == "echoed"
        assert seen == [["a b", "c"]]
        assert "repeat the words" in ip.find_line_magic("recode").__doc__
        with pytest.raises(UsageError, match="echo"):
            ip.run_line_magic("recode", "nonsense")
    finally:
        del SUBCOMMANDS["echo"]


def test_a_bug_in_a_handler_is_not_disguised_as_a_usage_error(ip):
    from recode_magic.notebook.commands import SUBCOMMANDS, register_subcommand

    def broken(magics, argv):
        raise KeyError("a bug")
    register_subcommand("broken", broken, "always fails")
    try:
        with pytest.raises(KeyError, match="a bug"):
            ip.run_line_magic("recode", "broken")
    finally:
        del SUBCOMMANDS["broken"]


def test_resume_is_an_explicit_row(ip):
    from recode_magic.notebook.commands import SUBCOMMANDS

    assert SUBCOMMANDS["resume"].usage == "[--max-depth N] [--budget B] [-n N]"
    with pytest.raises(UsageError, match="unrecognized arguments: --bogus"):
        ip.run_line_magic("recode", "resume --bogus")


@pytest.mark.parametrize("content, message", [
    ("[1, 2, 3]", "a saved run is a JSON object, this file holds a list"),
    ("{not json", "not JSON"),
    ('{"version": "nope"}', "unknown run format"),
])
def test_load_bad_files_one_line(ip, tmp_path, content, message):
    path = tmp_path / "my run.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        ip.run_line_magic("recode", f"load '{path}'")
    assert "\n" not in str(info.value)


def test_load_quoted_path_with_a_space(ip, tmp_path):
    from recode_magic import ScriptedLLM

    ip.user_ns["l_llm"] = ScriptedLLM({"solve": "<execute>a = 1</execute>"})
    cell(ip, "--llm l_llm", "saved task")
    path = tmp_path / "my run.json"
    ip.user_ns["_recode"].save(path)
    ip.run_line_magic("recode", f"load '{path}'")
    assert ip.user_ns["_recode"].task == "saved task"
    with pytest.raises(UsageError, match="no such file"):
        ip.run_line_magic("recode", "load 'no such run.json'")
    with pytest.raises(UsageError, match="a folder"):
        ip.run_line_magic("recode", f"load '{tmp_path}'")
    with pytest.raises(UsageError, match="unbalanced|No closing quotation"):
        ip.run_line_magic("recode", "load 'half")


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


def test_a_bug_during_a_cell_is_not_a_usage_error_and_resume_refuses(ip, monkeypatch):
    from recode_magic import ScriptedLLM
    from recode_magic.notebook.magics import ReCode

    ip.user_ns["b_llm"] = ScriptedLLM({"solve": "<execute>a = 1</execute>",
                                       "deeper": "<execute>a = 2</execute>"})
    cell(ip, "--llm b_llm --max-depth 0", "an older run")  # done: nothing to resume
    older = ip.user_ns["_recode"]

    def broken(self, *args, **kwargs):
        raise KeyError("a bug in the engine")
    monkeypatch.setattr(ReCode, "run", broken)
    with pytest.raises(KeyError, match="a bug in the engine"):
        cell(ip, "--llm b_llm", "never starts")
    assert ip.user_ns["_recode"] is older
    with pytest.raises(UsageError, match="stopped before its run started"):
        ip.run_line_magic("recode", "resume")


def test_list_counts_nodes_and_calls(ip, capsys):
    from recode_magic import ScriptedLLM

    ip.user_ns["c_llm"] = ScriptedLLM({"solve": "<execute>listed = 1</execute>"})
    cell(ip, "--llm c_llm", "listed task")
    capsys.readouterr()
    ip.run_line_magic("recode", "list")
    assert re.search(r"done\s+1 nodes\s+1 calls\s+'listed task'", capsys.readouterr().out)


def test_cost_prints_the_report(ip, capsys):
    from recode_magic import ScriptedLLM

    ip.user_ns["p_llm"] = ScriptedLLM({"solve": "<execute>priced = 1</execute>"})
    cell(ip, "--llm p_llm", "priced task")
    capsys.readouterr()
    ip.run_line_magic("recode", "cost")
    out = capsys.readouterr().out
    assert "model calls" in out and "1" in out


def test_cell_options_are_split_like_a_shell_line(ip, tmp_path):
    from recode_magic import ScriptedLLM

    ip.user_ns["q_llm"] = ScriptedLLM({"solve": "<execute>quoted = 1</execute>"})
    tape = tmp_path / "my tape.json"
    cell(ip, f"--llm q_llm --cassette '{tape}'", "quoted path")
    assert tape.is_file() and ip.user_ns["_recode"].status == "done"
    with pytest.raises(UsageError, match="cannot read .*No closing quotation"):
        cell(ip, "--llm q_llm --cassette 'half", "t")


def test_models_trait_routes_by_depth_and_grammar_trait_is_passed(ip, monkeypatch):
    from recode_magic import ScriptedLLM
    from recode_magic.llms import factory

    top = ScriptedLLM({"solve": "<execute>y = step_one(x)</execute>",
                       "step_one": "<execute>y = helper(x)</execute>"})
    deep = ScriptedLLM({"helper": "<execute>y = x * 2</execute>"})
    ip.user_ns.update(route_top=top, route_deep=deep, x=4)
    seen = {}
    real = factory.make_llm

    def spy(spec, **kw):
        seen.update(kw, spec=spec)
        return real(spec, **kw)

    monkeypatch.setattr(factory, "make_llm", spy)
    monkeypatch.setattr("recode_magic.llms.make_llm", spy)
    ip.run_line_magic("config", "ReCodeMagics.models = {0: 'route_top', 2: 'route_deep'}")
    ip.run_line_magic("config", "ReCodeMagics.grammar = 'off'")
    try:
        cell(ip, "-o y", "double x")
    finally:
        ip.run_line_magic("config", "ReCodeMagics.models = {}")
        ip.run_line_magic("config", "ReCodeMagics.grammar = 'auto'")
    assert ip.user_ns["y"] == 8
    assert [len(top.calls), len(deep.calls)] == [2, 1]   # depth 2 went to the second model
    assert seen["grammar"] is False and seen["spec"] == {0: "route_top", 2: "route_deep"}


def test_budget_option_stops_the_run_and_resume_goes_on_with_a_larger_one(ip, capsys):
    from recode_magic import ScriptedLLM

    ip.user_ns["budget_llm"] = ScriptedLLM({
        "solve": "<execute>bud_a = first_half(x)\nbud_b = second_half(bud_a)</execute>",
        "first_half": "<execute>bud_a = x + 1</execute>",
        "second_half": "<execute>bud_b = bud_a * 2</execute>"})
    ip.user_ns["x"] = 1
    cell(ip, "--llm budget_llm --budget 2500tok -o bud_b", "two halves")
    run = ip.user_ns["_recode"]
    assert run.status == "limit" and "budget" in run.error
    ip.run_line_magic("recode", "resume --budget 1mtok")
    assert ip.user_ns["_recode"] is run and run.status == "done" and ip.user_ns["bud_b"] == 4


def test_a_max_calls_stop_resumes_with_the_raised_setting(ip, capsys):
    """The stop line says: raise %config ReCodeMagics.max_calls, then %recode resume; the
    resume kept the run's old limit and stopped again at once."""
    from recode_magic import ScriptedLLM

    ip.user_ns["calls_llm"] = ScriptedLLM({
        "solve": "<execute>mc_a = first_half(x)\nmc_b = second_half(mc_a)</execute>",
        "first_half": "<execute>mc_a = x + 1</execute>",
        "second_half": "<execute>mc_b = mc_a * 2</execute>"})
    ip.user_ns["x"] = 1
    ip.run_line_magic("config", "ReCodeMagics.max_calls = 2")
    try:
        cell(ip, "--llm calls_llm -o mc_b", "two halves")
        run = ip.user_ns["_recode"]
        assert run.status == "limit" and "max_calls=2" in run.error
        assert "raise %config ReCodeMagics.max_calls" in capsys.readouterr().err
        ip.run_line_magic("config", "ReCodeMagics.max_calls = 10")
        ip.run_line_magic("recode", "resume")
        assert ip.user_ns["_recode"] is run and run.status == "done", run.error
        assert ip.user_ns["mc_b"] == 4 and run.llm_calls == 3
    finally:
        ip.run_line_magic("config", "ReCodeMagics.max_calls = 300")


@pytest.mark.parametrize("value", ["lots", "$-1", "0", "$5tok", "3k", "nan"])
def test_bad_budget_is_one_line_before_any_call(ip, value):
    from recode_magic import ScriptedLLM

    ip.user_ns["never"] = ScriptedLLM({})
    with pytest.raises(UsageError, match="--budget must be dollars"):
        cell(ip, f"--llm never --budget {value}", "anything")
    assert ip.user_ns["never"].calls == []


def test_cost_runs_lists_cache_reads_run_by_run(ip, capsys):
    from recode_magic import ScriptedLLM

    ip.user_ns["cost_llm"] = ScriptedLLM({"solve": "<execute>cost_y = 1</execute>"})
    for _ in range(2):
        cell(ip, "--llm cost_llm", "twice")
    capsys.readouterr()
    ip.run_line_magic("recode", "cost --runs")
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0].split()[:4] == ["run", "prompt", "cache", "write"]
    runs = ip.magics_manager.registry["ReCodeMagics"].runs
    assert len(runs) >= 2
    assert [r.split()[0] for r in rows[1:]] == [*map(str, range(1, len(runs) + 1)), "all"]


def test_an_unknown_tool_lists_the_users_callables_only(ip):
    """In a kernel namespace the hint named what IPython put there too (``open``, ``exit``)."""
    from recode_magic import ScriptedLLM

    ip.user_ns["counted"] = ScriptedLLM({"solve": "<execute>a = 1</execute>"})
    ip.run_cell("def add_two(a, b):\n    'Add.'\n    return a + b")


    def kernel_open(*args, **kwargs):  # what ipykernel's namespace holds as `open`
        return open(*args, **kwargs)
    kernel_open.__module__ = "ipykernel.zmqshell"
    ip.user_ns["open"] = kernel_open
    with pytest.raises(UsageError) as info:
        cell(ip, "--llm counted --tools nosuch", "a task")
    listed = str(info.value).split("(callables: ")[1]
    assert "add_two" in listed and "open" not in listed, str(info.value)
