"""Destinations: where a step's object should go, read from the words after it.

`parse_dest` reads "into the green bowl", "to the far left corner", "10 cm to the left", "next
to the tray", "on top", "off the table"; `dest_starts` lists where a destination may begin in a
clause. A `Dest` is the reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from robot_llm.planning.lexicon import DIRECTION_WORDS, REGION_PHRASES, SIDE_PHRASES
from robot_llm.planning.np_parser import parse_np
from robot_llm.planning.post_modifiers import NEAR_WORDS
from robot_llm.planning.refs import Ref


# -- destinations --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dest:
    """Where a clause sends its object.

    kind: on | in | to | toward | side | near | between | region | direction | point | table |
    down | back | away | off_table | arm
    """

    kind: str
    refs: tuple[Ref, ...] = ()
    region: str | None = None
    direction: str | None = None
    side: str | None = None  # left_of | right_of | behind | in_front
    point: tuple[float, float] | None = None


ON_TOP: Final = ("<top>",)  # "put it on top": on the block named before this clause
TOGETHER: Final = (
    ["next", "to", "each", "other"],
    ["next", "to", "one", "another"],
    ["beside", "each", "other"],
    ["near", "each", "other"],
    ["close", "to", "each", "other"],
    ["side", "by", "side"],
    ["together"],
    ["close", "together"],
)
_SPOT_FOLLOW: Final = frozenset(
    {"between", "next", "beside", "near", "behind", "left", "right", "in", "on", "to", "where"}
)
OFF_TABLE: Final = (
    ("off", "the", "table"),
    ("onto", "the", "floor"),
    ("on", "the", "floor"),
    ("to", "the", "floor"),
    ("on", "the", "ground"),
    ("off", "the", "edge"),
    ("outside", "the", "workspace"),
    ("out", "of", "the", "workspace"),
    ("out", "of", "reach"),
    ("off", "the", "workspace"),
    ("beyond", "the", "table"),
    ("beyond", "the", "workspace"),
    ("off", "the", "side"),
)
TABLE_WORDS: Final = (
    ("down", "on", "the", "table"),
    ("back", "on", "the", "table"),
    ("on", "the", "table"),
    ("onto", "the", "table"),
    ("on", "to", "the", "table"),
    ("on", "the", "table", "surface"),
    ("down", "on", "the", "table"),
    ("on", "the", "table", "top"),
    ("on", "the", "tabletop"),
    ("to", "the", "table"),
)
BACK_WORDS: Final = (
    ("back", "where", "it", "was"),
    ("back", "to", "where", "it", "was"),
    ("back", "where", "it", "came", "from"),
    ("where", "it", "was"),
    ("back", "in", "its", "place"),
    ("back", "to", "its", "place"),
    ("back", "to", "its", "original", "position"),
    ("back", "to", "its", "original", "place"),
    ("back", "to", "its", "spot"),
    ("back", "to", "where", "it", "started"),
    ("to", "where", "it", "was"),
    ("to", "where", "it", "came", "from"),
    ("to", "its", "original", "position"),
    ("to", "its", "original", "place"),
    ("to", "its", "place"),
    ("to", "its", "spot"),
    ("back",),
)
SIDE_WORDS: Final = SIDE_PHRASES
TARGET_WORDS: Final = (
    (("on", "top", "of"), "on"),
    (("on", "to"), "on"),
    (("onto",), "on"),
    (("atop",), "on"),
    (("on",), "on"),
    (("over", "to"), "to"),
    (("over",), "on"),
    (("above",), "on"),
    (("into",), "in"),
    (("in", "to"), "in"),
    (("inside", "of"), "in"),
    (("inside",), "in"),
    (("in",), "in"),
    (("back", "into"), "in"),
    (("down", "on"), "on"),
    (("down", "onto"), "on"),
    (("down", "in"), "in"),
    (("down", "into"), "in"),
    (("back", "in"), "in"),
    (("back", "on"), "on"),
    (("back", "onto"), "on"),
    (("back", "to"), "to"),
    (("all", "the", "way", "to"), "to"),
    (("up", "to"), "to"),
    (("towards",), "toward"),
    (("toward",), "toward"),
    (("to",), "to"),
)
DIRECTION_PREFIXES: Final = (
    ("all", "the", "way", "to", "the"),
    ("over", "to", "the"),
    ("to", "the"),
    ("towards", "the"),
    ("toward", "the"),
    ("over",),
)
FAR_AS: Final = (
    ("as", "far", "as", "possible"),
    ("as", "far", "as", "you", "can"),
    ("as", "far", "as", "it", "goes"),
)
DEST_FIRST: Final = frozenset(
    {w[0] for w, _ in TARGET_WORDS}
    | {w[0] for w, _ in SIDE_WORDS}
    | {w[0] for w in NEAR_WORDS}
    | {w[0] for w in OFF_TABLE}
    | {w[0] for w in TABLE_WORDS}
    | {w[0] for w in BACK_WORDS}
    | set(DIRECTION_WORDS)
    | {"between", "at", "down", "away", "<point>", "all", "as", "toward", "towards", "over"}
    | {"until", "till", "so", "together", "side", "close"}
)


def _is(tokens: Sequence[str], words: Sequence[str]) -> bool:
    return list(tokens[: len(words)]) == list(words)


def parse_dest(
    tokens: Sequence[str], ids: frozenset[str], point: tuple[float, float] | None = None
) -> Dest | None:
    """A destination phrase that uses every token, or None."""
    t = [w for w in tokens if w not in (",",)]
    if not t:
        return None
    if "<point>" in t:
        rest = [w for w in t if w not in ("at", "to", "on", "<point>", "position", "the", "point")]
        return Dest("point", point=point) if not rest and point is not None else None
    fixed = _fixed_dest(t)
    if fixed is not None:
        return fixed
    inner = _lead_in(t)
    if inner is not None:
        return parse_dest(inner, ids, point)
    # directions: "left", "to the left", "forward", "back toward the robot", "as far left as ..."
    return _direction(t) or _region_dest(t) or _relative_dest(t, ids)


def _fixed_dest(t: list[str]) -> Dest | None:
    """Destinations said in set phrases: off the table, down, away, the table, together, back
    where it was, on top (of the block just named)."""
    for words in OFF_TABLE:
        if _is(t, words):
            return Dest("off_table")
    if t in (["down"], ["away"]):
        return Dest(t[0])
    if any(t == list(words) for words in TABLE_WORDS):
        return Dest("table")
    if t in TOGETHER:
        return Dest("together")
    if any(t == list(words) for words in BACK_WORDS):
        return Dest("back")
    if t in (["on", "top"], ["on", "the", "top"], ["at", "the", "top"], ["on", "top", "of", "it"]):
        return Dest("on", (Ref(words=ON_TOP, quant="it"),))
    return None


_LEADS: Final = (
    ["until", "it", "is"],
    ["till", "it", "is"],
    ["so", "that", "it", "is"],
    ["so", "it", "is"],
    ["until", "it", "sits"],
    ["until", "it", "touches"],
)


def _lead_in(t: list[str]) -> list[str] | None:
    """The destination after words that only lead into it ("down next to the bowl", "to the
    spot between the bowls", "until it is beside X"), or None when there are none."""
    if t[0] in ("down", "over") and len(t) > 1:
        return t[1:]
    for spot_prep in ("to", "at", "in", "on", "into", "onto"):
        for noun in ("spot", "place", "position", "point", "space", "area"):
            if t[:3] == [spot_prep, "the", noun] and len(t) > 3 and t[3] in _SPOT_FOLLOW:
                return t[3:]
    for lead in _LEADS:
        if t[: len(lead)] == lead and len(t) > len(lead):
            rest = t[len(lead) :]
            return ["next", "to", *rest] if lead[-1] == "touches" else rest
    return None


_REGION_PREPS: Final = (
    ("all", "the", "way", "to"),
    ("over", "to"),
    ("to",),
    ("into",),
    ("in",),
    ("at",),
    ("on",),
    ("onto",),
    ("toward",),
    ("towards",),
    ("over", "in"),
    ("over", "at"),
)
_ANY_CORNER: Final = ("a corner", "corner", "nearest corner", "closest corner", "a nearby corner")


def _region_dest(t: list[str]) -> Dest | None:
    """Regions: "to the far left corner", "in the middle of the table", "at the back"."""
    for prep in _REGION_PREPS:
        if not _is(t, prep):
            continue
        rest = t[len(prep) :]
        if rest[:1] == ["the"]:
            rest = rest[1:]
        for tail in (["of", "the", "table"], ["of", "the", "workspace"], ["of", "the", "tabletop"]):
            if rest[-3:] == tail:
                rest = rest[:-3]
        phrase = " ".join(rest)
        if phrase in _ANY_CORNER:
            return Dest("region", region="corner")  # the corner nearest the object
        if phrase in REGION_PHRASES and not (phrase == "back" and prep == ("to",) and len(t) == 2):
            return Dest("region", region=REGION_PHRASES[phrase])
    return None


def _relative_dest(t: list[str], ids: frozenset[str]) -> Dest | None:
    """Places named by other objects: beside, between, near, on or in one."""
    for words, side in SIDE_WORDS:
        if _is(t, words):
            ref = parse_np(t[len(words) :], ids)
            return Dest("side", (ref,), side=side) if ref else None
    if t[0] == "between" or _is(t, ["in", "between"]):
        rest = t[1:] if t[0] == "between" else t[2:]
        for k, w in enumerate(rest):
            if w == "and":
                a, b = parse_np(rest[:k], ids), parse_np(rest[k + 1 :], ids)
                if a and b:
                    return Dest("between", (a, b))
        both = parse_np(rest, ids)  # "between the two bowls"
        return Dest("between", (both,)) if both is not None and both.many else None
    for words in NEAR_WORDS:
        if _is(t, words):
            ref = parse_np(t[len(words) :], ids)
            return Dest("near", (ref,)) if ref else None
    for words, kind in TARGET_WORDS:
        if _is(t, words):
            ref = parse_np(t[len(words) :], ids)
            if ref is not None:
                return Dest(kind, (ref,))
    return None


def _direction(t: list[str]) -> Dest | None:
    for far in FAR_AS:
        if len(t) > len(far) and t[-len(far) :] == list(far):
            core = t[: -len(far)]
            if core[:1] == ["as"]:
                core = core[1:]
            if core[:1] == ["far"]:
                core = core[1:]
            if len(core) == 1 and core[0] in ("left", "right"):
                return Dest("region", region=core[0])
    if t[:4] == ["all", "the", "way", "to"] and t[-1] in ("left", "right") and len(t) <= 6:
        return Dest("region", region=t[-1])
    core_t = t[1:] if t[:1] in (["closer"], ["nearer"], ["back"]) else t
    if core_t in (
        ["toward", "the", "robot"],
        ["towards", "the", "robot"],
        ["toward", "you"],
        ["towards", "you"],
        ["to", "the", "robot"],
        ["to", "you"],
        ["to", "the", "base"],
    ):
        return Dest("direction", direction="back")
    if t in (
        ["away", "from", "the", "robot"],
        ["away", "from", "you"],
        ["farther", "from", "the", "robot"],
        ["further", "from", "the", "robot"],
        ["farther", "away"],
        ["further", "away"],
    ):
        return Dest("direction", direction="forward")
    core = t
    for prefix in DIRECTION_PREFIXES:
        if _is(t, prefix) and len(t) > len(prefix):
            core = t[len(prefix) :]
            break
    if len(core) == 1 and core[0] in DIRECTION_WORDS:
        if core is not t and core[0] in ("back",) and t[:2] == ["to", "the"]:
            return None  # "to the back" is the far side of the table
        return Dest("direction", direction=DIRECTION_WORDS[core[0]])
    return None


def dest_starts(tokens: Sequence[str]) -> list[int]:
    """Indexes where a destination phrase may begin."""
    return [i for i, w in enumerate(tokens) if w in DEST_FIRST and i > 0]
