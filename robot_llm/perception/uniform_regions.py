"""Zones and container floors that no palette colour explains pixel by pixel.

Under a light the frame's estimate gets wrong (a strong cast over a table unlike the
reference, illumination.py), each pixel of a zone or a tray may fall just outside every
palette colour's tolerance, though together they are plainly one colour: a large surface
lying flat near the table, of one chromaticity, unlike the table. Such a surface is labelled
with the palette colour nearest its median colour under the frame's light, when that colour
fits the median well (REGION_FIT) and clearly better than the runner-up (REGION_MARGIN). A
surface two colours fit about equally keeps the runner-up as its alternative, so the planner
asks which is meant (camera_perceiver.py marks it) instead of guessing.

Blocks are small and seen from several faces; they are left to the per-pixel labels.
"""

from __future__ import annotations

import cv2
import numpy as np

from robot_llm.perception.colors import ColorClassifier
from robot_llm.perception.illumination import Illuminant, TableLook
from robot_llm.tabletop.geometry import TRAY_HEIGHT

GROUND_TOP = 0.0115  # a zone's top or a container's floor (containers.GROUND_MAX_Z) is lower
WALL_TOP = TRAY_HEIGHT + 0.006  # a tray's walls: part of the same surface, if of its colour
MIN_AREA = 0.003  # m^2 of the surface near the table: half the smallest zone
COHERENT = 0.12  # log red/green and blue/green of a pixel this close to the surface's median
BRIGHTNESS_RANGE = (0.5, 2.0)  # ... and its green within this factor of the median's
MIN_COHERENT_SHARE = 0.7  # of the piece's pixels near the table, for one uniform surface
UNEXPLAINED_SHARE = 0.5  # of a piece's pixels unlabelled, for its labels to be reconsidered
UNLIKE_TABLE = 0.2  # log-chroma distance from the table's colour, at least
REGION_FIT = 22.0  # relative residual (percent) of the best palette colour, at most
REGION_MARGIN = 8.0  # the runner-up fits at least this much worse (percent) to be ruled out


def recover_uniform_surfaces(
    labels: np.ndarray,
    idx: np.ndarray,
    lab: np.ndarray,
    alt: np.ndarray,
    z: np.ndarray,
    rgb: np.ndarray,
    light: Illuminant,
    table: TableLook | None,
    classifier: ColorClassifier,
    pixel: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and alternatives (`lab`, `alt`) of the candidate pixels `idx` (flat indices
    into the H x W maps), with the unlabelled pixels of uniform surfaces near the table given
    a colour. `labels` is the label image (updated in place), `z` the heights and `rgb` the
    H x W x 3 image; `pixel` is the side of a pixel on the table, meters."""
    min_pixels = MIN_AREA / (pixel * pixel)
    unlabelled = lab == 0
    near = z.ravel()[idx] < WALL_TOP
    if np.count_nonzero(unlabelled & near) < min_pixels:
        return lab, alt
    # Pieces of everything near the table, so that the stretches of a surface the pixels'
    # labels got right (or took for another colour) join the rest of it.
    mask = np.zeros(z.shape, np.uint8)
    mask.ravel()[idx[near]] = 1
    _, pieces, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    lab, alt = lab.copy(), alt.copy()
    position = np.full(z.size, -1, np.int64)
    position[idx] = np.arange(len(idx))
    for i in np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= min_pixels) + 1:
        x0, y0, w, h = (int(v) for v in stats[i, :4])
        window = pieces[y0 : y0 + h, x0 : x0 + w] == i
        rows, cols = np.nonzero(window)
        flat = (rows + y0) * z.shape[1] + cols + x0
        at = position[flat]
        if np.count_nonzero(lab[at] == 0) < UNEXPLAINED_SHARE * len(at):
            continue  # mostly explained pixel by pixel: the labels stand
        colour = _surface_colour(rgb.reshape(-1, 3)[flat], z.ravel()[flat], table, min_pixels)
        if colour is None:
            continue
        coherent, median = colour
        label, runner_up = _palette_colour(median, light, classifier)
        if label == 0:
            continue
        lab[at[coherent]] = label
        alt[at[coherent]] = runner_up
        labels.ravel()[flat[coherent]] = label
    return lab, alt


def _chroma(rgb: np.ndarray) -> np.ndarray:
    """N x 2 log red/green and blue/green of N x 3 colours."""
    px = np.maximum(np.asarray(rgb, np.float64), 1.0)
    return np.log(px[..., [0, 2]] / px[..., [1]])


def _surface_colour(
    rgb: np.ndarray, z: np.ndarray, table: TableLook | None, min_pixels: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Which of a piece's pixels (N x 3 uint8, heights N) share its median colour, and that
    colour; None when the piece is not one uniform surface lying near the table, or looks
    like the table."""
    ground = z < GROUND_TOP
    if np.count_nonzero(ground) < min_pixels:
        return None
    median = np.median(rgb[ground], axis=0)
    chroma = _chroma(rgb)
    centre = _chroma(median[None])[0]
    green = np.maximum(rgb[:, 1].astype(np.float64), 1.0) / max(float(median[1]), 1.0)
    coherent = (np.abs(chroma - centre).max(axis=1) < COHERENT) & (
        (green >= BRIGHTNESS_RANGE[0]) & (green <= BRIGHTNESS_RANGE[1])
    )
    if np.count_nonzero(coherent & ground) < max(min_pixels, MIN_COHERENT_SHARE * ground.sum()):
        return None
    if table is not None and np.abs(centre - _chroma(table.median[None])[0]).max() < UNLIKE_TABLE:
        return None  # the table (or its shadow), lifted by depth noise
    return coherent, median


def _palette_colour(
    median: np.ndarray, light: Illuminant, classifier: ColorClassifier
) -> tuple[int, int]:
    """1 + the palette index of the colour that explains `median` (RGB) under the light, and
    1 + that of a runner-up as likely (else 0); (0, 0) when none fits well enough."""
    errors = classifier.relative_errors(median[None], np.asarray(light.gains), light.overexposed)[0]
    order = np.argsort(errors)
    best, second = int(order[0]), int(order[1])
    if errors[best] > REGION_FIT:
        return 0, 0
    runner_up = second + 1 if errors[second] < errors[best] + REGION_MARGIN else 0
    return best + 1, runner_up
