"""The HELD-OUT split's wording: templates, lexicons, frames and noise never used for training.

Written apart from `templates_train.py` so held-out wording cannot reach the training data by
construction; tests/test_distill.py checks that none of these surface patterns
(`render.signatures`) occurs in generated training commands. It also has noise the training
split lacks: a missing verb, other near-homophones and dropped words, other typing slips.
"""

from __future__ import annotations

from typing import Final

from robot_llm.planning.distill.render import Grammar

GRAMMAR: Final = Grammar(
    name="heldout",
    clauses={
        "pick": (
            "{pick} {obj}",
            "{obj} needs to come off the table",
            "get {obj} into your fingers",
        ),
        "put": (
            "{put} {obj} {in} {dest}",
            "{dest} is where {obj} belongs",
            "i want {obj} to end up {in} {dest}",
        ),
        "push": ("{push} {obj} {dir}{dist}", "prod {obj} {dir}{dist}"),
        "stack": ("{stack} {obj} {in} {dest}", "balance {obj} {in} {dest}"),
        "tower": (
            "pile up all of the {blocks} into a single column",
            "build one tall stack from every {block}",
        ),
        "sort": (
            "separate the {blocks} according to their colours",
            "put every {block} with its matching colour",
        ),
        "clear": ("put away everything on the table", "get the table cleaned off"),
        "home": ("head back to your resting pose", "park yourself"),
        "open": ("spread your fingers", "unclamp the gripper"),
        "close": ("clamp your fingers shut", "shut your claw"),
        "throw": ("hurl {obj} across the room", "fling {obj}"),
        "people": ("pass {obj} over to me", "bring {obj} to my hand"),
        "container": ("{pick} {bowl}", "relocate {bowl}"),
        "paint": ("spray {obj} {color}", "coat {obj} in {color} paint"),
        "rotate": ("spin {obj} a quarter turn", "twist {obj} around"),
    },
    verbs={
        "pick": ("snatch", "get hold of", "collect"),
        "put": ("deposit", "transfer", "stick", "plop"),
        "push": ("scoot", "budge", "shunt"),
        "stack": ("perch", "rest", "sit"),
    },
    kinds={
        "block": ("piece", "box", "square", "block"),
        "bowl": ("cup", "basin", "pot", "bowl"),
        "zone": ("mat", "patch", "marked spot", "zone"),
        "tray": ("crate", "platter", "tray"),
    },
    colors={
        "red": ("red", "maroon", "deep red", "tomato"),
        "orange": ("orange", "vivid orange", "pale orange", "deep orange"),
        "yellow": ("yellow", "goldenrod", "pale yellow", "khaki"),
        "green": ("green", "dark green", "sea green", "chartreuse"),
        "blue": ("blue", "dark blue", "cornflower blue", "midnight blue"),
        "purple": ("purple", "magenta", "deep purple", "indigo", "plum"),
        "pink": ("pink", "pale pink", "salmon", "deep pink"),
        "cyan": ("cyan", "turquoise", "aquamarine", "pale cyan"),
        "brown": ("brown", "sienna", "dark brown", "peru"),
        "gray": ("gray", "dark gray", "light grey", "slate gray"),
    },
    sizes={
        "small": ("teeny", "mini", "smallish"),
        "medium": ("middle-sized", "mid-size"),
        "large": ("huge", "giant", "jumbo"),
    },
    directions={
        "left": ("leftwards", "over to the left"),
        "right": ("rightwards", "over to the right"),
        "forward": ("ahead", "farther away"),
        "back": ("closer to you", "toward your base"),
    },
    distances=("{n} centimetres", "a distance of {n} cm"),
    preps={"in": ("inside of", "down into"), "on": ("atop", "on the top of")},
    articles=("the", "that"),
    ordinal_refs=(
        "the {kind} that is {nth} from the {side}",
        "the {nth} {kind} starting at the {side}",
    ),
    ordinals={1: ("number one", "very first"), 2: ("number two",), 3: ("number three",)},
    sides={
        "left": ("left-hand side", "left edge"),
        "right": ("right-hand side", "right edge"),
        "front": ("front edge", "near end"),
        "back": ("back edge", "far end"),
    },
    superlatives={
        "leftmost": ("the {kind} at the far left", "whichever {kind} is most to the left"),
        "rightmost": ("the {kind} at the far right", "whichever {kind} is most to the right"),
        "largest": ("the {kind} with the greatest size", "the chunkiest {kind}"),
        "smallest": ("the littlest {kind}", "the {kind} of least size"),
        "nearest": ("the {kind} that sits closest to your base",),
    },
    relations={
        "closest": ("the {kind} with the least distance to {landmark}",),
        "farthest": ("the {kind} most distant from {landmark}",),
        "left_of": ("the {kind} on {landmark}'s left",),
        "right_of": ("the {kind} on {landmark}'s right",),
    },
    sequences=(
        "{a}; once that is done, {b}",
        "before you {b}, {a}",
        "after you {a}, {b}",
        "{b}, but only after you {a}",
    ),
    pronouns=(
        "{pick} {obj} and {put} that one {in} {dest}",
        "take hold of {obj} and {put} the thing {in} {dest}",
    ),
    corrections=(
        "{wrong}, i mean {right}",
        "{wrong}, wait, make that {right}",
        "{wrong}... actually {right}",
    ),
    constraints=(
        "{put} all the {blocks} {in} {dest}, leave {ex} alone",
        "{put} all the {blocks} {in} {dest} but don't touch {ex}",
        "without touching {ex}, {put} all the {blocks} {in} {dest}",
    ),
    frames=(
        "would you kindly {c}",
        "be a pal and {c}",
        "how about you {c}",
        "i was hoping you could {c}",
        "go ahead and {c}",
        "do me a favor and {c}",
    ),
    fillers=("er", "erm", "you know", "well", "sort of"),
    homophones={
        "bowl": ("bole", "bowel"),
        "box": ("bocks",),
        "green": ("grin",),
        "cup": ("cop",),
        "piece": ("peace",),
    },
    droppable=("in", "on", "into", "to", "and", "it"),
    typo_ops=("neighbor", "double", "insert"),
    rates={"frame": 0.3, "filler": 0.2, "asr": 0.15, "typo": 0.2, "no_verb": 0.08},
)
