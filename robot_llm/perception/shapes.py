"""Shapes on the table from image regions: outlines, rectangles, circles and yaw conventions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from robot_llm.perception.pixels import PixelMaps
from robot_llm.perception.quantiles import median
from robot_llm.tabletop.rotations import yaw_mod


@dataclass(frozen=True)
class Rect:
    """A rotated rectangle on the table: center, side lengths and yaw of its first side."""

    cx: float
    cy: float
    width: float  # along the yaw direction
    length: float  # across it
    yaw: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.cx, self.cy)

    def grown(self, by: float) -> Rect:
        return Rect(self.cx, self.cy, self.width + 2 * by, self.length + 2 * by, self.yaw)

    def corners(self) -> np.ndarray:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        hw, hl = self.width / 2, self.length / 2
        local = np.array([[-hw, -hl], [hw, -hl], [hw, hl], [-hw, hl]])
        return np.asarray(local @ np.array([[c, s], [-s, c]]) + [self.cx, self.cy])

    def local(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of table points along the rectangle's two sides, from its center."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        dx, dy = x - self.cx, y - self.cy
        return dx * c + dy * s, -dx * s + dy * c

    def contains(self, x: np.ndarray, y: np.ndarray, margin: float = 0.0) -> np.ndarray:
        u, v = self.local(x, y)
        return np.asarray(
            (np.abs(u) <= self.width / 2 + margin) & (np.abs(v) <= self.length / 2 + margin)
        )


def inside_convex(polygon: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Which points (x, y) lie inside a convex polygon (N x 2, either winding)."""
    poly = np.asarray(polygon, dtype=np.float64)
    if len(poly) < 3:
        return np.zeros(np.shape(x), bool)
    ends = zip(poly, np.roll(poly, -1, axis=0), strict=True)
    signs = np.stack([(bx - ax) * (y - ay) - (by - ay) * (x - ax) for (ax, ay), (bx, by) in ends])
    return np.asarray((signs >= 0).all(axis=0) | (signs <= 0).all(axis=0))


def outline_pixels(mask: np.ndarray, top: int = 0, left: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (in the maps) of the outer boundary pixels of a region.

    `mask` is a uint8 crop of the region's image whose corner is at (top, left) in the maps.
    """
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    pts = np.concatenate([c.reshape(-1, 2) for c in contours])
    return pts[:, 1] + top, pts[:, 0] + left


def outline_points(mask: np.ndarray, maps: PixelMaps, top: int = 0, left: int = 0) -> np.ndarray:
    """Table-frame xy (N x 2 float32) of the outer boundary pixels of a region (see
    `outline_pixels`)."""
    rows, cols = outline_pixels(mask, top, left)
    return np.stack([maps.x[rows, cols], maps.y[rows, cols]], axis=1).astype(np.float32)


def on_hull(points: np.ndarray, tolerance: float) -> np.ndarray:
    """The points (N x 2) within `tolerance` of their convex hull's outline: an outer boundary,
    without the inner edge that an outline of an open ring also runs along."""
    if len(points) < 4:
        return points
    hull = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    if len(hull) < 3:
        return points
    a, b = hull, np.roll(hull, -1, axis=0)
    edge = b - a
    length = np.maximum(np.hypot(edge[:, 0], edge[:, 1]), 1e-12)
    rel = points[:, None, :].astype(np.float64) - a[None]
    dist = np.abs(rel[..., 0] * edge[:, 1] - rel[..., 1] * edge[:, 0]) / length
    return points[dist.min(axis=1) <= tolerance]


def fit_circle(points: np.ndarray) -> tuple[float, float, float, float]:
    """Least-squares circle through table points: center x, y, radius and the median distance
    of the points from it."""
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    a = np.stack([x, y, np.ones_like(x)], axis=1)
    (p, q, r), *_ = np.linalg.lstsq(a, x * x + y * y, rcond=None)
    cx, cy = p / 2, q / 2
    radius = math.sqrt(max(r + cx * cx + cy * cy, 0.0))
    residual = median(np.abs(np.hypot(x - cx, y - cy) - radius))
    return float(cx), float(cy), radius, residual


def rect_residual(points: np.ndarray, rect: Rect) -> float:
    """Median distance of table points from a rectangle's outline."""
    u, v = rect.local(points[:, 0].astype(np.float64), points[:, 1].astype(np.float64))
    d = np.minimum(np.abs(rect.width / 2 - np.abs(u)), np.abs(rect.length / 2 - np.abs(v)))
    return median(d)


def min_area_rect(points: np.ndarray, grow: float = 0.0) -> Rect:
    """Smallest rotated rectangle around table points, each side grown by `grow`."""
    (cx, cy), (w, h), angle = cv2.minAreaRect(points.astype(np.float32))
    return Rect(float(cx), float(cy), float(w) + 2 * grow, float(h) + 2 * grow, math.radians(angle))


def square_yaw(rect: Rect) -> float:
    """Yaw of a square (blocks, zones): folded into (-pi/4, pi/4]."""
    return yaw_mod(rect.yaw, math.pi / 2)


def long_side_yaw(rect: Rect) -> float:
    """Yaw of a rectangle whose local y axis is its long side, folded into (-pi/2, pi/2]."""
    yaw = rect.yaw if rect.length >= rect.width else rect.yaw + math.pi / 2
    return yaw_mod(yaw, math.pi)


def sides(rect: Rect) -> tuple[float, float]:
    """(short side, long side)."""
    return (min(rect.width, rect.length), max(rect.width, rect.length))


def square_footprint(cx: float, cy: float, side: float, yaw: float) -> np.ndarray:
    return Rect(cx, cy, side, side, yaw).corners()


def circle_footprint(cx: float, cy: float, radius: float, segments: int = 16) -> np.ndarray:
    a = np.linspace(0.0, 2 * math.pi, segments, endpoint=False)
    return np.stack([cx + radius * np.cos(a), cy + radius * np.sin(a)], axis=1)
