"""Static views: exact text tree, script-free HTML, graphviz graph."""

from __future__ import annotations

import base64
import shutil

import pytest

from recode_magic import MissingDependencyError, ReCode, ScriptedLLM
from recode_magic.notebook.render import render_html, render_svg, render_text, short, to_digraph
from recode_magic.runs.run import Run

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' not installed")


def X(code: str, thought: str = "t") -> str:
    return f"<think>{thought}</think><execute>{code}</execute>"


def hand_tree() -> Run:
    run = Run("Sort the <mail> & reply")
    run.status, run.llm_calls, run.started, run.ended = "error", 4, 100.0, 101.5
    root = run.root
    root.status = "expanded"
    a = run.new_node("read_inbox", "mails = read_inbox(task)", parent=root, targets=["mails"])
    a.status = "done"
    a1 = run.new_node("fetch", "raw = fetch(n=3)", parent=a, targets=["raw"])
    a1.status = "done"
    b = run.new_node("reply_all", "reply_all(mails)", parent=root)
    b.status = "error"
    b.error = "Traceback (most recent call last):\n  ...\nZeroDivisionError: division by zero"
    run.new_node("later", "later()", parent=b).status = "pending"
    c = run.new_node("tidy", "tidy()", parent=root)
    c.status = "skipped"
    return run


def test_text_tree_exact():
    assert render_text(hand_tree()) == "\n".join([
        "ReCode run: error · 6 nodes · 4 model calls · 1.50 s",
        "◐ solve(task)",
        "├── ✔ mails = read_inbox(task)",
        "│   └── ✔ raw = fetch(n=3)",
        "├── ✘ reply_all(mails)  # ZeroDivisionError: division by zero",
        "│   └── ○ later()",
        "└── ⊘ tidy()  # skipped",
    ])


def test_text_tree_ascii_exact():
    assert render_text(hand_tree(), ascii=True, header=False) == "\n".join([
        "[~] solve(task)",
        "|-- [x] mails = read_inbox(task)",
        "|   `-- [x] raw = fetch(n=3)",
        "|-- [!] reply_all(mails)  # ZeroDivisionError: division by zero",
        "|   `-- [ ] later()",
        "`-- [-] tidy()  # skipped",
    ])
    assert render_text(hand_tree(), ascii=True).isascii() is False  # header keeps '·'


def test_text_tree_deep_chain_has_no_recursion_limit():
    run = Run("deep")
    node = run.root
    for i in range(3000):
        node = run.new_node(f"s{i}", f"s{i}()", parent=node)
    lines = render_text(run, header=False).splitlines()
    assert len(lines) == 3001
    assert lines[-1].endswith("○ s2999()")


def test_html_is_static_escaped_and_nested():
    html = render_html(hand_tree(), graph=False)
    assert "<script" not in html.lower()
    assert "Sort the &lt;mail&gt; &amp; reply" in html
    assert html.count("<details") == html.count("</details>") == 6
    assert "ZeroDivisionError: division by zero" in html
    assert "mails = read_inbox(task)" in html


def test_short():
    assert short("abc", 5) == "abc"
    assert short("abcdefgh", 5) == "abcd…"


def test_digraph_nodes_edges_colours():
    dot = to_digraph(hand_tree(), width=12)
    src = dot.source
    assert src.count("->") == 5
    assert "mails = rea…" in src
    assert "#e53935" in src  # the error node is red


@needs_dot
def test_svg_and_html_embed_graph():
    run = hand_tree()
    svg = render_svg(run)
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg
    assert 'id="recode_node_2"' in svg
    html = render_html(run)
    data = html.split("data:image/svg+xml;base64,", 1)[1].split('"', 1)[0]
    assert "<svg" in base64.b64decode(data).decode()


def test_missing_dot_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MissingDependencyError, match="dot.*not found.*install Graphviz"):
        render_svg(hand_tree())
    assert "data:image/svg" not in render_html(hand_tree())  # falls back silently
    with pytest.raises(MissingDependencyError):
        render_html(hand_tree(), graph=True)


def test_engine_run_text_tree():
    ns = {"add": lambda a, b: a + b}
    llm = ScriptedLLM({"solve": X("x = step_one(task)\nprint(x)"),
                       "step_one": X("x = add(1, 2)")})
    run = ReCode(llm, namespace=ns).run("add things")
    assert render_text(run, header=False) == "✔ solve(task)\n└── ✔ x = step_one(task)"


def test_static_views_show_confirm_decisions_and_stopped_nodes():
    from recode_magic.notebook.marks import mark_node

    run = Run("t")
    run.status = "interrupted"
    child = run.new_node("step", "x = step()", parent=run.root)
    run.root.status = child.status = "running"
    mark_node(child, "rejected", "x = rm_everything()")
    text = render_text(run)
    assert text.splitlines()[1] == "■ solve(task)  # interrupted"  # no 'running' after the end
    assert text.splitlines()[2] == "└── ✘ x = step()  # rejected"
    page = render_html(run, graph=False)
    assert "code (rejected; it did not run)" in page and "x = rm_everything()" in page
    mark_node(child, None)
    assert render_text(run).splitlines()[2] == "└── ■ x = step()  # interrupted"


def test_static_html_counts_each_alternative_s_model_calls():
    from recode_magic.steering.steer import regenerate

    llm = ScriptedLLM({"solve": X("x = step(1)"), "step": [X("x = inner(1)"), X("x = 5")],
                       "inner": X("x = 1")})
    run = ReCode(llm).run("t")
    regenerate(run, run.root.children[0])
    page = render_html(run)
    assert "· 2 model calls ·" in page and "· 1 model call ·" in page   # a0, then a1
