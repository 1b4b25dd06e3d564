"""Depth as a real RGB-D camera gives it: holes filled, noise measured and smoothed.

Real depth has holes (no measurement: 0, NaN or inf, depending on the driver) and noise that
grows with distance. Perception measures heights to a millimetre or two, so both are dealt with
before any geometry:

- **Holes** take the depth of the nearest measured pixel, so that filters over neighbourhoods
  (the median below, flatness, what borders a face) see no gaps and no made-up heights in
  between surfaces. The nearest pixel may lie on another surface, though (across a wall's
  edge), so a filled pixel never becomes part of an object: `measured` says which are real.
- **Noise** is measured as a robust standard deviation of the second difference along rows
  (a plane's depth changes linearly along a row, so only noise is left). Noisy depth is median
  filtered: a surface's height becomes the median of its neighbourhood while edges between
  surfaces stay where they are. A pixel whose neighbours all disagree with it is an outlier:
  it gets the median, but like a hole it never becomes part of an object. The measured noise
  widens the tests that compare single pixels' heights (faces.py).

A clean render has neither, and is returned unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from robot_llm.perception.quantiles import median

NOISY = 0.0002  # meters: depth noisier than this is filtered (a render's is ~1e-6)
NOISE_SAMPLE = 6  # every 6th pixel of every 6th row measures the noise
MEDIAN_KERNEL = 5
# A 5 x 5 median leaves about this fraction of iid Gaussian noise (sqrt(pi / 2) / 5 = 0.25),
# and neighbouring medians share pixels, so their differences are smaller still.
MEDIAN_LEFT = 0.3
KEEP_WITHIN = 3.0  # a median this many noise stds from a pixel's own depth is another surface


@dataclass(frozen=True)
class Depth:
    """A workspace crop of metric depth, ready for geometry, and how noisy it still is."""

    depth: np.ndarray  # h x w float32, holes filled from their nearest measured pixel
    noise: float  # std of the measured depth noise, meters (a median filter leaves less)
    holes: int  # pixels without a measurement in the input
    # h x w bool: pixels whose depth is their own (not a hole, not overruled by the median
    # filter as an outlier); None: all of them
    measured: np.ndarray | None = None


def prepare(depth: np.ndarray) -> Depth:
    """Fill the holes of a depth crop and smooth it when it is noisy."""
    d = np.ascontiguousarray(depth, dtype=np.float32)
    if d.size and d.min() > 0 and np.isfinite(d.max()):  # no holes (a NaN fails both)
        invalid = np.zeros(d.shape, bool)
        holes = 0
    else:
        invalid = ~(np.isfinite(d) & (d > 0))
        holes = int(np.count_nonzero(invalid))
    measured = ~invalid if holes else None
    if holes == d.size:
        return Depth(d, 0.0, holes, measured)
    if holes:
        d = fill_holes(d, invalid)
    noise = noise_level(d)
    if noise > NOISY:
        d, overruled = smooth_depth(d, noise)
        if overruled is not None:
            measured = ~overruled if measured is None else measured & ~overruled
    return Depth(d, noise, holes, measured)


def smooth_depth(depth: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray | None]:
    """A 5 x 5 median of noisy depth, and which pixels it had to overrule (None: none).

    Where the median moved a pixel by more than the noise can while the pixel's 3 x 3
    neighbours agree with it (a thin wall, a rim, the pixels along an edge), the 5 x 5 median
    took the depth of another surface, and the 3 x 3 median is kept. A pixel its neighbours
    disagree with takes the 5 x 5 median, but its own position is unknown: it is overruled.
    """
    limit = np.float32(KEEP_WITHIN * noise)
    out = cv2.medianBlur(depth, MEDIAN_KERNEL)
    moved = np.flatnonzero(np.abs(out - depth) > limit)
    if not len(moved):
        return np.asarray(out, np.float32), None
    # Few pixels move that far (edges, rims, outliers: well under 1 %): their 3 x 3 medians
    # are taken there alone, with the image's edge pixels repeated beyond it as in
    # cv2.medianBlur.
    small = _median3_at(depth, moved)
    own = depth.ravel()[moved]
    thin = np.abs(small - own) <= limit
    out.ravel()[moved[thin]] = small[thin]
    overruled = np.zeros(depth.shape, bool)
    overruled.ravel()[moved[~thin]] = True
    return np.asarray(out, np.float32), overruled


def _median3_at(image: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The 3 x 3 medians of a 2-D image at flat indices `index` (edges replicated)."""
    h, w = image.shape
    rows, cols = np.divmod(index, w)
    offsets = np.array([-1, 0, 1])
    r = np.clip(rows[:, None, None] + offsets[None, :, None], 0, h - 1)
    c = np.clip(cols[:, None, None] + offsets[None, None, :], 0, w - 1)
    patches = image[r, c].reshape(len(index), 9)
    return np.asarray(np.partition(patches, 4, axis=1)[:, 4], np.float32)


def fill_holes(depth: np.ndarray, invalid: np.ndarray) -> np.ndarray:
    """Each invalid pixel takes the depth of the nearest valid one."""
    _, labels = cv2.distanceTransformWithLabels(
        invalid.astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    # Labels number the valid (zero) pixels in raster order, from 1.
    valid_values = depth[~invalid]
    out = depth.copy()
    out[invalid] = valid_values[labels[invalid] - 1]
    return out


def noise_level(depth: np.ndarray) -> float:
    """Robust std (meters) of per-pixel depth noise, from second differences along rows
    (a sample of them: a median of a few thousand is as good and costs far less)."""
    rows = depth[::NOISE_SAMPLE]
    if rows.shape[1] < 3 or rows.shape[0] == 0:
        return 0.0
    n = NOISE_SAMPLE
    second = rows[:, 2::n] - 2.0 * rows[:, 1:-1:n] + rows[:, :-2:n]
    # For iid noise of std s, a second difference has std s * sqrt(6); MAD to std is 1.4826.
    return 1.4826 * median(np.abs(second)) / float(np.sqrt(6.0))
