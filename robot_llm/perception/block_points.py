"""Candidate block pixels of one color as table-frame points, with which ones are explained.

Every found block explains the pixels inside its volume; what stays unexplained is evidence of
blocks not found yet (under other blocks, or with their top face hidden).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from robot_llm.perception.blocks import block_rect
from robot_llm.perception.detection import ColorRegion, Detection
from robot_llm.tabletop.palette import BLOCK_EDGE

MIN_SIDE_Z = 0.004  # lower pixels belong to the table, zones or container floors
EXPLAIN_MARGIN = 0.004


@dataclass
class ColorPoints:
    """The candidate block pixels of one color as table-frame points, and which are explained."""

    color: str
    xyz: np.ndarray  # N x 3
    explained: np.ndarray  # N bool
    rows: np.ndarray  # image rows and columns in the color region's crop
    cols: np.ndarray
    shape: tuple[int, int]  # the crop's shape

    @classmethod
    def of(cls, region: ColorRegion, free: np.ndarray) -> ColorPoints:
        rows, cols = np.nonzero(free & (region.z > MIN_SIDE_Z))
        xyz = np.stack([region.x[rows, cols], region.y[rows, cols], region.z[rows, cols]], 1)
        n = len(rows)
        return cls(region.color, xyz.astype(np.float64), np.zeros(n, bool), rows, cols, free.shape)

    def explain(self, block: Detection) -> None:
        if block.color != self.color or not len(self.xyz):
            return
        x, y, z = self.xyz.T
        bottom = block.top - BLOCK_EDGE[block.size]
        self.explained |= (
            block_rect(block).contains(x, y, EXPLAIN_MARGIN)
            & (z > bottom - EXPLAIN_MARGIN)
            & (z < block.top + EXPLAIN_MARGIN)
        )

    def unexplained_near(self, x: float, y: float, radius: float, below: float) -> np.ndarray:
        """Indices of unexplained points within `radius` of (x, y) and lower than `below`."""
        xyz = self.xyz
        d2 = (xyz[:, 0] - x) ** 2 + (xyz[:, 1] - y) ** 2
        return np.flatnonzero((~self.explained) & (d2 <= radius * radius) & (xyz[:, 2] < below))

    def unexplained_groups(self, min_pixels: int) -> list[np.ndarray]:
        """Indices of unexplained points, grouped by connectivity in the image."""
        idx = np.flatnonzero(~self.explained)
        if len(idx) < min_pixels:
            return []
        mask = np.zeros(self.shape, np.uint8)
        mask[self.rows[idx], self.cols[idx]] = 1
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        group = labels[self.rows[idx], self.cols[idx]]
        return [idx[group == i] for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_pixels]
