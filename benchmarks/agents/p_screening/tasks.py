# ruff: noqa  (P's issue-12 screening scripts, kept exactly as they ran)
"""Screening tasks (notebook-style, answers checked by code). Each: build() -> (ns, tools, task, inputs, check)."""
from __future__ import annotations


def t_top_customer():
    orders = [{"customer": "ana", "amount": 12.5}, {"customer": "bob", "amount": 30.0},
              {"customer": "ana", "amount": 25.0}, {"customer": "cy", "amount": 8.0},
              {"customer": "bob", "amount": 4.0}]
    ns = {}
    task = ("`orders` is a list of dicts with keys 'customer' and 'amount'. Which customer "
            "spent the most in total? Set `answer` to that customer's name.")
    return ns, [], task, {"orders": orders}, lambda ns: ns.get("answer") == "ana"


def t_repeated_words():
    doc = "The cat saw the dog. The dog ran; a cat sat. Birds sing"
    task = ("Find the words of `doc` that occur more than once, ignoring case and punctuation. "
            "Set `answer` to a sorted list of those words in lower case.")
    return {}, [], task, {"doc": doc}, lambda ns: ns.get("answer") == ["cat", "dog", "the"]


def t_robot():
    state = {"pos": [0, 0], "carrying": None, "log": []}
    boxes = {(2, 1): "box"}

    def move(direction: str) -> tuple:
        """Move the robot one cell: direction is 'north' (y+1), 'south', 'east' (x+1) or 'west'; returns the new (x, y)."""
        dx, dy = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}[direction]
        state["pos"][0] += dx
        state["pos"][1] += dy
        state["log"].append(direction)
        return tuple(state["pos"])

    def grab() -> str:
        """Pick up the object in the robot's cell; returns its name or 'nothing'."""
        item = boxes.pop(tuple(state["pos"]), None)
        if item:
            state["carrying"] = item
        return item or "nothing"

    ns = {"move": move, "grab": grab}
    task = "The robot is at (0, 0). A box is at (2, 1). Drive the robot there and pick up the box."
    return ns, ["move", "grab"], task, {}, lambda ns: state["carrying"] == "box"


def t_free_slot():
    meetings = [(9.0, 10.5), (11.0, 12.0), (12.0, 13.5), (14.0, 16.0)]
    task = ("`meetings` lists busy (start, end) hours of one day. Find the earliest start hour "
            "between 9 and 17 of a free slot at least 1 hour long. Set `answer` to that hour "
            "(a number).")
    return {}, [], task, {"meetings": meetings}, lambda ns: ns.get("answer") == 16.0


def t_restock():
    stock = {"apple": 3, "pear": 0, "fig": 10}
    orders = []

    def get_stock(item: str) -> int:
        """Return how many units of ``item`` are in the store."""
        return stock.get(item, 0)

    def order(item: str, qty: int) -> None:
        """Order ``qty`` more units of ``item`` from the supplier (adds to the stock)."""
        orders.append((item, qty))
        stock[item] = stock.get(item, 0) + qty

    needed = {"apple": 5, "pear": 4, "fig": 2}
    task = ("For each item in `needed`, make sure the store has at least the needed number of "
            "units: order only the missing units, and nothing for items already in stock.")

    def check(ns):
        return sorted(orders) == [("apple", 2), ("pear", 4)]
    return {"get_stock": get_stock, "order": order}, ["get_stock", "order"], task, \
        {"needed": needed}, check


def t_path():
    graph = {"A": ["B", "C"], "B": ["D"], "C": ["D", "E"], "D": ["F"], "E": ["F"], "F": []}

    def neighbors(node: str) -> list:
        """Return the nodes reachable from ``node`` in one hop."""
        return list(graph.get(node, []))

    task = ("Find a shortest path from node 'A' to node 'F' using `neighbors`. Set `answer` to "
            "the path as a list of node names, starting with 'A' and ending with 'F'.")

    def check(ns):
        p = ns.get("answer")
        return isinstance(p, list) and len(p) == 4 and p[0] == "A" and p[-1] == "F" and all(
            b in graph[a] for a, b in zip(p, p[1:]))
    return {"neighbors": neighbors}, ["neighbors"], task, {}, check


def t_join_avg():
    users = [{"id": 1, "name": "ana", "age": 30}, {"id": 2, "name": "bob", "age": 41},
             {"id": 3, "name": "cy", "age": 25}]
    purchases = [{"user_id": 1, "item": "book"}, {"user_id": 2, "item": "pen"},
                 {"user_id": 3, "item": "book"}, {"user_id": 1, "item": "book"}]
    task = ("`users` has dicts with 'id', 'name', 'age'; `purchases` has dicts with 'user_id' "
            "and 'item'. What is the average age of the users who bought a 'book'? Count each "
            "user once. Set `answer` to it rounded to 1 decimal.")
    return {}, [], task, {"users": users, "purchases": purchases}, \
        lambda ns: ns.get("answer") == 27.5


def t_shelve():
    shelves = {"A": [], "B": [], "C": []}

    def place(book: str, shelf: str) -> str:
        """Put ``book`` on ``shelf`` ('A', 'B' or 'C'); returns a confirmation."""
        shelves[shelf].append(book)
        return f"{book} on {shelf}"

    books = [{"title": "Dune", "genre": "scifi"}, {"title": "Emma", "genre": "classic"},
             {"title": "Neuromancer", "genre": "scifi"}, {"title": "Cosmos", "genre": "science"}]
    task = ("Shelve every book in `books`: scifi books go on shelf 'A', classics on 'B', "
            "everything else on 'C'.")

    def check(ns):
        return (sorted(shelves["A"]) == ["Dune", "Neuromancer"] and shelves["B"] == ["Emma"]
                and shelves["C"] == ["Cosmos"])
    return {"place": place}, ["place"], task, {"books": books}, check


TASKS = {f.__name__[2:]: f for f in [t_top_customer, t_repeated_words, t_robot, t_free_slot,
                                     t_restock, t_path, t_join_avg, t_shelve]}
