"""Pose and size of a block seen only in part: a rim of its top face and its side faces.

The side faces a camera sees are the ones that face it, so their pixels lie on two
perpendicular lines in the table plane, half an edge from the block's center. Each size is tried
on the pixels it would span; the right one lands on a surface (or leaves room for blocks under
it), is as wide as its pixels, and has its side pixels on the faces that look at the camera.
"""

from __future__ import annotations

import math

import numpy as np

from robot_llm.perception.quantiles import median, spread
from robot_llm.perception.supports import SUPPORT_TOLERANCE, Supports
from robot_llm.tabletop.palette import BLOCK_EDGE

MIN_SIDE_POINTS = 10
ON_FACE = 0.003  # a side pixel this close to a camera-facing face lies on it, meters

Fit = tuple[float, float, float, float, np.ndarray]  # edge, yaw, cx, cy, used points


def fit_partly_seen(
    top: float,
    pts: np.ndarray,
    prior: np.ndarray,
    prior_yaw: float,
    supports: Supports,
    camera_xy: np.ndarray,
) -> Fit | None:
    """Edge, yaw, center and used points of a block with its top at `top` seen in `pts`
    (N x 3), or None when no size fits."""
    best: tuple[float, Fit] | None = None
    for edge in BLOCK_EDGE.values():
        rest = _room_under(prior, top - edge, top, supports)
        if not (abs(rest) < SUPPORT_TOLERANCE or rest > min(BLOCK_EDGE.values()) - 0.006):
            continue
        used = pts[:, 2] > top - edge + 0.002
        if used.sum() < MIN_SIDE_POINTS:
            continue
        xy, z = pts[used, :2], pts[used, 2]
        side = xy[z < top - 0.004]
        yaw = side_yaw(side, edge, camera_xy, prior_yaw)
        cx, cy = center_from_sides(xy, prior, edge, yaw, camera_xy)
        width, on_faces = _extent_and_face_fraction(xy, side, (cx, cy), edge, yaw, camera_xy)
        score = (
            3.0 * max(0.0, width - edge - 0.004)
            + 0.5 * max(0.0, edge - width - 0.006)
            + 0.02 * (1.0 - on_faces)
            + (0.0 if abs(rest) < SUPPORT_TOLERANCE else 0.002)
        )
        if best is None or score < best[0]:
            best = (score, (edge, yaw, cx, cy, used))
    return None if best is None else best[1]


def _room_under(xy: np.ndarray, bottom: float, top: float, supports: Supports) -> float:
    """Height between a block bottom and the highest surface under its top (negative when a
    known surface cuts through the block)."""
    heights = supports.under(float(xy[0]), float(xy[1]), top)
    return bottom - max(heights, default=0.0)


def _extent_and_face_fraction(
    xy: np.ndarray,
    side: np.ndarray,
    center: tuple[float, float],
    edge: float,
    yaw: float,
    camera_xy: np.ndarray,
) -> tuple[float, float]:
    """Widest extent of the points along the square's sides, and the fraction of side points
    lying on a face that looks at the camera."""
    c, s = math.cos(yaw), math.sin(yaw)
    rel = xy - center
    u, v = rel[:, 0] * c + rel[:, 1] * s, -rel[:, 0] * s + rel[:, 1] * c
    (u0, u1), (v0, v1) = spread(u, 0.02, 0.98), spread(v, 0.02, 0.98)
    width = max(u1 - u0, v1 - v0)
    if len(side) == 0:
        return width, 0.0
    srel = side - center
    cam = camera_xy - center
    dist = np.full(len(side), np.inf)
    for axis in (np.array([c, s]), np.array([-s, c])):
        along, cam_along = srel @ axis, float(cam @ axis)
        if abs(cam_along) > edge / 2:
            dist = np.minimum(dist, np.abs(along - math.copysign(edge / 2, cam_along)))
    return width, float(np.mean(dist < ON_FACE))


def side_yaw(side_xy: np.ndarray, edge: float, camera_xy: np.ndarray, prior: float) -> float:
    """Yaw (mod 90 degrees) of a block from points on its side faces.

    The sides facing the camera are the ones seen, and their points lie on two perpendicular
    lines; the yaw is the one that puts the points nearest those lines (a coarse search, then a
    fine one around the best).
    """
    if len(side_xy) < MIN_SIDE_POINTS:
        return prior
    pts = side_xy[:: max(1, len(side_xy) // 300)]
    center = np.array([median(pts[:, 0]), median(pts[:, 1])])
    rel, cam = pts - center, camera_xy - center
    coarse = np.radians(np.arange(-45.0, 45.0, 5.0))
    best = coarse[int(np.argmin(_line_misfit(rel, cam, edge, coarse)))]
    fine = best + np.radians(np.arange(-5.0, 5.01, 0.5))
    return float(fine[int(np.argmin(_line_misfit(rel, cam, edge, fine)))])


def _line_misfit(rel: np.ndarray, cam: np.ndarray, edge: float, yaws: np.ndarray) -> np.ndarray:
    """Mean distance of points to the camera-facing sides of a square, per candidate yaw."""
    c, s = np.cos(yaws), np.sin(yaws)
    residual = np.full((len(rel), len(yaws)), np.inf)
    for coords, cam_along in (
        (rel[:, :1] * c + rel[:, 1:] * s, cam[0] * c + cam[1] * s),
        (-rel[:, :1] * s + rel[:, 1:] * c, -cam[0] * s + cam[1] * c),
    ):
        seen_low = cam_along < -edge / 2  # the face on the low side faces the camera
        seen = seen_low | (cam_along > edge / 2)
        face = np.where(seen_low, coords.min(axis=0), coords.max(axis=0))
        residual = np.minimum(residual, np.where(seen, np.abs(coords - face), np.inf))
    return np.asarray(np.mean(np.minimum(residual, edge), axis=0))


def center_from_sides(
    xy: np.ndarray, prior: np.ndarray, edge: float, yaw: float, camera_xy: np.ndarray
) -> tuple[float, float]:
    """Center of a square of known edge and yaw from points seen on it.

    Along each side direction, when the camera is beyond one face, that face is seen and its
    points are the extreme ones: the center is half an edge inside them. Otherwise the center
    stays as near the prior as the points allow.
    """
    c, s = math.cos(yaw), math.sin(yaw)
    center = np.zeros(2)
    for axis in (np.array([c, s]), np.array([-s, c])):
        at = float(prior @ axis)
        if len(xy) < 4:
            center += at * axis
            continue
        proj = xy @ axis
        lo, hi = spread(proj, 0.01, 0.99)
        cam = float(camera_xy @ axis)
        if cam < at - edge / 2:
            along = lo + edge / 2
        elif cam > at + edge / 2:
            along = hi - edge / 2
        else:
            along = min(max(at, hi - edge / 2), lo + edge / 2)
        center += along * axis
    return float(center[0]), float(center[1])
