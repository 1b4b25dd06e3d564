"""Object geometry of the tabletop world: sizes, heights, footprints and overlap tests.

Everything here is plain numpy; the simulator builds bodies from these numbers and the scene
validator checks files against the same numbers, so the two cannot disagree.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from robot_llm.tabletop.palette import BLOCK_EDGE, BOWL_RADIUS, TRAY_INNER, ZONE_SIDE

ZONE_THICKNESS: Final = 0.002
BOWL_HEIGHT: Final = 0.045
BOWL_WALL: Final = 0.006
BOWL_FLOOR: Final = 0.006
BOWL_FLARE: Final = math.radians(15.0)  # walls lean outward by this angle
BOWL_SEGMENTS: Final = 15  # PyBullet keeps at most 16 shapes in a compound: 15 walls + floor
TRAY_HEIGHT: Final = 0.04
TRAY_WALL: Final = 0.008
TRAY_FLOOR: Final = 0.006


def bowl_rim_radius(size: str) -> float:
    """Inner radius of a bowl at its rim, meters."""
    return BOWL_RADIUS[size] + BOWL_HEIGHT * math.tan(BOWL_FLARE)


# (full height, height where something placed on or in it rests) of the containers, meters;
# a block's are both its edge.
_CONTAINER_HEIGHTS: Final = {
    "bowl": (BOWL_HEIGHT, BOWL_FLOOR),
    "zone": (ZONE_THICKNESS, ZONE_THICKNESS),
    "tray": (TRAY_HEIGHT, TRAY_FLOOR),
}


def height(kind: str, size: str) -> float:
    """Full height of an object of this kind and size, meters."""
    return BLOCK_EDGE[size] if kind == "block" else _CONTAINER_HEIGHTS[kind][0]


def rest_height(kind: str, size: str) -> float:
    """Height above an object's base where something placed on or in it rests, meters."""
    return BLOCK_EDGE[size] if kind == "block" else _CONTAINER_HEIGHTS[kind][1]


def half_extents_xy(kind: str, size: str) -> tuple[float, float]:
    """Half sizes of the object's footprint along its own x and y axes, meters."""
    if kind == "block":
        h = BLOCK_EDGE[size] / 2
        return (h, h)
    if kind == "bowl":
        r = bowl_rim_radius(size) + BOWL_WALL
        return (r, r)
    if kind == "zone":
        h = ZONE_SIDE[size] / 2
        return (h, h)
    if kind == "tray":
        ix, iy = TRAY_INNER[size]
        return (ix / 2 + TRAY_WALL, iy / 2 + TRAY_WALL)
    raise KeyError(kind)


def footprint(
    kind: str, size: str, position: tuple[float, float] | np.ndarray, yaw: float
) -> np.ndarray:
    """Convex footprint polygon (N x 2, counter-clockwise) in the table frame."""
    if kind == "bowl":
        r = half_extents_xy(kind, size)[0]
        angles = np.linspace(0.0, 2 * math.pi, BOWL_SEGMENTS, endpoint=False)
        local = np.stack([r * np.cos(angles), r * np.sin(angles)], axis=1)
    else:
        hx, hy = half_extents_xy(kind, size)
        local = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    c, s = math.cos(yaw), math.sin(yaw)
    rot = np.array([[c, -s], [s, c]])
    return np.asarray(local @ rot.T + np.asarray(position, dtype=float))


def polygons_overlap(a: np.ndarray, b: np.ndarray, tolerance: float = 1e-6) -> bool:
    """Separating-axis test for two convex polygons; touching edges do not count as overlap."""
    for poly in (a, b):
        edges = np.roll(poly, -1, axis=0) - poly
        normals = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
        for n in normals:
            pa, pb = a @ n, b @ n
            if pa.max() <= pb.min() + tolerance or pb.max() <= pa.min() + tolerance:
                return False
    return True


def polygon_inside_box(
    poly: np.ndarray, x: tuple[float, float], y: tuple[float, float], tolerance: float = 1e-9
) -> bool:
    """Whether every corner of the polygon lies in the axis-aligned box x by y."""
    return bool(
        (poly[:, 0] >= x[0] - tolerance).all()
        and (poly[:, 0] <= x[1] + tolerance).all()
        and (poly[:, 1] >= y[0] - tolerance).all()
        and (poly[:, 1] <= y[1] + tolerance).all()
    )
