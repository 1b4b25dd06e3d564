"""Colour constancy: the frame's light and exposure, measured on the table or fitted to the
palette, so that pixels are classified as if in the reference light.

A frame's light is modelled as one gain per channel (a colour cast: white balance set for
another light; exposure: the same gain on every channel). Two estimates:

1. **The table.** It is the largest surface in view and its colour does not change, so it is
   the frame's white reference: its median RGB against its RGB in the reference light (the
   light the palette was measured in, `REFERENCE_TABLE_RGB` for the simulator's table) gives
   the gains. This is exact when the table is the reference table and nothing clips.
2. **The palette.** Everything standing on the table is a palette colour. When the table's
   gains do not explain the object pixels (another table, or a light that is not a plain
   gain), the gains that best explain a sample of object pixels as shaded palette colours are
   searched for (`ColorClassifier.fit_error`): first the cast (red and blue against green),
   then the exposure, then the cast again, finer.

A table channel at the sensor's ceiling (CLIPPED_LEVEL) only bounds its gain: the frame is
brighter than the table shows by an unknown factor. Such a frame is *overexposed*: its pixels
may be brighter than in the reference light (`ColorClassifier.classify_codes`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from robot_llm.perception.colors import ColorClassifier
from robot_llm.perception.quantiles import median
from robot_llm.perception.quantiles import spread as quantile_range

# The simulator's table (RGB 0.93, 0.92, 0.90) as the renderer lights its top, 8-bit.
REFERENCE_TABLE_RGB = (225.0, 223.0, 218.0)
CLIPPED_LEVEL = 250.0  # a table channel this bright may be clipped
DARKEST_TABLE = 8.0  # a table channel darker than this gives no usable gain
BALANCED = 0.01  # gains this close to 1 are left alone: reference-light frames stay exact
TABLE_SAMPLE = 4  # every 4th row and column of the table is enough for its median
MIN_TABLE_PIXELS = 200
TABLE_SPREAD = 0.02  # the table's colour range leaves out this fraction at each end
TABLE_MARGIN = 6.0  # 8-bit levels around that range that still look like the table
TABLE_CHROMA = 0.08  # log red/green and blue/green ratios this close to the table's: alike
TABLE_BRIGHT = 0.6  # ... when at least this bright against it (gray objects are about half)
GOOD_FIT = 4.0  # fit_error (percent) of gains that explain a frame's objects (clean: 1-2.5)
FIT_SAMPLE = 800  # object pixels the palette fit looks at
MIN_FIT_PIXELS = 60
CAST_RANGE = 0.75  # log gain of red and blue against green: 3000 K light is -0.36 / +0.46
CAST_STEPS = 5
# Few palette colours can be explained by a strong cast as well as by none (red as orange,
# gray as pink): a cast costs this much fit error (percent) per squared log gain.
CAST_PRIOR = 10.0
EXPOSURE_RANGE = 0.7  # log gain on every channel: x0.5 to x2
EXPOSURE_STEPS = 5
FINE_STEPS = 7  # of the exposure, finally, over a quarter of its range
COARSE_SAMPLE = 300  # pixels that check the table's gains, and that the coarse grid looks at
CAST_ROUNDS = 2
INLIER_ERROR = 15.0  # fit error (percent) of a pixel whose palette colour measures the cast
MEASURABLE = 20.0  # darker channels of a pixel (8-bit) are mostly noise
MEASURABLE_REF = 40.0  # palette channels darker than this say little about the cast
# A camera's palette-fitted light serves its next frames while the table looks the same (each
# channel of its median within SAME_TABLE levels: a 1-2 % change of light moves it by 2 - 4)
# and the light still explains the objects (its fit error within REUSE_SLACK percent of what
# it was), for at most REFIT_EVERY frames in all (`estimate_with`).
SAME_TABLE = 3.0
REUSE_SLACK = 1.0
REFIT_EVERY = 10


@dataclass(frozen=True)
class Illuminant:
    """Per-channel gains from the frame's light to the reference light, and whether the
    table is clipped (the frame may be brighter still, by an unknown factor)."""

    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    overexposed: bool = False

    @property
    def neutral(self) -> bool:
        """Whether pixels can be classified as they are (no gain worth applying)."""
        return not self.overexposed and all(abs(g - 1.0) < BALANCED for g in self.gains)

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """N x 3 uint8 pixels as the reference light would show them (clipped to 8 bits)."""
        if self.neutral:
            return rgb
        gains = np.asarray(self.gains, np.float32)
        return np.asarray(np.clip(rgb * gains + 0.5, 0, 255), np.uint8)


def estimate(
    table: TableLook | None,
    objects: np.ndarray,
    classifier: ColorClassifier,
    reference: tuple[float, float, float] = REFERENCE_TABLE_RGB,
) -> Illuminant:
    """The frame's light from the table's colour (`table_look`, or None) and N x 3 uint8
    object pixels (a sample of what stands on the table).

    The table's gains are kept when they explain the objects (GOOD_FIT); otherwise the gains
    are fitted to the palette, starting from the table's exposure when the table is usable.
    """
    return estimate_with(table, objects, classifier, reference, None)[0]


@dataclass(frozen=True)
class KeptLight:
    """A light fitted to the palette on one frame of a camera, kept for its next frames:
    the table's median RGB in that frame, the light, how well it explained that frame's
    objects (`ColorClassifier.fit_error`, percent) and how many frames it has served since."""

    table: np.ndarray  # 3
    illuminant: Illuminant
    error: float
    reference: tuple[float, float, float]
    frames: int = 0

    def fits(
        self, table: TableLook | None, overexposed: bool, reference: tuple[float, float, float]
    ) -> bool:
        """Whether a frame's table looks as it did when the light was fitted (each channel
        within SAME_TABLE levels, clipped alike, the same reference) and the light is not due
        for a new fit (REFIT_EVERY)."""
        return bool(
            table is not None
            and self.frames < REFIT_EVERY - 1
            and overexposed == self.illuminant.overexposed
            and tuple(reference) == self.reference
            and np.abs(table.median - self.table).max() <= SAME_TABLE
        )


def estimate_with(
    table: TableLook | None,
    objects: np.ndarray,
    classifier: ColorClassifier,
    reference: tuple[float, float, float],
    kept: KeptLight | None,
) -> tuple[Illuminant, KeptLight | None]:
    """`estimate`, given the light kept from the camera's previous frames (or None), and the
    light to keep for its next ones.

    The palette fit is what costs (a few ms). A frame whose table's gains explain the objects
    never needs it, and gets them as `estimate` gives them. Otherwise the kept light serves
    when the table looks as it did when that light was fitted (`KeptLight.fits`) and the
    light explains this frame's objects about as well as it explained its own frame's
    (within REUSE_SLACK, or GOOD_FIT): a new scene or a new light shows in one or the other.
    Anything else is fitted anew and kept.
    """
    from_table = illuminant_from_table(None if table is None else table.median, reference)
    sample = _fit_sample(objects if table is None else unlike_table(objects, table.median))
    if len(sample) < MIN_FIT_PIXELS:
        return from_table, kept
    gains = np.asarray(from_table.gains, np.float64)
    check = sample[:: max(1, len(sample) // COARSE_SAMPLE)]
    if float(classifier.fit_error(check, gains[None])[0]) <= GOOD_FIT:
        return from_table, kept
    if kept is not None and kept.fits(table, from_table.overexposed, reference):
        error = float(classifier.fit_error(check, np.asarray([kept.illuminant.gains]))[0])
        if error <= max(GOOD_FIT, kept.error + REUSE_SLACK):
            return kept.illuminant, replace(kept, frames=kept.frames + 1)
    # A clipped table bounds the exposure: the frame is at least that much brighter.
    top = float(np.log(gains.min())) if from_table.overexposed else None
    start = float(np.log(gains[1])) if table is not None else 0.0
    fitted = fit_gains(sample, classifier, start, top)
    light = Illuminant(fitted, overexposed=from_table.overexposed)
    if table is None:  # nothing to tell the next frames' light by
        return light, None
    error = float(classifier.fit_error(check, np.asarray([fitted]))[0])
    ref = (float(reference[0]), float(reference[1]), float(reference[2]))
    return light, KeptLight(table.median.copy(), light, error, ref)


def unlike_table(rgb: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The pixels (N x 3 uint8) that do not look like the table: of another chromaticity, or
    much darker. Things in view that are no palette colour, such as an arm's white links, look
    like a white table under any light, and must not pull the palette fit their way."""
    px = np.maximum(rgb.astype(np.float32), 1.0)
    ref = np.maximum(table.astype(np.float32), 1.0)
    red = np.abs(np.log(px[:, 0] / px[:, 1]) - np.log(ref[0] / ref[1]))
    blue = np.abs(np.log(px[:, 2] / px[:, 1]) - np.log(ref[2] / ref[1]))
    alike = (red < TABLE_CHROMA) & (blue < TABLE_CHROMA) & (px[:, 1] >= TABLE_BRIGHT * ref[1])
    return rgb[~alike]


def _fit_sample(objects: np.ndarray) -> np.ndarray:
    """Up to FIT_SAMPLE object pixels with no channel clipped (a clipped channel only bounds
    the colour) and not black, evenly strided."""
    ok = (objects < CLIPPED_LEVEL).all(axis=1) & (objects.max(axis=1) >= DARKEST_TABLE)
    usable = objects[ok]
    return usable[:: max(1, len(usable) // FIT_SAMPLE)]


def fit_gains(
    sample: np.ndarray,
    classifier: ColorClassifier,
    exposure: float = 0.0,
    highest: float | None = None,
) -> tuple[float, float, float]:
    """Per-channel gains that best explain `sample` (N x 3 uint8) as shaded palette colours.

    A coarse grid over the cast (log red and blue gains against green) and the exposure (log
    gain on every channel, around `exposure`, at most `highest`) finds the neighbourhood,
    stronger casts needing a better fit (CAST_PRIOR);
    the cast is then measured (`measure_cast`) from the palette colours the pixels take, and
    the exposure searched once more, finely.
    """
    axis = np.linspace(-CAST_RANGE, CAST_RANGE, CAST_STEPS)
    if highest is None:
        exposures = exposure + np.linspace(-EXPOSURE_RANGE, EXPOSURE_RANGE, EXPOSURE_STEPS)
    else:
        exposures = np.linspace(highest - EXPOSURE_RANGE, highest, EXPOSURE_STEPS)
    r, b, e = (a.ravel() for a in np.meshgrid(axis, axis, exposures, indexing="ij"))
    logs = np.stack([r + e, e, b + e], axis=1)
    coarse = sample[:: max(1, len(sample) // COARSE_SAMPLE)]
    errors = classifier.fit_error(coarse, np.exp(logs)) + CAST_PRIOR * (r * r + b * b)
    best = logs[int(np.argmin(errors))]
    cast, level = np.array([best[0] - best[1], best[2] - best[1]]), float(best[1])
    for _ in range(CAST_ROUNDS):
        cast = measure_cast(sample, classifier, cast, level)
    fine = level + np.linspace(-EXPOSURE_RANGE / 4, EXPOSURE_RANGE / 4, FINE_STEPS)
    if highest is not None:
        fine = np.minimum(fine, highest)
    logs = np.stack([cast[0] + fine, fine, cast[1] + fine], axis=1)
    best = logs[int(np.argmin(classifier.fit_error(sample, np.exp(logs))))]
    return (float(np.exp(best[0])), float(np.exp(best[1])), float(np.exp(best[2])))


def measure_cast(
    sample: np.ndarray, classifier: ColorClassifier, cast: np.ndarray, exposure: float
) -> np.ndarray:
    """The cast (log red and blue gains against green) measured from the palette colours the
    pixels take under a first guess: each well-fitting pixel's red/green and blue/green ratios
    against its palette colour's give one estimate each, and the median is the cast. Channels
    too dark to measure (in the pixel or the palette colour) are left out."""
    gains = np.exp([cast[0] + exposure, exposure, cast[1] + exposure])
    label, error = classifier.nearest(sample, gains)
    inlier = error < INLIER_ERROR
    px = sample[inlier].astype(np.float64)
    ref = classifier.refs[label[inlier]]
    out = cast.copy()
    for k, c in enumerate((0, 2)):
        ok = (px[:, c] >= MEASURABLE) & (px[:, 1] >= MEASURABLE)
        ok &= (ref[:, c] >= MEASURABLE_REF) & (ref[:, 1] >= MEASURABLE_REF)
        if np.count_nonzero(ok) >= MIN_FIT_PIXELS // 2:
            ratio = np.log(ref[ok, c] / ref[ok, 1]) - np.log(px[ok, c] / px[ok, 1])
            out[k] = float(np.median(ratio))
    return out


@dataclass(frozen=True)
class TableLook:
    """The table's colour in a frame: its median RGB and the range most of its pixels span
    (a textured table spans more), 8-bit floats."""

    median: np.ndarray  # 3
    low: np.ndarray  # 3: per channel, TABLE_SPREAD of the pixels are darker
    high: np.ndarray  # 3: ... brighter

    def contains(self, rgb: np.ndarray) -> np.ndarray:
        """Which of N x 3 pixels have the table's colour (within its range, grown by
        TABLE_MARGIN)."""
        low, high = self.low - TABLE_MARGIN, self.high + TABLE_MARGIN
        if rgb.dtype != np.uint8:
            return np.asarray(((rgb >= low) & (rgb <= high)).all(axis=1))
        # 8-bit pixels: one lookup per channel of which levels are in range.
        levels = np.arange(256, dtype=np.float64)[:, None]
        ok = (levels >= low) & (levels <= high)  # 256 x 3
        return np.asarray(ok[rgb[:, 0], 0] & ok[rgb[:, 1], 1] & ok[rgb[:, 2], 2])


def table_look(
    rgb: np.ndarray, table: np.ndarray, step: int = TABLE_SAMPLE, spread: bool = True
) -> TableLook | None:
    """The colour of the pixels of an H x W x 3 image where `table` (H x W bool) is set,
    sampled every `step` rows and columns; None when too little of the table shows. Without
    `spread`, its range is its median alone (cheaper, when the range is not needed)."""
    pixels = rgb[::step, ::step][table[::step, ::step]]
    if len(pixels) < MIN_TABLE_PIXELS:
        return None
    if pixels.dtype == np.uint8:  # order statistics from each channel's histogram
        n = len(pixels) - 1
        ranks = [round(0.5 * n)]
        if spread:
            ranks += [round(TABLE_SPREAD * n), round((1.0 - TABLE_SPREAD) * n)]
        stats = np.array([_ranked(pixels[:, c], ranks) for c in range(3)], np.float64).T
        mid = stats[0]
        if not spread:
            return TableLook(mid, mid, mid)
        return TableLook(mid, stats[1], stats[2])
    mid = np.array([median(pixels[:, c]) for c in range(3)], dtype=np.float64)
    if not spread:
        return TableLook(mid, mid, mid)
    parts = [quantile_range(pixels[:, c], TABLE_SPREAD, 1.0 - TABLE_SPREAD) for c in range(3)]
    low = np.array([p[0] for p in parts], dtype=np.float64)
    return TableLook(mid, low, np.array([p[1] for p in parts], dtype=np.float64))


def _ranked(values: np.ndarray, ranks: list[int]) -> np.ndarray:
    """The values of 8-bit samples at 0-based ranks of their sorted order (as
    `quantiles.quantile` picks them), from their histogram."""
    below = np.cumsum(np.bincount(values, minlength=256))
    return np.searchsorted(below, np.asarray(ranks), side="right")


def illuminant_from_table(
    observed: np.ndarray | None, reference: tuple[float, float, float] = REFERENCE_TABLE_RGB
) -> Illuminant:
    """The gains that bring the table's observed RGB back to its reference RGB.

    A clipped channel's gain is at most reference / CLIPPED_LEVEL; the frame is then marked
    overexposed. A channel too dark to measure borrows the mean gain of the others.
    """
    if observed is None:
        return Illuminant()
    ref = np.asarray(reference, dtype=np.float64)
    seen = np.maximum(observed, 1e-6)
    clipped = observed >= CLIPPED_LEVEL
    gains = np.where(clipped, ref / 255.0, ref / seen)
    dark = observed < DARKEST_TABLE
    if dark.any():
        gains[dark] = gains[~dark].mean() if (~dark).any() else 1.0
    g = (float(gains[0]), float(gains[1]), float(gains[2]))
    return Illuminant(g, overexposed=bool(clipped.any()))
