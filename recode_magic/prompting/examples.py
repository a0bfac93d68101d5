"""A small library of verified worked examples, one or two per task family (issue 21, lever 4).

Each :class:`Example` is a step written the way the model should write it: its task, its
placeholder, its variables (real values), the primitives it uses -- which exist **only in the
example**: a function of its own, answers given by a table -- its thought and its code, and
the values the code must leave (``expect``) and the primitive calls it must make, in order
(``calls``). ``tests/test_examples.py`` runs every example through ``ReCode`` on its own
data and checks both, so an example shown to a model is known to be right.

The examples are none of the project's evaluation tasks (``benchmarks/agents/tasks_*.py``):
other data, other names, other questions; only the families are shared (graph search over a
neighbour primitive, joins, grouping, parsing text with structure, intervals and orders,
worlds that answer, inventories with exact names). :mod:`.nearest` picks the one nearest to
the step being expanded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Example", "Tool", "LIBRARY", "SESSION"]

#: The family of an example taken from an earlier run of the session (:mod:`.session`).
SESSION = "session"


@dataclass(frozen=True, eq=False)
class Tool:
    """A primitive that exists only in one example: its signature, its doc, its answers.

    ``answers`` maps the argument (the tuple of arguments for several, ``()`` for none) to
    the answer; with ``successive`` each value is a tuple of answers given in turn to the
    same argument (a world whose state changes). An argument not in the table gets
    ``default``, or a ``KeyError`` when ``default`` is None.
    """

    signature: str
    doc: str
    answers: Mapping[Any, Any]
    default: Any = None
    successive: bool = False


@dataclass(frozen=True, eq=False)
class Example:
    """One worked step: shown to the model as it is, checked by the tests as it is.

    ``call`` is ``solve(task)`` for a whole task (its text shown above it, as the engine shows
    a root) or a placeholder line ``out = name(inputs)``; ``words`` are extra words for the
    nearest-example score (the family's vocabulary), never shown; ``shown`` the variable
    lines as a prompt showed them, for a step of an earlier run (whose values are gone).
    """

    family: str
    task: str
    call: str
    inputs: Mapping[str, Any]
    thought: str
    code: str
    expect: Mapping[str, Any]
    tools: Mapping[str, Tool] = field(default_factory=dict)
    calls: tuple[tuple[str, Any], ...] = ()
    words: str = ""
    shown: tuple[str, ...] = ()


_GRAPH_WORDS = ("graph neighbour neighbor node edge link search breadth bfs visit queue reach "
                "through follow away adjacent connected exit door path map")
_TIME_WORDS = "time hour minute schedule calendar interval start end slot busy free"
_WORLD_WORDS = "world robot game action act command answer observation reply try until"
_STOCK_WORDS = "inventory stock item order cart warehouse exact name listing catalogue"

_RIDES = Example(
    "graph", "How many rides does it take, at fewest, to get from the station 'quay' to "
    "'museum'? Use `next_stops`. Store the number in `rides` and the stations on the way "
    "(both ends included) in `route`.",
    "solve(task)", {},
    "Breadth-first search from 'quay': each station gets its number of rides and the "
    "station it was reached from; then I walk back from 'museum' for the route.",
    'dist = {"quay": 0}\nprev = {"quay": None}\nqueue = ["quay"]\nfor station in queue:\n'
    "    for nxt in next_stops(station):\n        if nxt not in dist:\n"
    "            dist[nxt] = dist[station] + 1\n            prev[nxt] = station\n"
    '            queue.append(nxt)\nrides = dist["museum"]\nroute = ["museum"]\n'
    "while prev[route[0]] is not None:\n    route.insert(0, prev[route[0]])",
    {"rides": 3, "route": ["quay", "market", "park", "museum"]},
    {"next_stops": Tool("next_stops(station)", "The stations one ride away (a list of names).",
                        {"quay": ["bridge", "market"], "bridge": ["quay", "tower"],
                         "market": ["quay", "park"], "tower": ["bridge", "garden"],
                         "park": ["market", "museum"], "garden": ["tower", "museum"],
                         "museum": ["park", "garden"]})},
    words=f"{_GRAPH_WORDS} shortest path route fewest steps distance hops degrees between")

_SINKS = Example(
    "graph", "Starting at the server 'gateway' and following `forwards_to`, list the servers "
    "a message can reach (gateway excluded), sorted, in `reached`, and those of them that "
    "forward to no one in `sinks`.",
    "reached, sinks = servers_reached(start)", {"start": "gateway"},
    "Visit every server reachable from start, each once; a server whose list is empty is a "
    "sink.",
    "seen = [start]\nfor server in seen:\n    for nxt in forwards_to(server):\n"
    "        if nxt not in seen:\n            seen.append(nxt)\n"
    "reached = sorted(s for s in seen if s != start)\n"
    "sinks = sorted(s for s in reached if not forwards_to(s))",
    {"reached": ["archive", "auth", "cache", "db", "logs"], "sinks": ["archive", "db"]},
    {"forwards_to": Tool("forwards_to(server)", "The servers a server passes messages to.",
                         {"gateway": ["auth", "cache"], "auth": ["db"],
                          "cache": ["auth", "logs"], "db": [], "logs": ["archive"],
                          "archive": [], "spare": ["db"]})},
    words=f"{_GRAPH_WORDS} reachable reach dead end outgoing leaf pages rooms")

_ISLANDS = Example(
    "graph", "`tiles` lists map tiles and `touching(tile)` the tiles that touch one. How many "
    "islands (groups of touching tiles) are there, and how many tiles has the biggest? Store "
    "them in `count` and `biggest`.",
    "count, biggest = island_sizes(tiles)",
    {"tiles": ["a1", "a2", "b1", "c3", "c4", "d9"]},
    "Each tile not seen yet starts a new group; I grow it through touching tiles. A tile "
    "touching nothing is a group alone.",
    "seen = set()\nsizes = []\nfor tile in tiles:\n    if tile in seen:\n        continue\n"
    "    group = [tile]\n    seen.add(tile)\n    for t in group:\n"
    "        for other in touching(t):\n            if other not in seen:\n"
    "                seen.add(other)\n                group.append(other)\n"
    "    sizes.append(len(group))\ncount = len(sizes)\nbiggest = max(sizes)",
    {"count": 3, "biggest": 3},
    {"touching": Tool("touching(tile)", "The tiles that touch a tile (touching goes both "
                      "ways).", {"a1": ["a2", "b1"], "a2": ["a1"], "b1": ["a1"],
                                 "c3": ["c4"], "c4": ["c3"], "d9": []})},
    words=f"{_GRAPH_WORDS} connected component group cluster separate linked people friends")

_SEATS = Example(
    "join", "`tickets` (keys event_id, seats) and `events` (keys id, venue) are lists of "
    "dicts. How many seats were sold per venue? Store a dict {venue: seats} in "
    "`seats_by_venue`.",
    "solve(task)",
    {"tickets": [{"event_id": 7, "seats": 2}, {"event_id": 9, "seats": 4},
                 {"event_id": 8, "seats": 1}, {"event_id": 7, "seats": 3}],
     "events": [{"id": 7, "venue": "Arena"}, {"id": 8, "venue": "Club"},
                {"id": 9, "venue": "Arena"}]},
    "A ticket names its event by event_id. `events` is a list: events[7] would be a "
    "position, not the event with id 7, so I first make a dict id -> venue, then add the "
    "seats up per venue.",
    'venue_of = {e["id"]: e["venue"] for e in events}\nseats_by_venue = {}\n'
    "for t in tickets:\n    venue = venue_of[t[\"event_id\"]]\n"
    '    seats_by_venue[venue] = seats_by_venue.get(venue, 0) + t["seats"]',
    {"seats_by_venue": {"Arena": 9, "Club": 1}},
    words="join merge lookup match id key foreign table rows list dicts per total sum "
          "average each")

_TRIPS = Example(
    "group", "`trips` is a list of dicts with keys driver and km. Count the trips of each "
    "driver and find who drove the most kilometres in all. Store {driver: trips} in "
    "`trips_per_driver` and the name in `top_driver`.",
    "trips_per_driver, top_driver = driver_totals(trips)",
    {"trips": [{"driver": "Noor", "km": 12}, {"driver": "Ivo", "km": 30},
               {"driver": "Noor", "km": 5}, {"driver": "Kit", "km": 8},
               {"driver": "Ivo", "km": 4}]},
    "Group by driver: one dict counts trips, another adds kilometres; the top driver has "
    "the largest total.",
    "from collections import Counter\n"
    'trips_per_driver = dict(Counter(t["driver"] for t in trips))\nkm = {}\n'
    'for t in trips:\n    km[t["driver"]] = km.get(t["driver"], 0) + t["km"]\n'
    "top_driver = max(km, key=km.get)",
    {"trips_per_driver": {"Noor": 2, "Ivo": 2, "Kit": 1}, "top_driver": "Ivo"},
    words="group count per each total sum most frequent largest biggest rank top tally "
          "records list dicts")

_ROLES = Example(
    "parse", "`accounts` is the text of a file with one `[user]` section per user, then "
    "`key = value` lines (comments start with ;). Store a dict {role: sorted list of users} "
    "in `users_by_role`.",
    "solve(task)",
    {"accounts": "; access list\n[kim]\nrole = admin\nshell = zsh\n\n[lou]\nrole = guest\n"
                 "\n[max]\nshell = bash\nrole = admin\n"},
    "Go line by line: a `[name]` line starts a section, a `key = value` line is split at the "
    "first '='; blank lines and comments are skipped.",
    "users_by_role = {}\nuser = None\nfor line in accounts.splitlines():\n"
    "    line = line.strip()\n    if not line or line.startswith(\";\"):\n        continue\n"
    '    if line.startswith("[") and line.endswith("]"):\n        user = line[1:-1]\n'
    "        continue\n    key, value = [part.strip() for part in line.split(\"=\", 1)]\n"
    '    if key == "role":\n        users_by_role.setdefault(value, []).append(user)\n'
    "for users in users_by_role.values():\n    users.sort()",
    {"users_by_role": {"admin": ["kim", "max"], "guest": ["lou"]}},
    words="parse text lines section config settings ini file key value setting comment")

_BADGES = Example(
    "parse", "`badge_log` has one line per badge swipe: the time (HH:MM:SS), the person, then "
    "IN or OUT. Store the time of each person's last swipe in a dict {person: time} in "
    "`last_seen`.",
    "last_seen = last_swipes(badge_log)",
    {"badge_log": "08:01:15 rosa IN\n08:07:42 theo IN\n12:30:05 rosa OUT\n"
                  "13:02:59 rosa IN\n17:45:10 theo OUT"},
    "Split each line on spaces, not on ':' (the time has colons in it); the lines are in "
    "time order, so the last one of a person wins.",
    "last_seen = {}\nfor line in badge_log.splitlines():\n"
    "    clock, person, direction = line.split()\n    last_seen[person] = clock",
    {"last_seen": {"rosa": "13:02:59", "theo": "17:45:10"}},
    words="parse text log lines timestamp time date level message error warning colon "
          "split count per")

_CRATES = Example(
    "parse", "`picked_csv` is CSV text with a header line (day,crop,crates). Store the total "
    "crates per crop, as ints, in a dict {crop: crates} in `crates_per_crop`.",
    "solve(task)",
    {"picked_csv": "day,crop,crates\nmon,pears,4\nmon,plums,7\ntue,pears,3\nwed,plums,2\n"
                   "wed,figs,5"},
    "No csv module: the first line names the columns, each other line is split at the "
    "commas and zipped with them; numbers are text, so int().",
    'lines = picked_csv.strip().splitlines()\nheader = lines[0].split(",")\n'
    "crates_per_crop = {}\nfor line in lines[1:]:\n"
    '    row = dict(zip(header, line.split(",")))\n    crop = row["crop"]\n'
    '    crates_per_crop[crop] = crates_per_crop.get(crop, 0) + int(row["crates"])',
    {"crates_per_crop": {"pears": 7, "plums": 9, "figs": 5}},
    words="parse csv comma separated header columns rows table text filter")

_CLASHES = Example(
    "intervals", "`bookings` are dicts with keys who, start and end (\"HH:MM\"). Which "
    "bookings clash with a new one from `new_start` to `new_end`? Touching ends do not "
    "clash. Store the names, sorted, in `clashes`.",
    "clashes = clashing_bookings(bookings, new_start, new_end)",
    {"bookings": [{"who": "Ravi", "start": "13:00", "end": "14:30"},
                  {"who": "Uma", "start": "15:00", "end": "16:00"},
                  {"who": "Lin", "start": "14:00", "end": "15:00"},
                  {"who": "Oto", "start": "16:00", "end": "17:00"}],
     "new_start": "14:30", "new_end": "15:30"},
    "Times in minutes make the comparison safe; two intervals overlap when each starts "
    "before the other ends.",
    'h, m = new_start.split(":")\nnew_a = int(h) * 60 + int(m)\n'
    'h, m = new_end.split(":")\nnew_b = int(h) * 60 + int(m)\nclashes = []\n'
    "for b in bookings:\n    h, m = b[\"start\"].split(\":\")\n    a = int(h) * 60 + int(m)\n"
    '    h, m = b["end"].split(":")\n    z = int(h) * 60 + int(m)\n'
    "    if a < new_b and new_a < z:\n        clashes.append(b[\"who\"])\nclashes.sort()",
    {"clashes": ["Lin", "Uma"]},
    words=f"{_TIME_WORDS} overlap conflict clash meeting booking pairs")

_GAP = Example(
    "intervals", "`talks` lists today's talks on one stage as (start, end) \"HH:MM\" "
    "pairs, in any order. The stage is open from 09:00 to 18:00. Find the first free gap of "
    "at least 45 minutes; store its start (\"HH:MM\") in `gap_start`.",
    "solve(task)",
    {"talks": [("10:30", "11:15"), ("09:00", "10:00"), ("11:30", "12:30"),
               ("13:30", "14:00")]},
    "Sort the talks in minutes, then walk through them keeping the time the stage is free "
    "from; the last gap runs to closing time.",
    "times = sorted((int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])) "
    "for a, b in talks)\nfree_from = 9 * 60\ngap_start = None\n"
    "for start, end in times + [(18 * 60, 18 * 60)]:\n    if start - free_from >= 45:\n"
    '        gap_start = f"{free_from // 60:02d}:{free_from % 60:02d}"\n        break\n'
    "    free_from = max(free_from, end)",
    {"gap_start": "12:30"},
    words=f"{_TIME_WORDS} gap common available earliest first day everyone")

_TERMS = Example(
    "intervals", "`requires` maps each course to the courses to pass before it. A course "
    "with no requirement is taken in term 1, any other in the term after its last "
    "requirement. Store {course: term} in `term_of`.",
    "term_of = course_terms(requires)",
    {"requires": {"stats": ["algebra"], "algebra": [], "ml": ["stats", "coding"],
                  "coding": [], "thesis": ["ml"]}},
    "A course gets its term once all its requirements have one; a pass over the courses "
    "per course is enough (no loop that could run forever).",
    "term_of = {}\nfor _ in range(len(requires)):\n"
    "    for course, before in requires.items():\n"
    "        if course not in term_of and all(b in term_of for b in before):\n"
    "            term_of[course] = 1 + max((term_of[b] for b in before), default=0)",
    {"term_of": {"algebra": 1, "coding": 1, "stats": 2, "ml": 3, "thesis": 4}},
    words="prereq prerequisite require requirement dependency depend before after "
          "topological sort sequence level first then run build")

_LOCKER = Example(
    "world", "Open the locker: try the codes in `codes` one by one with `dial` and stop at "
    "the first one it accepts. Store that code in `opened_with`.",
    "solve(task)", {"codes": ["1234", "7777", "0451", "9999"]},
    "Each answer says whether the code worked, so I read it after every try and stop at the "
    "first that opens.",
    "opened_with = None\nfor code in codes:\n    said = dial(code)\n"
    "    print(code, said)\n    if \"open\" in said.lower():\n"
    "        opened_with = code\n        break",
    {"opened_with": "0451"},
    {"dial": Tool("dial(code)", "Enter a code on the locker; answers what happened.",
                  {"0451": "Click. The locker opens."}, default="Beep. Wrong code.")},
    calls=(("dial", "1234"), ("dial", "7777"), ("dial", "0451")),
    words=f"{_WORLD_WORDS} loop stop first accepted works")

_SHED = Example(
    "world", "Get into the garden shed with `do`. Its door may be locked; the brass key hangs "
    "on the hook.",
    "solve(task)", {},
    "I act, then read what the world answered before the next action: only a locked door "
    "needs the key.",
    'said = do("open shed door")\nprint(said)\nif "locked" in said.lower():\n'
    '    print(do("take brass key from hook"))\n'
    '    print(do("unlock shed door with brass key"))\n    said = do("open shed door")\n'
    "    print(said)",
    {"said": "You open the shed door."},
    {"do": Tool("do(command)", "Do one thing in the game; answers what you see.",
                {"open shed door": ("The shed door is locked.", "You open the shed door."),
                 "take brass key from hook": ("You take the brass key.",),
                 "unlock shed door with brass key": ("You unlock the shed door.",)},
                default=("You can't do that.",), successive=True)},
    calls=(("do", "open shed door"), ("do", "take brass key from hook"),
           ("do", "unlock shed door with brass key"), ("do", "open shed door")),
    words=f"{_WORLD_WORDS} go take open unlock key door room look text")

_BEDS = Example(
    "world", "Water every garden bed whose moisture is under 30 %: 2 litres when it is under "
    "15 %, else 1 litre. Water no other bed.",
    "solve(task)", {},
    "The robot's listing gives the exact bed names; I read each bed's moisture, then act "
    "only where the task says.",
    "for bed in beds():\n    level = moisture(bed)\n    if level < 15:\n"
    "        print(water(bed, 2))\n    elif level < 30:\n        print(water(bed, 1))",
    {},
    {"beds": Tool("beds()", "The names of the garden beds.",
                  {(): ["herbs", "tomatoes", "roses", "beans"]}),
     "moisture": Tool("moisture(bed)", "The moisture of a bed, in %.",
                      {"herbs": 12, "tomatoes": 45, "roses": 22, "beans": 30}),
     "water": Tool("water(bed, litres)", "Water a bed with some litres; answers what it did.",
                   {("herbs", 2): "herbs: 2 l", ("roses", 1): "roses: 1 l"})},
    calls=(("beds", ()), ("moisture", "herbs"), ("water", ("herbs", 2)),
           ("moisture", "tomatoes"), ("moisture", "roses"), ("water", ("roses", 1)),
           ("moisture", "beans")),
    words=f"{_WORLD_WORDS} robot each every only state check rooms lights switch move")

_BATTERIES = Example(
    "inventory", "Order 3 packs of AA batteries and 1 torch. Use the exact item names that "
    "`catalogue()` lists.",
    "solve(task)", {},
    "Names are not guessed: I read the catalogue, pick the exact names from it, then "
    "order.",
    "names = catalogue()\nprint(names)\n"
    'batteries = [n for n in names if n.startswith("AA batteries")][0]\n'
    'torch = [n for n in names if "torch" in n][0]\norder(batteries, 3)\norder(torch, 1)',
    {"batteries": "AA batteries (4-pack)", "torch": "head torch"},
    {"catalogue": Tool("catalogue()", "The exact names of the items for sale.",
                       {(): ["AAA batteries (8-pack)", "AA batteries (4-pack)", "head torch",
                             "tent pegs"]}),
     "order": Tool("order(item, quantity)", "Order units of an item (its exact name).",
                   {("AA batteries (4-pack)", 3): "ordered 3 x AA batteries (4-pack)",
                    ("head torch", 1): "ordered 1 x head torch"})},
    calls=(("catalogue", ()), ("order", ("AA batteries (4-pack)", 3)),
           ("order", ("head torch", 1))),
    words=f"{_STOCK_WORDS} buy add product shop")

_SCREWS = Example(
    "inventory", "Pack every kind of screw in bin 'A' into the kit, all units of each. "
    "`contents(bin)` gives what a bin holds, by exact item name.",
    "solve(task)", {},
    "The bin's listing gives the exact names and counts; I pack each screw item with its "
    "count.",
    'items = contents("A")\nprint(items)\nfor name, count in items.items():\n'
    '    if "screw" in name:\n        pack(name, count, "A")',
    {"items": {"screws M4": 120, "washers": 40, "screws M6": 30}},
    {"contents": Tool("contents(bin)", "What a bin holds: {exact item name: units}.",
                      {"A": {"screws M4": 120, "washers": 40, "screws M6": 30}}),
     "pack": Tool("pack(item, quantity, bin)", "Move units of an item from a bin into the "
                  "kit.", {("screws M4", 120, "A"): "packed 120 screws M4",
                           ("screws M6", 30, "A"): "packed 30 screws M6"})},
    calls=(("contents", "A"), ("pack", ("screws M4", 120, "A")),
           ("pack", ("screws M6", 30, "A"))),
    words=f"{_STOCK_WORDS} move transfer bin units all")

#: The built-in library, in a fixed order (ties in the nearest-example score go to the first).
LIBRARY: tuple[Example, ...] = (_RIDES, _SINKS, _ISLANDS, _SEATS, _TRIPS, _ROLES, _BADGES,
                                _CRATES, _CLASHES, _GAP, _TERMS, _LOCKER, _SHED, _BEDS,
                                _BATTERIES, _SCREWS)
