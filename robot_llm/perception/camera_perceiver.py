"""CameraPerceiver: one RGB-D frame with its camera model to a Scene, with OpenCV on pixels.

Steps: back-project the workspace's pixels to table-frame x, y and height (pixels.py); label
pixels with palette colors (colors.py); per color, find zones and container floors near the
table (containers.py), then flat top faces of blocks (faces.py) and the blocks they show
(blocks.py); then, top down, the blocks holding up blocks that would otherwise float and blocks
whose top is hidden, from their side faces (stacks.py, side_fit.py). No simulator state is read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

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
from robot_llm.perception.colors import ColorClassifier, codes_of, pack_rgba
from robot_llm.perception.containers import find_ground_objects
from robot_llm.perception.depth import MEDIAN_LEFT, NOISY
from robot_llm.perception.detection import ColorRegion, Detection
from robot_llm.perception.faces import Face, find_faces, merge_partial_faces
from robot_llm.perception.illumination import (
    FIT_SAMPLE,
    REFERENCE_TABLE_RGB,
    TABLE_SAMPLE,
    Illuminant,
    KeptLight,
    TableLook,
    estimate_with,
    table_look,
)
from robot_llm.perception.naming import to_scene
from robot_llm.perception.pixels import PixelMaps, camera_rays, pixel_maps
from robot_llm.perception.quantiles import median
from robot_llm.perception.relative_colours import separate_confused
from robot_llm.perception.shapes import inside_convex
from robot_llm.perception.stacks import leftover_blocks, resolve_stacks
from robot_llm.perception.supports import Supports
from robot_llm.perception.uniform_regions import recover_uniform_surfaces
from robot_llm.tabletop.geometry import BOWL_FLARE, BOWL_HEIGHT, BOWL_WALL, TRAY_WALL
from robot_llm.tabletop.palette import BLOCK_EDGE, PALETTE
from robot_llm.tabletop.scene import WORKSPACE
from robot_llm.types import CameraFrame, Scene

MIN_COLOR_PIXELS = 20
MIN_OBJECT_Z = 0.001  # zone tops are 2 mm up; the table itself is at 0
TABLE_BAND = 0.0015  # pixels this close to the table's height show the table
TABLE_NOISE = 3.0  # ... or within this many stds of the depth noise a median filter leaves
SAMPLE_ABOVE = 0.0015  # the light is fitted on pixels this far above the table band
# More unlabelled pixels above the table than this share means blur or compression smeared
# the objects' rims (a clean render leaves none): rims are grown back by a pixel.
SMEARED = 0.01
AMBIGUOUS_SHARE = 0.3  # an object this much of whose pixels fit another color is ambiguous
WEAK = 0.5  # leftover blocks get at most this confidence (stacks.py)
# How far a container's footprint reaches in from its outline to its floor, meters: a bowl's
# wall with its flare; a tray's wall, measured from a corner (its footprint is 4 corners).
WALL_BAND = {
    "bowl": BOWL_WALL + BOWL_HEIGHT * math.tan(BOWL_FLARE),
    "tray": TRAY_WALL * math.sqrt(2.0),
}
MAX_SHARED = 0.25  # of a weak block's volume, shared with a well seen one
MAX_SHARED_WEAK = 0.5  # ... with a better but also weakly seen one
MAX_SHARED_SEEN = 0.5  # of a well seen block's volume, shared with a better seen one

Bounds = tuple[tuple[float, float], tuple[float, float]]


class CameraPerceiver:
    """Finds blocks, bowls, zones and trays in one RGB-D frame of the table.

    `palette` maps color names to RGB in [0, 1]; `table_height` is the table surface's z in the
    frame's table frame; objects are searched for within `workspace` ((x0, x1), (y0, y1)) grown
    by `margin`, and no higher than `max_height` above the table. `threads` is how many
    threads OpenCV may use while perceiving (None leaves OpenCV's setting alone).
    `table_rgb` is the table's 8-bit RGB in the light the palette was measured in (the
    simulator's table by default): each frame's light is measured against it, and fitted to
    the palette when the table does not explain the objects (illumination.py). None turns
    colour constancy off.

    A camera's light, when it had to be fitted to the palette, is kept for that camera's next
    frames (by `CameraFrame.camera`) while its table looks the same and the light still
    explains the objects (`illumination.estimate_with`); `reset` forgets it.
    """

    def __init__(
        self,
        palette: Mapping[str, tuple[float, float, float]] | None = None,
        table_height: float = 0.0,
        workspace: Bounds | None = None,
        margin: float = 0.02,
        max_height: float = 0.3,
        threads: int | None = 1,
        table_rgb: tuple[float, float, float] | None = REFERENCE_TABLE_RGB,
    ) -> None:
        self.palette = dict(PALETTE if palette is None else palette)
        self.classifier = ColorClassifier(self.palette)
        self.table_height = float(table_height)
        ws = workspace or (WORKSPACE.x, WORKSPACE.y)
        (x0, x1), (y0, y1) = ws
        self.bounds: Bounds = ((x0 - margin, x1 + margin), (y0 - margin, y1 + margin))
        self.max_height = float(max_height)
        self.threads = threads
        self.table_rgb = table_rgb
        self._kept: dict[str, KeptLight] = {}  # per camera name

    def reset(self) -> None:
        """Forget what earlier frames showed: the lights kept per camera and the colours
        classified under them. Results do not depend on it; only the time does."""
        self._kept.clear()
        self.classifier.forget()

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
        regions, light = self._color_regions(maps, frame.camera, pixel)
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
        self._mark_ambiguous(found + blocks, regions)
        blocks = without_overlaps(blocks)
        if not light.neutral:  # in the reference light the pixels' labels are exact
            separate_confused(found + blocks, regions, self.palette, light.gains)
        return found + off_container_walls(blocks, found)

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

    def _light(
        self, maps: PixelMaps, idx: np.ndarray, packed: np.ndarray, camera: str
    ) -> FrameLight:
        """The frame's light (illumination.py), from the table around the objects and a
        sample of the pixels standing on it (`idx`, their packed RGB `packed`), and the light
        kept from the camera's earlier frames."""
        band = max(TABLE_BAND, TABLE_NOISE * MEDIAN_LEFT * maps.noise)
        if self.table_rgb is None:
            return FrameLight(Illuminant(), None, band)
        (x0, x1), (y0, y1) = self.bounds
        step = TABLE_SAMPLE
        x, y, z = maps.x[::step, ::step], maps.y[::step, ::step], maps.z[::step, ::step]
        table = (np.abs(z) < band) & (x > x0) & (x < x1) & (y > y0) & (y < y1)
        if maps.measured is not None:
            table &= maps.measured[::step, ::step]
        look = table_look(maps.rgb[::step, ::step], table, step=1, spread=maps.noise > NOISY)
        # Object pixels clearly above the table's noise, so no table pixel joins the fit.
        high = maps.z.ravel()[idx] > band + SAMPLE_ABOVE
        sample = packed[high][:: max(1, int(high.sum()) // (2 * FIT_SAMPLE))]
        rgb = _unpack(sample)
        light, kept = estimate_with(
            look, rgb, self.classifier, self.table_rgb, self._kept.get(camera)
        )
        if kept is None:
            self._kept.pop(camera, None)
        else:
            self._kept[camera] = kept
        return FrameLight(light, look, band)

    def _color_regions(
        self, maps: PixelMaps, camera: str, pixel: float
    ) -> tuple[list[ColorRegion], Illuminant]:
        """Pixels of each palette color above the table and inside the workspace (`pixel`:
        the side of one on the table, meters), and the frame's light."""
        idx = self._candidates(maps)
        packed = pack_rgba(maps.rgb).ravel()[idx]
        frame_light = self._light(maps, idx, packed, camera)
        if frame_light.table is not None and maps.noise > NOISY:
            # Noisy depth lifts table pixels above the table: those of the table's colour
            # (which may be a palette colour under this light) must stand clearly higher.
            low = maps.z.ravel()[idx] < frame_light.band + SAMPLE_ABOVE
            tableish = low & frame_light.table.contains(_unpack(packed))
            idx, packed = idx[~tableish], packed[~tableish]
        lab, alt = self._classify(packed, frame_light.illuminant)
        labels = np.zeros(maps.z.shape, np.uint8)
        labels.ravel()[idx[lab > 0]] = lab[lab > 0]
        if np.count_nonzero(lab == 0) > SMEARED * len(lab):
            lab = _grow_into(labels, idx, lab > 0)
            lab, alt = recover_uniform_surfaces(
                labels,
                idx,
                lab,
                alt,
                maps.z,
                maps.rgb,
                frame_light.illuminant,
                frame_light.table,
                self.classifier,
                pixel,
            )
        keep = lab > 0
        regions = self._regions(maps, labels, idx[keep], lab[keep], alt[keep])
        return regions, frame_light.illuminant

    def _candidates(self, maps: PixelMaps) -> np.ndarray:
        """Flat indices (into the maps) of the measured pixels above the table, below
        `max_height` and inside the workspace: what may show an object."""
        (x0, x1), (y0, y1) = self.bounds
        z = maps.z
        candidate = (z > MIN_OBJECT_Z) & (z < self.max_height)
        if maps.measured is not None:  # a hole's filled depth may be another surface's
            candidate &= maps.measured
        idx = np.flatnonzero(candidate)
        x, y = maps.x.ravel()[idx], maps.y.ravel()[idx]
        return np.asarray(idx[(x > x0) & (x < x1) & (y > y0) & (y < y1)])

    def _classify(self, packed: np.ndarray, light: Illuminant) -> tuple[np.ndarray, np.ndarray]:
        """Labels and ambiguous alternatives (colors.py) of packed pixels under the frame's
        light: the precomputed tables in the reference light, else under its gains."""
        codes = codes_of(packed)
        if light.neutral:
            return self.classifier.table[codes], self.classifier.alternative[codes]
        return self.classifier.classify_codes(codes, np.asarray(light.gains), light.overexposed)

    def _regions(
        self,
        maps: PixelMaps,
        labels: np.ndarray,
        idx: np.ndarray,
        lab: np.ndarray,
        alt: np.ndarray,
    ) -> list[ColorRegion]:
        """One region per color with at least MIN_COLOR_PIXELS labelled pixels (`idx`, their
        labels `lab` and alternatives `alt`; `labels` is the label image)."""
        alternatives = None
        if alt.any():
            alternatives = np.zeros(labels.shape, np.uint8)
            alternatives.ravel()[idx] = alt
        rows, cols = np.divmod(idx, labels.shape[1])
        counts = np.bincount(lab, minlength=len(self.classifier.names) + 1)
        regions = []
        for label in np.flatnonzero(counts[1:] >= MIN_COLOR_PIXELS) + 1:
            sel = lab == label
            r, c = rows[sel], cols[sel]
            top, left = int(r.min()), int(c.min())
            box = (slice(top, int(r.max()) + 1), slice(left, int(c.max()) + 1))
            region = ColorRegion(
                self.classifier.name(int(label)), top, left, labels[box] == label, maps
            )
            if alternatives is not None and alt[sel].any():
                region.alternatives = np.where(region.mask, alternatives[box], 0)
            regions.append(region)
        return regions

    def _mark_ambiguous(self, detections: list[Detection], regions: list[ColorRegion]) -> None:
        """Give each object whose pixels often fit a second palette color almost as well as
        their own that color as an alternative (`Detection.alternatives`): the camera could not
        tell them apart under this light, so the planner should ask rather than guess."""
        for region in regions:
            if region.alternatives is None:
                continue
            alt = region.alternatives[region.mask]
            x, y = region.x[region.mask], region.y[region.mask]
            for det in detections:
                if det.color != region.color:
                    continue
                inside = inside_convex(det.footprint, x, y)
                share = np.bincount(alt[inside], minlength=len(self.classifier.names) + 1)
                seen = max(int(inside.sum()), 1)
                runner_up = int(np.argmax(share[1:])) + 1
                if share[runner_up] >= AMBIGUOUS_SHARE * seen:
                    det.alternatives = (self.classifier.name(runner_up),)


def without_overlaps(blocks: list[Detection]) -> list[Detection]:
    """Blocks less any that shares much of its volume with a better seen block: two blocks
    cannot be in one place, and a face lit differently from the rest of its block (a
    highlight, a shadowed side) can pass for a block of another colour beside it. For a
    weakly seen block (confidence at most WEAK), a quarter of its volume shared with a well
    seen one is too much, and half shared with another weakly seen one (which may be the wrong
    one of the two: the lower blocks of a stack are often both seen in part), unless their
    colours are hard to tell apart here (then a quarter: one block split in two colours). A
    well seen block goes only when more than MAX_SHARED_SEEN of it is shared: one block whose
    top the light split between two colours. The block kept takes the other's colour as an
    alternative, so a command naming that colour asks rather than guesses."""

    rank = {id(b): (b.confidence, -i) for i, b in enumerate(blocks)}  # ties: the first wins

    def crowding(b: Detection) -> Detection | None:
        for k in blocks:
            if k is b or rank[id(k)] <= rank[id(b)]:
                continue
            if b.confidence > WEAK:
                limit = MAX_SHARED_SEEN
            elif k.confidence > WEAK or _confusable(b, k):
                limit = MAX_SHARED
            else:
                limit = MAX_SHARED_WEAK
            if _shared(b, k) > limit:
                return k
        return None

    kept = []
    for b in blocks:
        k = crowding(b)
        if k is None:
            kept.append(b)
        elif b.confidence > WEAK and b.color != k.color and b.color not in k.alternatives:
            k.alternatives = (*k.alternatives, b.color)
    return kept


def _confusable(a: Detection, b: Detection) -> bool:
    """Whether two objects' colours are ones the camera could not tell apart here."""
    return a.color in b.alternatives or b.color in a.alternatives


def off_container_walls(blocks: list[Detection], ground: list[Detection]) -> list[Detection]:
    """Blocks less any weakly seen one (confidence at most WEAK) lying across the wall of a
    bowl or tray of its colour, or of the colour it is hard to tell from: a stretch of rim lit
    unlike the rest, left over once the container is found, can pass for a block, but a real
    block rests inside on the floor or outside on the table, not across a wall."""

    def across(block: Detection, container: Detection) -> bool:
        band = WALL_BAND.get(container.kind)
        if band is None or len(container.footprint) < 3 or len(block.footprint) < 3:
            return False
        if container.color != block.color and container.color not in block.alternatives:
            return False
        outer = np.asarray(container.footprint, np.float64)
        centre = outer.mean(axis=0)
        reach = np.linalg.norm(outer - centre, axis=1, keepdims=True)
        inner = centre + (outer - centre) * np.maximum(reach - band, 0.0) / reach
        corners = np.asarray(block.footprint, np.float64)
        x, y = corners[:, 0], corners[:, 1]
        return bool(inside_convex(outer, x, y).any() and not inside_convex(inner, x, y).all())

    return [b for b in blocks if b.confidence > WEAK or not any(across(b, c) for c in ground)]


def _shared(weak: Detection, strong: Detection) -> float:
    """About how much of a block's volume another block occupies too: the share of a 5 x 5
    grid over its footprint inside the other's, times the share of its height they span."""
    ew, es = BLOCK_EDGE[weak.size], BLOCK_EDGE[strong.size]
    span = min(weak.top, strong.top) - max(weak.top - ew, strong.top - es)
    apart = math.dist(weak.position[:2], strong.position[:2])
    if span <= 0 or apart >= (ew + es) / math.sqrt(2):  # their footprints cannot meet
        return 0.0
    corners = np.asarray(weak.footprint, np.float64)
    if len(corners) != 4:
        return 0.0
    t = (np.arange(5) + 0.5) / 5
    u, v = (a.ravel() for a in np.meshgrid(t, t))
    along, across = corners[1] - corners[0], corners[3] - corners[0]
    pts = corners[0] + u[:, None] * along + v[:, None] * across
    inside = inside_convex(np.asarray(strong.footprint), pts[:, 0], pts[:, 1])
    return float(inside.mean()) * span / ew


def _grow_into(labels: np.ndarray, idx: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """Labels of the candidate pixels `idx` after each unlabelled one takes the label of its
    3 x 3 neighbourhood when exactly one label is there: blur and compression smear an
    object's rim into the table's colour, which would shrink its faces; where two colours
    meet, the smear belongs to neither. `labels` (the image) is updated in place."""
    kernel = np.ones((3, 3), np.uint8)
    highest = cv2.dilate(labels, kernel)
    lowest = cv2.erode(np.where(labels == 0, np.uint8(255), labels), kernel)
    rim = idx[~labelled]
    one = highest.ravel()[rim] == lowest.ravel()[rim]
    labels.ravel()[rim[one]] = highest.ravel()[rim[one]]
    return np.asarray(labels.ravel()[idx])


@dataclass(frozen=True)
class FrameLight:
    """What a frame shows of its light: the gains to the reference light, the table's colour
    (None when too little of it shows) and the height band its pixels lie in."""

    illuminant: Illuminant
    table: TableLook | None
    band: float


def _unpack(packed: np.ndarray) -> np.ndarray:
    """N x 3 uint8 RGB of pixels packed by `pack_rgba`."""
    return np.ascontiguousarray(packed).view(np.uint8).reshape(-1, 4)[:, :3]


def _explained_fraction(face: Face, blocks: list[Detection]) -> float:
    inside = np.zeros(len(face.xy), bool)
    for b in blocks:
        if b.color == face.color and abs(b.top - face.z) < 0.006:
            inside |= block_rect(b).contains(face.xy[:, 0], face.xy[:, 1], 0.004)
    return float(inside.mean()) if len(inside) else 1.0
