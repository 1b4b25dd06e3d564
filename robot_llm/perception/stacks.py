"""Blocks seen only in part: the lower blocks of a stack, and blocks whose top is hidden.

A block whose bottom rests on no known surface stands on a block not found yet. Going down
from the highest such block, the color whose unexplained pixels reach highest under its bottom
is the block holding it up; that color's pixels in the column (a rim of its top face, its side
faces) give its size, yaw and center (side_fit.py). Large groups of pixels that no block
explains afterwards become blocks the same way.
"""

from __future__ import annotations

import numpy as np

from robot_llm.perception.block_points import EXPLAIN_MARGIN, ColorPoints
from robot_llm.perception.blocks import Square, block_detection
from robot_llm.perception.detection import Detection
from robot_llm.perception.quantiles import median, quantile, spread
from robot_llm.perception.shapes import min_area_rect, sides
from robot_llm.perception.side_fit import Fit, fit_partly_seen
from robot_llm.perception.supports import SUPPORT_TOLERANCE, Supports
from robot_llm.tabletop.palette import BLOCK_EDGE

COLUMN_RADIUS = 0.06  # pixels of a supporting block lie this close to the block it holds
MIN_EVIDENCE = 12  # pixels of one color under a floating block
MIN_LEFTOVER = 60  # unexplained pixels of one color that make a block on their own
MIN_LEFTOVER_RISE = 0.008  # ... unless they lie along a level line (not_a_block)
MAX_LEFTOVER_LENGTH = 0.08  # ... or stretch farther than a block top's diagonal (0.071)
FLAT_TOLERANCE = 0.0012  # pixels this close in height to the highest one are a flat top
MIN_FLAT_WIDTH = 0.004  # a flat top's pixels spread at least this far both ways, meters
LARGEST = max(BLOCK_EDGE.values())


def bottom_of(block: Detection) -> float:
    return block.top - BLOCK_EDGE[block.size]


def is_floating(block: Detection, supports: Supports) -> bool:
    x, y = block.position[0], block.position[1]
    return supports.gap(x, y, bottom_of(block)) >= SUPPORT_TOLERANCE


def resolve_stacks(
    blocks: list[Detection],
    points: dict[str, ColorPoints],
    supports: Supports,
    camera_xy: np.ndarray,
    pixel: float,
) -> list[Detection]:
    """Blocks that hold up floating blocks, found top down; they may float in turn."""
    found: list[Detection] = []
    queue = sorted((b for b in blocks if b.kind == "block"), key=lambda b: -b.top)
    while queue:
        upper = queue.pop(0)
        if not is_floating(upper, supports):
            continue
        block = support_under(upper, points, supports, camera_xy, pixel)
        if block is None:
            continue
        found.append(block)
        supports.add(block.top, block.footprint)
        queue.append(block)
        queue.sort(key=lambda b: -b.top)
    return found


def support_under(
    upper: Detection,
    points: dict[str, ColorPoints],
    supports: Supports,
    camera_xy: np.ndarray,
    pixel: float,
) -> Detection | None:
    """The block right under a floating block, from the unexplained pixels beneath it."""
    ux, uy = upper.position[0], upper.position[1]
    top = bottom_of(upper)
    # The holding block is most likely the color whose pixels reach highest under the bottom
    # (its MIN_EVIDENCE-th highest pixel): a block further down can show more pixels.
    reaches = []
    for color, cp in points.items():
        z = cp.xyz[cp.unexplained_near(ux, uy, COLUMN_RADIUS, top - 0.001), 2]
        if len(z) >= MIN_EVIDENCE:
            reach = float(np.partition(z, len(z) - MIN_EVIDENCE)[-MIN_EVIDENCE])
            if reach > top - LARGEST - 0.03:
                reaches.append((reach, color))
    prior = np.array([ux, uy])
    for _, color in sorted(reaches, reverse=True):
        cp = points[color]
        near = cp.unexplained_near(ux, uy, COLUMN_RADIUS, top - 0.001)
        # Of the heights its top may have (most likely first), the first whose block explains
        # all of the column's pixels of its color; else the first that fits at all.
        fits = []
        for own_top in _top_candidates(cp.xyz[near], top):
            fit = _fit(cp, near, own_top, prior, upper.yaw, supports, camera_xy)
            if fit is not None:
                below = np.count_nonzero(cp.xyz[near, 2] < own_top - fit[0] - EXPLAIN_MARGIN)
                fits.append((below < MIN_EVIDENCE, own_top, fit))
        if fits:
            _, own_top, fit = next((f for f in fits if f[0]), fits[0])
            return _commit(cp, near, own_top, fit, pixel)
    return None


def leftover_blocks(
    points: dict[str, ColorPoints], supports: Supports, camera_xy: np.ndarray, pixel: float
) -> list[Detection]:
    """Blocks from large groups of pixels no block explains (a top face hidden from view)."""
    found = []
    for cp in points.values():
        for group in cp.unexplained_groups(MIN_LEFTOVER):
            if not_a_block(cp.xyz[group]):
                continue
            z = cp.xyz[group, 2]
            top = quantile(z, 0.99)
            prior = np.array([median(cp.xyz[group, 0]), median(cp.xyz[group, 1])])
            det = _block_from(cp, group, top, prior, 0.0, supports, camera_xy, pixel)
            if det is not None:
                det.confidence = min(det.confidence, 0.5)
                found.append(det)
                supports.add(det.top, det.footprint)
    return found


def not_a_block(xyz: np.ndarray) -> bool:
    """Whether N x 3 unexplained points cannot be one block: they stretch farther than a block
    top's diagonal (the walls and rim of a container, lit brighter or darker than the rest of
    it), or lie along a level line (a block's visible sides rise a good part of its edge, and
    a visible part of its top spreads both ways)."""
    short, long = sides(min_area_rect(xyz[:, :2]))
    low, high = spread(xyz[:, 2], 0.05, 0.95)
    return long > MAX_LEFTOVER_LENGTH or (high - low < MIN_LEFTOVER_RISE and short < MIN_FLAT_WIDTH)


def _block_from(
    cp: ColorPoints,
    idx: np.ndarray,
    top: float,
    prior: np.ndarray,
    prior_yaw: float,
    supports: Supports,
    camera_xy: np.ndarray,
    pixel: float,
) -> Detection | None:
    """A block of a partly seen top at `top` from some of a color's points, which it then
    explains."""
    fit = _fit(cp, idx, top, prior, prior_yaw, supports, camera_xy)
    return None if fit is None else _commit(cp, idx, top, fit, pixel)


def _fit(
    cp: ColorPoints,
    idx: np.ndarray,
    top: float,
    prior: np.ndarray,
    prior_yaw: float,
    supports: Supports,
    camera_xy: np.ndarray,
) -> Fit | None:
    near = idx[cp.xyz[idx, 2] > top - LARGEST - 0.004]
    return fit_partly_seen(top, cp.xyz[near], prior, prior_yaw, supports, camera_xy)


def _commit(cp: ColorPoints, idx: np.ndarray, top: float, fit: Fit, pixel: float) -> Detection:
    """The block of a fit; its pixels are explained from now on."""
    near = idx[cp.xyz[idx, 2] > top - LARGEST - 0.004]
    edge, yaw, cx, cy, used = fit
    det = block_detection(cp.color, Square(cx, cy, edge, yaw, 0.004), top, int(used.sum()), pixel)
    det.confidence = min(det.confidence, 0.75)
    cp.explained[near[used]] = True  # each pixel serves one block, even where the fit is off
    cp.explain(det)
    return det


def _top_candidates(pts: np.ndarray, top: float) -> list[float]:
    """Heights to try for the top of the block under a floating block, most likely first.

    Right under the floating block, unless its pixels (N x 3) show a flat top clearly lower (a
    block between them is hidden from view); a highest pixel far below the bottom is tried
    second (an overhang hides the top of a side face, but so can a hidden block).
    """
    if len(pts) < MIN_EVIDENCE:
        return [top]
    z = pts[:, 2]
    highest = quantile(z, 0.99)
    if highest > top - 0.008:
        return [top]
    level = pts[np.abs(z - highest) < FLAT_TOLERANCE, :2]
    # A flat top spreads both ways; the top edge of a side face is a line.
    if len(level) >= MIN_EVIDENCE and min(sides(min_area_rect(level))) > MIN_FLAT_WIDTH:
        return [highest, top]
    return [top, highest]
