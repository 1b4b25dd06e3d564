"""Perception for a colour-only camera (a USB camera, a video): heights from known sizes.

Such a camera measures no depth; its frames carry the depth of the table plane z = 0
(`robot_llm.cameras.table_plane_depth`), so every pixel back-projects onto the table and
nothing stands out by its height. What stands on the table is found by its colour instead,
and placed from the sizes the tabletop model fixes for each kind (`tabletop/palette.py`,
`tabletop/geometry.py`):

1. **Light and colours.** The table is most of the workspace: its median colour gives the
   frame's light (`illumination.estimate`, the same colour constancy as `CameraPerceiver`),
   pixels are classified against the palette under that light (colors.py), and pixels that
   look like the table (`illumination.unlike_table`, and the table's colour range) are left
   out.
2. **Regions.** Each palette colour's pixels are split into connected regions (holes filled:
   what stands in a bowl or tray, or on a zone, hides part of it from inside).
3. **Known sizes.** A region is the silhouette of one object. For a kind of height h, the ray
   of a pixel on the object's top meets the plane z = h at the true point, and the ray of a
   pixel on its base meets z = 0 there. Back-projected onto z = h, the silhouette is the top
   face plus the side faces smeared towards the camera; onto z = 0 it is the base plus the top
   smeared away from it. Their overlap is the object's footprint (`known_sizes.py`). Under
   a wrong height the overlap is too long or too short along the line to the camera, so each
   hypothesis (zone, block of each size, bowl, tray) is scored by how well the overlap's
   minimum-area rectangle (or circle, for a bowl) has that kind's size, and the best is kept.
   Position is the footprint's centre, at the kind's half height; yaw from its rectangle.

Colour-only frames assume that every object stands on the table (a block may stand on a
zone); stacks are not resolved, and touching objects of one colour make one region. Scenes
from this perceiver have `source == "camera:colour-only"`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import cv2
import numpy as np

from robot_llm.perception.colors import ColorClassifier, codes_of, pack_rgba
from robot_llm.perception.detection import Detection
from robot_llm.perception.illumination import (
    FIT_SAMPLE,
    REFERENCE_TABLE_RGB,
    TABLE_SAMPLE,
    TableLook,
    estimate,
    table_look,
    unlike_table,
)
from robot_llm.perception.known_sizes import (
    MIN_REGION_PIXELS,
    Bounds,
    place_region,
    plane_geometry,
)
from robot_llm.perception.naming import to_scene
from robot_llm.tabletop.palette import PALETTE
from robot_llm.tabletop.scene import WORKSPACE
from robot_llm.types import CameraFrame, Scene

log = logging.getLogger("robot_llm.perception")

SOURCE = "camera:colour-only"
BEYOND_WORKSPACE = 0.05  # a tall object's silhouette reaches this far past its footprint
AMBIGUOUS_SHARE = 0.3  # a region this much of whose pixels fit another colour is ambiguous


class ColourOnlyPerceiver:
    """Finds blocks, bowls, zones and trays in a frame without measured depth.

    Same interface as `CameraPerceiver` (`perceive(frame) -> Scene`, `detect(frame)`); the
    frame's depth is ignored (a colour-only camera's frames carry the table plane's). `palette`,
    `table_height`, `workspace`, `margin`, `threads` and `table_rgb` mean what they mean there.
    The Scene's `source` is "camera:colour-only": heights come from known sizes, not from a
    measurement.
    """

    def __init__(
        self,
        palette: Mapping[str, tuple[float, float, float]] | None = None,
        table_height: float = 0.0,
        workspace: Bounds | None = None,
        margin: float = 0.02,
        threads: int | None = 1,
        table_rgb: tuple[float, float, float] | None = REFERENCE_TABLE_RGB,
    ) -> None:
        self.palette = dict(PALETTE if palette is None else palette)
        self.classifier = ColorClassifier(self.palette)
        self.table_height = float(table_height)
        (x0, x1), (y0, y1) = workspace or (WORKSPACE.x, WORKSPACE.y)
        self.bounds: Bounds = ((x0 - margin, x1 + margin), (y0 - margin, y1 + margin))
        self.threads = threads
        self.table_rgb = table_rgb
        self._said = False

    def perceive(self, frame: CameraFrame) -> Scene:
        """The objects on the table in `frame`, named as `CameraPerceiver` names them."""
        scene = to_scene(self.detect(frame), timestamp=frame.timestamp)
        return Scene(scene.objects, timestamp=scene.timestamp, source=SOURCE)

    def detect(self, frame: CameraFrame) -> list[Detection]:
        """Objects found in a frame, before naming."""
        if not self._said:
            log.info("colour-only perception: heights come from the objects' known sizes")
            self._said = True
        if self.threads is None:
            return self._detect(frame)
        previous = cv2.getNumThreads()
        cv2.setNumThreads(self.threads)
        try:
            return self._detect(frame)
        finally:
            cv2.setNumThreads(previous)

    def _detect(self, frame: CameraFrame) -> list[Detection]:
        pose = np.array(frame.extrinsics, dtype=float)
        pose[2, 3] -= self.table_height
        geo = plane_geometry(frame.intrinsics, pose, (frame.width, frame.height), self.bounds)
        if geo.x0.size == 0:
            return []
        rgb = frame.rgb[geo.rows, geo.cols]
        (x0, x1), (y0, y1) = self.bounds
        with np.errstate(invalid="ignore"):
            inside = (geo.x0 > x0) & (geo.x0 < x1) & (geo.y0 > y0) & (geo.y0 < y1)
            near = (geo.x0 > x0 - BEYOND_WORKSPACE) & (geo.x0 < x1 + BEYOND_WORKSPACE)
            near &= (geo.y0 > y0 - BEYOND_WORKSPACE) & (geo.y0 < y1 + BEYOND_WORKSPACE)
        labels, alternatives = self._labels(rgb, inside, near)
        found: list[Detection] = []
        rows, cols = np.nonzero(labels)
        lab = labels[rows, cols]
        for label in np.flatnonzero(np.bincount(lab)[1:] >= MIN_REGION_PIXELS) + 1:
            sel = lab == label
            r0, c0 = int(rows[sel].min()), int(cols[sel].min())
            r1, c1 = int(rows[sel].max()) + 1, int(cols[sel].max()) + 1
            mask = (labels[r0:r1, c0:c1] == label).astype(np.uint8)
            color = self.classifier.name(int(label))
            n, comps, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            for c in range(1, n):
                if stats[c, cv2.CC_STAT_AREA] < MIN_REGION_PIXELS:
                    continue
                left, top = stats[c, cv2.CC_STAT_LEFT], stats[c, cv2.CC_STAT_TOP]
                w, h = stats[c, cv2.CC_STAT_WIDTH], stats[c, cv2.CC_STAT_HEIGHT]
                crop = comps[top : top + h, left : left + w] == c
                box = (slice(r0 + top, r0 + top + h), slice(c0 + left, c0 + left + w))
                det = place_region(crop, r0 + top, c0 + left, geo, color, self.bounds)
                if det is not None:
                    det.alternatives = self._alternatives(alternatives, box, crop)
                    found.append(det)
        return found

    def _labels(
        self, rgb: np.ndarray, inside: np.ndarray, near: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Palette labels (0: none) of the pixels near the workspace that do not look like
        the table, under the frame's light; and their ambiguous alternatives (or None)."""
        step = TABLE_SAMPLE
        sample = rgb[::step, ::step][inside[::step, ::step]]
        look = table_look(rgb, inside, step=step, spread=False)
        if look is not None:
            # The range of the table's colour, from the pixels alike it (objects left out).
            alike = _alike_table(sample, look)
            wide = table_look(sample[alike][:, None, :], np.ones((int(alike.sum()), 1), bool), 1)
            look = wide or look
        objects = sample if look is None else unlike_table(sample, look.median)
        objects = objects[:: max(1, len(objects) // (2 * FIT_SAMPLE))]
        packed = pack_rgba(np.ascontiguousarray(rgb))
        codes = codes_of(packed[near])
        alternatives: np.ndarray | None = None
        if self.table_rgb is None:
            lab, alt = self.classifier.table[codes], self.classifier.alternative[codes]
        else:
            light = estimate(look, objects, self.classifier, self.table_rgb)
            if light.neutral:
                lab, alt = self.classifier.table[codes], self.classifier.alternative[codes]
            else:
                gains = np.asarray(light.gains)
                lab, alt = self.classifier.classify_codes(codes, gains, light.overexposed)
        if look is not None:
            some = np.flatnonzero(lab)
            lab[some[look.contains(rgb[near][some])]] = 0
        labels = np.zeros(near.shape, np.uint8)
        labels[near] = lab
        # Stray pixels and threads one pixel wide (noise, a rim smeared by blur) are no object.
        labels = np.asarray(cv2.morphologyEx(labels, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)))
        if alt.any():
            alternatives = np.zeros(near.shape, np.uint8)
            alternatives[near] = np.where(lab > 0, alt, 0)
        return labels, alternatives

    def _alternatives(
        self, alternatives: np.ndarray | None, box: tuple[slice, slice], mask: np.ndarray
    ) -> tuple[str, ...]:
        if alternatives is None:
            return ()
        alt = alternatives[box][mask]
        share = np.bincount(alt, minlength=len(self.classifier.names) + 1)
        runner_up = int(np.argmax(share[1:])) + 1
        if share[runner_up] >= AMBIGUOUS_SHARE * max(len(alt), 1):
            return (self.classifier.name(runner_up),)
        return ()


def _alike_table(rgb: np.ndarray, look: TableLook) -> np.ndarray:
    """Which of N x 3 uint8 pixels have the table's chromaticity and brightness: the pixels
    `illumination.unlike_table` leaves out (it is a test of a pixel's value alone, so a
    value it keeps marks every pixel of that value)."""
    unlike = unlike_table(rgb, look.median)
    return ~np.isin(_code(rgb), _code(unlike))


def _code(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.uint32)
    return np.asarray(c[:, 0] | (c[:, 1] << 8) | (c[:, 2] << 16))
