"""Spatial relations between scene objects, decided from their poses.

These are the tolerances every task's `evaluate()` uses (documented in docs/tasks.md). They are
pure functions of object poses: no simulator calls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import numpy as np

from robot_llm.tabletop.geometry import (
    BOWL_HEIGHT,
    TRAY_HEIGHT,
    bowl_rim_radius,
    height,
    rest_height,
)
from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.palette import TRAY_INNER, ZONE_SIDE

# An object rests on a surface when its bottom is this close to the surface, meters.
REST_TOLERANCE: Final = 0.01
# A block placed at a target point or slot: horizontal distance, meters.
PLACE_TOLERANCE: Final = 0.015
# A placed or stacked block may lean this much from upright, radians.
TILT_TOLERANCE: Final = math.radians(15.0)
# Two blocks are "next to" each other when the gap between their sides is at most this, meters.
NEXT_TO_GAP: Final = 0.03
# Two blocks of a row (a pyramid layer) stand at most this far apart between faces, meters.
ROW_GAP: Final = 0.02

# Regions of the workspace for push goals, in the table frame (x far, y left).
REGIONS: Final[dict[str, tuple[tuple[float, float], tuple[float, float]]]] = {
    "left": ((0.30, 0.70), (0.17, 0.30)),
    "right": ((0.30, 0.70), (-0.30, -0.17)),
    "far": ((0.60, 0.70), (-0.30, 0.30)),
    "near": ((0.30, 0.40), (-0.30, 0.30)),
    "far left": ((0.58, 0.70), (0.15, 0.30)),
    "far right": ((0.58, 0.70), (-0.30, -0.15)),
    "near left": ((0.30, 0.42), (0.15, 0.30)),
    "near right": ((0.30, 0.42), (-0.30, -0.15)),
    "center": ((0.44, 0.56), (-0.06, 0.06)),
}

States = Mapping[str, ObjectState]


def bottom(s: ObjectState) -> float:
    """Height of the object's lowest face above the table (upright objects), meters."""
    return float(s.position[2]) - height(s.spec.kind, s.spec.size) / 2


# Predicates run every control step; plain floats are several times faster than numpy scalars.


def top(s: ObjectState) -> float:
    return bottom(s) + height(s.spec.kind, s.spec.size)


def support_height(s: ObjectState) -> float:
    """Height of the surface that things placed on or in this object rest on."""
    return bottom(s) + rest_height(s.spec.kind, s.spec.size)


def horizontal_distance(a: ObjectState, b: ObjectState) -> float:
    ax, ay, _ = a.position.tolist()
    bx, by, _ = b.position.tolist()
    return math.hypot(ax - bx, ay - by)


def _local_xy(point: np.ndarray, frame: ObjectState) -> tuple[float, float]:
    """A table-frame xy point expressed in the object's own horizontal axes."""
    yaw = frame.yaw
    c, s = math.cos(yaw), math.sin(yaw)
    px, py = point[:2].tolist()
    fx, fy = frame.position[:2].tolist()
    dx, dy = px - fx, py - fy
    return (c * dx + s * dy, -s * dx + c * dy)


def upright(s: ObjectState) -> bool:
    """Flat on a face: for blocks (cubes) any face, for other kinds their base."""
    tilt = s.face_tilt if s.spec.kind == "block" else s.tilt
    return tilt <= TILT_TOLERANCE


def on_table(s: ObjectState) -> bool:
    return upright(s) and abs(bottom(s)) <= REST_TOLERANCE


def on_block(a: ObjectState, b: ObjectState) -> bool:
    """`a` rests on top of block `b`: bottom on b's top, center over b's top face, upright."""
    if b.spec.kind != "block" or not upright(a):
        return False
    half = height("block", b.spec.size) / 2
    lx, ly = _local_xy(a.position, b)
    return abs(bottom(a) - top(b)) <= REST_TOLERANCE and max(abs(lx), abs(ly)) <= half


def in_bowl(a: ObjectState, bowl: ObjectState) -> bool:
    """`a` is inside the bowl's rim: within its rim radius and below its rim height."""
    if bowl.spec.kind != "bowl":
        return False
    rim_top = bottom(bowl) + BOWL_HEIGHT
    return horizontal_distance(a, bowl) <= bowl_rim_radius(bowl.spec.size) and bottom(a) < rim_top


def in_zone(a: ObjectState, zone: ObjectState) -> bool:
    """`a` rests on the zone with its center inside the zone's square."""
    if zone.spec.kind != "zone":
        return False
    half = ZONE_SIDE[zone.spec.size] / 2
    lx, ly = _local_xy(a.position, zone)
    resting = abs(bottom(a) - support_height(zone)) <= REST_TOLERANCE
    return resting and max(abs(lx), abs(ly)) <= half


def in_tray(a: ObjectState, tray: ObjectState) -> bool:
    """`a` has its center inside the tray's walls and its bottom below their top."""
    if tray.spec.kind != "tray":
        return False
    ix, iy = TRAY_INNER[tray.spec.size]
    lx, ly = _local_xy(a.position, tray)
    return abs(lx) <= ix / 2 and abs(ly) <= iy / 2 and bottom(a) < bottom(tray) + TRAY_HEIGHT


def placed_in(a: ObjectState, container: ObjectState) -> bool:
    """`a` is in or on `container`, whatever its kind (bowl, zone, tray or block)."""
    kind = container.spec.kind
    if kind == "bowl":
        return in_bowl(a, container)
    if kind == "zone":
        return in_zone(a, container)
    if kind == "tray":
        return in_tray(a, container)
    return on_block(a, container)


def in_region(a: ObjectState, region: str) -> bool:
    (x0, x1), (y0, y1) = REGIONS[region]
    x, y = float(a.position[0]), float(a.position[1])
    return x0 <= x <= x1 and y0 <= y <= y1 and on_table(a)


def next_to(a: ObjectState, b: ObjectState) -> bool:
    """Both on the table, side by side with at most NEXT_TO_GAP between them."""
    if not (on_table(a) and on_table(b)):
        return False
    reach = (height(a.spec.kind, a.spec.size) + height(b.spec.kind, b.spec.size)) / 2
    return horizontal_distance(a, b) <= reach * math.sqrt(2) + NEXT_TO_GAP


def side_by_side(a: ObjectState, b: ObjectState) -> bool:
    """Two blocks of one row: centers at most an edge plus ROW_GAP apart."""
    edge = height("block", a.spec.size)
    return horizontal_distance(a, b) <= edge + ROW_GAP


def bridges(s: ObjectState, a: ObjectState, b: ObjectState) -> bool:
    """`s` rests across blocks a and b that stand side by side, centered over the middle of
    them, its bottom on the higher of their tops."""
    if not (upright(s) and side_by_side(a, b)):
        return False
    mx = (float(a.position[0]) + float(b.position[0])) / 2
    my = (float(a.position[1]) + float(b.position[1])) / 2
    centered = math.hypot(float(s.position[0]) - mx, float(s.position[1]) - my) <= PLACE_TOLERANCE
    return centered and abs(bottom(s) - max(top(a), top(b))) <= REST_TOLERANCE


def at_point(a: ObjectState, xy: tuple[float, float], tolerance: float = PLACE_TOLERANCE) -> bool:
    """`a` rests on the table (or a zone) with its center within `tolerance` of a point."""
    d = math.hypot(float(a.position[0]) - xy[0], float(a.position[1]) - xy[1])
    return d <= tolerance and upright(a) and bottom(a) <= 0.01 + REST_TOLERANCE


def holds(relation: Mapping[str, object], states: States) -> bool:
    """Evaluate one goal relation (the shared vocabulary of task goals).

    {"relation": "in" | "on", "object": id, "target": id}, {"relation": "region", "object": id,
    "region": name}, {"relation": "next_to", "object": id, "target": id} or
    {"relation": "at", "object": id, "point": [x, y]}.
    """
    a = states[str(relation["object"])]
    kind = relation["relation"]
    if kind in ("in", "on"):
        return placed_in(a, states[str(relation["target"])])
    if kind == "region":
        return in_region(a, str(relation["region"]))
    if kind == "next_to":
        return next_to(a, states[str(relation["target"])])
    if kind == "at":
        point = relation["point"]
        assert isinstance(point, list | tuple), f"relation 'at' needs a point, got {point!r}"
        return at_point(a, (float(point[0]), float(point[1])))
    raise ValueError(f"unknown relation {kind!r}")
