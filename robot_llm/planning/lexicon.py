"""Word lists of the rule planner: object kinds, sizes, directions, regions, numbers, verbs.

One table per kind of word, so docs/commands.md and the parser read the same lists. Colors live
in `colors.py` (a maintained lexicon, not a list typed here).
"""

from __future__ import annotations

import re
from typing import Final

from robot_llm.tabletop.predicates import REGIONS

BLOCK, BOWL, ZONE, TRAY = "block", "bowl", "zone", "tray"
ALL_KINDS: Final = frozenset({BLOCK, BOWL, ZONE, TRAY})
CONTAINERS: Final = frozenset({BOWL, TRAY, ZONE})  # what `place ... in` targets

# Noun -> the kinds it may name. "box" may be a block or a tray and "container" a bowl or a
# tray: the role in the sentence decides (something to pick up is a block, something to put
# things in is a tray or bowl). Nouns that name no kind ("object", "thing", "one") are None.
KIND_NOUNS: Final[dict[str, frozenset[str] | None]] = {
    "block": frozenset({BLOCK}),
    "cube": frozenset({BLOCK}),
    "brick": frozenset({BLOCK}),
    "bowl": frozenset({BOWL}),
    "dish": frozenset({BOWL}),
    "cup": frozenset({BOWL}),
    "basin": frozenset({BOWL}),
    "zone": frozenset({ZONE}),
    "square": frozenset({ZONE}),
    "area": frozenset({ZONE}),
    "pad": frozenset({ZONE}),
    "target": frozenset({ZONE}),
    "mat": frozenset({ZONE}),
    "patch": frozenset({ZONE}),
    "tray": frozenset({TRAY}),
    "bin": frozenset({TRAY}),
    "basket": frozenset({TRAY}),
    "crate": frozenset({TRAY}),
    "box": frozenset({BLOCK, TRAY}),
    "container": frozenset({BOWL, TRAY}),
    "receptacle": frozenset({BOWL, TRAY}),
    "object": None,
    "thing": None,
    "item": None,
    "one": None,
    # a stack of blocks: names the block on top of it ("put it on the tower")
    "tower": frozenset({BLOCK}),
    "stack": frozenset({BLOCK}),
    "pile": frozenset({BLOCK}),
}
PLURAL_NOUNS: Final[dict[str, str]] = {
    **{f"{n}s": n for n in KIND_NOUNS if not n.endswith(("x", "sh"))},
    "boxes": "box",
    "dishes": "dish",
}
# Words that look like nouns of things we do not have; named in "I don't see ..." answers.
OTHER_NOUNS: Final = frozenset(
    {
        "ball",
        "banana",
        "apple",
        "bottle",
        "can",
        "mug",
        "plate",
        "pen",
        "phone",
        "cylinder",
        "sphere",
        "pyramid",
        "triangle",
        "star",
        "toy",
        "book",
        "knife",
        "scissors",
        "glass",
        "drawer",
        "door",
        "lid",
        "shelf",
        "cone",
        "marker",
        "spoon",
        "fork",
    }
)

SIZE_WORDS: Final[dict[str, str]] = {
    "small": "small",
    "little": "small",
    "tiny": "small",
    "mini": "small",
    "medium": "medium",
    "mid-sized": "medium",
    "medium-sized": "medium",
    "middle-sized": "medium",
    "midsize": "medium",
    "large": "large",
    "big": "large",
    "huge": "large",
    "giant": "large",
}
# Comparatives and superlatives pick the extreme among the candidates.
SIZE_EXTREMES: Final[dict[str, str]] = {
    "smaller": "min",
    "smallest": "min",
    "tiniest": "min",
    "littlest": "min",
    "bigger": "max",
    "biggest": "max",
    "larger": "max",
    "largest": "max",
}
SIZE_ORDER: Final = {"small": 0, "medium": 1, "large": 2}

# Position words used as adjectives or superlatives: which extreme they pick.
# Table frame: left = +y, right = -y, far/back/behind = +x, near/front = -x.
POSITION_WORDS: Final[dict[str, str]] = {
    "leftmost": "left",
    "left-most": "left",
    "rightmost": "right",
    "right-most": "right",
    "frontmost": "near",
    "front-most": "near",
    "nearest": "near",
    "closest": "near",
    "backmost": "far",
    "rearmost": "far",
    "farthest": "far",
    "furthest": "far",
    "farthermost": "far",
    "topmost": "top",
    "uppermost": "top",
    "top": "top",
    "upper": "top",
    "bottom": "bottom",
    "lower": "bottom",
    "bottommost": "bottom",
    "lowest": "bottom",
    "highest": "top",
    "middle": "center",
    "central": "center",
    "center": "center",
    "centre": "center",
    "left": "left",
    "right": "right",
    "front": "near",
    "near": "near",
    "far": "far",
    "back": "far",
    "rear": "far",
}

# Push and nudge directions (the plan schema's names).
DIRECTION_WORDS: Final[dict[str, str]] = {
    "left": "left",
    "leftward": "left",
    "leftwards": "left",
    "right": "right",
    "rightward": "right",
    "rightwards": "right",
    "forward": "forward",
    "forwards": "forward",
    "ahead": "forward",
    "away": "forward",
    "farther": "forward",
    "further": "forward",
    "back": "back",
    "backward": "back",
    "backwards": "back",
    "closer": "back",
}

# Sides of a landmark: "to the left of the bowl", "in front of the tray" (destinations and
# noun-phrase relations read the same phrases; none is a prefix of another with a different side).
SIDE_PHRASES: Final = (
    (("to", "the", "left", "of"), "left_of"),
    (("on", "the", "left", "of"), "left_of"),
    (("on", "the", "left", "side", "of"), "left_of"),
    (("left", "of"), "left_of"),
    (("to", "the", "right", "of"), "right_of"),
    (("on", "the", "right", "of"), "right_of"),
    (("on", "the", "right", "side", "of"), "right_of"),
    (("right", "of"), "right_of"),
    (("in", "front", "of"), "in_front"),
    (("in", "back", "of"), "behind"),
    (("behind",), "behind"),
)

# Region phrases (after "to the", "into the", "in the", "at the") -> REGIONS names.
REGION_PHRASES: Final[dict[str, str]] = {}
_names: tuple[str, ...]
for _side, _names in {
    "far left": ("far left", "back left", "top left", "rear left", "left far", "left back"),
    "far right": ("far right", "back right", "top right", "rear right", "right far", "right back"),
    "near left": (
        "near left",
        "front left",
        "bottom left",
        "close left",
        "left near",
        "left front",
    ),
    "near right": (
        "near right",
        "front right",
        "bottom right",
        "close right",
        "right near",
        "right front",
    ),
}.items():
    for _n in _names:
        REGION_PHRASES[f"{_n} corner"] = _side
        REGION_PHRASES[f"{_n}-hand corner"] = _side
        REGION_PHRASES[f"{_n} hand corner"] = _side
        REGION_PHRASES[_n] = _side
for _side, _names in {
    "left": ("left", "left-hand"),
    "right": ("right", "right-hand"),
    "far": ("far", "back", "rear", "top"),
    "near": ("near", "front", "bottom", "close"),
}.items():
    for _n in _names:
        for _suffix in ("side", "edge", "half", "end", "part"):
            REGION_PHRASES[f"{_n} {_suffix}"] = _side
for _n in ("center", "centre", "middle"):
    REGION_PHRASES[_n] = "center"
REGION_PHRASES["left"] = "left"
REGION_PHRASES["right"] = "right"
for _side in ("left", "right"):
    for _form in (f"{_side}-hand side", f"{_side} hand side", f"{_side} hand edge"):
        REGION_PHRASES[_form] = _side
REGION_PHRASES["back"] = "far"
REGION_PHRASES["front"] = "near"
REGION_PHRASES["rear"] = "far"
REGION_CENTERS: Final[dict[str, tuple[float, float]]] = {
    name: (round((x0 + x1) / 2, 4), round((y0 + y1) / 2, 4))
    for name, ((x0, x1), (y0, y1)) in REGIONS.items()
}

NUMBER_WORDS: Final[dict[str, int]] = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "couple": 2,
    "pair": 2,
}
ORDINAL_WORDS: Final[dict[str, int]] = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "sixth": 5,
    "6th": 5,
    "last": -1,
}
UNITS: Final[dict[str, float]] = {
    "m": 1.0,
    "meter": 1.0,
    "meters": 1.0,
    "metre": 1.0,
    "metres": 1.0,
    "cm": 0.01,
    "centimeter": 0.01,
    "centimeters": 0.01,
    "centimetre": 0.01,
    "centimetres": 0.01,
    "mm": 0.001,
    "millimeter": 0.001,
    "millimeters": 0.001,
    "millimetre": 0.001,
    "millimetres": 0.001,
    "inch": 0.0254,
    "inches": 0.0254,
}
SMALL_PUSH: Final = 0.05  # "nudge", "a little", "slightly"
SMALL_MOVE_WORDS: Final = ("a little bit", "a little", "a bit", "slightly", "a touch", "a tad")
LARGE_MOVE_WORDS: Final = ("a lot", "a long way")

# Filler words dropped before parsing.
POLITE_PREFIXES: Final = (
    "could you please",
    "could you",
    "can you please",
    "can you",
    "would you please",
    "would you",
    "will you",
    "i want you to",
    "i would like you to",
    "i'd like you to",
    "i need you to",
    "go ahead and",
    "please",
    "robot",
    "ok so",
    "okay so",
    "ok",
    "okay",
    "alright",
    "all right",
    "hey",
    "yo",
    "hi",
    "hello",
    "actually",
    "no",
    "oh",
    "oops",
    "sorry",
    "wait",
    "um",
    "uh",
    "well",
    "now",
    "so",
    "and",
    "also",
    "next",
    "then",
    "just",
    "first",
    "firstly",
    "finally",
    "lastly",
    "afterwards",
    "after that",
    "and then",
    "let's",
    "lets",
    "try to",
    "you should",
    "you can",
    "carefully",
    "gently",
    "slowly",
    "quickly",
)

# Things this planner can do, for answers to unsupported requests.
CAPABILITIES: Final = (
    "pick up, put or stack blocks on blocks, in bowls, trays and zones, push or slide objects, "
    "sort blocks by color, clear the table into a tray, go home and stop"
)

ID_PATTERN: Final = re.compile(r"^[a-z]+_[a-z0-9_]+$")
