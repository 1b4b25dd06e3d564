"""Objects on the table from their silhouettes in a colour-only frame and their known sizes.

A kind of height h (`tabletop/geometry.py`, `tabletop/palette.py`) explains a silhouette when
the silhouette back-projected onto z = h (its top face exact, its side faces smeared towards
the camera) and onto z = 0 (its base exact, its top smeared away from the camera) overlap in a
footprint of that kind's size. `place_region` scores every kind and size so and keeps the best;
a bowl's centre and size then come from its rim, which shows all round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from robot_llm.perception.detection import Detection, confidence_from
from robot_llm.perception.pixels import camera_rays
from robot_llm.perception.shapes import (
    Rect,
    circle_footprint,
    fit_circle,
    long_side_yaw,
    min_area_rect,
    sides,
    square_footprint,
    square_yaw,
)
from robot_llm.tabletop.geometry import BOWL_HEIGHT, TRAY_HEIGHT, ZONE_THICKNESS, half_extents_xy
from robot_llm.tabletop.palette import BLOCK_EDGE, BOWL_RADIUS, TRAY_INNER, ZONE_SIDE

Bounds = tuple[tuple[float, float], tuple[float, float]]

MIN_REGION_PIXELS = 40  # smaller regions are noise, or objects too hidden to place
MAX_HEIGHT = 0.12  # the image rectangle searched can show objects this tall
MAX_MISFIT = 0.25  # a hypothesis whose sides miss by more than this share is no object
ROUND_FILL = 0.86  # footprints filling less of their rectangle than this are round
ROUND_PENALTY = 0.15  # misfit added to a round footprint taken for a square, and vice versa
DENSE_PIXELS = 1500  # larger regions are sampled every other row and column inside
RIM_SIDE = 0.2  # outline points up to this cosine towards the camera still show the rim


@dataclass(frozen=True)
class Hypothesis:
    """One kind and size: its height and its footprint's (short, long) sides, meters."""

    kind: str
    size: str
    height: float
    short: float
    long: float

    @property
    def round(self) -> bool:
        return self.kind == "bowl"


def hypotheses() -> tuple[Hypothesis, ...]:
    """Every kind and size the tabletop model knows, with its fixed height and footprint."""
    out = []
    for size in ZONE_SIDE:
        side = ZONE_SIDE[size]
        out.append(Hypothesis("zone", size, ZONE_THICKNESS, side, side))
    for size, edge in BLOCK_EDGE.items():
        out.append(Hypothesis("block", size, edge, edge, edge))
    for size in BOWL_RADIUS:
        d = 2 * half_extents_xy("bowl", size)[0]
        out.append(Hypothesis("bowl", size, BOWL_HEIGHT, d, d))
    for size in TRAY_INNER:
        a, b = sorted(2 * v for v in half_extents_xy("tray", size))
        out.append(Hypothesis("tray", size, TRAY_HEIGHT, a, b))
    return tuple(out)


HYPOTHESES = hypotheses()


@dataclass(frozen=True)
class PlaneGeometry:
    """Where each pixel of the searched image rectangle meets the table plane, and how to
    project table points back into the image."""

    rows: slice
    cols: slice
    x0: np.ndarray  # h x w float32: table-plane x of each pixel's ray (nan: misses the plane)
    y0: np.ndarray
    camera: np.ndarray  # (3,) camera position in the table frame
    world_to_pixel: np.ndarray  # 3 x 4: table point to homogeneous pixel (full image)
    focal: float


def plane_geometry(
    intrinsics: np.ndarray, pose: np.ndarray, size: tuple[int, int], bounds: Bounds
) -> PlaneGeometry:
    """The table-plane geometry of a camera model over the workspace (cached)."""
    k = np.ascontiguousarray(intrinsics, np.float64)
    p = np.ascontiguousarray(pose, np.float64)
    key = (tuple(bounds[0]), tuple(bounds[1]))
    return _plane_geometry(k.tobytes(), p.tobytes(), (int(size[0]), int(size[1])), key)


@lru_cache(maxsize=4)
def _plane_geometry(
    k_bytes: bytes, pose_bytes: bytes, size: tuple[int, int], bounds: Bounds
) -> PlaneGeometry:
    k = np.frombuffer(k_bytes).reshape(3, 3)
    pose = np.frombuffer(pose_bytes).reshape(4, 4)
    rays = camera_rays(k, pose, size, bounds, MAX_HEIGHT)
    origin = rays.origin.astype(np.float64)
    rx, ry, rz = (r.astype(np.float64) for r in rays.rays)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(rz < -1e-9, -origin[2] / rz, np.nan)
    x0 = (origin[0] + t * rx).astype(np.float32)
    y0 = (origin[1] + t * ry).astype(np.float32)
    rot, pos = pose[:3, :3], pose[:3, 3]
    world_to_pixel = k @ np.hstack([rot.T, (-rot.T @ pos)[:, None]])
    rows, cols = rays.region.slices
    return PlaneGeometry(rows, cols, x0, y0, origin, world_to_pixel, rays.focal)


@dataclass(frozen=True)
class Fit:
    """A hypothesis's footprint in a region: its rectangle, misfit, and pixel count."""

    hypothesis: Hypothesis
    rect: Rect
    misfit: float
    pixels: int


def place_region(
    mask: np.ndarray, top: int, left: int, geo: PlaneGeometry, color: str, bounds: Bounds
) -> Detection | None:
    """The object whose silhouette is `mask` (a crop at `top`, `left` of the searched image
    rectangle), placed from the known size that explains it best; None when none does."""
    filled = np.zeros(mask.shape, np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(filled, contours, -1, 1, thickness=-1)
    sparse = filled.copy()
    if int(filled.sum()) > DENSE_PIXELS:  # the outline and every other interior pixel do
        sparse[1::2, :] = 0
        sparse[:, 1::2] = 0
        cv2.drawContours(sparse, contours, -1, 1, thickness=1)
    rr, cc = np.nonzero(sparse)
    x0, y0 = geo.x0[rr + top, cc + left], geo.y0[rr + top, cc + left]
    ok = np.isfinite(x0)
    if ok.sum() < MIN_REGION_PIXELS:
        return None
    p0 = np.stack([x0[ok], y0[ok]], axis=1).astype(np.float64)
    foot, cz = geo.camera[:2], float(geo.camera[2])
    reach = np.hypot(p0[:, 0] - foot[0], p0[:, 1] - foot[1])
    pixel = float(np.median(np.hypot(reach, cz))) / geo.focal  # meters per pixel
    best: Fit | None = None
    for h in sorted({hyp.height for hyp in HYPOTHESES}):
        pts = _footprint_points(p0, filled, top, left, geo, h)
        if len(pts) < MIN_REGION_PIXELS // 2:
            continue
        hull = cv2.convexHull(pts.astype(np.float32))
        rect = min_area_rect(hull[:, 0], grow=pixel / 2)
        short, long = sides(rect)
        tight = min_area_rect(hull[:, 0])
        fill = cv2.contourArea(hull) / max(tight.width * tight.length, 1e-12)
        for hyp in HYPOTHESES:
            if hyp.height != h:
                continue
            misfit = (abs(short - hyp.short) + abs(long - hyp.long)) / (hyp.short + hyp.long)
            if hyp.round != (fill < ROUND_FILL):
                misfit += ROUND_PENALTY
            if best is None or misfit < best.misfit:
                best = Fit(hyp, rect, misfit, len(pts))
    if best is None or best.misfit > MAX_MISFIT:
        return None
    if best.hypothesis.round:
        best = _rim_circle(best, contours, top, left, geo, pixel)
    (bx0, bx1), (by0, by1) = bounds
    rect = best.rect
    if not (bx0 < rect.cx < bx1 and by0 < rect.cy < by1):
        return None
    return _detection(best, color, pixel)


def _footprint_points(
    p0: np.ndarray, filled: np.ndarray, top: int, left: int, geo: PlaneGeometry, h: float
) -> np.ndarray:
    """Table xy of the region's pixels back-projected onto z = h that land where the region
    back-projected onto z = 0 also is: the footprint of an object of height h."""
    foot, cz = geo.camera[:2], float(geo.camera[2])
    q = foot + (p0 - foot) * (1.0 - h / cz)
    m = geo.world_to_pixel
    w = m[2, 0] * q[:, 0] + m[2, 1] * q[:, 1] + m[2, 3]
    u = (m[0, 0] * q[:, 0] + m[0, 1] * q[:, 1] + m[0, 3]) / w
    v = (m[1, 0] * q[:, 0] + m[1, 1] * q[:, 1] + m[1, 3]) / w
    c = np.rint(u).astype(np.int64) - geo.cols.start - left
    r = np.rint(v).astype(np.int64) - geo.rows.start - top
    inside = (r >= 0) & (r < filled.shape[0]) & (c >= 0) & (c < filled.shape[1])
    hit = np.zeros(len(q), bool)
    hit[inside] = filled[r[inside], c[inside]] > 0
    return np.asarray(q[hit])


def _rim_circle(
    fit: Fit,
    contours: Sequence[np.ndarray],
    top: int,
    left: int,
    geo: PlaneGeometry,
    pixel: float,
) -> Fit:
    """A bowl's centre from its rim: the rim is its highest and widest part, so where the
    outline faces away from the camera, it is the rim itself, back-projected onto the rim's
    height. (The overlap of the two back-projections ends short of the rim on the side
    facing the camera, which would shift the centre away from it.)"""
    outline = np.concatenate([c[:, 0] for c in contours]) if contours else np.zeros((0, 2))
    cols, rows = outline[:, 0] + left, outline[:, 1] + top
    x0, y0 = geo.x0[rows, cols].astype(np.float64), geo.y0[rows, cols].astype(np.float64)
    foot, cz = geo.camera[:2], float(geo.camera[2])
    q = foot + (np.stack([x0, y0], axis=1) - foot) * (1.0 - fit.hypothesis.height / cz)
    centre = np.array([fit.rect.cx, fit.rect.cy])
    away = centre - foot
    away /= max(float(np.linalg.norm(away)), 1e-9)
    offset = q - centre
    far = np.isfinite(q).all(axis=1) & (offset @ away > -RIM_SIDE * np.hypot(*offset.T))
    if far.sum() < MIN_REGION_PIXELS // 2:
        return fit
    cx, cy, radius, _ = fit_circle(q[far])
    if abs(2 * radius - fit.hypothesis.short) > MAX_MISFIT * fit.hypothesis.short:
        return fit
    # The rim gives the size too: the bowl whose rim is nearest.
    bowls = [h for h in HYPOTHESES if h.round]
    best = min(bowls, key=lambda h: abs(2 * radius + pixel - h.short))
    rect = Rect(cx, cy, 2 * radius, 2 * radius, 0.0)
    return Fit(best, rect, fit.misfit, fit.pixels)


def _detection(fit: Fit, color: str, pixel: float) -> Detection:
    hyp, rect = fit.hypothesis, fit.rect
    cx, cy = rect.cx, rect.cy
    if hyp.kind == "bowl":
        yaw = 0.0
        footprint = circle_footprint(cx, cy, hyp.short / 2)
    elif hyp.kind == "tray":
        yaw = long_side_yaw(rect)
        footprint = Rect(cx, cy, hyp.short, hyp.long, yaw).corners()
    else:
        yaw = square_yaw(rect)
        footprint = square_footprint(cx, cy, hyp.short, yaw)
    full = hyp.short * hyp.long / pixel**2
    error = fit.misfit * (hyp.short + hyp.long) / 2
    return Detection(
        hyp.kind,
        color,
        hyp.size,
        (cx, cy, hyp.height / 2),
        yaw,
        footprint,
        confidence_from(fit.pixels, error, full, 0.004),
        top=hyp.height,
        pixels=fit.pixels,
    )
