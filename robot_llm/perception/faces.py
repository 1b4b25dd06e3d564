"""Top faces of blocks: flat regions of one color well above the table.

A block's top face is horizontal, so its pixels have (locally) constant height; side faces seen
from above change height fast from pixel to pixel. Faces at different heights (a block on a block
of the same color, a partly covered block) are split apart by the non-flat pixels between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from robot_llm.perception.depth import MEDIAN_LEFT
from robot_llm.perception.detection import ColorRegion
from robot_llm.perception.pixels import PixelMaps
from robot_llm.perception.quantiles import median
from robot_llm.perception.shapes import Rect, min_area_rect, outline_points

FLAT_RANGE = 0.0015  # max height spread in a 3 x 3 neighbourhood of a flat pixel, meters
# The spread of 9 samples of Gaussian noise is under 4.5 std in 99% of neighbourhoods.
FLAT_NOISE = 4.5
MIN_TOP_Z = 0.022  # the lowest block top is 30 mm up (on the table)
MIN_FACE_PIXELS = 12
# The flat test drops the face's rim pixels, and pixel centers lie half a pixel inside the edge:
# a face's outline is grown by this many pixels on each side.
EDGE_GROW = 1.5
HIGHER = 0.004  # a neighbour this much higher than a face may be hiding part of it
RIM_NOISE = 4.0  # ... plus this many times the depth noise at the rim (pixels.PixelMaps.noise)
SAME_HEIGHT = 0.002
MAX_PIECES_DIAMETER = 0.075  # the diagonal of the largest block top (0.071) plus a margin


@dataclass
class Face:
    """A flat region of one color: the top face of one block, or of touching blocks."""

    color: str
    z: float  # height, meters
    rect: Rect  # smallest rectangle around it, grown by EDGE_GROW pixels
    xy: np.ndarray  # N x 2 table-frame points of its pixels
    area: float  # m^2: its pixels' area plus the rim the flat test dropped
    occluder: tuple[float, float] | None  # where something higher borders it, if anything
    pixels: int

    @property
    def occluded(self) -> bool:
        return self.occluder is not None


def flat_range(noise: float) -> float:
    """The largest height spread of a flat 3 x 3 neighbourhood, given the depth noise
    (pixels.PixelMaps.noise): FLAT_RANGE on clean depth, wider in proportion to the noise the
    median filter leaves (depth.py)."""
    return max(FLAT_RANGE, FLAT_NOISE * MEDIAN_LEFT * noise)


def flat_mask(z: np.ndarray, noise: float = 0.0) -> np.ndarray:
    """Pixels whose 3 x 3 neighbourhood spans less than `flat_range(noise)` in height."""
    kernel = np.ones((3, 3), np.uint8)
    spread = cv2.dilate(z, kernel) - cv2.erode(z, kernel)
    return np.asarray(spread < flat_range(noise))


def find_faces(region: ColorRegion, free: np.ndarray, pixel: float) -> list[Face]:
    """Top faces among the `free` pixels (crop mask) of a color region."""
    high = (free & (region.z > MIN_TOP_Z)).astype(np.uint8)
    c0, r0, width, height = cv2.boundingRect(high)
    if width == 0:
        return []
    box = (slice(r0, r0 + height), slice(c0, c0 + width))
    candidates = high[box] & flat_mask(region.z[box], region.maps.noise).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=4)
    faces = []
    maps = region.maps
    h, w = maps.z.shape
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_AREA] < MIN_FACE_PIXELS:
            continue
        x0, y0, bw, bh = (int(v) for v in stats[i, :4])
        comp = (labels[y0 : y0 + bh, x0 : x0 + bw] == i).astype(np.uint8)
        rows, cols = np.nonzero(comp)
        top, left = region.top + r0 + y0, region.left + c0 + x0
        face_z = median(maps.z[rows + top, cols + left])
        outline = outline_points(comp, maps, top, left)
        if len(outline) < 4:
            continue
        xy = np.stack([maps.x[rows + top, cols + left], maps.y[rows + top, cols + left]], 1)
        rect = min_area_rect(outline, grow=EDGE_GROW * pixel)
        perimeter = float(cv2.arcLength(outline.reshape(-1, 1, 2), True))
        d = maps.depth[rows + top, cols + left]
        seen = float((d * d * maps.rays.area_factor[rows + top, cols + left]).sum())
        area = seen + perimeter * (EDGE_GROW - 0.5) * pixel
        faces.append(
            Face(
                region.color,
                face_z,
                rect,
                xy,
                area,
                _occluder(comp, top, left, face_z, maps, (h, w)),
                len(rows),
            )
        )
    return faces


def merge_partial_faces(faces: list[Face], pixel: float) -> list[Face]:
    """Join pieces of one partly hidden top face (a block above can cut its visible rim apart).

    Faces of one color at one height join when one of them is partly hidden and together they
    fit in the largest block top.
    """
    out: list[Face] = []
    for face in sorted(faces, key=lambda f: -f.pixels):
        for k, other in enumerate(out):
            if (
                other.color == face.color
                and abs(other.z - face.z) < SAME_HEIGHT
                and (other.occluded or face.occluded)
                and _diameter(np.concatenate([other.xy, face.xy])) <= MAX_PIECES_DIAMETER
            ):
                out[k] = _joined(other, face, pixel)
                break
        else:
            out.append(face)
    return out


def _joined(a: Face, b: Face, pixel: float) -> Face:
    xy = np.concatenate([a.xy, b.xy])
    occluders = [o for o in (a.occluder, b.occluder) if o is not None]
    occluder: tuple[float, float] | None = None
    if occluders:
        ox, oy = np.mean(occluders, axis=0)
        occluder = (float(ox), float(oy))
    return Face(
        a.color,
        (a.z * a.pixels + b.z * b.pixels) / (a.pixels + b.pixels),
        min_area_rect(xy, grow=EDGE_GROW * pixel),
        xy,
        a.area + b.area,
        occluder,
        a.pixels + b.pixels,
    )


def _diameter(points: np.ndarray) -> float:
    hull = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2)
    d = hull[:, None, :] - hull[None, :, :]
    return float(np.sqrt((d * d).sum(-1)).max())


def _occluder(
    comp: np.ndarray,
    top: int,
    left: int,
    face_z: float,
    maps: PixelMaps,
    shape: tuple[int, int],
) -> tuple[float, float] | None:
    """Mean xy of higher pixels right around a face, or None when nothing higher borders it.
    A face's rim keeps its depth noise (depth.py), so noisy depth raises the bar."""
    z, x, y = maps.z, maps.x, maps.y
    pad = 3
    r0, c0 = max(top - pad, 0), max(left - pad, 0)
    r1, c1 = min(top + comp.shape[0] + pad, shape[0]), min(left + comp.shape[1] + pad, shape[1])
    grown = np.zeros((r1 - r0, c1 - c0), np.uint8)
    grown[top - r0 : top - r0 + comp.shape[0], left - c0 : left - c0 + comp.shape[1]] = comp
    ring = cv2.dilate(grown, np.ones((5, 5), np.uint8)).astype(bool) & ~grown.astype(bool)
    zz = z[r0:r1, c0:c1]
    higher = ring & (zz > face_z + HIGHER + RIM_NOISE * maps.noise)
    if higher.sum() < 2:
        return None
    return (float(x[r0:r1, c0:c1][higher].mean()), float(y[r0:r1, c0:c1][higher].mean()))
