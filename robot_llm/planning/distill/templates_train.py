"""The TRAINING split's wording: templates, lexicons, frames and noise of the teacher data.

Nothing here may appear in the held-out split (`templates_heldout.py`), and nothing there here:
tests/test_distill.py checks that no held-out surface pattern (`render.signatures`) occurs in
generated training commands. Canonical words (`intents.CANONICAL_WORDS`) and function words
are shared. Every color word must name its palette color (`planning.colors.palette_color`).
"""

from __future__ import annotations

from typing import Final

from robot_llm.planning.distill.render import Grammar

GRAMMAR: Final = Grammar(
    name="train",
    clauses={
        "pick": ("{pick} {obj}", "go and {pick} {obj}", "{pick} {obj} from the table"),
        "put": ("{put} {obj} {in} {dest}", "{obj} goes {in} {dest}", "{put} {obj} {in} {dest} now"),
        "push": ("{push} {obj} {dir}{dist}", "{push} {obj}{dist} {dir}"),
        "stack": ("{stack} {obj} {in} {dest}", "{put} {obj} {in} {dest}"),
        "tower": (
            "stack all the {blocks}",
            "make a tower out of the {blocks}",
            "stack the {blocks}",
        ),
        "sort": (
            "sort the {blocks} by colour",
            "group the {blocks} by color",
            "organize the {blocks} by color",
        ),
        "clear": ("clear the table", "tidy up the table", "clean up the table"),
        "home": ("go home", "return home", "go back to the home position"),
        "open": ("open the gripper", "open your hand"),
        "close": ("close the gripper", "close your hand"),
        "throw": ("throw {obj}", "toss {obj}"),
        "people": ("hand me {obj}", "give me {obj}"),
        "container": ("{pick} {bowl}", "{put} {bowl} on the table"),
        "paint": ("paint {obj} {color}",),
        "rotate": ("rotate {obj} 90 degrees", "rotate {obj} by 90 degrees"),
    },
    verbs={
        "pick": ("pick up", "grab", "take", "lift"),
        "put": ("put", "place", "move", "drop"),
        "push": ("push", "slide", "shove"),
        "stack": ("stack", "set", "pile"),
    },
    kinds={
        "block": ("block", "cube", "brick"),
        "bowl": ("bowl", "dish"),
        "zone": ("zone", "area", "pad"),
        "tray": ("tray", "bin"),
    },
    colors={
        "red": ("red", "crimson", "dark red", "firebrick"),
        "orange": ("orange", "dark orange", "coral"),
        "yellow": ("yellow", "gold", "bright yellow"),
        "green": ("green", "forest green", "lime"),
        "blue": ("blue", "navy", "royal blue"),
        "purple": ("purple", "violet", "dark purple"),
        "pink": ("pink", "hot pink", "light pink"),
        "cyan": ("cyan", "teal", "aqua"),
        "brown": ("brown", "chocolate", "tan"),
        "gray": ("gray", "grey", "silver"),
    },
    sizes={
        "small": ("small", "little", "tiny"),
        "medium": ("medium", "medium-sized"),
        "large": ("large", "big"),
    },
    directions={
        "left": ("left", "to the left", "leftward"),
        "right": ("right", "to the right", "rightward"),
        "forward": ("forward", "away", "forwards"),
        "back": ("back", "backwards", "towards the robot"),
    },
    distances=("{n} cm", "by {n} cm", "{n} centimeters"),
    preps={"in": ("in", "into", "inside"), "on": ("on", "onto", "on top of")},
    articles=("the",),
    ordinal_refs=("the {nth} {kind} from the {side}", "the {nth} {kind} counting from the {side}"),
    ordinals={1: ("first", "1st"), 2: ("second", "2nd"), 3: ("third", "3rd")},
    sides={"left": ("left",), "right": ("right",), "front": ("front",), "back": ("back",)},
    superlatives={
        "leftmost": ("the leftmost {kind}", "the {kind} furthest to the left"),
        "rightmost": ("the rightmost {kind}", "the {kind} furthest to the right"),
        "largest": ("the largest {kind}", "the biggest {kind}"),
        "smallest": ("the smallest {kind}", "the tiniest {kind}"),
        "nearest": ("the {kind} closest to the robot", "the nearest {kind}"),
    },
    relations={
        "closest": ("the {kind} closest to {landmark}", "the {kind} nearest {landmark}"),
        "farthest": ("the {kind} farthest from {landmark}", "the {kind} furthest from {landmark}"),
        "left_of": ("the {kind} to the left of {landmark}", "the {kind} left of {landmark}"),
        "right_of": ("the {kind} to the right of {landmark}", "the {kind} right of {landmark}"),
    },
    sequences=(
        "{a}, then {b}",
        "first {a}, then {b}",
        "{a} and then {b}",
        "{a}. after that, {b}",
    ),
    pronouns=(
        "{pick} {obj} and {put} it {in} {dest}",
        "{pick} {obj}, then {put} it {in} {dest}",
    ),
    corrections=("{wrong}, no, {right}", "{wrong}, sorry, {right}"),
    constraints=(
        "{put} all the {blocks} except {ex} {in} {dest}",
        "{put} every {block} but {ex} {in} {dest}",
        "{put} all {blocks} {in} {dest} except {ex}",
    ),
    frames=(
        "please {c}",
        "{c}, please",
        "could you {c}?",
        "can you {c}",
        "i'd like you to {c}",
        "i need you to {c}",
    ),
    fillers=("um", "uh", "like", "hmm"),
    homophones={"red": ("read",), "blue": ("blew",), "two": ("to",), "in": ("inn",)},
    droppable=("the", "up"),
    typo_ops=("swap", "delete"),
    rates={"frame": 0.3, "filler": 0.2, "asr": 0.15, "typo": 0.2},
)
