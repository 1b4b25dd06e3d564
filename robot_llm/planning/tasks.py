"""Commands that expand into many subgoals over the whole table: sorting by color, clearing the
table or a container, swapping two blocks. Towers are in `towers.py`, moving a tower between
zones in `hanoi.py`; each works on the planner's table model, so a block under another is
reached by moving the ones above it first."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from robot_llm.planning import placing
from robot_llm.planning.describe import inventory, join
from robot_llm.planning.destinations import Dest, dest_starts, parse_dest
from robot_llm.planning.draft import clarify, refuse
from robot_llm.planning.lexicon import BLOCK, BOWL, CONTAINERS, TRAY, ZONE
from robot_llm.planning.moves import remove_phrases, top_first, unique
from robot_llm.planning.np_parser import parse_np
from robot_llm.planning.refs import Ref
from robot_llm.planning.resolution import Found

if TYPE_CHECKING:
    from robot_llm.planning.rules import Interpreter


# -- sorting and clearing --------------------------------------------------------------------------
CONTAINER_NOUNS: Final = {
    "bowl": {BOWL},
    "bowls": {BOWL},
    "dish": {BOWL},
    "dishes": {BOWL},
    "zone": {ZONE},
    "zones": {ZONE},
    "square": {ZONE},
    "squares": {ZONE},
    "area": {ZONE},
    "areas": {ZONE},
    "pads": {ZONE},
    "targets": {ZONE},
    "tray": {TRAY},
    "trays": {TRAY},
    "container": set(CONTAINERS),
    "containers": set(CONTAINERS),
}
KIND_PREFERENCE: Final = (BOWL, ZONE, TRAY)


def sort_by_color(it: Interpreter, rest: list[str]) -> None:
    s = it.s
    world = s.world
    text = " ".join(rest)
    if re.search(r"\bby (size|shape|height|weight)\b", text):
        raise refuse(
            "I can sort blocks by color (each into the bowl, zone or tray of its color), not by "
            "size or shape. For sizes, try 'stack the blocks from largest to smallest'."
        )
    kinds: set[str] = set()
    for w in rest:
        kinds |= CONTAINER_NOUNS.get(w, set())
    if not kinds:
        kinds = set(CONTAINERS)
    scope = [t.id for t in world if t.kind == BLOCK]
    for i in range(1, len(rest) + 1):
        ref = parse_np(rest[:i], it.ids)
        if ref is not None and (ref.color or ref.members) and (ref.kinds in (None, {BLOCK})):
            r = it.resolve(ref, "object")
            if isinstance(r, Found):
                scope = list(r.ids)
    containers = [t for t in world if t.kind in kinds]
    moves: list[tuple[str, str]] = []
    for b in top_first(world, scope):
        t = world[b]
        same = [c for c in containers if c.color == t.color]
        if not same:
            continue
        here = world.container_of(b)
        if here is not None and world[here].color == t.color and world[here].kind in kinds:
            continue
        same.sort(
            key=lambda c: (KIND_PREFERENCE.index(c.kind), (c.x - t.x) ** 2 + (c.y - t.y) ** 2)
        )
        moves.append((b, same[0].id))
    if not moves:
        matched = [b for b in scope if any(c.color == world[b].color for c in containers)]
        if matched:
            return  # already sorted
        what = join(sorted({CONTAINER_NOUNS_NAME[k] for k in kinds}), "or")
        raise refuse(
            f"No block has {what} of its own color: I see {inventory([world[b] for b in scope])}"
            f" and {inventory(containers)}."
        )
    movers = [b for b, _ in moves]
    for b, c in moves:
        s.clear_above(b, keep=movers)
        s.put_on(b, c)
    s.mention(movers)


CONTAINER_NOUNS_NAME: Final = {BOWL: "a bowl", ZONE: "a zone", TRAY: "a tray"}


def _find_target(it: Interpreter, rest: list[str]) -> tuple[list[str], str | None]:
    """Split off a trailing "into the green tray" destination."""
    for i in dest_starts(rest):
        d = parse_dest(rest[i:], it.ids, None)
        if d is not None and d.kind in ("in", "on", "to") and d.refs:
            ids = it.target(d)
            return rest[:i], ids[0]
    return rest, None


def clear(it: Interpreter, verb: str, rest: list[str]) -> None:
    s = it.s
    world = s.world
    head, target = _find_target(it, rest)
    words = [
        w
        for w in head
        if w not in ("the", "up", "off", "please", ":", ",", "by", "goes", "go", "should", "must")
    ]
    table_words = {"table", "workspace", "tabletop", "everything", "all", "desk", "area", "surface"}
    cut = next((i for i, w in enumerate(words) if w in ("putting", "moving", "placing")), None)
    if cut is not None:
        words = words[:cut]
    if verb == "clear" and (not words or set(words) <= table_words | {"every", "block", "blocks"}):
        tray = target or s.default_container("clear the table")
        blocks = [t.id for t in world if t.kind == BLOCK and world.container_of(t.id) != tray]
        blocks = top_first(world, blocks)
        for b in blocks:
            s.put_on(b, tray)
        s.mention(blocks)
        return
    ref = parse_np(head, it.ids)
    if ref is None:
        raise clarify(f"What should I {verb}? I didn't understand '{' '.join(head)}'.")
    ids = it.need(it.resolve(ref, "any"))
    if len(ids) != 1:
        raise clarify(f"Which one should I {verb}: {join(s.world_names(ids), 'or')}?", ids)
    (cid,) = ids
    c = world[cid]
    if c.kind == BLOCK:
        above = world.above(cid)
        for a in above:
            s.put_aside(a)
        s.mention(above)
        return
    inside = top_first(
        world, [t.id for t in world if t.kind == BLOCK and world.container_of(t.id) == cid]
    )
    for b in inside:
        if target is not None:
            s.put_on(b, target)
        else:
            placing.move_one(it, b, Dest("table"), [], None)
    s.mention(inside)


def swap(it: Interpreter, rest: list[str]) -> None:
    s = it.s
    world = s.world
    words, _ = remove_phrases(
        list(rest),
        [
            ("the", "positions", "of"),
            ("the", "places", "of"),
            ("positions", "of"),
            ("places", "of"),
            ("positions",),
            ("places",),
            ("around",),
            ("over",),
        ],
    )
    refs: list[Ref] = []
    if "with" in words:
        k = words.index("with")
        first, second = parse_np(words[:k], it.ids), parse_np(words[k + 1 :], it.ids)
        if first and second:
            refs = [first, second]
    else:
        ref = parse_np(words, it.ids)
        if ref is not None:
            refs = [ref]
    ids: list[str] = []
    for r in refs:
        ids += it.need(it.resolve(r, "object"))
    ids = unique(ids)
    if len(ids) != 2:
        raise clarify("Which two blocks should I swap?", [t.id for t in world if t.kind == BLOCK])
    a, b = ids
    spots: dict[str, tuple[str, str | tuple[float, float]]] = {}
    for o in (a, b):
        t = world[o]
        spots[o] = ("on", t.support) if t.support is not None else ("at", (t.x, t.y))
    s.put_aside(a)
    for mover, other in ((b, a), (a, b)):
        how, where = spots[other]
        if how == "on":
            assert isinstance(where, str)
            s.put_on(mover, where)
        else:
            assert isinstance(where, tuple)
            s.place_at(mover, where)
    s.mention([a, b])
