"""A new user's pass over round 22 (levers, examples, csv, world grounding, Ctrl-C), in a kernel.

No API key and no live model: ``ScriptedLLM`` and a hand-written thread-safe fake. Each test
types the cells a user would and checks what the notebook shows (one line, no traceback) and
what the kernel keeps (``_recode``, the user's variables, the builtins).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.kernel

KERNEL_SETUP = r'''
import os
for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
    os.environ.pop(key, None)
%load_ext recode_magic
%config ReCodeMagics.widget = False
%config ReCodeMagics.save_dir = ""
import threading, time
from recode_magic import ScriptedLLM, primitive
from recode_magic.llms.base import Reply
X = lambda code: f"<think>t</think><execute>{code}</execute>"
rows = [1, 2, 3]
'''


@pytest.fixture(autouse=True)
def no_levers(kernel):
    """Every test starts (and leaves the kernel) with no levers set."""
    kernel.execute("%config ReCodeMagics.levers = {}")
    yield
    kernel.execute("%config ReCodeMagics.levers = {}")


def test_samples_lever_then_bad_levers_are_one_line_and_keep_the_last_run(kernel):
    kernel.execute('count_llm = ScriptedLLM({"solve": [X("answer = len(rows)")] * 3})')
    kernel.execute("%config ReCodeMagics.levers = {'samples': 3}")
    res = kernel.execute("%%recode --llm count_llm -o answer --in rows\ncount the rows")
    assert res.error is None, res.error
    assert kernel.value("(answer, _recode.status, _recode.meta['samples'], "
                        "len(count_llm.calls))") == (3, "done", 3, 3)
    last = kernel.value("id(_recode)")
    for levers, says in [("{'sample': 3}", "unknown setting 'sample'"),
                         ("{'samples': 0}", "samples must be an int >= 1, got 0"),
                         ("{'examples': 'x'}", "examples must be True, False"),
                         # the magic's own settings: were a TypeError traceback
                         ("{'max_depth': 3}", "%config ReCodeMagics.max_depth"),
                         ("{'trust': True}", "%config ReCodeMagics.trust"),
                         ("{'namespace': {}}", "unknown setting 'namespace'")]:
        # refused when set (since 7 Dec: was at the next run), one line; the levers stay
        res = kernel.execute(f"%config ReCodeMagics.levers = {levers}")
        assert res.error is None and len(res.lines) == 1, res.stderr
        assert res.lines[0].startswith("ReCodeMagics.levers: ") and says in res.lines[0]
        assert res.lines[0].endswith("; it stays {'samples': 3}"), res.lines[0]
        assert kernel.value("(id(_recode), answer, 'other' in dir(), len(rows), "
                            "callable(len), len(count_llm.calls))") == (last, 3, False, 3,
                                                                        True, 3)


WORLD = r'''
MAP = {"hall": ["kitchen", "study"], "kitchen": ["pantry"], "study": [], "pantry": []}
def exits(room):
    """The rooms one exit away from room."""
    return MAP[room]
walk = ("seen = [start]\nfor room in seen:\n    for nxt in exits(room):\n"
        "        if nxt not in seen:\n            seen.append(nxt)\nanswer = sorted(seen)")
room_llm = ScriptedLLM({"solve": X("start = 'hall'\nanswer = reachable_rooms(start)"),
                        "reachable_rooms": X(walk)})
'''


# True: the library's graph example after the few-shots; 'instead' (run second): in place of
# the few-shots, here the step the first run did (an earlier run's done step is nearer)
@pytest.mark.parametrize("mode, head", [
    ("True", "Another example, near your step (its primitive `forwards_to` exists only"),
    ("'instead'", "Example, near your step (done earlier in this session")])
def test_examples_lever_shows_a_graph_example_above_the_step(kernel, mode, head):
    kernel.execute(WORLD)
    kernel.execute(f"%config ReCodeMagics.levers = {{'examples': {mode}}}")
    res = kernel.execute("%%recode --llm room_llm -o answer\n"
                         "Which rooms can be reached from the hall through exits(room)?")
    assert res.error is None and "Traceback" not in res.stderr, res.stderr
    assert kernel.value("(answer, _recode.meta['examples'])") == (
        ["hall", "kitchen", "pantry", "study"], True if mode == "True" else "instead")
    prompt = kernel.value("room_llm.calls[-1]")
    example = prompt.find(head)
    assert 0 < example < prompt.rfind("Placeholder: answer = reachable_rooms(start)"), prompt
    assert ("Example 2 (its primitives `press`" in prompt) == (mode == "True")
    for command in ("show", "tree"):
        res = kernel.execute(f"%recode {command}")
        assert res.error is None and "reachable_rooms(start)" in res.text, res.stderr


def test_guarded_policy_csv_runs_io_and_open_are_refused_with_one_line(kernel):
    kernel.execute(r'''
text = "a,b\n1,2\n3,4\n"
csv_llm = ScriptedLLM({"solve": [
    X("import io\nimport csv\nanswer = list(csv.reader(io.StringIO(text)))"),
    X("f = open('data.csv')\nanswer = f.read()"),
    X("import csv\nanswer = list(csv.reader(text.splitlines()))")]})
''')
    res = kernel.execute("%%recode --llm csv_llm -o answer\nparse the csv text")
    assert res.error is None, res.error
    assert kernel.value("answer") == [["a", "b"], ["1", "2"], ["3", "4"]]
    io_said, open_said = (kernel.value(f"csv_llm.calls[{i}].split('could not be used:\\n')[1]"
                                       f".splitlines()[0]") for i in (1, 2))
    assert io_said.startswith("rule no-import: `import io` is not allowed") and \
        "text.splitlines()" in io_said, io_said
    assert open_said.startswith("rule no-builtin: `open` is not allowed"), open_said


ACTIONS = r'''
said_log = []
@primitive(action=True)
def act(command):
    """Send a command to the game, e.g. act('open wooden chest'); returns what you see."""
    said_log.append(command)
    return {"open box": "The box opens: a key."}.get(command, "Nothing happens.")
def in_turn(*replies):
    it = iter(replies)
    return lambda prompt: next(it)
chest = X("said = act('open wooden chest')\nanswer = said")
'''


def test_action_naming_unseen_things_is_refused_and_reasked_unless_ground_is_off(kernel):
    kernel.execute(ACTIONS + "act_llm = ScriptedLLM({'solve': in_turn(chest, "
                   "X(\"said = act('open box')\\nanswer = said\"), X('answer = said'))})")
    res = kernel.execute("%%recode --llm act_llm -o answer\nOpen the box in the shed.")
    assert res.error is None, res.error
    assert kernel.value("(answer, said_log, _recode.status)") == (
        "The box opens: a key.", ["open box"], "done")
    said = kernel.value("act_llm.calls[1].split('could not be used:\\n')[1].splitlines()[0]")
    assert said == ("`act('open wooden chest')` names 'wooden', 'chest': nothing you were "
                    "told about (the task, what the world answered) has them; name only "
                    "what you have seen. Fix it and answer again in the same format.")

    kernel.execute("said_log.clear()\n"
                   "raw_llm = ScriptedLLM({'solve': in_turn(chest, X('answer = said'))})\n"
                   "%config ReCodeMagics.levers = {'ground': False}")
    res = kernel.execute("%%recode --llm raw_llm -o answer\nOpen the box in the shed.")
    assert res.error is None, res.error
    assert kernel.value("(answer, said_log, _recode.status, _recode.meta['ground'])") == (
        "Nothing happens.", ["open wooden chest"], "done", False)


SLOW = r'''
class SlowFake:
    """Hand-written: thread-safe; a call with a temperature (candidates 2..k) sleeps."""
    thread_safe = True
    model = "slow-fake"
    def __init__(self, delay):
        self.lock, self.calls, self.delay = threading.Lock(), [], delay
    def respond(self, prompt, *, on_text=None, depth=None, temperature=None, seed=None):
        with self.lock:
            self.calls.append(temperature)
        if temperature is not None:
            time.sleep(self.delay)
        return Reply(X("answer = sum(rows)"), {}, self.model)
    def __call__(self, prompt):
        return self.respond(prompt).text
slow = SlowFake(120.0)
answer, keep = "before", 42
'''


def test_ctrl_c_while_candidates_are_asked_ends_the_run_interrupted(kernel):
    kernel.execute(SLOW + "%config ReCodeMagics.levers = {'samples': 3}")
    # the candidates sleep 120 s: a run that waited for them would pass the 30 s timeout
    res = kernel.execute("%%recode --llm slow -o answer --in rows\nadd the rows",
                         interrupt_after=2.0, timeout=30)
    assert res.status == "ok" and "Traceback" not in res.stderr, res.stderr
    assert "recode: run interrupted at `solve`" in res.stderr
    assert kernel.value("(_recode.status, _recode.task, answer, keep, rows, callable(len), "
                        "sorted(map(str, slow.calls)))") == (
        "interrupted", "add the rows", "before", 42, [1, 2, 3], True, ["0.7", "0.7", "None"])
    kernel.execute("slow.delay = 0")
    res = kernel.execute("%recode resume", timeout=30)
    assert res.error is None, res.stderr
    assert kernel.value("(_recode.status, answer)") == ("done", 6)


TRIPWIRES = r'''
class Tripwire(list):
    """Hand-written: a list that counts how often it is deep-copied."""
    copies = 0
    def __deepcopy__(self, memo):
        type(self).copies += 1
        return Tripwire(self)
class Unrelated(Tripwire):
    copies = 0
tally = Tripwire([1, 2, 3])
history = Unrelated(range(10))  # a notebook's big table the step never reads
sum_llm = ScriptedLLM({"solve": [X("answer = sum(tally)")] * 3})
'''


def test_sampling_copies_only_the_variables_a_candidate_reads(kernel):
    kernel.execute(TRIPWIRES + "%config ReCodeMagics.levers = {'samples': 3}")
    res = kernel.execute("%%recode --llm sum_llm -o answer\nadd up the tally")
    assert res.error is None, res.error
    # each of the 3 candidates ran on its own copy of `tally`; none copied `history`
    assert kernel.value("(answer, _recode.status, Tripwire.copies, Unrelated.copies)") == (
        6, "done", 3, 0)


BATCH = r'''
def batch_setup(task):
    return {"rows": task["rows"]}
def batch_check(task, run):
    return run.status == "done" and run.meta["samples"] == 2 and run.meta["ground"] is False
batch_tasks = [{"id": "b1", "task": "count the rows", "rows": [1, 2]}]
batch_llm = ScriptedLLM({"solve": [X("answer = len(rows)")] * 2})
'''


def test_batch_runs_get_the_levers_too(kernel, tmp_path):
    kernel.execute(BATCH + "%config ReCodeMagics.levers = {'samples': 2, 'ground': False}")
    line = (f"%recode batch batch_tasks --setup batch_setup --llm batch_llm --check "
            f"batch_check --cassette none --out {tmp_path / 'b'} -o table")
    res = kernel.execute(line)
    assert res.error is None, res.stderr
    assert kernel.value("[bool(r['solved']) for r in (table.to_dict('records') if "
                        "hasattr(table, 'to_dict') else table)]") == [True]
    res = kernel.execute("%config ReCodeMagics.levers = {'max_calls': 3}")  # refused when set
    assert "%config ReCodeMagics.max_calls" in res.stderr and len(res.lines) == 1, res.stderr
