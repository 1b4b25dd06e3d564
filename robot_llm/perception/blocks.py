"""Blocks from top faces: size, position and yaw, with touching and stacked blocks.

A fully visible top face is a square of the block's edge, which gives the size class; its
center and orientation give the block's. Touching blocks of one color and one height form one
face of about k times the area of a square: it is split into k squares (k-means on the face's
pixels). A partly hidden face (under a block above, or beside something taller) gets the size
whose bottom lands on a surface under it, and its center is moved away from what hides it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from robot_llm.perception.detection import Detection, confidence_from
from robot_llm.perception.faces import EDGE_GROW, Face
from robot_llm.perception.shapes import Rect, min_area_rect, sides, square_footprint, square_yaw
from robot_llm.perception.supports import SUPPORT_TOLERANCE, Supports
from robot_llm.tabletop.palette import BLOCK_EDGE

SIZE_TOLERANCE = 0.0075  # a measured edge this close to a size class's edge is that class
SPLIT_TOLERANCE = 0.012  # mean side error of the squares a face is split into
MAX_SPLIT = 6
MIN_PART_WIDTH = 0.008  # narrowest part of a block top worth a block of its own, meters
MIN_PART_FILL = 0.6


@dataclass(frozen=True)
class Square:
    """A block top fitted to a face: center, edge, yaw and how badly it fit (meters)."""

    cx: float
    cy: float
    edge: float
    yaw: float
    error: float


def nearest_edge(measured: float) -> tuple[str, float]:
    size = min(BLOCK_EDGE, key=lambda s: abs(BLOCK_EDGE[s] - measured))
    return size, abs(BLOCK_EDGE[size] - measured)


def size_of(edge: float) -> str:
    return nearest_edge(edge)[0]


def fit_face(face: Face, pixel: float) -> list[Square] | None:
    """The block tops that explain a face (several when touching blocks merged into it).

    Returns None for a partly hidden face that is no whole square: what it belongs to is
    decided later, from the blocks around it (`partial_square`, stacks.py).
    """
    rect = face.rect
    short, long = sides(rect)
    fill = face.area / max(rect.width * rect.length, 1e-12)
    size, err = nearest_edge((short + long) / 2)
    # A partly covered face whose outline is still a block's square (a ring around the block
    # on it) is that block, however little of it shows.
    if long - short < SIZE_TOLERANCE and err < SIZE_TOLERANCE and (fill > 0.8 or face.occluded):
        return [Square(rect.cx, rect.cy, BLOCK_EDGE[size], square_yaw(rect), err)]
    if not face.occluded or face.area > 1.6 * BLOCK_EDGE["large"] ** 2:
        parts = split_face(face, pixel)
        if parts:
            return parts
    if not face.occluded:
        return []  # fully seen yet no block top: a container rim, say, not a block
    return None


def looks_like_part_of_a_block(face: Face) -> bool:
    """Whether a partly hidden face could be a block top cut by what hides it: compact and at
    least MIN_PART_WIDTH across (a strip of a container's rim is neither)."""
    rect = face.rect
    fill = face.area / max(rect.width * rect.length, 1e-12)
    return min(sides(rect)) >= MIN_PART_WIDTH and fill >= MIN_PART_FILL


def partial_square(face: Face, supports: Supports) -> Square:
    """A block top of which only part is seen: size from what holds it, center moved away
    from what hides the rest."""
    rect = face.rect
    long = max(sides(rect))
    candidates = [e for e in BLOCK_EDGE.values() if e >= long - SIZE_TOLERANCE]
    if not candidates:
        candidates = [max(BLOCK_EDGE.values())]

    def score(e: float) -> float:
        gap = supports.gap(rect.cx, rect.cy, face.z - e)
        return (gap if gap < SUPPORT_TOLERANCE else 1.0 + abs(e - long)) + 0.1 * abs(e - long)

    edge = min(candidates, key=score)
    cx, cy = rect.cx, rect.cy
    if face.occluder is not None:
        c, s = math.cos(rect.yaw), math.sin(rect.yaw)
        ox, oy = face.occluder[0] - rect.cx, face.occluder[1] - rect.cy
        for (ux, uy), seen in (((c, s), rect.width), ((-s, c), rect.length)):
            missing = edge - seen
            if missing > 0.003:
                toward = 1.0 if ox * ux + oy * uy > 0 else -1.0
                cx += toward * ux * missing / 2
                cy += toward * uy * missing / 2
    return Square(cx, cy, edge, square_yaw(rect), max(0.0, edge - long))


def split_face(face: Face, pixel: float) -> list[Square]:
    """Split a face into k equal squares when its area is about k block tops (k >= 2)."""
    best: list[Square] = []
    best_error = SPLIT_TOLERANCE
    for e in BLOCK_EDGE.values():
        k = round(face.area / (e * e))
        if not 2 <= k <= MAX_SPLIT or abs(face.area - k * e * e) > 0.4 * e * e:
            continue
        labels = kmeans(face.xy, k)
        parts = []
        for j in range(k):
            pts = face.xy[labels == j]
            if len(pts) < 5:
                break
            r = min_area_rect(pts, grow=EDGE_GROW * pixel)
            parts.append(Square(r.cx, r.cy, e, square_yaw(r), abs(r.width - e) + abs(r.length - e)))
        if len(parts) != k:
            continue
        error = float(np.mean([p.error for p in parts]))
        if error < best_error:
            best, best_error = parts, error
    return best


def kmeans(points: np.ndarray, k: int, sample: int = 400) -> np.ndarray:
    """Deterministic k-means (farthest-point start) on N x 2 points; returns labels.

    Centers are fitted (OpenCV, from the given start) on an evenly strided subsample; every
    point then takes its nearest.
    """
    pts = points.astype(np.float32)
    fit = np.ascontiguousarray(pts[:: max(1, len(pts) // sample)])
    centers = [fit[np.argmax(((fit - fit.mean(0)) ** 2).sum(1))]]
    for _ in range(1, k):
        d = np.min([((fit - c) ** 2).sum(1) for c in centers], axis=0)
        centers.append(fit[int(np.argmax(d))])
    start = np.argmin(((fit[:, None, :] - np.array(centers)[None]) ** 2).sum(2), axis=1)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1e-5)
    _, _, c = cv2.kmeans(
        fit, k, start.astype(np.int32).reshape(-1, 1), criteria, 1, cv2.KMEANS_USE_INITIAL_LABELS
    )
    return np.asarray(np.argmin(((pts[:, None, :] - c[None]) ** 2).sum(2), axis=1))


def block_detection(
    color: str, square: Square, top_z: float, pixels: int, pixel: float
) -> Detection:
    e = square.edge
    return Detection(
        "block",
        color,
        size_of(e),
        (square.cx, square.cy, top_z - e / 2),
        square.yaw,
        square_footprint(square.cx, square.cy, e, square.yaw),
        confidence_from(pixels, square.error, (e / pixel) ** 2, 0.004),
        top=top_z,
        pixels=pixels,
    )


def block_rect(det: Detection) -> Rect:
    e = BLOCK_EDGE[det.size]
    return Rect(det.position[0], det.position[1], e, e, det.yaw)
