"""The notebook task suite: tasks a notebook user would give ``%%recode``, answers checked by code.

Each :class:`Task` is what a user would have in a kernel: a cell text (the task, saying which
variable to leave the answer in), a ``setup()`` that returns a fresh namespace holding the
user's documented functions (the primitives) and data, the names of the data variables passed
to the root (``%%recode --in a,b``), and a ``check(namespace) -> bool`` that verifies the
answer variable and/or the side effects the primitives recorded. ``solution`` is a reference
answer (plain code) used by the smoke tests to prove each check can pass.

Categories: ``data`` (lists of dicts: group, join, filter, rank), ``text``, ``robot`` (state
changed by side-effecting primitives), ``schedule`` (constraints), ``inventory`` (ordering
actions checked afterwards), ``graph`` (search through a ``neighbors``-style primitive).
The data, robot, inventory and graph tasks live in :mod:`tasks_world`; the tasks added
for issue 21 (joins, structured text, graph groups, two robots) in :mod:`tasks_more`.

>>> len(TASKS) >= 31, sorted({t.category for t in TASKS})
(True, ['data', 'graph', 'inventory', 'robot', 'schedule', 'text'])
"""

from __future__ import annotations

from typing import Any

from task_types import Task, answer_is

__all__ = ["Task", "TASKS", "CATEGORIES", "by_id", "select"]

CATEGORIES = ("data", "text", "robot", "schedule", "inventory", "graph")


# -- text ------------------------------------------------------------------------------------

DOC = ("Data pipelines need clean data. Clean data makes models better, and better models "
       "need data that is checked. We check the data every night; the data team reviews "
       "every failed check in the morning. Good data, good models!")

TEXT_EMAILS = ("Contact Ana (ana.lopez@example.com) or the desk at Help@Example.org. "
               "Billing questions: billing@shop.example.com; again, ana.lopez@example.com "
               "for refunds. Not an address: john@ or @example.com.")

LOG = """2024-05-01 10:00:01 INFO api: started
2024-05-01 10:00:07 ERROR db: connection timeout
2024-05-01 10:01:12 WARNING api: slow response
2024-05-01 10:02:40 ERROR api: bad request
2024-05-01 10:03:02 ERROR db: connection timeout
2024-05-01 10:04:15 INFO worker: job 12 done
2024-05-01 10:05:55 ERROR worker: job 13 failed
2024-05-01 10:06:01 ERROR db: deadlock detected"""

TITLES = ["Hello, World!", "Top 10 Python Tips", "What's new in 3.12?",
          "  ReCode: plans as code  "]

TEXT_TASKS = [
    Task("text_top_word", "text",
         "`doc` is a short text. Find the most frequent word, ignoring case and punctuation. "
         "Store the word (lowercase) in `answer`.",
         lambda: {"doc": DOC}, answer_is("data"), ("doc",),
         "import re\nfrom collections import Counter\n"
         "answer = Counter(re.findall(r'[a-z]+', doc.lower())).most_common(1)[0][0]"),
    Task("text_emails", "text",
         "Extract the email addresses from `text`. Store a sorted list of the distinct "
         "addresses, in lowercase, in `answer`.",
         lambda: {"text": TEXT_EMAILS},
         answer_is(["ana.lopez@example.com", "billing@shop.example.com", "help@example.org"]),
         ("text",),
         "import re\nfound = re.findall(r'[\\w.]+@[\\w]+(?:\\.[\\w]+)+', text)\n"
         "answer = sorted({e.lower() for e in found})"),
    Task("text_log_errors", "text",
         "`log` is a multi-line string, one log entry per line: date, time, level, then "
         "`component: message`. Count the ERROR lines per component. Store a dict "
         "{component: number of ERROR lines} in `answer`.",
         lambda: {"log": LOG}, answer_is({"db": 3, "api": 1, "worker": 1}), ("log",),
         "answer = {}\nfor line in log.splitlines():\n    parts = line.split()\n"
         "    if parts[2] == 'ERROR':\n        comp = parts[3].rstrip(':')\n"
         "        answer[comp] = answer.get(comp, 0) + 1"),
    Task("text_slugs", "text",
         "Turn each title in `titles` into a URL slug: lowercase, keep only letters, digits "
         "and spaces, then join the words with '-'. Store the list of slugs (same order as "
         "`titles`) in `answer`.",
         lambda: {"titles": list(TITLES)},
         answer_is(["hello-world", "top-10-python-tips", "whats-new-in-312",
                    "recode-plans-as-code"]), ("titles",),
         "answer = ['-'.join(''.join(c for c in t.lower() if c.isalnum() or c == ' ').split())"
         " for t in titles]"),
]

# -- scheduling ------------------------------------------------------------------------------

BUSY = {"ana": [(9, 10), (13, 15)], "ben": [(9, 11), (12, 13)], "cho": [(11, 12), (15, 16)]}

PREREQS = {"deploy": ["test", "build"], "test": ["build"], "build": ["fetch"],
           "fetch": [], "docs": ["fetch"], "announce": ["deploy", "docs"]}

MEETINGS = [{"name": "standup", "start": "09:00", "end": "09:15"},
            {"name": "design", "start": "09:10", "end": "10:30"},
            {"name": "lunch", "start": "12:00", "end": "13:00"},
            {"name": "review", "start": "10:30", "end": "11:30"},
            {"name": "1on1", "start": "12:30", "end": "13:00"},
            {"name": "planning", "start": "10:00", "end": "11:00"}]

AVAILABILITY = {"bob": ["mon"], "ann": ["mon", "tue"], "cy": ["tue", "wed"],
                "dee": ["thu"]}


def _check_order(ns: dict[str, Any]) -> bool:
    order = ns.get("answer")
    if not isinstance(order, (list, tuple)) or sorted(order) != sorted(PREREQS):
        return False
    pos = {t: i for i, t in enumerate(order)}
    return all(pos[p] < pos[t] for t, ps in PREREQS.items() for p in ps)


def _check_conflicts(ns: dict[str, Any]) -> bool:
    got = ns.get("answer")
    if not isinstance(got, (list, tuple)):
        return False
    expected = [("design", "planning"), ("design", "standup"), ("1on1", "lunch"),
                ("planning", "review")]
    try:
        pairs = [tuple(p) for p in got]
    except TypeError:
        return False
    return pairs == sorted(tuple(sorted(p)) for p in expected)


def _check_shifts(ns: dict[str, Any]) -> bool:
    got = ns.get("answer")
    if not isinstance(got, dict) or sorted(got) != ["mon", "thu", "tue", "wed"]:
        return False
    workers = list(got.values())
    return len(set(workers)) == len(workers) and all(
        shift in AVAILABILITY.get(w, []) for shift, w in got.items())


SCHEDULE_TASKS = [
    Task("sched_common_slot", "schedule",
         "`busy` maps each person to the hours they are busy, as (start, end) pairs: busy "
         "from start up to end (a meeting (9, 10) leaves 10:00 free). The working day is "
         "9 to 17. Find the earliest whole hour h such that everyone is free from h to h+1. "
         "Store h (an int) in `answer`.",
         lambda: {"busy": {k: list(v) for k, v in BUSY.items()}}, answer_is(16), ("busy",),
         "answer = next(h for h in range(9, 17) if all(not (s < h + 1 and h < e) "
         "for slots in busy.values() for s, e in slots))"),
    Task("sched_task_order", "schedule",
         "`prereqs` maps each task to the list of tasks that must be done before it. Give an "
         "order in which all the tasks can be done, each task after all of its "
         "prerequisites. Store the list of task names in `answer`.",
         lambda: {"prereqs": {k: list(v) for k, v in PREREQS.items()}}, _check_order,
         ("prereqs",),
         "answer = []\nwhile len(answer) < len(prereqs):\n    for t, ps in prereqs.items():\n"
         "        if t not in answer and all(p in answer for p in ps):\n"
         "            answer.append(t)"),
    Task("sched_conflicts", "schedule",
         "`meetings` is a list of dicts with keys name, start and end (\"HH:MM\" strings, "
         "same day). Two meetings conflict when their times overlap; one ending at 10:00 "
         "does not conflict with one starting at 10:00. Store the conflicting pairs in "
         "`answer`: a list of (name1, name2) tuples with name1 < name2 alphabetically, the "
         "list sorted.",
         lambda: {"meetings": [dict(m) for m in MEETINGS]}, _check_conflicts, ("meetings",),
         "answer = sorted(tuple(sorted((a['name'], b['name']))) for i, a in "
         "enumerate(meetings) for b in meetings[i + 1:] if a['start'] < b['end'] and "
         "b['start'] < a['end'])"),
    Task("sched_shifts", "schedule",
         "`shifts` is a list of shifts and `availability` maps each worker to the shifts "
         "they can work. Assign every shift to one available worker, giving no worker more "
         "than one shift. Store the assignment as a dict {shift: worker} in `answer`.",
         lambda: {"shifts": ["mon", "tue", "wed", "thu"],
                  "availability": {k: list(v) for k, v in AVAILABILITY.items()}},
         _check_shifts, ("shifts", "availability"),
         "answer = {}\nfor s in shifts:\n    for w, ok in availability.items():\n"
         "        if s in ok and w not in answer.values():\n            answer[s] = w\n"
         "            break"),
]


def _all_tasks() -> list[Task]:
    from tasks_more import MORE_TASKS
    from tasks_world import DATA_TASKS, GRAPH_TASKS, INVENTORY_TASKS, ROBOT_TASKS

    return [*DATA_TASKS, *TEXT_TASKS, *ROBOT_TASKS, *SCHEDULE_TASKS, *INVENTORY_TASKS,
            *GRAPH_TASKS, *MORE_TASKS]


TASKS: list[Task] = _all_tasks()


def by_id(task_id: str) -> Task:
    """The task named ``task_id``; KeyError naming the known ids otherwise."""
    for t in TASKS:
        if t.id == task_id:
            return t
    raise KeyError(f"unknown task {task_id!r} (known: {', '.join(t.id for t in TASKS)})")


def select(ids: str | None) -> list[Task]:
    """Tasks for ``--tasks``: None/'all' -> all; else comma-separated ids or categories."""
    if not ids or ids == "all":
        return list(TASKS)
    out: list[Task] = []
    for part in filter(None, (p.strip() for p in ids.split(","))):
        found = [t for t in TASKS if t.category == part] or [by_id(part)]
        out += [t for t in found if t not in out]
    return out

