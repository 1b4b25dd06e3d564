"""Surfaces a block can rest on: the table, zone tops, container floors and block tops.

A block's height is its top face's height minus the surface under it, so the surfaces under a
point decide which block sizes are consistent with a face seen at some height.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

TABLE_Z = 0.0
SUPPORT_TOLERANCE = 0.0065  # a block bottom this close to a surface rests on it, meters


@dataclass(frozen=True)
class Surface:
    z: float
    footprint: np.ndarray  # N x 2 convex polygon in the table frame
    ground: bool  # a zone top or container floor (covers the table under it)

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        poly = self.footprint.astype(np.float32).reshape(-1, 1, 2)
        return bool(cv2.pointPolygonTest(poly, (float(x), float(y)), True) >= -margin)


class Supports:
    """The surfaces found so far in a frame."""

    def __init__(self) -> None:
        self.surfaces: list[Surface] = []

    def add(self, z: float, footprint: np.ndarray, ground: bool = False) -> None:
        self.surfaces.append(Surface(float(z), np.asarray(footprint, float), ground))

    def under(self, x: float, y: float, below: float) -> list[float]:
        """Heights of the surfaces at (x, y) lower than `below`: the highest ground surface
        there (the table when none) and every block top."""
        ground = [s.z for s in self.surfaces if s.ground and s.contains(x, y)]
        out = [max(ground, default=TABLE_Z)]
        out += [s.z for s in self.surfaces if not s.ground and s.contains(x, y, 0.004)]
        return [z for z in out if z < below - 0.015]

    def gap(self, x: float, y: float, bottom: float) -> float:
        """Distance from a block bottom at (x, y) to the nearest surface that could hold it."""
        heights = self.under(x, y, bottom + 0.02)
        return min((abs(bottom - z) for z in heights), default=float("inf"))
