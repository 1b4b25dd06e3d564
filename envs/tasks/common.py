"""Helpers shared by task families: placing into slots, push targets, path checks, phrasing.

Slots (`robot_llm.tabletop.slots`) spread several blocks over a bowl, zone or tray. Push helpers
decide where a push ends and whether its path is free of other objects.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Final

from robot_llm.tabletop.geometry import half_extents_xy, height
from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.predicates import REGIONS, support_height
from robot_llm.tabletop.scene import ObjectSpec
from robot_llm.tabletop.slots import slot_offsets

# A pushed block aims this far inside its goal region's border, meters.
PUSH_MARGIN: Final = 0.04
# Gap left between a pushed block and the block it is pushed next to, meters.
PUSH_NEXT_TO_GAP: Final = 0.015
# Free space kept around a pushed block's path (besides the objects' own sizes), meters.
PUSH_PATH_CLEARANCE: Final = 0.02
# The hand starts a push this far behind the block's face (Oracle._push), meters.
PUSH_BACKOFF: Final = 0.03

# How instructions name the regions of predicates.REGIONS.
REGION_PHRASES: Final[dict[str, str]] = {
    "left": "left side",
    "right": "right side",
    "far": "far side",
    "near": "near side",
    "far left": "far left corner",
    "far right": "far right corner",
    "near left": "near left corner",
    "near right": "near right corner",
    "center": "center",
}


def join_words(words: Sequence[str]) -> str:
    """Join words for a sentence: "a", "a and b", "a, b and c"."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def with_article(phrase: str) -> str:
    """The phrase with its indefinite article: "a red bowl", "an orange bowl"."""
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def _rotate(dx: float, dy: float, yaw: float) -> tuple[float, float]:
    c, s = math.cos(yaw), math.sin(yaw)
    return (c * dx - s * dy, s * dx + c * dy)


def place_in_slot(obj_id: str, container: ObjectState, slot: int, n_slots: int) -> dict[str, Any]:
    """Oracle op: put `obj_id` into slot `slot` of `n_slots` in `container`."""
    dx, dy, hand = slot_offsets(container.spec.kind, n_slots)[slot]
    yaw = container.yaw
    ox, oy = _rotate(dx, dy, yaw)
    x, y, _ = container.position.tolist()
    op: dict[str, Any] = {
        "op": "pick_place",
        "object": obj_id,
        "target": [x + ox, y + oy, support_height(container)],
        "yaw": yaw if hand is None else yaw + hand,
    }
    if hand is not None:
        op["hand_yaw"] = yaw + hand
    return op


def place_at(
    obj_id: str, xy: Sequence[float], z: float, yaw: float, hand_yaw: float | None = None
) -> dict[str, Any]:
    """Oracle op: put `obj_id` with its bottom at z over point xy."""
    op: dict[str, Any] = {
        "op": "pick_place",
        "object": obj_id,
        "target": [float(xy[0]), float(xy[1]), float(z)],
        "yaw": float(yaw),
    }
    if hand_yaw is not None:
        op["hand_yaw"] = float(hand_yaw)
    return op


# -- pushing ------------------------------------------------------------------------------------
def region_push_target(xy: Sequence[float], region: str) -> tuple[float, float]:
    """The point of the region (shrunk by PUSH_MARGIN) nearest to xy: where a push should end."""
    (x0, x1), (y0, y1) = REGIONS[region]
    x = min(max(float(xy[0]), x0 + PUSH_MARGIN), x1 - PUSH_MARGIN)
    y = min(max(float(xy[1]), y0 + PUSH_MARGIN), y1 - PUSH_MARGIN)
    return (x, y)


def region_distance(xy: Sequence[float], region: str) -> float:
    """Distance from a point to a region's rectangle (0 inside), meters."""
    (x0, x1), (y0, y1) = REGIONS[region]
    dx = max(x0 - float(xy[0]), 0.0, float(xy[0]) - x1)
    dy = max(y0 - float(xy[1]), 0.0, float(xy[1]) - y1)
    return math.hypot(dx, dy)


def next_to_push_target(
    xy: Sequence[float], other_xy: Sequence[float], size: str, other_size: str
) -> tuple[float, float]:
    """Where a block at xy should stop to sit beside a block at other_xy, on the line between."""
    dx, dy = float(xy[0]) - float(other_xy[0]), float(xy[1]) - float(other_xy[1])
    d = math.hypot(dx, dy) or 1.0
    reach = (height("block", size) + height("block", other_size)) / 2 + PUSH_NEXT_TO_GAP
    return (float(other_xy[0]) + dx / d * reach, float(other_xy[1]) + dy / d * reach)


def footprint_radius(spec: ObjectSpec) -> float:
    """Radius of a circle around the object's footprint, meters."""
    hx, hy = half_extents_xy(spec.kind, spec.size)
    return math.hypot(hx, hy) if spec.kind != "bowl" else hx


def _segment_distance(p: Sequence[float], a: Sequence[float], b: Sequence[float]) -> float:
    ax, ay = float(a[0]), float(a[1])
    bx, by = float(b[0]), float(b[1])
    px, py = float(p[0]), float(p[1])
    vx, vy = bx - ax, by - ay
    n2 = vx * vx + vy * vy
    t = 0.0 if n2 == 0 else min(max(((px - ax) * vx + (py - ay) * vy) / n2, 0.0), 1.0)
    return math.hypot(px - (ax + t * vx), py - (ay + t * vy))


def push_path_clear(
    pushed: ObjectSpec,
    start: Sequence[float],
    target: Sequence[float],
    obstacles: Iterable[tuple[ObjectSpec, Sequence[float]]],
    backoff: float = PUSH_BACKOFF,
) -> bool:
    """Whether a push of `pushed` from start to target (hand start included) touches nothing.

    `obstacles` are other objects with their xy positions; the hand starts `backoff` behind the
    block's face (the robot's `RobotSetup.push_behind`).
    """
    sx, sy = float(start[0]), float(start[1])
    tx, ty = float(target[0]), float(target[1])
    d = math.hypot(tx - sx, ty - sy) or 1.0
    half = height("block", pushed.size) / 2
    back = half + backoff
    hand = (sx - (tx - sx) / d * back, sy - (ty - sy) / d * back)
    sweep = footprint_radius(pushed) + PUSH_PATH_CLEARANCE
    for spec, xy in obstacles:
        r = footprint_radius(spec)
        if _segment_distance(xy, hand, (tx, ty)) < sweep + r:
            return False
    return True
