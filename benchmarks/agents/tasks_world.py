"""Task suite, part 2: data tables, a robot, inventory actions and graph search.

The primitives are plain functions with docstrings, made fresh by each ``setup()`` and
closed over a private state dict kept in the namespace as ``_state`` (private names are not
primitives and are never shown to the model); ``check`` reads the answer and that state.
"""

from __future__ import annotations

from typing import Any

from task_types import Task, answer_is

__all__ = ["DATA_TASKS", "ROBOT_TASKS", "INVENTORY_TASKS", "GRAPH_TASKS", "READ_ONLY"]

#: The suite's primitives that only read (a user would mark them ``@primitive(pure=True)``;
#: ``run_eval.py --mark-pure`` does, issue 21).
READ_ONLY = frozenset({"position", "look", "rooms", "is_dirty", "get_stock", "list_orders",
                       "stock_at", "neighbors", "links", "friends"})

# -- data ------------------------------------------------------------------------------------

SALES = [{"region": "north", "product": "tea", "amount": 120},
         {"region": "south", "product": "tea", "amount": 80},
         {"region": "north", "product": "coffee", "amount": 200},
         {"region": "east", "product": "tea", "amount": 50},
         {"region": "south", "product": "coffee", "amount": 140},
         {"region": "east", "product": "coffee", "amount": 75},
         {"region": "north", "product": "cocoa", "amount": 30},
         {"region": "south", "product": "cocoa", "amount": 20}]

CUSTOMERS = [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bo"}, {"id": 3, "name": "Cleo"},
             {"id": 4, "name": "Dev"}]
ORDERS = [{"order_id": 10, "customer_id": 1, "amount": 60},
          {"order_id": 11, "customer_id": 2, "amount": 30},
          {"order_id": 12, "customer_id": 1, "amount": 55},
          {"order_id": 13, "customer_id": 3, "amount": 150},
          {"order_id": 14, "customer_id": 2, "amount": 40},
          {"order_id": 15, "customer_id": 4, "amount": 100}]

EMPLOYEES = [{"name": "Iris", "dept": "Engineering", "salary": 98000, "years": 5},
             {"name": "Jon", "dept": "Sales", "salary": 70000, "years": 6},
             {"name": "Kai", "dept": "Engineering", "salary": 105000, "years": 3},
             {"name": "Lea", "dept": "Engineering", "salary": 87000, "years": 2},
             {"name": "Max", "dept": "Engineering", "salary": 91000, "years": 8},
             {"name": "Noa", "dept": "Support", "salary": 60000, "years": 4}]

PRODUCTS = [{"name": "lamp", "rating": 4.5, "reviews": 120},
            {"name": "desk", "rating": 4.8, "reviews": 40},
            {"name": "chair", "rating": 4.5, "reviews": 300},
            {"name": "shelf", "rating": 3.9, "reviews": 80},
            {"name": "rug", "rating": 4.7, "reviews": 15}]


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]


DATA_TASKS = [
    Task("data_group_sum", "data",
         "`sales` is a list of dicts with keys region, product and amount. Compute the total "
         "amount per region. Store a dict {region: total} in `answer`.",
         lambda: {"sales": _rows(SALES)}, answer_is({"north": 350, "south": 240, "east": 125}),
         ("sales",),
         "answer = {}\nfor s in sales:\n    answer[s['region']] = answer.get(s['region'], 0)"
         " + s['amount']"),
    Task("data_join_spend", "data",
         "`orders` (keys order_id, customer_id, amount) and `customers` (keys id, name) are "
         "lists of dicts. Which customers spent more than 100 in total over all their "
         "orders? Store their names, sorted alphabetically, in `answer`.",
         lambda: {"orders": _rows(ORDERS), "customers": _rows(CUSTOMERS)},
         answer_is(["Ada", "Cleo"]), ("orders", "customers"),
         "names = {c['id']: c['name'] for c in customers}\ntotal = {}\nfor o in orders:\n"
         "    total[o['customer_id']] = total.get(o['customer_id'], 0) + o['amount']\n"
         "answer = sorted(names[i] for i, t in total.items() if t > 100)"),
    Task("data_filter_sort", "data",
         "`employees` is a list of dicts with keys name, dept, salary and years. List the "
         "names of the employees of the Engineering department with at least 3 years, from "
         "the highest salary to the lowest. Store the list in `answer`.",
         lambda: {"employees": _rows(EMPLOYEES)}, answer_is(["Kai", "Iris", "Max"]),
         ("employees",),
         "answer = [e['name'] for e in sorted(employees, key=lambda e: -e['salary']) "
         "if e['dept'] == 'Engineering' and e['years'] >= 3]"),
    Task("data_rank_top3", "data",
         "`products` is a list of dicts with keys name, rating and reviews. Rank the "
         "products by rating, highest first; between equal ratings, more reviews first. "
         "Store the names of the top 3 in `answer`, best first.",
         lambda: {"products": _rows(PRODUCTS)}, answer_is(["desk", "rug", "chair"]),
         ("products",),
         "answer = [p['name'] for p in sorted(products, key=lambda p: (-p['rating'], "
         "-p['reviews']))][:3]"),
]

# -- robot -----------------------------------------------------------------------------------

_STEPS = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}


def _grid_robot() -> dict[str, Any]:
    state: dict[str, Any] = {"pos": (0, 0), "moves": 0}

    def move(direction: str) -> tuple[int, int]:
        """Move the robot one cell: 'north' (y+1), 'south' (y-1), 'east' (x+1) or 'west' (x-1); returns the new (x, y)."""  # noqa: E501
        if direction not in _STEPS:
            raise ValueError(f"unknown direction {direction!r} (north, south, east, west)")
        dx, dy = _STEPS[direction]
        state["pos"] = (state["pos"][0] + dx, state["pos"][1] + dy)
        state["moves"] += 1
        return state["pos"]

    def position() -> tuple[int, int]:
        """The robot's current (x, y) cell."""
        return state["pos"]

    return {"move": move, "position": position, "_state": state}


def _fetch_robot() -> dict[str, Any]:
    state: dict[str, Any] = {"at": "living room", "holding": None,
                             "items": {"red cup": "kitchen", "blue cup": "garage",
                                       "book": "kitchen"}}
    places = ("kitchen", "garage", "living room")

    def go_to(place: str) -> str:
        """Walk to a place: 'kitchen', 'garage' or 'living room'."""
        if place not in places:
            raise ValueError(f"no such place {place!r} (places: {', '.join(places)})")
        state["at"] = place
        return f"You are in the {place}."

    def look() -> list[str]:
        """The items lying in the robot's current place."""
        return sorted(i for i, p in state["items"].items() if p == state["at"])

    def pick_up(item: str) -> str:
        """Pick up an item lying here; the robot can hold one item at a time."""
        if state["holding"] is not None:
            raise RuntimeError(f"already holding the {state['holding']}: put it down first")
        if state["items"].get(item) != state["at"]:
            raise RuntimeError(f"there is no {item!r} in the {state['at']}")
        state["items"][item] = "robot"
        state["holding"] = item
        return f"Holding the {item}."

    def put_down() -> str:
        """Put the held item down in the current place."""
        item = state["holding"]
        if item is None:
            raise RuntimeError("not holding anything")
        state["items"][item], state["holding"] = state["at"], None
        return f"The {item} is in the {state['at']}."

    return {"go_to": go_to, "look": look, "pick_up": pick_up, "put_down": put_down,
            "_state": state}


def _vacuum_robot() -> dict[str, Any]:
    dirty = {"hall": True, "kitchen": False, "bedroom": True, "office": False, "bath": True}
    state: dict[str, Any] = {"dirty": dirty, "vacuumed": []}

    def rooms() -> list[str]:
        """The names of the rooms of the flat."""
        return list(dirty)

    def is_dirty(room: str) -> bool:
        """True when the room needs vacuuming."""
        return dirty[room]

    def vacuum(room: str) -> str:
        """Vacuum one room (uses battery, so only vacuum dirty rooms)."""
        if room not in dirty:
            raise KeyError(f"no room {room!r}")
        state["vacuumed"].append(room)
        dirty[room] = False
        return f"{room} is clean."

    return {"rooms": rooms, "is_dirty": is_dirty, "vacuum": vacuum, "_state": state}


def _painter() -> dict[str, Any]:
    state: dict[str, Any] = {"pos": (0, 0), "painted": {}}

    def move_to(x: int, y: int) -> tuple[int, int]:
        """Move the painting robot to the cell (x, y)."""
        state["pos"] = (int(x), int(y))
        return state["pos"]

    def paint(color: str) -> str:
        """Paint the cell the robot is on with the given color."""
        state["painted"][state["pos"]] = color
        return f"{state['pos']} is {color}."

    return {"move_to": move_to, "paint": paint, "_state": state}


ROBOT_TASKS = [
    Task("robot_goto", "robot",
         "The robot starts at (0, 0). Drive it to the cell (2, -3) with `move`.",
         _grid_robot, lambda ns: ns["_state"]["pos"] == (2, -3), (),
         "for _ in range(2):\n    move('east')\nfor _ in range(3):\n    move('south')"),
    Task("robot_fetch_cups", "robot",
         "The red cup is in the kitchen and the blue cup is in the garage. Bring both cups "
         "to the living room and leave them there. The robot can carry one item at a time.",
         _fetch_robot,
         lambda ns: (ns["_state"]["items"]["red cup"] == "living room"
                     and ns["_state"]["items"]["blue cup"] == "living room"
                     and ns["_state"]["items"]["book"] == "kitchen"), (),
         "for place, cup in [('kitchen', 'red cup'), ('garage', 'blue cup')]:\n"
         "    go_to(place)\n    pick_up(cup)\n    go_to('living room')\n    put_down()"),
    Task("robot_vacuum", "robot",
         "Vacuum every dirty room of the flat, and only the dirty ones.",
         _vacuum_robot,
         lambda ns: (not any(ns["_state"]["dirty"].values())
                     and sorted(ns["_state"]["vacuumed"]) == ["bath", "bedroom", "hall"]), (),
         "for r in rooms():\n    if is_dirty(r):\n        vacuum(r)"),
    Task("robot_paint", "robot",
         "Paint the cells (0, 0), (1, 0) and (2, 0) red and the cell (1, 1) blue. Paint no "
         "other cell.",
         _painter,
         lambda ns: ns["_state"]["painted"] == {(0, 0): "red", (1, 0): "red", (2, 0): "red",
                                                (1, 1): "blue"}, (),
         "for x in range(3):\n    move_to(x, 0)\n    paint('red')\nmove_to(1, 1)\n"
         "paint('blue')"),
]

# -- inventory / ordering --------------------------------------------------------------------


def _shop() -> dict[str, Any]:
    stock = {"pens": 3, "paper": 12, "tape": 0, "stapler": 7, "clips": 4}
    state: dict[str, Any] = {"stock": stock, "orders": []}

    def get_stock(item: str) -> int:
        """How many units of an item are in stock."""
        return stock[item]

    def place_order(item: str, quantity: int) -> str:
        """Order `quantity` more units of an item from the supplier (added to the stock)."""
        if item not in stock or int(quantity) <= 0:
            raise ValueError(f"bad order: {item!r} x {quantity!r}")
        stock[item] += int(quantity)
        state["orders"].append((item, int(quantity)))
        return f"ordered {quantity} {item}"

    return {"get_stock": get_stock, "place_order": place_order, "items": list(stock),
            "_state": state}


CATALOG = [{"sku": "A1", "name": "USB cable", "price": 6.5},
           {"sku": "B2", "name": "mouse pad", "price": 4.0},
           {"sku": "C3", "name": "keyboard", "price": 35.0},
           {"sku": "D4", "name": "sticker pack", "price": 2.5}]


def _cart() -> dict[str, Any]:
    state: dict[str, Any] = {"cart": {}}

    def add_to_cart(sku: str, quantity: int = 1) -> str:
        """Add `quantity` units of the product with this sku to the shopping cart."""
        if sku not in {p["sku"] for p in CATALOG}:
            raise KeyError(f"unknown sku {sku!r}")
        state["cart"][sku] = state["cart"].get(sku, 0) + int(quantity)
        return f"cart: {state['cart']}"

    return {"add_to_cart": add_to_cart, "catalog": _rows(CATALOG), "_state": state}


def _order_desk() -> dict[str, Any]:
    orders = [{"id": 101, "customer": "acme", "status": "pending"},
              {"id": 102, "customer": "zenith", "status": "pending"},
              {"id": 103, "customer": "acme", "status": "shipped"},
              {"id": 104, "customer": "acme", "status": "pending"},
              {"id": 105, "customer": "bolt", "status": "cancelled"}]
    state: dict[str, Any] = {"orders": orders, "cancelled": []}

    def list_orders() -> list[dict[str, Any]]:
        """All orders, as dicts with keys id, customer and status."""
        return [dict(o) for o in orders]

    def cancel_order(order_id: int) -> str:
        """Cancel the order with this id."""
        for o in orders:
            if o["id"] == order_id:
                o["status"] = "cancelled"
                state["cancelled"].append(order_id)
                return f"order {order_id} cancelled"
        raise KeyError(f"no order {order_id!r}")

    return {"list_orders": list_orders, "cancel_order": cancel_order, "_state": state}


def _warehouses() -> dict[str, Any]:
    stock = {"north": {"bolts": 40, "nuts": 10}, "south": {"bolts": 15, "nuts": 30}}
    state: dict[str, Any] = {"stock": stock}

    def stock_at(warehouse: str, item: str) -> int:
        """Units of `item` in a warehouse ('north' or 'south')."""
        return stock[warehouse][item]

    def transfer(item: str, quantity: int, source: str, destination: str) -> str:
        """Move `quantity` units of `item` from the source warehouse to the destination."""
        quantity = int(quantity)
        if quantity <= 0 or stock[source][item] < quantity:
            raise ValueError(f"cannot move {quantity} {item} from {source} "
                             f"(it has {stock[source][item]})")
        stock[source][item] -= quantity
        stock[destination][item] += quantity
        return f"moved {quantity} {item} from {source} to {destination}"

    return {"stock_at": stock_at, "transfer": transfer, "_state": state}


INVENTORY_TASKS = [
    Task("inv_restock", "inventory",
         "For every item in `items` whose stock is below 5, order enough units to bring its "
         "stock to exactly 10. Do not order anything else.",
         _shop, lambda ns: sorted(ns["_state"]["orders"]) == [("clips", 6), ("pens", 7),
                                                             ("tape", 10)], ("items",),
         "for it in items:\n    n = get_stock(it)\n    if n < 5:\n"
         "        place_order(it, 10 - n)"),
    Task("inv_cart", "inventory",
         "`catalog` lists the products (dicts with keys sku, name, price). Add 2 units of the "
         "cheapest product and 1 USB cable to the cart.",
         _cart, lambda ns: ns["_state"]["cart"] == {"D4": 2, "A1": 1}, ("catalog",),
         "cheap = min(catalog, key=lambda p: p['price'])\nadd_to_cart(cheap['sku'], 2)\n"
         "add_to_cart('A1', 1)"),
    Task("inv_cancel_pending", "inventory",
         "Cancel every order of the customer 'acme' that is still pending. Leave all other "
         "orders alone.",
         _order_desk, lambda ns: sorted(ns["_state"]["cancelled"]) == [101, 104], (),
         "for o in list_orders():\n    if o['customer'] == 'acme' and o['status'] == "
         "'pending':\n        cancel_order(o['id'])"),
    Task("inv_rebalance", "inventory",
         "Move all the bolts of the north warehouse to the south warehouse, then move 5 nuts "
         "from south to north.",
         _warehouses, lambda ns: ns["_state"]["stock"] == {"north": {"bolts": 0, "nuts": 15},
                                                           "south": {"bolts": 55, "nuts": 25}},
         (),
         "transfer('bolts', stock_at('north', 'bolts'), 'north', 'south')\n"
         "transfer('nuts', 5, 'south', 'north')"),
]

# -- graph search ----------------------------------------------------------------------------

BUILDING = {"lobby": ["hall", "cafe"], "hall": ["lab", "lobby"], "cafe": ["lobby"],
            "lab": ["server room"], "server room": [], "attic": ["roof"], "roof": ["attic"]}
ROADS = {"A": ["B", "C"], "B": ["D"], "C": ["D", "E"], "D": ["F"], "E": ["G"], "F": ["H"],
         "G": ["H"], "H": []}
FRIENDS = {"alice": ["bob", "carol"], "bob": ["alice", "dan"], "carol": ["alice", "erin"],
           "dan": ["bob", "frank"], "erin": ["carol", "frank", "zoe"],
           "frank": ["dan", "erin"], "zoe": ["erin"]}
SITE = {"home": ["about", "blog"], "about": ["team", "home"], "blog": ["post1", "post2"],
        "post1": ["blog"], "post2": [], "team": [], "old": []}


def _graph(adj: dict[str, list[str]], name: str, doc: str) -> dict[str, Any]:
    state: dict[str, Any] = {"calls": 0}

    def fn(node: str) -> list[str]:
        state["calls"] += 1
        if node not in adj:
            raise KeyError(f"unknown node {node!r}")
        return list(adj[node])

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return {name: fn, "_state": state}


def _shortest_path_ok(ns: dict[str, Any]) -> bool:
    path = ns.get("answer")
    if not isinstance(path, (list, tuple)) or len(path) != 5:
        return False
    return (path[0] == "A" and path[-1] == "H"
            and all(b in ROADS.get(a, []) for a, b in zip(path, path[1:], strict=False)))


GRAPH_TASKS = [
    Task("graph_reachable", "graph",
         "Which rooms can be reached from the lobby by following `neighbors`? Store them, "
         "the lobby included, as a sorted list in `answer`.",
         lambda: _graph(BUILDING, "neighbors", "The rooms you can walk to directly from a "
                                                "room (a list of names)."),
         answer_is(["cafe", "hall", "lab", "lobby", "server room"]), (),
         "seen = ['lobby']\nfor r in seen:\n    for n in neighbors(r):\n"
         "        if n not in seen:\n            seen.append(n)\nanswer = sorted(seen)"),
    Task("graph_shortest_path", "graph",
         "Find a shortest route from 'A' to 'H' using `neighbors` (roads are one-way). Store "
         "it as the list of places, starting with 'A' and ending with 'H', in `answer`.",
         lambda: _graph(ROADS, "neighbors", "The places reachable by one road from a place."),
         _shortest_path_ok, (),
         "prev = {'A': None}\nqueue = ['A']\nfor p in queue:\n    for n in neighbors(p):\n"
         "        if n not in prev:\n            prev[n] = p\n            queue.append(n)\n"
         "answer = ['H']\nwhile prev[answer[0]]:\n    answer.insert(0, prev[answer[0]])"),
    Task("graph_degrees", "graph",
         "How many friendship steps separate alice from zoe? (A friend of alice is 1 step, a "
         "friend of a friend 2, ...) Use `friends`. Store the number in `answer`.",
         lambda: _graph(FRIENDS, "friends", "The list of friends of a person."),
         answer_is(3), (),
         "dist = {'alice': 0}\nqueue = ['alice']\nfor p in queue:\n    for f in friends(p):\n"
         "        if f not in dist:\n            dist[f] = dist[p] + 1\n"
         "            queue.append(f)\nanswer = dist['zoe']"),
    Task("graph_dead_ends", "graph",
         "Starting from the page 'home' and following `links`, find every reachable page "
         "that has no outgoing links. Store them as a sorted list in `answer`.",
         lambda: _graph(SITE, "links", "The pages a page links to."),
         answer_is(["post2", "team"]), (),
         "seen = ['home']\nfor p in seen:\n    for q in links(p):\n        if q not in seen:\n"
         "            seen.append(q)\nanswer = sorted(p for p in seen if not links(p))"),
]
