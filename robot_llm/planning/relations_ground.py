"""Spatial grounding: which things stand in a relation to landmarks ("left of the bowl", "next
to the tray", "between the two bowls", "on the red block", "in the far left corner") and which
are at an extreme ("the leftmost", "the nearest").

Spatial words use the table frame: left = +y, right = -y, behind / far = +x, in front / near =
-x; the robot's base is the origin. `resolve.Resolver` narrows a phrase's candidates with a
`RelationGrounder`, which resolves the landmark phrases through the Resolver.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final

from robot_llm.planning.lexicon import ALL_KINDS, BLOCK
from robot_llm.planning.refs import Ref, Relation
from robot_llm.planning.resolution import Ambiguous, Found, Missing, Resolution, noun_for
from robot_llm.planning.table_model import TableModel, Thing

SIDE_MARGIN: Final = 0.02  # meters beyond a landmark's center that counts as left of it, etc.
NEAR_GAP: Final = 0.10  # "next to": at most this far between outlines (circle approximation)
BETWEEN_WIDTH: Final = 0.06
ROBOT: Final = (0.0, 0.0)
CORNERS: Final = {
    "far left": (0.70, 0.30),
    "far right": (0.70, -0.30),
    "near left": (0.30, 0.30),
    "near right": (0.30, -0.30),
    "center": (0.50, 0.0),
}


def extreme(things: Sequence[Thing], how: str, world: TableModel) -> list[Thing]:
    """The things at one extreme (ties kept): left, right, near, far, top, bottom, center..."""
    if not things:
        return []
    keys: dict[str, Callable[[Thing], float]] = {
        "left": lambda t: -t.y,
        "right": lambda t: t.y,
        "near": lambda t: t.x,
        "far": lambda t: -t.x,
        "top": lambda t: -t.top,
        "bottom": lambda t: t.bottom,
        "robot": lambda t: math.hypot(t.x, t.y),
        "robot_far": lambda t: -math.hypot(t.x, t.y),
    }
    if how in CORNERS:
        cx, cy = CORNERS[how]
        f: Callable[[Thing], float] = lambda t: math.hypot(t.x - cx, t.y - cy)  # noqa: E731
    else:
        f = keys[how]
    if how == "bottom":  # "the bottom block": of a stack, when there is one
        things = [t for t in things if world.blocks_on(t.id)] or list(things)
    values = [f(t) for t in things]
    best = min(values)
    return [t for t, v in zip(things, values, strict=True) if v <= best + 0.005]


def _in_region(t: Thing, region: str) -> bool:
    """Loose halves and quadrants for plural phrases ("the blocks on the left")."""
    far, left = t.x > 0.5, t.y > 0.0
    return {
        "left": left,
        "right": t.y < 0.0,
        "far": far,
        "near": t.x < 0.5,
        "far left": far and left,
        "far right": far and t.y < 0.0,
        "near left": t.x < 0.5 and left,
        "near right": t.x < 0.5 and t.y < 0.0,
        "center": math.hypot(t.x - 0.5, t.y) < 0.1,
    }[region]


def rel_text(rel: Relation) -> str:
    words = {
        "left_of": "to the left of",
        "right_of": "to the right of",
        "behind": "behind",
        "in_front": "in front of",
        "near": "next to",
        "on": "on",
        "above": "above",
        "under": "under",
        "in": "in",
        "between": "between",
        "nearest": "nearest to",
        "farthest": "farthest from",
    }
    if rel.name == "region":
        return f"on the {rel.place} side" if rel.place != "center" else "in the center"
    if rel.name == "on_table":
        return "on the table"
    args = " and ".join(" ".join(a.words) or "it" for a in rel.args)
    return f"{words.get(rel.name, rel.name)} {args}"


class RelationGrounder:
    """Narrows things to those in a relation; `resolve` grounds its landmark phrases."""

    def __init__(self, world: TableModel, resolve: Callable[[Ref, str], Resolution]) -> None:
        self.world = world
        self.resolve = resolve

    def _landmark(self, ref: Ref) -> Thing | tuple[float, float] | Missing | Ambiguous:
        if ref.object_id == "<robot>":
            return ROBOT
        r = self.resolve(ref, "landmark")
        if isinstance(r, Found):
            if len(r.ids) != 1:
                return Ambiguous(r.ids, noun_for(ref, ALL_KINDS))
            return self.world[r.ids[0]]
        return r

    def relation(
        self, ref: Ref, rel: Relation, things: list[Thing]
    ) -> list[Thing] | Missing | Ambiguous:
        """The things that stand in `rel` (to its landmarks, resolved here)."""
        whole = self._without_landmark(ref, rel, things)
        if whole is not None:
            return whole
        marks = []
        for a in rel.args:
            m = self._landmark(a)
            if isinstance(m, Missing | Ambiguous):
                return m
            marks.append(m)
        pts = [(m.x, m.y) if isinstance(m, Thing) else m for m in marks]
        mark_ids = {m.id for m in marks if isinstance(m, Thing)}
        things = [t for t in things if t.id not in mark_ids]
        placed = self._by_geometry(ref, rel, things, pts, marks[0])
        if placed is not None:
            return placed
        lm = marks[0]
        if not isinstance(lm, Thing):  # "on the robot", "from you": nothing there
            return []
        return self._by_support(rel, things, lm)

    def _without_landmark(
        self, ref: Ref, rel: Relation, things: list[Thing]
    ) -> list[Thing] | Missing | Ambiguous | None:
        """Relations decided without one landmark: on the table, in a region, in a tower, beside
        a group (each of its members); None for the others."""
        world = self.world
        if rel.name == "on_table":
            return [t for t in things if world.on_table(t.id)]
        if rel.name == "region":
            assert rel.place is not None
            if ref.many or ref.plural:
                return [t for t in things if _in_region(t, rel.place)]
            return extreme(things, rel.place, world)
        if rel.name in ("in", "on", "above") and any(
            a.noun in ("tower", "stack", "pile") for a in rel.args
        ):  # "the block from the tower": any block of a stack
            return [
                t
                for t in things
                if (t.support is not None and world[t.support].kind == BLOCK)
                or world.blocks_on(t.id)
            ]
        if rel.name in ("left_of", "right_of", "behind", "in_front") and rel.args[0].many:
            group = self.resolve(rel.args[0], "landmark")  # "behind the red blocks": all of them
            if not isinstance(group, Found):
                return group
            for gid in group.ids:
                got = self.relation(
                    ref, Relation(rel.name, (Ref(words=(gid,), object_id=gid),)), things
                )
                if not isinstance(got, list):
                    return got
                things = got
            return things
        return None

    def _by_geometry(
        self,
        ref: Ref,
        rel: Relation,
        things: list[Thing],
        pts: list[tuple[float, float]],
        lm: Thing | tuple[float, float],
    ) -> list[Thing] | None:
        """Sides, nearness and betweenness, from the landmarks' positions; None for the others."""
        (lx, ly) = pts[0]
        sides = {
            "left_of": lambda t: t.y > ly + SIDE_MARGIN,
            "right_of": lambda t: t.y < ly - SIDE_MARGIN,
            "behind": lambda t: t.x > lx + SIDE_MARGIN,
            "in_front": lambda t: t.x < lx - SIDE_MARGIN,
        }
        if rel.name in sides:
            return [t for t in things if sides[rel.name](t)]
        if rel.name == "near":
            r0 = lm.radius if isinstance(lm, Thing) else 0.1
            near = [t for t in things if math.hypot(t.x - lx, t.y - ly) <= t.radius + r0 + NEAR_GAP]
            if len(near) > 1 and not (ref.many or ref.plural):
                # "the block next to the bowl": the nearest one when it is clearly nearest
                ranked = sorted((math.hypot(t.x - lx, t.y - ly), t.id) for t in near)
                if ranked[1][0] - ranked[0][0] > 0.04:
                    return [self.world[ranked[0][1]]]
            return near
        if rel.name in ("nearest", "farthest"):
            if not things:
                return []
            d = [math.hypot(t.x - lx, t.y - ly) for t in things]
            best = min(d) if rel.name == "nearest" else max(d)
            return [t for t, v in zip(things, d, strict=True) if abs(v - best) < 0.005]
        if rel.name == "between":
            (bx, by) = pts[1]
            vx, vy = bx - lx, by - ly
            length2 = vx * vx + vy * vy or 1e-9
            out = []
            for t in things:
                s = ((t.x - lx) * vx + (t.y - ly) * vy) / length2
                px, py = lx + s * vx, ly + s * vy
                if 0.0 < s < 1.0 and math.hypot(t.x - px, t.y - py) <= BETWEEN_WIDTH + t.radius:
                    out.append(t)
            return out
        return None

    def _by_support(self, rel: Relation, things: list[Thing], lm: Thing) -> list[Thing]:
        """What rests on, in, above or under the landmark."""
        world = self.world
        if rel.name in ("on", "in"):
            if lm.kind == BLOCK:
                if rel.name == "in":
                    return []
                return [t for t in things if t.support == lm.id]
            return [t for t in things if world.container_of(t.id) == lm.id]
        if rel.name == "above":
            return [t for t in things if t.id in world.above(lm.id)]
        if rel.name == "under":  # directly under
            return [t for t in things if lm.support == t.id]
        if rel.name == "below":
            return [t for t in things if lm.id in world.above(t.id)]
        raise ValueError(f"unknown relation {rel.name}")
