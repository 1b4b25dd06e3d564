"""CameraPerceiver: one RGB-D frame with its camera model to a Scene, with OpenCV on pixels.

Steps: back-project the workspace's pixels to table-frame x, y and height (pixels.py); label
pixels with palette colors (colors.py); per color, find zones and container floors near the
table (containers.py), then flat top faces of blocks (faces.py) and the blocks they show
(blocks.py); then, top down, the blocks holding up blocks that would otherwise float and blocks
whose top is hidden, from their side faces (stacks.py, side_fit.py). No simulator state is read.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from robot_llm.perception.block_points import ColorPoints
from robot_llm.perception.blocks import (
    block_detection,
    block_rect,
    fit_face,
    looks_like_part_of_a_block,
    partial_square,
)
from robot_llm.perception.colors import ColorClassifier, pack_rgba
from robot_llm.perception.containers import find_ground_objects
from robot_llm.perception.detection import ColorRegion, Detection
from robot_llm.perception.faces import Face, find_faces, merge_partial_faces
from robot_llm.perception.naming import to_scene
from robot_llm.perception.pixels import PixelMaps, camera_rays, pixel_maps
from robot_llm.perception.quantiles import median
from robot_llm.perception.stacks import leftover_blocks, resolve_stacks
from robot_llm.perception.supports import Supports
from robot_llm.tabletop.palette import PALETTE
from robot_llm.tabletop.scene import WORKSPACE
from robot_llm.types import CameraFrame, Scene

MIN_COLOR_PIXELS = 20
MIN_OBJECT_Z = 0.001  # zone tops are 2 mm up; the table itself is at 0

Bounds = tuple[tuple[float, float], tuple[float, float]]


class CameraPerceiver:
    """Finds blocks, bowls, zones and trays in one RGB-D frame of the table.

    `palette` maps color names to RGB in [0, 1]; `table_height` is the table surface's z in the
    frame's table frame; objects are searched for within `workspace` ((x0, x1), (y0, y1)) grown
    by `margin`, and no higher than `max_height` above the table. `threads` is how many
    threads OpenCV may use while perceiving (None leaves OpenCV's setting alone).
    """

    def __init__(
        self,
        palette: Mapping[str, tuple[float, float, float]] | None = None,
        table_height: float = 0.0,
        workspace: Bounds | None = None,
        margin: float = 0.02,
        max_height: float = 0.3,
        threads: int | None = 1,
    ) -> None:
        self.palette = dict(PALETTE if palette is None else palette)
        self.classifier = ColorClassifier(self.palette)
        self.table_height = float(table_height)
        ws = workspace or (WORKSPACE.x, WORKSPACE.y)
        (x0, x1), (y0, y1) = ws
        self.bounds: Bounds = ((x0 - margin, x1 + margin), (y0 - margin, y1 + margin))
        self.max_height = float(max_height)
        self.threads = threads

    def perceive(self, frame: CameraFrame) -> Scene:
        """The objects on the table in `frame`, with ids "<color>_<kind>", "_2", ..."""
        detections = self.detect(frame)
        return to_scene(detections, timestamp=frame.timestamp)

    def detect(self, frame: CameraFrame) -> list[Detection]:
        """Objects found in a frame, before naming (for diagnostics and benchmarks)."""
        if self.threads is None:
            return self._detect(frame)
        # OpenCV's thread pool only costs time on images this small, and stalls badly when
        # other processes keep the cores busy; the setting is process-wide, so it is restored.
        previous = cv2.getNumThreads()
        cv2.setNumThreads(self.threads)
        try:
            return self._detect(frame)
        finally:
            cv2.setNumThreads(previous)

    def _detect(self, frame: CameraFrame) -> list[Detection]:
        pose = np.array(frame.extrinsics, dtype=float)
        pose[2, 3] -= self.table_height  # heights above the table surface from here on
        rays = camera_rays(
            frame.intrinsics,
            pose,
            (frame.width, frame.height),
            (self.bounds[0], self.bounds[1]),
            self.max_height,
        )
        maps = pixel_maps(frame.rgb, frame.depth, rays)
        if maps.z.size == 0:
            return []
        pixel = median(maps.depth[::8, ::8]) / rays.focal  # meters per pixel
        regions = self._color_regions(maps)
        supports = Supports()
        found: list[Detection] = []
        free: list[np.ndarray] = []
        for region in regions:
            ground, claimed = find_ground_objects(region, pixel)
            found += ground
            free.append(region.mask & ~claimed)
            for g in ground:
                supports.add(g.top, g.footprint, ground=True)
        faces: list[Face] = []
        for region, region_free in zip(regions, free, strict=True):
            faces += find_faces(region, region_free, pixel)
        points = {r.color: ColorPoints.of(r, f) for r, f in zip(regions, free, strict=True)}
        blocks: list[Detection] = []
        partial: list[Face] = []
        # Bottom up, so the blocks under a face are known when its size is decided.
        for face in sorted(merge_partial_faces(faces, pixel), key=lambda f: f.z):
            squares = fit_face(face, pixel)
            if squares is None:
                partial.append(face)
            for square in squares or ():
                self._add(
                    block_detection(face.color, square, face.z, face.pixels, pixel),
                    blocks,
                    points,
                    supports,
                )
        camera_xy = maps.rays.origin[:2]
        blocks += resolve_stacks(blocks, points, supports, camera_xy, pixel)
        for face in partial:
            if looks_like_part_of_a_block(face) and _explained_fraction(face, blocks) < 0.5:
                square = partial_square(face, supports)
                self._add(
                    block_detection(face.color, square, face.z, face.pixels, pixel),
                    blocks,
                    points,
                    supports,
                )
        blocks += leftover_blocks(points, supports, camera_xy, pixel)
        return found + blocks

    @staticmethod
    def _add(
        block: Detection,
        blocks: list[Detection],
        points: dict[str, ColorPoints],
        supports: Supports,
    ) -> None:
        blocks.append(block)
        supports.add(block.top, block.footprint)
        points[block.color].explain(block)

    def _color_regions(self, maps: PixelMaps) -> list[ColorRegion]:
        """Pixels of each palette color above the table and inside the workspace."""
        (x0, x1), (y0, y1) = self.bounds
        z = maps.z
        idx = np.flatnonzero((z > MIN_OBJECT_Z) & (z < self.max_height))
        x, y = maps.x.ravel()[idx], maps.y.ravel()[idx]
        idx = idx[(x > x0) & (x < x1) & (y > y0) & (y < y1)]
        lab = self.classifier.classify_packed(pack_rgba(maps.rgb).ravel()[idx])
        idx, lab = idx[lab > 0], lab[lab > 0]
        labels = np.zeros(z.shape, np.uint8)
        labels.ravel()[idx] = lab
        rows, cols = np.divmod(idx, z.shape[1])
        counts = np.bincount(lab, minlength=len(self.classifier.names) + 1)
        regions = []
        for label in np.flatnonzero(counts[1:] >= MIN_COLOR_PIXELS) + 1:
            sel = lab == label
            r, c = rows[sel], cols[sel]
            top, left = int(r.min()), int(c.min())
            crop = labels[top : int(r.max()) + 1, left : int(c.max()) + 1]
            regions.append(
                ColorRegion(self.classifier.name(int(label)), top, left, crop == label, maps)
            )
        return regions


def _explained_fraction(face: Face, blocks: list[Detection]) -> float:
    inside = np.zeros(len(face.xy), bool)
    for b in blocks:
        if b.color == face.color and abs(b.top - face.z) < 0.006:
            inside |= block_rect(b).contains(face.xy[:, 0], face.xy[:, 1], 0.004)
    return float(inside.mean()) if len(inside) else 1.0
