"""Placing objects at a destination on the planner's table model: onto or into a target (as a
tower when several go onto a block), into a region, side by side, beside a landmark, at a point,
by an offset, down on the table or back where it came from.

`actions.put` reads the clause; `move_objects` and `move_one` plan the picks and places onto the
interpreter's `PlanDraft`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from robot_llm.planning import moves
from robot_llm.planning.destinations import Dest
from robot_llm.planning.draft import PlanDraft, clarify, refuse
from robot_llm.planning.lexicon import BLOCK, CONTAINERS, REGION_CENTERS
from robot_llm.planning.text import Amount
from robot_llm.tabletop.directions import DEFAULT_PUSH_DISTANCE, DIRECTION_VECTORS
from robot_llm.tabletop.predicates import REGIONS

if TYPE_CHECKING:
    from robot_llm.planning.interpreter import Interpreter

CORNER_REGIONS: Final = ("far left", "far right", "near left", "near right")


def nearest_corner(it: Interpreter, oid: str) -> str:
    """ "into a corner": the corner region nearest the object."""
    t = it.s.world[oid]
    return min(
        CORNER_REGIONS,
        key=lambda r: math.hypot(REGION_CENTERS[r][0] - t.x, REGION_CENTERS[r][1] - t.y),
    )


def move_objects(
    it: Interpreter,
    objs: list[str],
    dest: Dest,
    targets: list[str],
    order: str | None,
    amount: Amount | None,
    words: Sequence[str],
    stack: bool = False,
) -> None:
    s = it.s
    world = s.world
    objs = moves.ordered(world, objs, order)
    if len(objs) > 1 and targets and dest.kind in ("on", "in", "to", "toward"):
        objs = [o for o in objs if o != targets[0]]  # "put all the blocks on the blue block"
    for o in objs:
        s.check_movable(o)
    if dest.kind == "off_table":
        raise refuse(
            "Objects stay inside the workspace; I can't put anything off the table or out of reach."
        )
    if dest.kind == "away":
        tray = s.default_container("put things away")
        move_objects(it, objs, Dest("in"), [tray], order, amount, words)
        return
    if dest.kind in ("on", "in", "to", "toward"):
        _onto_target(s, objs, dest, targets[0], stack)
    elif dest.kind == "region":
        _into_region(it, objs, dest)
    elif dest.kind == "together":  # "put the red blocks next to each other"
        _side_by_side(s, objs)
    else:
        _to_each_place(it, objs, dest, targets, amount)
    s.mention(objs)


def _to_each_place(
    it: Interpreter, objs: list[str], dest: Dest, targets: list[str], amount: Amount | None
) -> None:
    """Destinations that take one object each: a side, a point, the table."""
    s, world = it.s, it.s.world
    if len(objs) > 1 and dest.kind not in ("table", "down", "back"):
        raise refuse(
            f"I can put only one block at that spot; tell me where each of {s.names(objs)} goes."
        )
    for o in moves.top_first(world, objs):
        moves.clear_for_move(s, o, objs)
        move_one(it, o, dest, targets, amount)


def _onto_target(s: PlanDraft, objs: list[str], dest: Dest, target: str, stack: bool) -> None:
    """Onto or into one object; several blocks onto a block (or, to stack, into a container)
    go up as a tower."""
    world = s.world
    t = world[target]
    if dest.kind == "in" and t.kind == BLOCK:
        raise refuse(
            f"I can't put {s.names(objs)} into {s.name(target)}: a block has no inside. "
            f"Say 'on {s.name(target)}' to stack on it."
        )
    if t.kind not in CONTAINERS and t.kind != BLOCK:
        raise refuse(f"I can't put things on {s.name(target)}.")
    if target in objs:
        raise refuse(f"I can't put {s.name(target)} on itself.")
    chain = len(objs) > 1 and (t.kind == BLOCK or (stack and t.kind in CONTAINERS))
    prev_target = target
    for o in moves.top_first(world, objs):
        moves.clear_for_move(s, o, objs)
        if chain and world[prev_target].kind == BLOCK:
            s.put_on(o, prev_target, chain=True)
        else:
            s.put_on(o, prev_target)
        if chain:
            prev_target = o


def _into_region(it: Interpreter, objs: list[str], dest: Dest) -> None:
    """Into a region of the table, each object on a free spot in it."""
    s, world = it.s, it.s.world
    assert dest.region is not None
    if dest.region == "corner":
        dest = Dest("region", region=nearest_corner(it, objs[0]))
    assert dest.region is not None
    box = REGIONS[dest.region]
    cx, cy = REGION_CENTERS[dest.region]
    label = f"the {dest.region} {'side' if ' ' not in dest.region else 'corner'}"
    if dest.region == "center":
        label = "the center"
    for o in moves.top_first(world, objs):
        moves.clear_for_move(s, o, objs)
        spot = world.free_spot(o, (cx, cy), box)
        if spot is None:
            raise refuse(f"There is no free space left in {label} for {s.name(o)}.")
        s.place_at(o, spot, label)


def _side_by_side(s: PlanDraft, objs: list[str]) -> None:
    if len(objs) < 2:
        raise clarify(f"Next to what should I put {s.names(objs)}?")
    for prev, o in itertools.pairwise(objs):
        spot = s.near_spot(o, prev)
        if spot is None:
            raise refuse(f"There is no free spot next to {s.name(prev)}.")
        s.place_at(o, spot)


def move_one(
    it: Interpreter, o: str, dest: Dest, targets: list[str], amount: Amount | None
) -> None:
    s = it.s
    world = s.world
    t = world[o]
    if dest.kind == "point":
        assert dest.point is not None
        s.place_at(o, dest.point)
    elif dest.kind == "direction":
        assert dest.direction is not None
        d = amount.meters if amount else DEFAULT_PUSH_DISTANCE
        ux, uy = DIRECTION_VECTORS[dest.direction]
        base = world.base(o) if not t.held else t
        x, y = t.origin if t.held else (base.x, base.y)
        goal = (x + ux * d, y + uy * d)
        s.place_at(o, goal, f"{d * 100:.0f} cm {dest.direction} of where {s.name(o)} is")
    elif dest.kind in ("side", "near", "between"):
        marks = targets
        if dest.kind == "between":
            a, b = world[marks[0]], world[marks[1]]
            s.place_at(o, ((a.x + b.x) / 2, (a.y + b.y) / 2), f"the spot between {s.names(marks)}")
        elif dest.kind == "side":
            assert dest.side is not None
            side_words = {
                "left_of": "left of",
                "right_of": "right of",
                "behind": "behind",
                "in_front": "in front of",
            }[dest.side]
            # "10 cm to the left of the blue block": that far, center to center
            gap = amount.meters if amount is not None and not amount.vague else None
            s.place_at(
                o,
                s.beside_point(o, marks[0], dest.side, gap),
                f"the spot {side_words} {s.name(marks[0])}",
            )
        else:
            spot = s.near_spot(o, marks[0])
            if spot is None:
                raise refuse(f"There is no free spot next to {s.name(marks[0])}.")
            s.place_at(o, spot)
    elif dest.kind in ("table", "down", "back"):
        if dest.kind == "back":
            xy = original_xy(it, o)
            if not t.held and math.hypot(t.x - xy[0], t.y - xy[1]) < 0.01 and t.support is None:
                return
            s.place_at(o, xy, f"the spot {s.name(o)} came from")
            return
        if not t.held and t.support is None:
            return  # already on the table
        near = t.origin if t.held else (world.base(o).x, world.base(o).y)
        spot = near if world.is_free(near, o) is None and world.workspace.contains(*near) else None
        if spot is None or not t.held:
            spot = world.free_spot(o, near)
        if spot is None:
            raise refuse(f"There is no free space on the table for {s.name(o)}.")
        s.place_at(o, spot)
    else:
        raise clarify(f"Where should I put {s.name(o)}?")


def original_xy(it: Interpreter, o: str) -> tuple[float, float]:
    """Where a block stood before the latest plan that moved it (this plan or an earlier one)."""
    t = it.s.world[o]
    if o in [st.object for st in it.s.steps]:
        return t.origin
    scene = it.s.history.scene_before(o)
    if scene is not None:
        for obj in scene.objects:
            if obj.id == o:
                return (round(float(obj.position[0]), 3), round(float(obj.position[1]), 3))
    return t.origin
