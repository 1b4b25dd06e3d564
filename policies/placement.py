"""Where a held block goes: target spots, support heights and hand yaws from a perceived Scene.

Pure geometry on `robot_llm.types.Scene`; no simulator, no commands. The place skill asks
`resolve_place` for a `PlaceTarget` and turns it into motion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from robot_llm.errors import RobotLLMError
from robot_llm.policies.motion import nearest_equivalent
from robot_llm.policies.scene_geometry import (
    block_edge,
    bottom,
    outline,
    point_in_polygon,
    polygon_point_distance,
    top,
)
from robot_llm.tabletop.geometry import (
    BOWL_FLARE,
    BOWL_FLOOR,
    BOWL_HEIGHT,
    TRAY_FLOOR,
    bowl_rim_radius,
)
from robot_llm.tabletop.palette import BOWL_RADIUS, TRAY_INNER, ZONE_SIDE
from robot_llm.tabletop.predicates import ROW_GAP
from robot_llm.tabletop.slots import slot_offsets
from robot_llm.types import Scene, SceneObject, Subgoal

# The held block's bottom is released this high above the surface it goes on, meters. On a
# block it is set down flush: a block tilted in the hand then rights itself on the support
# instead of landing on an edge.
RELEASE_GAP: Final[dict[str, float]] = {
    "block": 0.0,
    "zone": 0.004,
    "table": 0.004,
    "tray": 0.008,
    "bowl": 0.012,
}
# Fingers open this much wider than the block to let go, meters.
RELEASE_MARGIN: Final = 0.02
# Half thickness of a finger beyond the gap it makes, meters (Panda pads).
FINGER_THICKNESS: Final = 0.012
# Blocks in a container keep this gap between them, meters.
NEIGHBOR_GAP: Final = 0.012
# Most blocks spread over by slots, per container kind (a zone holds two side by side).
MAX_SLOTS: Final = {"bowl": 3, "zone": 2, "tray": 6}
# A block set down on the table turns square to a block within this distance, meters.
NEIGHBOR_REACH: Final = 0.08


class PlaceError(RobotLLMError, ValueError):
    """The place subgoal cannot be carried out in this scene; the message is the reason."""


@dataclass(frozen=True)
class PlaceTarget:
    """Where the held block goes: center xy, the height its bottom rests at, hand yaw choices."""

    xy: np.ndarray
    surface: float
    kind: str  # block | bowl | zone | tray | table
    target: SceneObject | None
    # The block's yaw should match this modulo 90 degrees: the block it goes on, or its
    # neighbor in a container.
    align_yaw: float | None
    supports: tuple[SceneObject, ...] = ()  # across: the two blocks it rests on

    @property
    def release_gap(self) -> float:
        return RELEASE_GAP[self.kind]


def resolve_place(
    scene: Scene, subgoal: Subgoal, held: str, edge: float, expected: int = 1
) -> PlaceTarget:
    """The spot for a place subgoal (on=, in_=, at= or across=); PlaceError says why there is
    none. `expected`: how many blocks the plan puts in the target container, this one
    included, so the first of them leaves room for the rest."""
    if subgoal.at is not None:
        return _at_point(scene, np.asarray(subgoal.at, dtype=float), held, edge)
    if subgoal.across is not None:
        return _across(scene, subgoal.across, held)
    target_id = subgoal.target
    assert target_id is not None
    if target_id == held:
        raise PlaceError(f"cannot place {held!r} on itself")
    try:
        target = scene.get(target_id)
    except KeyError:
        raise PlaceError(f"target {target_id!r} not in scene") from None
    others = [o for o in scene if o.id not in (held, target_id)]
    if target.kind == "block":
        xy = np.asarray(target.position[:2], dtype=float)
        for o in others:
            if o.kind == "block" and bottom(o) > top(target) - 0.01 and _inside(xy, o):
                raise PlaceError(f"target {target_id!r} is covered by {o.id!r}")
        return PlaceTarget(xy, top(target), "block", target, target.yaw)
    if target.kind in ("bowl", "zone", "tray"):
        spot = free_spot(target, edge, others, expected)
        if spot is None:
            raise PlaceError(f"no room for {held!r} in {target_id!r}")
        inside = blocks_inside(target, others)
        # Turned like its nearest neighbor, the new block sits square beside it.
        nearest = min(inside, key=lambda o: float(np.linalg.norm(_xy(o) - spot)), default=None)
        align = nearest.yaw if nearest is not None else None
        return PlaceTarget(spot, support_surface(target), target.kind, target, align)
    raise PlaceError(f"cannot place on or in {target_id!r}: unknown kind {target.kind!r}")


def support_surface(o: SceneObject) -> float:
    """Height where something put on or in `o` rests."""
    if o.kind == "bowl":
        return bottom(o) + BOWL_FLOOR
    if o.kind == "tray":
        return bottom(o) + TRAY_FLOOR
    return top(o)


def _inside(xy: np.ndarray, o: SceneObject) -> bool:
    return point_in_polygon(xy, outline(o))


def _at_point(scene: Scene, xy: np.ndarray, held: str, edge: float) -> PlaceTarget:
    """A point on the table (or a zone). The block goes down square to its nearest neighbor
    block within NEIGHBOR_REACH (so a row of blocks stays square), else square to the table."""
    surface, kind, target = 0.0, "table", None
    for o in scene:
        if o.id == held or not _inside(xy, o):
            continue
        if o.kind == "block":
            raise PlaceError(f"point [{xy[0]:.3f}, {xy[1]:.3f}] is occupied by {o.id!r}")
        if support_surface(o) > surface:
            surface, kind, target = support_surface(o), o.kind, o
    near = [
        o
        for o in scene
        if o.kind == "block"
        and o.id != held
        and float(np.linalg.norm(_xy(o) - xy)) <= NEIGHBOR_REACH
    ]
    nearest = min(near, key=lambda o: float(np.linalg.norm(_xy(o) - xy)), default=None)
    return PlaceTarget(xy, surface, kind, target, nearest.yaw if nearest is not None else 0.0)


def _across(scene: Scene, across: tuple[str, str], held: str) -> PlaceTarget:
    """Across two blocks side by side: centered over the middle of them, square to the line
    through their centers, resting on the higher top."""
    supports = []
    for oid in across:
        if oid == held:
            raise PlaceError(f"cannot place {held!r} across itself")
        try:
            o = scene.get(oid)
        except KeyError:
            raise PlaceError(f"support {oid!r} not in scene") from None
        if o.kind != "block":
            raise PlaceError(f"cannot place across {oid!r}: it is a {o.kind}, not a block")
        supports.append(o)
    a, b = supports
    span = float(np.linalg.norm(_xy(a) - _xy(b)))
    reach = (block_edge(a) + block_edge(b)) / 2 + ROW_GAP
    if span > reach:
        raise PlaceError(
            f"{a.id!r} and {b.id!r} are {span:.3f} m apart: too far apart to bridge "
            f"(at most {reach:.3f} m between centers)"
        )
    xy = (_xy(a) + _xy(b)) / 2
    level = max(top(a), top(b))
    for o in scene:
        above = o.kind == "block" and o.id not in (held, a.id, b.id) and bottom(o) > level - 0.01
        if above and _inside(xy, o):
            raise PlaceError(f"the middle of {a.id!r} and {b.id!r} is covered by {o.id!r}")
    d = _xy(b) - _xy(a)
    align = math.atan2(float(d[1]), float(d[0]))
    return PlaceTarget(xy, level, "block", None, align, (a, b))


def _local(o: SceneObject, xy: np.ndarray) -> np.ndarray:
    c, s = math.cos(o.yaw), math.sin(o.yaw)
    d = xy - np.asarray(o.position[:2])
    return np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1]])


def _world(o: SceneObject, local: np.ndarray) -> np.ndarray:
    c, s = math.cos(o.yaw), math.sin(o.yaw)
    return np.asarray(o.position[:2]) + np.array(
        [c * local[0] - s * local[1], s * local[0] + c * local[1]]
    )


def candidate_offsets(container: SceneObject, edge: float) -> list[np.ndarray]:
    """Offsets (container frame) where a block of this edge can sit inside, center first."""
    out = [np.zeros(2)]
    if container.kind == "bowl":
        reach = max(BOWL_RADIUS.get(container.size, 0.065) - edge / math.sqrt(2) - 0.004, 0.0)
        for frac in (0.5, 1.0):
            for k in range(12):
                a = 2 * math.pi * k / 12
                out.append(reach * frac * np.array([math.cos(a), math.sin(a)]))
        return out
    if container.kind == "zone":
        hx = hy = max(ZONE_SIDE.get(container.size, 0.10) / 2 - edge / 2, 0.0)
    else:
        ix, iy = TRAY_INNER.get(container.size, (0.16, 0.24))
        hx, hy = max(ix / 2 - edge / 2 - 0.008, 0.0), max(iy / 2 - edge / 2 - 0.008, 0.0)
    for fx in np.linspace(-1.0, 1.0, 5):
        for fy in np.linspace(-1.0, 1.0, 5):
            if fx or fy:
                out.append(np.array([fx * hx, fy * hy]))
    return out


def blocks_inside(container: SceneObject, others: Sequence[SceneObject]) -> list[SceneObject]:
    """The blocks among `others` whose centers are over the container's footprint."""
    poly = outline(container)
    return [o for o in others if o.kind == "block" and point_in_polygon(_xy(o), poly)]


def free_spot(
    container: SceneObject, edge: float, others: Sequence[SceneObject], expected: int = 1
) -> np.ndarray | None:
    """Where a block of `edge` goes in a container: the most central spot that keeps
    NEIGHBOR_GAP from the blocks already in it, else the roomiest spot; None when even that
    would overlap one. Gaps assume the new block is turned like its neighbor (see
    `resolve_place`: the hand aligns it). Into an empty container with `expected` blocks to
    come, the first goes to the first of the slots that spread them out (a block in the middle
    of a bowl would leave no room for a second)."""
    inside = blocks_inside(container, others)
    if not inside:
        if expected < 2 or container.kind not in ("bowl", "zone", "tray"):
            return _xy(container)
        dx, dy, _ = slot_offsets(container.kind, min(expected, MAX_SLOTS[container.kind]))[0]
        return _world(container, np.array([dx, dy]))
    best: tuple[bool, float, float] | None = None
    spot = None
    for off in candidate_offsets(container, edge):
        xy = _world(container, off)
        room = min(_gap(xy, edge, o) for o in inside)
        if room >= NEIGHBOR_GAP:
            key = (True, -float(np.linalg.norm(off)), room)
        else:
            key = (False, room, 0.0)
        if best is None or key > best:
            best, spot = key, xy
    if best is None or (not best[0] and best[1] <= 0.0):
        return None
    return spot


def _xy(o: SceneObject) -> np.ndarray:
    return np.asarray(o.position[:2], dtype=float)


def _gap(xy: np.ndarray, edge: float, o: SceneObject) -> float:
    """Gap between a block of `edge` centered at xy, turned like block `o`, and `o`."""
    lx, ly = _local(o, xy)
    return max(abs(lx), abs(ly)) - (edge + block_edge(o)) / 2


def finger_points(xy: np.ndarray, hand_yaw: float, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Where the two fingers' outer faces are with this gap; they open along (-sin, cos)."""
    axis = np.array([-math.sin(hand_yaw), math.cos(hand_yaw)])
    reach = gap / 2 + FINGER_THICKNESS
    return xy + axis * reach, xy - axis * reach


def finger_room(
    xy: np.ndarray,
    hand_yaw: float,
    gap: float,
    obstacles: Sequence[SceneObject],
    container: SceneObject | None,
) -> float:
    """Smallest distance from either finger to an obstacle or a container wall (meters)."""
    room = math.inf
    for f in finger_points(xy, hand_yaw, gap):
        for o in obstacles:
            room = min(room, polygon_point_distance(outline(o), f))
        if container is not None and container.kind in ("bowl", "tray"):
            room = min(room, _wall_room(f, container))
    return room


def _wall_room(f: np.ndarray, container: SceneObject) -> float:
    if container.kind == "bowl":
        # Fingertips sit low in the bowl, where the flared wall is close to the floor radius.
        r = BOWL_RADIUS.get(container.size, 0.065) + 0.5 * BOWL_HEIGHT * math.tan(BOWL_FLARE)
        r = min(r, bowl_rim_radius(container.size))
        return r - float(np.linalg.norm(f - np.asarray(container.position[:2])))
    ix, iy = TRAY_INNER.get(container.size, (0.16, 0.24))
    lx, ly = _local(container, f)
    return min(ix / 2 - abs(lx), iy / 2 - abs(ly))


def choose_hand_yaw(
    hand_yaw: float,
    spot: PlaceTarget,
    gap: float,
    obstacles: Sequence[SceneObject],
) -> float:
    """Hand yaw to release at: aligned with the target block when stacking, else the current
    one; turned by 90 degrees (the cube looks the same) when that gives the fingers more room."""
    base = (
        nearest_equivalent(spot.align_yaw, hand_yaw, math.pi / 2)
        if spot.align_yaw is not None
        else hand_yaw
    )
    turned = base - math.copysign(math.pi / 2, base) if base else base + math.pi / 2
    room_base = finger_room(spot.xy, base, gap, obstacles, spot.target)
    room_turned = finger_room(spot.xy, turned, gap, obstacles, spot.target)
    if room_base >= 0.015 or room_base >= room_turned:
        return base
    return turned
