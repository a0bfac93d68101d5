"""The example game both agents are shown: one made-up game, told as ReCode expansions and
as ReAct turns (the same commands and observations). It is none of the evaluated games."""

from __future__ import annotations

EXAMPLE_TASK = ("First stop, go west. Then, pick up the red key from the shelf within the "
                "kitchen. After that, unlock the wooden chest with the red key. And then, "
                "open the wooden chest.")
EXAMPLE_ROOM = ("-= Hallway =-\nYou are in a hallway. There is an exit to the west and an "
                "exit to the north.")
EXAMPLE_TURNS = [
    ("The task says to go west first.", "go west",
     "-= Kitchen =-\nYou are in a kitchen. You see a shelf. On the shelf is a red key. "
     "You see a wooden chest."),
    ("The red key is on the shelf; take it from the shelf.", "take red key from shelf",
     "You take the red key from the shelf."),
    ("Now unlock the wooden chest with the red key.", "unlock wooden chest with red key",
     "You unlock the wooden chest."),
    ("Last step: open the wooden chest.", "open wooden chest",
     "You open the wooden chest. Your score has just gone up by one point. *** The End ***"),
]

# ReCode: the product's few-shot format (recode_magic/prompting/prompts.py FEW_SHOTS); games:
# the root makes one placeholder per step of the task, each leaf is one game command.
RECODE_FEW_SHOTS = f"""\
Example 1
Placeholder: solve(task, observation)
Variables:
- task (str): {EXAMPLE_TASK!r}
- observation (str): {EXAMPLE_ROOM!r}
<think>The task gives four steps in order; one placeholder per step, with the names from \
the task.</think>
<execute>obs = go_to_room(direction="west")
obs = take_item_from(item="red key", holder="shelf")
obs = unlock_container(container="wooden chest", key="red key")
obs = open_container(container="wooden chest")</execute>

Example 2
Placeholder: obs = take_item_from(item="red key", holder="shelf")
Variables:
- item (str): 'red key'
- holder (str): 'shelf'
<think>One game command.</think>
<execute>obs = act(f"take {{item}} from {{holder}}")</execute>

Example 3
Placeholder: obs = unlock_container(container="wooden chest", key="red key")
Variables:
- container (str): 'wooden chest'
- key (str): 'red key'
<think>One game command.</think>
<execute>obs = act(f"unlock {{container}} with {{key}}")</execute>
"""

# The first version (kept for the record): its Example 1 grouped two steps per placeholder.
# The 1.5B model copied it nearly verbatim into every expansion, child placeholders included
# (same <think> text, same two-placeholder shape), so children called themselves again.
RECODE_FEW_SHOTS_V1 = f"""\
Example 1
Placeholder: solve(task, observation)
Variables:
- task (str): {EXAMPLE_TASK!r}
- observation (str): {EXAMPLE_ROOM!r}
<think>The task lists the steps in order. Moving and taking the key belong together, then \
the chest needs two commands; one placeholder for each part.</think>
<execute>obs = get_key_from_kitchen(direction="west", key="red key", holder="shelf")
obs = unlock_and_open(container="wooden chest", key="red key")</execute>

Example 2
Placeholder: obs = get_key_from_kitchen(direction="west", key="red key", holder="shelf")
Variables:
- direction (str): 'west'
- key (str): 'red key'
- holder (str): 'shelf'
<think>Two game commands: go in the direction, then take the key from its holder.</think>
<execute>obs = act(f"go {{direction}}")
obs = act(f"take {{key}} from {{holder}}")</execute>

Example 3
Placeholder: obs = unlock_and_open(container="wooden chest", key="red key")
Variables:
- container (str): 'wooden chest'
- key (str): 'red key'
<think>Two game commands: unlock the container with the key, then open it.</think>
<execute>obs = act(f"unlock {{container}} with {{key}}")
obs = act(f"open {{container}}")</execute>
"""

REACT_INSTRUCTIONS = """\
You are playing a text adventure game. Each turn you see what the game says, then you \
answer exactly two lines:
Thought: one short sentence of reasoning
Action: one game command
Game commands look like: go east, take red key from shelf, take apple, open wooden chest, \
unlock wooden chest with red key, put apple on table, insert apple into box, look, inventory.
Follow the task's steps in order. One command per turn."""


def react_example() -> str:
    """The example game as ReAct turns (goes in the system message)."""
    lines = ["Example", f"Task: {EXAMPLE_TASK}", f"Observation: {EXAMPLE_ROOM}"]
    for thought, action, obs in EXAMPLE_TURNS:
        lines += [f"Thought: {thought}", f"Action: {action}", f"Observation: {obs}"]
    return "\n".join(lines)

# Variant: the same examples, but the leaf checks the game's answer and tries a second
# wording with the primitive when the first one did nothing (control flow on observations,
# primitives only inside the `if`, as the rules allow).
RECODE_FEW_SHOTS_CHECK = RECODE_FEW_SHOTS.replace(
    '<think>One game command.</think>\n<execute>obs = act(f"take {item} from {holder}")'
    '</execute>',
    '<think>One game command; if the game did not take it, try the short form.</think>\n'
    '<execute>obs = act(f"take {item} from {holder}")\n'
    'if "You take" not in obs:\n'
    '    obs = act(f"take {item}")</execute>')
assert RECODE_FEW_SHOTS_CHECK != RECODE_FEW_SHOTS
