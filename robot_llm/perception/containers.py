"""Zones, bowls and trays: objects found from a large flat region of their color near the table.

A zone is a 2 mm thick square, so its pixels lie about 2 mm above the table; pieces of one
color at that height that fit in one zone are one zone (a bowl on a zone leaves only its
corners in view), and the rectangle around them gives its size and pose. Bowls and trays have a
floor about 6 mm up (8 mm on a zone) inside walls. Blocks never show a surface that low and that
large, so a region of a color between ZONE_MAX_Z and GROUND_MAX_Z larger than MIN_GROUND_AREA is
a container floor; its shape (disk or rectangle) tells a bowl from a tray, and the outline of
the walls around it gives position and size. Pixels of the same color inside a container and
well above its floor are left for blocks.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from robot_llm.perception.detection import ColorRegion, Detection, confidence_from
from robot_llm.perception.quantiles import median
from robot_llm.perception.shapes import (
    Rect,
    circle_footprint,
    fit_circle,
    long_side_yaw,
    min_area_rect,
    on_hull,
    outline_pixels,
    outline_points,
    rect_residual,
    sides,
    square_footprint,
    square_yaw,
)
from robot_llm.tabletop.geometry import (
    BOWL_FLOOR,
    BOWL_HEIGHT,
    BOWL_WALL,
    TRAY_FLOOR,
    TRAY_HEIGHT,
    TRAY_WALL,
    ZONE_THICKNESS,
    bowl_rim_radius,
)
from robot_llm.tabletop.palette import BOWL_RADIUS, TRAY_INNER, ZONE_SIDE

ZONE_MAX_Z = 0.0045  # a zone's top is 2 mm up; container floors 6-8 mm
GROUND_MAX_Z = 0.0115  # highest container floor (a bowl on a zone) plus margin
MIN_GROUND_AREA = 0.003  # m^2: a small zone is 0.0064, the largest block top 0.0025
MIN_ZONE_PIECE = 8  # pixels
MIN_ZONE_PIXELS = 60  # fewer zone-height pixels of a color cannot show a zone's extent
MIN_ZONE_PIECE_WIDTH = 0.005  # thinner pieces are the bottom edges of block sides
MIN_ZONE_SIDE = 0.06  # a small zone is 0.08 wide
MAX_ZONE_DIAGONAL = 0.18  # a large zone is 0.12 wide, 0.17 across
FLOOR_FLATNESS = 0.002
CONTENT_RISE = 0.008  # pixels this far above a floor, away from the walls, are contents
CLAIM_MARGIN = 0.004
HIDDEN_BY = 0.02
MIN_RIM_COVERAGE = 0.9  # an outline pixel next to something this much higher may be cut short


def nearest_class(value: float, classes: dict[str, float]) -> tuple[str, float]:
    """The size class whose nominal value is nearest, and the absolute difference."""
    size = min(classes, key=lambda s: abs(classes[s] - value))
    return size, abs(classes[size] - value)


def find_ground_objects(region: ColorRegion, pixel: float) -> tuple[list[Detection], np.ndarray]:
    """Zones, bowls and trays of one color, and the crop mask of the pixels they explain.

    `pixel` is the side of one pixel on the table, meters.
    """
    z, mask = region.z, region.mask
    claimed = np.zeros_like(mask)
    found: list[Detection] = []
    low = mask & (z < ZONE_MAX_Z)
    if np.count_nonzero(low) >= MIN_ZONE_PIXELS:
        for group in _zone_groups(low, region, pixel):
            rows, cols = _around(group, round(0.01 / pixel))
            det, claim = _zone(region.window(rows, cols), group[rows, cols], pixel)
            if det is not None:
                found.append(det)
                claimed[rows, cols] |= claim
    floors = mask & (z >= ZONE_MAX_Z) & (z < GROUND_MAX_Z)
    min_pixels = MIN_GROUND_AREA / (pixel * pixel)
    if np.count_nonzero(floors) < min_pixels:
        return found, claimed
    n, labels, stats, _ = cv2.connectedComponentsWithStats(floors.astype(np.uint8), connectivity=8)
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_AREA] < min_pixels:
            continue
        comp = labels == i
        # Walls (and a bowl's rim, seen in perspective) stay within 5 cm of the floor.
        rows, cols = _around(comp, round(0.05 / pixel))
        det, claim = _container(region.window(rows, cols), comp[rows, cols], median(z[comp]), pixel)
        if det is not None:
            found.append(det)
            claimed[rows, cols] |= claim
    return found, claimed


def _around(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Rows and columns of a mask's bounding box grown by `margin` pixels, within the mask."""
    left, top, w, h = cv2.boundingRect(mask.astype(np.uint8))
    return (
        slice(max(top - margin, 0), min(top + h + margin, mask.shape[0])),
        slice(max(left - margin, 0), min(left + w + margin, mask.shape[1])),
    )


def _zone_groups(low: np.ndarray, region: ColorRegion, pixel: float) -> list[np.ndarray]:
    """Pieces of zone-height pixels grouped into zones (a zone under a bowl shows only corners).

    Pieces join while the rectangle around them stays zone-sized; a group is a zone when that
    rectangle is at least MIN_ZONE_SIDE wide (the bottom edges of block sides are thin strips).
    """
    _, labels, stats, _ = cv2.connectedComponentsWithStats(low.astype(np.uint8), connectivity=8)
    pieces = []
    for i in np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1:
        if stats[i, cv2.CC_STAT_AREA] < MIN_ZONE_PIECE:
            break
        x0, y0, w, h = (int(v) for v in stats[i, :4])
        comp = (labels[y0 : y0 + h, x0 : x0 + w] == i).astype(np.uint8)
        pts = outline_points(comp, region.maps, region.top + y0, region.left + x0)
        if len(pts) >= 4 and min(sides(min_area_rect(pts))) >= MIN_ZONE_PIECE_WIDTH:
            pieces.append((i, pts))
    groups: list[list[int]] = []
    points: list[np.ndarray] = []
    for i, pts in pieces:
        for g, gpts in enumerate(points):
            both = np.concatenate([gpts, pts])
            if _diameter(both) <= MAX_ZONE_DIAGONAL:
                groups[g].append(i)
                points[g] = both
                break
        else:
            groups.append([i])
            points.append(pts)
    return [
        np.isin(labels, members)
        for members, gpts in zip(groups, points, strict=True)
        if min(sides(min_area_rect(gpts, grow=pixel / 2))) >= MIN_ZONE_SIDE
    ]


def _diameter(points: np.ndarray) -> float:
    hull = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2)
    d = hull[:, None, :] - hull[None, :, :]
    return float(np.sqrt((d * d).sum(-1)).max())


def _zone(
    region: ColorRegion, comp: np.ndarray, pixel: float
) -> tuple[Detection | None, np.ndarray]:
    top_z = median(region.z[comp])
    pts = outline_points(comp.astype(np.uint8), region.maps, region.top, region.left)
    if len(pts) < 8:
        return None, comp
    rect = min_area_rect(pts, grow=pixel / 2)
    short, long = sides(rect)
    size, err = nearest_class((short + long) / 2, ZONE_SIDE)
    yaw = square_yaw(rect)
    side = ZONE_SIDE[size]
    claim = region.mask & (region.z < ZONE_MAX_Z) & rect.contains(region.x, region.y, CLAIM_MARGIN)
    det = Detection(
        "zone",
        region.color,
        size,
        (rect.cx, rect.cy, max(top_z - ZONE_THICKNESS / 2, ZONE_THICKNESS / 2)),
        yaw,
        square_footprint(rect.cx, rect.cy, side, yaw),
        confidence_from(int(comp.sum()), err + (long - short), side**2 / pixel**2, 0.01),
        top=top_z,
        pixels=int(comp.sum()),
    )
    return det, claim | comp


def _container(
    region: ColorRegion, floor: np.ndarray, floor_z: float, pixel: float
) -> tuple[Detection | None, np.ndarray]:
    pts = outline_points(floor.astype(np.uint8), region.maps, region.top, region.left)
    if len(pts) < 8:
        return None, floor
    rect = min_area_rect(pts, grow=pixel / 2)
    x, y, z = region.x, region.y, region.z
    # Walls rise from the floor; anything lower (a zone under a bowl) is not part of it.
    near_floor = region.mask & (z > floor_z - 0.003) & (z < floor_z + BOWL_HEIGHT + 0.006)
    # A bowl's outline is round and a tray's rectangular, also where something else (the arm,
    # another object) hides part of it.
    outline = _seen_outline(near_floor & rect.contains(x, y, 0.03), region, own_hides=False)
    if len(outline) < 8:
        return None, floor
    if rect_residual(outline, min_area_rect(outline)) < fit_circle(outline)[3]:
        return _tray(region, rect, near_floor, floor_z, pixel)
    # Its widest part (the rim, or the foot of walls leaning in) shows all round from above: the
    # smallest circle around the outline gives center and size. When something hides part of
    # the outline, the edge of the floor (where nothing hides it) gives them instead.
    outer = {s: bowl_rim_radius(s) + BOWL_WALL for s in BOWL_RADIUS}
    (cx, cy), radius = cv2.minEnclosingCircle(outline)
    cx, cy = float(cx), float(cy)
    size, err = nearest_class(float(radius) + pixel / 2, outer)
    if _coverage(outline, (cx, cy)) <= MIN_RIM_COVERAGE:
        level = floor & (np.abs(region.z - floor_z) < FLOOR_FLATNESS)  # not the walls' feet
        edge = on_hull(_seen_outline(level, region), 2 * pixel)
        if len(edge) >= 8:
            cx, cy, radius, _ = fit_circle(edge)
            size, err = nearest_class(radius + pixel / 2, dict(BOWL_RADIUS))
    r2 = (x - cx) ** 2 + (y - cy) ** 2
    contents = (r2 < (BOWL_RADIUS[size] - CLAIM_MARGIN) ** 2) & (z > floor_z + CONTENT_RISE)
    claim = region.mask & (r2 <= (outer[size] + CLAIM_MARGIN) ** 2) & ~contents
    n = int(claim.sum())
    det = Detection(
        "bowl",
        region.color,
        size,
        (cx, cy, floor_z - BOWL_FLOOR + BOWL_HEIGHT / 2),
        0.0,
        circle_footprint(cx, cy, outer[size]),
        confidence_from(n, err, math.pi * outer[size] ** 2 / pixel**2, 0.01),
        top=floor_z,
        pixels=n,
    )
    return det, claim


def _seen_outline(mask: np.ndarray, region: ColorRegion, own_hides: bool = True) -> np.ndarray:
    """Table xy of a region's outline where it borders nothing much higher: what hides part of
    an object (the wall nearest the camera hiding part of a floor, a block in the bowl, the arm)
    also ends its outline, in the wrong place. With `own_hides` False, pixels of the region's
    own color hide nothing (a bowl's walls rise right behind its outline)."""
    rows, cols = outline_pixels(mask.astype(np.uint8), region.top, region.left)
    if len(rows) == 0:
        return np.zeros((0, 2), np.float32)
    maps = region.maps
    r0, c0 = max(int(rows.min()) - 3, 0), max(int(cols.min()) - 3, 0)
    r1, c1 = int(rows.max()) + 4, int(cols.max()) + 4
    window = maps.z[r0:r1, c0:c1]
    if not own_hides:
        window = window.copy()
        r1, c1 = r0 + window.shape[0], c0 + window.shape[1]
        (h, w), top, left = region.mask.shape, region.top, region.left
        i0, i1 = max(r0, top), min(r1, top + h)  # the window and the region's crop overlap
        j0, j1 = max(c0, left), min(c1, left + w)
        own = region.mask[i0 - top : i1 - top, j0 - left : j1 - left]
        window[i0 - r0 : i1 - r0, j0 - c0 : j1 - c0][own] = 0.0
    highest = cv2.dilate(window, np.ones((7, 7), np.uint8))[rows - r0, cols - c0]
    seen = highest < maps.z[rows, cols] + HIDDEN_BY
    return np.stack([maps.x[rows, cols][seen], maps.y[rows, cols][seen]], axis=1)


def _coverage(points: np.ndarray, center: tuple[float, float]) -> float:
    """Fraction of the directions around a center (in 10 degree sectors) that points lie in."""
    angles = np.arctan2(points[:, 1] - center[1], points[:, 0] - center[0])
    sectors = np.unique(((angles + math.pi) / (2 * math.pi) * 36).astype(int) % 36)
    return len(sectors) / 36


def _tray(
    region: ColorRegion, floor_rect: Rect, near_floor: np.ndarray, floor_z: float, pixel: float
) -> tuple[Detection | None, np.ndarray]:
    x, y, z = region.x, region.y, region.z
    near = near_floor & floor_rect.contains(x, y, 0.02)
    outline = outline_points(near.astype(np.uint8), region.maps, region.top, region.left)
    rect = min_area_rect(outline, grow=pixel / 2)
    short, long = sides(rect)
    wall = 2 * TRAY_WALL

    def misfit(size: str) -> float:
        ix, iy = sorted(TRAY_INNER[size])
        return abs(short - wall - ix) + abs(long - wall - iy)

    size = min(TRAY_INNER, key=misfit)
    yaw = long_side_yaw(rect)
    ix, iy = TRAY_INNER[size]
    inner = Rect(rect.cx, rect.cy, ix, iy, yaw)
    contents = inner.contains(x, y, -CLAIM_MARGIN) & (z > floor_z + CONTENT_RISE)
    outer = Rect(rect.cx, rect.cy, ix + wall, iy + wall, yaw)
    claim = region.mask & outer.contains(x, y, CLAIM_MARGIN) & ~contents
    n = int(claim.sum())
    det = Detection(
        "tray",
        region.color,
        size,
        (rect.cx, rect.cy, floor_z - TRAY_FLOOR + TRAY_HEIGHT / 2),
        yaw,
        outer.corners(),
        confidence_from(n, misfit(size), outer.width * outer.length / pixel**2, 0.01),
        top=floor_z,
        pixels=n,
    )
    return det, claim
