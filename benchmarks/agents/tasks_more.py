"""Task suite, part 3 (issue 21): more joins, text with structure, graph search and robots.

Added where the 1.5B model failed most in the 24-task suite (README "Evaluation"): joins of
two tables, text that has to be parsed by its structure (CSV, sections), graph search with a
primitive, and side-effecting robots whose effects are checked afterwards.
"""

from __future__ import annotations

from typing import Any

from task_types import Task, answer_is

__all__ = ["MORE_TASKS"]

STAFF = [{"name": "Ann", "dept_id": 1, "salary": 50}, {"name": "Bob", "dept_id": 2, "salary": 40},
         {"name": "Cid", "dept_id": 1, "salary": 70}, {"name": "Dot", "dept_id": 3, "salary": 65},
         {"name": "Eve", "dept_id": 2, "salary": 60}]
DEPTS = [{"id": 1, "title": "R&D"}, {"id": 2, "title": "Ops"}, {"id": 3, "title": "Legal"}]

LINES = [{"sku": "p1", "qty": 3}, {"sku": "p2", "qty": 1}, {"sku": "p3", "qty": 2},
         {"sku": "p1", "qty": 1}, {"sku": "p4", "qty": 5}]
PRODUCTS = [{"sku": "p1", "category": "tools", "price": 10},
            {"sku": "p2", "category": "garden", "price": 25},
            {"sku": "p3", "category": "tools", "price": 7},
            {"sku": "p4", "category": "paint", "price": 4}]

PEOPLE_CSV = """name,city,age
Lena,Paris,34
Omar,Lyon,41
Paul,Paris,29
Rita,Paris,52
Sam,Nice,38
Tess,Paris,31"""

CONFIG = """# service settings
[db]
host = db.local
port = 5432

[cache]
host = cache.local
port = 6379
ttl = 60

[web]
port = 8080
"""

LINKS = {"ana": ["ben"], "ben": ["ana", "cy"], "cy": ["ben"], "dora": ["eli"],
         "eli": ["dora"], "finn": [], "gus": ["hal"], "hal": ["gus"]}


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]


def _linked() -> dict[str, Any]:
    def linked(person: str) -> list[str]:
        """The people directly linked to a person (links go both ways)."""
        if person not in LINKS:
            raise KeyError(f"unknown person {person!r}")
        return list(LINKS[person])

    return {"linked": linked, "people": sorted(LINKS)}


def _dock() -> dict[str, Any]:
    weights = {"b1": 12, "b2": 3, "b3": 25, "b4": 8, "b5": 10}
    state: dict[str, Any] = {"shipped": {}}

    def boxes() -> list[str]:
        """The ids of the boxes waiting at the dock."""
        return [b for b in weights if b not in state["shipped"]]

    def weight(box: str) -> int:
        """The weight of a box, in kg."""
        return weights[box]

    def ship(box: str, truck: str) -> str:
        """Load a box onto a truck: 'big' or 'small'."""
        if truck not in ("big", "small"):
            raise ValueError(f"no truck {truck!r} (trucks: 'big', 'small')")
        if box not in weights or box in state["shipped"]:
            raise KeyError(f"no box {box!r} waiting")
        state["shipped"][box] = truck
        return f"{box} on the {truck} truck"

    return {"boxes": boxes, "weight": weight, "ship": ship, "_state": state}


def _lights() -> dict[str, Any]:
    state: dict[str, Any] = {"on": {"kitchen": True, "hall": True, "bedroom": False,
                                    "garage": True, "study": False}, "switches": 0}

    def lights() -> dict[str, bool]:
        """Each room's light: {room: True if on}."""
        return dict(state["on"])

    def switch(room: str, on: bool) -> str:
        """Turn a room's light on (True) or off (False)."""
        if room not in state["on"]:
            raise KeyError(f"no room {room!r}")
        state["on"][room] = bool(on)
        state["switches"] += 1
        return f"{room} light {'on' if on else 'off'}"

    return {"lights": lights, "switch": switch, "_state": state}


def _check_dock(ns: dict[str, Any]) -> bool:
    return ns["_state"]["shipped"] == {"b1": "big", "b2": "small", "b3": "big",
                                       "b4": "small", "b5": "small"}


def _check_lights(ns: dict[str, Any]) -> bool:
    st = ns["_state"]
    return st["on"] == {"kitchen": True, "hall": False, "bedroom": False, "garage": False,
                        "study": True} and st["switches"] == 3


MORE_TASKS = [
    Task("data_join_dept_avg", "data",
         "`staff` (keys name, dept_id, salary) and `depts` (keys id, title) are lists of "
         "dicts. Compute the average salary per department. Store a dict {department "
         "title: average salary} in `answer`.",
         lambda: {"staff": _rows(STAFF), "depts": _rows(DEPTS)},
         answer_is({"R&D": 60, "Ops": 50, "Legal": 65}), ("staff", "depts"),
         "title = {d['id']: d['title'] for d in depts}\nsums, counts = {}, {}\n"
         "for s in staff:\n    t = title[s['dept_id']]\n    sums[t] = sums.get(t, 0) + "
         "s['salary']\n    counts[t] = counts.get(t, 0) + 1\n"
         "answer = {t: sums[t] / counts[t] for t in sums}"),
    Task("data_join_revenue", "data",
         "`lines` are order lines (keys sku, qty) and `products` the catalogue (keys sku, "
         "category, price). Compute the revenue (qty * price) per category. Store a dict "
         "{category: revenue} in `answer`.",
         lambda: {"lines": _rows(LINES), "products": _rows(PRODUCTS)},
         answer_is({"tools": 54, "garden": 25, "paint": 20}), ("lines", "products"),
         "by_sku = {p['sku']: p for p in products}\nanswer = {}\nfor l in lines:\n"
         "    p = by_sku[l['sku']]\n    answer[p['category']] = answer.get(p['category'], 0)"
         " + l['qty'] * p['price']"),
    Task("text_csv_filter", "text",
         "`csv_text` is CSV text with a header line (name,city,age). Find the people who "
         "live in Paris and are older than 30. Store their names, sorted, in `answer`.",
         lambda: {"csv_text": PEOPLE_CSV}, answer_is(["Lena", "Rita", "Tess"]), ("csv_text",),
         "rows = [l.split(',') for l in csv_text.splitlines()[1:]]\n"
         "answer = sorted(n for n, c, a in rows if c == 'Paris' and int(a) > 30)"),
    Task("text_config_ports", "text",
         "`config` is the text of a settings file with sections like `[db]` followed by "
         "`key = value` lines (and comments starting with #). Store a dict {section name: "
         "port as an int} for every section that has a port in `answer`.",
         lambda: {"config": CONFIG}, answer_is({"db": 5432, "cache": 6379, "web": 8080}),
         ("config",),
         "answer = {}\nsection = None\nfor line in config.splitlines():\n"
         "    line = line.strip()\n    if line.startswith('['):\n"
         "        section = line.strip('[]')\n    elif line.startswith('port'):\n"
         "        answer[section] = int(line.split('=')[1])"),
    Task("graph_groups", "graph",
         "`people` is a list of names and `linked(person)` gives the people directly linked "
         "to someone (links go both ways). How many separate groups of linked people are "
         "there (someone linked to nobody is a group alone)? Store the number in `answer`.",
         _linked, answer_is(4), ("people",),
         "seen = set()\nanswer = 0\nfor p in people:\n    if p in seen:\n        continue\n"
         "    answer += 1\n    todo = [p]\n    while todo:\n        q = todo.pop()\n"
         "        if q not in seen:\n            seen.add(q)\n"
         "            todo.extend(linked(q))"),
    Task("robot_dock", "robot",
         "Ship every box waiting at the dock: boxes heavier than 10 kg go on the 'big' "
         "truck, the others on the 'small' truck.",
         _dock, _check_dock, (),
         "for b in boxes():\n    ship(b, 'big' if weight(b) > 10 else 'small')"),
    Task("robot_lights", "robot",
         "Turn off every light that is on, except the kitchen's, and turn the study light "
         "on. Do not switch any other light.",
         _lights, _check_lights, (),
         "for room, on in lights().items():\n    if on and room != 'kitchen':\n"
         "        switch(room, False)\nswitch('study', True)"),
]
