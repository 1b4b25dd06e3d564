"""Pushing one object to a destination: a direction, a region, a point, a target or zone,
beside or between landmarks, or back where it came from (`push_one`); `actions.push` reads the
clause.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from robot_llm.planning.destinations import Dest
from robot_llm.planning.draft import clarify, refuse
from robot_llm.planning.lexicon import BLOCK, REGION_CENTERS, ZONE
from robot_llm.planning.placing import nearest_corner, original_xy
from robot_llm.tabletop.predicates import REGIONS

if TYPE_CHECKING:
    from robot_llm.planning.interpreter import Interpreter


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
