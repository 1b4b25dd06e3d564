"""Single actions of the rule planner: pick, put (on, in, at, beside, in a region, by an
offset), push (a direction or to a place), the gripper and the arm.

Each takes the `Interpreter` (for grounding phrases) and plans onto its `PlanDraft`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from robot_llm.planning import moves, tasks
from robot_llm.planning.clauses import take_order, take_push_mode
from robot_llm.planning.destinations import Dest, dest_starts, parse_dest
from robot_llm.planning.draft import ClauseInfo, PlanDraft, clarify, refuse
from robot_llm.planning.lexicon import (
    BLOCK,
    CONTAINERS,
    REGION_CENTERS,
    SMALL_PUSH,
    ZONE,
)
from robot_llm.planning.refs import parse_np
from robot_llm.planning.text import Amount, take_distance, take_point
from robot_llm.planning.verb_words import ARM_WORDS
from robot_llm.tabletop.directions import DEFAULT_PUSH_DISTANCE, DIRECTION_VECTORS
from robot_llm.tabletop.predicates import REGIONS
from robot_llm.types import Subgoal

if TYPE_CHECKING:
    from robot_llm.planning.interpreter import Interpreter

ARM_HOVER: Final = 0.10  # meters above an object's top when moving the hand over it
ARM_HEIGHT: Final = 0.20  # hand height over a point on the table


def pick(it: Interpreter, verb: str, words: list[str], rest: list[str]) -> None:
    s = it.s
    if rest[-1:] == ["up"]:
        rest = rest[:-1]
    for lead in (["everything"], ["all", "the", "blocks"], ["all", "blocks"], ["all"]):
        n = len(lead)
        if rest[:n] == lead and rest[n : n + 1] in (["off"], ["from"]):
            # "take everything off the orange block": clear it
            k = n + (2 if rest[n : n + 2] == ["off", "of"] else 1)
            tasks.clear(it, "clear", rest[k:])
            return
    rest, point = take_point(rest)
    _ref, res, dest, _dres, _dest_t = it.choose_split(
        rest, "object", point, prefer_dest=verb == "take"
    )
    if dest is not None:
        # "lift the red block onto the blue block", "take the red block to the tray": a move
        put(it, words, rest)
        return
    ids = it.need(res)
    if len(ids) > 1:
        raise refuse(
            f"I hold one block at a time, so I can't pick up {s.names(ids)} together; "
            "tell me where to put them (for example 'put them in the tray')."
        )
    s.pick(ids[0])
    s.mention(ids)
    s.prev = ClauseInfo("pick", words, [])


CORNER_REGIONS: Final = ("far left", "far right", "near left", "near right")


def nearest_corner(it: Interpreter, oid: str) -> str:
    """ "into a corner": the corner region nearest the object."""
    t = it.s.world[oid]
    return min(
        CORNER_REGIONS,
        key=lambda r: math.hypot(REGION_CENTERS[r][0] - t.x, REGION_CENTERS[r][1] - t.y),
    )


def exception_last(it: Interpreter, rest: list[str]) -> list[str]:
    """ "all the blocks in the bowl except the red one" -> "all the blocks except the red one in
    the bowl": the exclusion belongs to the object phrase."""
    e = next((i for i, w in enumerate(rest) if w in ("except", "excluding", "besides")), None)
    if e is None:
        return rest
    for d in dest_starts(rest[:e]):
        ref = parse_np(rest[:d], it.ids)
        if ref is not None and ref.many and parse_dest(rest[d:e], it.ids, (0.0, 0.0)):
            return [*rest[:d], *rest[e:], *rest[d:e]]
    return rest


def put(it: Interpreter, words: list[str], rest: list[str], away: bool = False) -> None:
    s = it.s
    rest = exception_last(it, rest)
    rest, amount = take_distance(rest)
    rest, point = take_point(rest)
    rest, order = take_order(rest)
    rest, push_mode = take_push_mode(rest)
    if push_mode:
        push(it, words, rest, amount=amount, point=point)
        return
    if words[-1:] == ["down"] and not any(w in rest for w in ("on", "in", "onto", "into")):
        rest = [*rest, "down"]
    elif words[-1:] == ["back"] and rest[-1:] != ["back"]:
        rest = [*rest, "back"] if not any(w in rest for w in ("on", "in", "into")) else rest
    if away:
        ref = parse_np(rest, it.ids)
        if ref is None:
            raise clarify(f"What should I put away? I didn't understand '{' '.join(rest)}'.")
        objs = it.need(it.resolve(ref, "object"))
        tray = s.default_container("put things away")
        move_objects(it, objs, Dest("in"), [tray], order, amount, words)
        s.prev = ClauseInfo("put", words, ["away"])
        return
    ref, res, dest, _dres, dest_t = it.choose_split(rest, "object", point)
    objs = it.need(res)
    for o in objs:
        s.check_movable(o)
    if dest is None:
        held = s.world.held
        if words[0] in ("drop", "lower", "lay") and held in objs:
            dest = Dest("down")
        else:
            raise clarify(f"Where should I put {s.names(objs)}?")
    targets = it.target(dest, objs) if dest.refs else []
    s.prev = ClauseInfo("put", words, dest_t)
    stack_verb = words[0] in ("stack", "pile")
    move_objects(it, objs, dest, targets, order, amount, words, stack=stack_verb)


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


def remove(it: Interpreter, rest: list[str]) -> None:
    """ "remove the purple block (from the orange block)": set it on the table nearby."""
    ref = parse_np(rest, it.ids)
    if ref is None:
        ref, _res, dest, _d, _t = it.choose_split(rest, "object", None)
        if dest is not None:
            put(it, ["remove"], rest)
            return
    objs = it.need(it.resolve(ref, "object"))
    move_objects(it, objs, Dest("table"), [], None, None, ["remove"])


def push(
    it: Interpreter,
    words: list[str],
    rest: list[str],
    amount: Amount | None = None,
    point: tuple[float, float] | None = None,
) -> None:
    s = it.s
    rest = exception_last(it, rest)
    if amount is None:
        rest, amount = take_distance(rest)
    if point is None:
        rest, point = take_point(rest)
    rest, _ = take_push_mode(rest)
    rest, _order = take_order(rest)
    rest = [t for t in rest if t not in ("over",)] if rest[-1:] != ["over"] else rest[:-1]
    _ref, res, dest, _dres, dest_t = it.choose_split(rest, "push", point)
    objs = it.need(res)
    if dest is None:
        raise clarify(
            f"Which way should I {words[0]} {s.names(objs)}: left, right, forward or back, "
            "or to which place?"
        )
    if dest.kind == "back" and dest_t == ["back"]:
        dest = Dest("direction", direction="back")  # "push it back": toward the robot
    s.prev = ClauseInfo("push", words, dest_t)
    targets = it.target(dest, objs) if dest.refs else []
    default = SMALL_PUSH if words[0] in ("nudge", "bump", "scoot") else DEFAULT_PUSH_DISTANCE
    if dest.kind == "off_table":
        raise refuse("Objects stay inside the workspace; I can't push anything off the table.")
    for o in objs:
        push_one(it, o, dest, targets, amount.meters if amount else default)
    s.mention(objs)


# A push into a region ends this far inside its border, meters.
REGION_PUSH_MARGIN: Final = 0.04


def region_push_point(xy: tuple[float, float], region: str) -> tuple[float, float]:
    """Where a push into a region ends: its point nearest the object, this far inside its
    border (the shortest push, straight toward the region)."""
    (x0, x1), (y0, y1) = REGIONS[region]
    m = REGION_PUSH_MARGIN
    return (min(max(xy[0], x0 + m), x1 - m), min(max(xy[1], y0 + m), y1 - m))


def push_one(it: Interpreter, o: str, dest: Dest, targets: list[str], distance: float) -> None:
    s = it.s
    world = s.world
    if dest.kind == "direction":
        assert dest.direction is not None
        s.push_direction(o, dest.direction, distance)
    elif dest.kind == "region":
        assert dest.region is not None
        region = nearest_corner(it, o) if dest.region == "corner" else dest.region
        label = f"the {region} {'side' if ' ' not in region else 'corner'}"
        # "the center" is a point; a side or a corner is reached by the shortest push
        if region == "center":
            s.push_to(o, REGION_CENTERS[region], label)
        else:
            s.push_to(o, region_push_point(world[o].xy, region), label)
    elif dest.kind == "point":
        assert dest.point is not None
        s.push_to(o, dest.point)
    elif dest.kind in ("on", "in", "to", "toward", "near"):
        target = targets[0]
        t = world[target]
        if target == o:
            raise refuse(f"I can't push {s.name(o)} onto itself.")
        if t.kind == ZONE and dest.kind != "near":
            s.check_pushable(o)
            s.push_to(o, (t.x, t.y), s.name(target))
        elif dest.kind == "in" and t.kind != BLOCK:
            raise refuse(
                f"I can't push {s.name(o)} into {s.name(target)}: its rim is in the way. "
                f"Ask me to put it in {s.name(target)} instead."
            )
        elif dest.kind == "on" and t.kind == BLOCK:
            raise refuse(
                f"I can't push {s.name(o)} onto {s.name(target)}; ask me to put it on "
                f"{s.name(target)} instead."
            )
        else:
            s.check_pushable(o)
            s.push_to(o, s.facing_point(o, target), f"the spot next to {s.name(target)}")
    elif dest.kind == "side":
        assert dest.side is not None
        s.check_pushable(o)
        s.push_to(o, s.beside_point(o, targets[0], dest.side))
    elif dest.kind == "between":
        a, b = world[targets[0]], world[targets[1]]
        s.push_to(o, ((a.x + b.x) / 2, (a.y + b.y) / 2), f"the spot between {s.names(targets)}")
    elif dest.kind == "back":
        xy = original_xy(it, o)
        s.push_to(o, xy, f"the spot {s.name(o)} came from")
    else:
        raise clarify(f"Which way should I push {s.name(o)}: left, right, forward or back?")


def gripper(it: Interpreter, verb: str, rest: list[str]) -> None:
    s = it.s
    words = [t for t in rest if t not in ("the", "your", "my", "it", "up", "of", "its")]
    if verb == "release" or not words or any(w in ARM_WORDS for w in words):
        skill = "close_gripper" if verb == "close" else "open_gripper"
        s.steps.append(Subgoal(skill))
        if skill == "open_gripper":
            held = s.world.held
            if held is not None:
                s.world.place_at(held, s.world[held].origin)
        return
    raise refuse(f"I can't {verb} {' '.join(rest)}; I can open or close my gripper.")


def arm(it: Interpreter, rest: list[str]) -> None:
    """ "move your hand above the red bowl", "move the arm to the center": a move_to."""
    s = it.s
    i = next((i for i, w in enumerate(rest[:3]) if w in ARM_WORDS), -1)
    tail = rest[i + 1 :]
    tail, point = take_point(tail)
    if point is not None:
        x, y = point
        s.steps.append(Subgoal("move_to", pose=(round(x, 3), round(y, 3), ARM_HEIGHT)))
        return
    dest = parse_dest(tail, it.ids, None)
    if dest is not None and dest.kind == "region":
        assert dest.region is not None
        x, y = REGION_CENTERS[dest.region]
        s.steps.append(Subgoal("move_to", pose=(x, y, ARM_HEIGHT)))
        return
    if dest is not None and dest.refs and dest.kind in ("on", "to", "in", "toward"):
        (target,) = it.target(dest)[:1]
        t = s.world[target]
        z = round(min(t.top + ARM_HOVER, 0.45), 3)
        s.steps.append(Subgoal("move_to", pose=(round(t.x, 3), round(t.y, 3), z)))
        return
    if dest is None and tail[:1] in (["above"], ["over"]):
        dest = parse_dest(["to", *tail[1:]], it.ids, None)
        if dest is not None and dest.refs:
            arm(it, ["to", *tail[1:]])
            return
    if dest is None and tail[:1] in (["above"], ["over"]):
        dest = parse_dest(["to", *tail[1:]], it.ids, None)
    if dest is not None and dest.kind == "direction":
        raise clarify(
            "I don't track where the hand is between commands; tell me where to move it "
            "(above an object, a region such as 'the center', or x y coordinates)."
        )
    raise clarify(f"Where should I move the arm? I didn't understand '{' '.join(tail)}'.")
