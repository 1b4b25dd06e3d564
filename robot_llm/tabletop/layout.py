"""Random, collision-free placement of objects on the workspace, from a seeded generator."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np

from robot_llm.errors import Fault
from robot_llm.tabletop.geometry import footprint, polygon_inside_box, polygons_overlap
from robot_llm.tabletop.scene import WORKSPACE, ObjectSpec, Workspace

# Free space kept between sampled objects so a gripper finger fits between them, meters.
CLEARANCE: Final = 0.025
# Inner margin from the workspace edge for sampled positions, meters.
EDGE_MARGIN: Final = 0.02


class LayoutError(Fault):
    """No collision-free layout was found for the requested objects."""


def _grown(poly: np.ndarray, by: float) -> np.ndarray:
    center = poly.mean(axis=0)
    d = poly - center
    n = np.linalg.norm(d, axis=1, keepdims=True)
    return np.asarray(center + d * (1 + by / np.maximum(n, 1e-9)))


def place_objects(
    rng: np.random.Generator,
    objects: Sequence[ObjectSpec],
    fixed: Sequence[ObjectSpec] = (),
    workspace: Workspace = WORKSPACE,
    random_yaw: bool = True,
    attempts: int = 200,
    restarts: int = 20,
) -> list[ObjectSpec]:
    """Give each table-level object a random position and yaw that overlaps nothing.

    `fixed` objects keep their positions and are avoided. Objects with `on` set are placed at
    their support's position afterwards. Large objects are placed first, and the whole layout
    restarts when one object finds no room. Raises LayoutError if the table is too crowded.
    """
    for _ in range(restarts):
        try:
            return _place_once(rng, objects, fixed, workspace, random_yaw, attempts)
        except LayoutError:
            continue
    raise LayoutError(f"no collision-free layout for {len(objects)} objects after {restarts} tries")


def _bounding_circle(poly: np.ndarray) -> tuple[float, float, float]:
    cx, cy = poly.mean(axis=0).tolist()
    r = float(np.hypot(poly[:, 0] - cx, poly[:, 1] - cy).max())
    return (cx, cy, r)


def _circles_meet(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    """A cheap pre-test: polygons whose bounding circles are apart cannot overlap."""
    return math.hypot(a[0] - b[0], a[1] - b[1]) < a[2] + b[2]


def _area(o: ObjectSpec) -> float:
    poly = footprint(o.kind, o.size, (0.0, 0.0), 0.0)
    x, y = poly[:, 0], poly[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def _place_once(
    rng: np.random.Generator,
    objects: Sequence[ObjectSpec],
    fixed: Sequence[ObjectSpec],
    workspace: Workspace,
    random_yaw: bool,
    attempts: int,
) -> list[ObjectSpec]:
    placed: list[ObjectSpec] = list(fixed)
    polys = [_grown(footprint(o.kind, o.size, o.position, o.yaw), CLEARANCE) for o in fixed]
    circles = [_bounding_circle(q) for q in polys]
    out: list[ObjectSpec] = []
    x0, x1 = workspace.x[0] + EDGE_MARGIN, workspace.x[1] - EDGE_MARGIN
    y0, y1 = workspace.y[0] + EDGE_MARGIN, workspace.y[1] - EDGE_MARGIN
    placed_by_id: dict[str, ObjectSpec] = {}
    for obj in sorted((o for o in objects if o.on is None), key=_area, reverse=True):
        for _ in range(attempts):
            yaw = float(rng.uniform(-math.pi / 4, math.pi / 4)) if random_yaw else 0.0
            if obj.kind in ("zone", "tray"):
                yaw = 0.0 if rng.random() < 0.5 else math.pi / 2
            pos = (float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1)))
            poly = footprint(obj.kind, obj.size, pos, yaw)
            if not polygon_inside_box(poly, (x0, x1), (y0, y1)) or not workspace.reaches(*pos):
                continue
            grown = _grown(poly, CLEARANCE)
            circle = _bounding_circle(grown)
            if any(
                _circles_meet(circle, c) and polygons_overlap(grown, q)
                for q, c in zip(polys, circles, strict=True)
            ):
                continue
            polys.append(grown)
            circles.append(circle)
            new = ObjectSpec(obj.id, obj.kind, obj.color, obj.size, pos, yaw, None)
            placed.append(new)
            placed_by_id[new.id] = new
            break
        else:
            raise LayoutError(f"could not place object {obj.id!r} without overlap")
    by_id = {o.id: o for o in placed}
    for obj in objects:  # in the caller's order; stacked objects follow their supports
        if obj.on is None:
            out.append(placed_by_id[obj.id])
        else:
            sup = by_id[obj.on]
            new = ObjectSpec(obj.id, obj.kind, obj.color, obj.size, sup.position, sup.yaw, obj.on)
            by_id[obj.id] = new
            out.append(new)
    return out
