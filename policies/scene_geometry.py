"""Geometry of perceived objects: heights, tops, footprints and distances on the table.

Pure functions of `robot_llm.types.SceneObject` (heights come from each kind's size class in
`robot_llm.tabletop.geometry`); skills use them to plan clear paths and targets. No simulator.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np

from robot_llm.tabletop.geometry import footprint, height
from robot_llm.tabletop.palette import BLOCK_EDGE
from robot_llm.types import Scene, SceneObject

Vector = Sequence[float] | np.ndarray  # a point, table frame, meters


def fmt(v: Vector) -> str:
    """A point for messages: "[0.412, -0.050]"."""
    return "[" + ", ".join(f"{float(x):.3f}" for x in v) + "]"


def object_height(o: SceneObject) -> float:
    """Full height of a perceived object, from its kind and size class."""
    try:
        return height(o.kind, o.size)
    except KeyError:
        return block_edge(o)


def block_edge(o: SceneObject) -> float:
    """Edge of a cubic block: from its size class, else from its footprint, else medium."""
    if o.size in BLOCK_EDGE:
        return BLOCK_EDGE[o.size]
    if len(o.footprint) >= 3:
        pts = np.asarray(o.footprint)
        return float(np.sqrt(_polygon_area(pts)))
    return BLOCK_EDGE["medium"]


def _polygon_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def top(o: SceneObject) -> float:
    return float(o.position[2]) + object_height(o) / 2


def bottom(o: SceneObject) -> float:
    return float(o.position[2]) - object_height(o) / 2


def outline(o: SceneObject) -> np.ndarray:
    """The object's footprint polygon (N x 2): perceived if given, else from kind and size."""
    if len(o.footprint) >= 3:
        return np.asarray(o.footprint, dtype=float)
    try:
        return footprint(o.kind, o.size, o.position[:2], o.yaw)
    except KeyError:  # an unknown kind or size: a square as wide as a block's edge
        h = block_edge(o) / 2
        c, s = np.cos(o.yaw), np.sin(o.yaw)
        local = np.array([[-h, -h], [h, -h], [h, h], [-h, h]])
        return np.asarray(local @ np.array([[c, s], [-s, c]]) + np.asarray(o.position[:2]))


def segment_distance(point: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Distance from a 2-D point to the segment a-b."""
    ab = b - a
    n = float(ab @ ab)
    k = 0.0 if n < 1e-12 else min(max(float((point - a) @ ab) / n, 0.0), 1.0)
    return float(np.linalg.norm(point - (a + k * ab)))


def polygon_segment_distance(poly: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Distance between a convex polygon and a segment (0 when they touch or cross)."""
    if point_in_polygon(a, poly) or point_in_polygon(b, poly):
        return 0.0
    d = min(segment_distance(q, a, b) for q in poly)
    for q0, q1 in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        d = min(d, segment_distance(a, q0, q1), segment_distance(b, q0, q1))
        if _segments_cross(a, b, q0, q1):
            return 0.0
    return d


def point_in_polygon(pt: np.ndarray, poly: np.ndarray) -> bool:
    """Whether a 2-D point lies in a convex polygon (its boundary included)."""
    edges = np.roll(poly, -1, axis=0) - poly
    rel = pt - poly
    cross = edges[:, 0] * rel[:, 1] - edges[:, 1] * rel[:, 0]
    return bool((cross >= 0).all() or (cross <= 0).all())


def _segments_cross(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> bool:
    def orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> float:
        return float((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    return orient(a, b, c) * orient(a, b, d) < 0 and orient(c, d, a) * orient(c, d, b) < 0


def tallest_near(
    scene: Scene,
    path: Sequence[Vector],
    corridor: float = 0.08,
    exclude: Iterable[str] = (),
) -> float:
    """Height of the tallest object top within `corridor` of an xy path (0 for the table)."""
    skip = set(exclude)
    pts = [np.asarray(p[:2], dtype=float) for p in path]
    best = 0.0
    for o in scene:
        if o.id in skip:
            continue
        poly = outline(o)
        segments = itertools.pairwise(pts) if len(pts) > 1 else [(pts[0], pts[0])]
        near = any(polygon_segment_distance(poly, a, b) <= corridor for a, b in segments)
        if near:
            best = max(best, top(o))
    return best


def polygon_point_distance(poly: np.ndarray, point: np.ndarray) -> float:
    """Distance from a point to a convex polygon (0 inside)."""
    return polygon_segment_distance(poly, point, point)


def in_hand(scene: Scene, hand: Vector) -> tuple[str, ...]:
    """Ids of perceived blocks that hang in the hand at `hand` (x, y, z): centered under it,
    off the table, top at most 3 cm above the end-effector point."""
    h = np.asarray(hand, dtype=float)
    return tuple(
        o.id
        for o in scene
        if o.kind == "block"
        and float(np.linalg.norm(np.asarray(o.position[:2]) - h[:2])) < 0.02
        and bottom(o) > 0.01
        and top(o) < h[2] + 0.03
    )
