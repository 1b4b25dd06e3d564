"""Pixel colors to palette names through a lookup table over quantized RGB.

Lambertian shading scales a surface's RGB by one factor, so a pixel matches a palette color
when it is that color times a shading factor in [MIN_SHADE, MAX_SHADE], up to a small residual.
This keeps hue, saturation and brightness together: brown is dark orange in hue, gray is dark
white in chroma, and only the brightness range tells them from orange and from the table.

Under another light (illumination.py) a pixel is that color times a shading factor times the
light's per-channel gains, clipped at the sensor's ceiling: `classify_codes` labels the
quantized colors present in a frame under such gains, in the camera's own (observed) space, so
the residual tolerance stays in units of sensor noise and clipped channels only bound the color.
`fit_error` scores how well candidate gains explain a sample of pixels (the search for the
light when the table cannot tell it).
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

MIN_SHADE = 0.42  # darkest lit face of a palette color (ambient light only), as a fraction
MAX_SHADE = 1.06  # brightest face (facing the light)
MAX_RESIDUAL = 16.0  # RGB distance (0-255) from the shaded palette color
_BITS = 5  # quantization per channel: 32 levels, a 32 KiB table
_LEVELS = 1 << _BITS
OVEREXPOSED_SHADE = 1.7  # brightest face in a frame brighter than its clipped table shows
AMBIGUITY_MARGIN = 8.0  # a runner-up color this close (RGB distance) to the best is as likely
OVERSHADE_COST = 10.0  # ranking cost (RGB distance) per unit of shading above MAX_SHADE
CLIPPED_CELL = _LEVELS - 1  # the top level (248-255) of a channel may be clipped
# fit_error: the residual relative to the pixel's brightness (percent), capped, so dark and
# bright pixels weigh alike and a pixel of no palette color costs a bounded amount.
FIT_FLOOR = 40.0  # brightness (RGB norm) below which residuals are not scaled up further
FIT_CAP = 40.0
LIGHT_MEMORY = 4  # lights whose classified colors a classifier keeps (`classify_codes`)


class ColorClassifier:
    """Labels each pixel with 1 + its palette index, or 0 when it matches no palette color."""

    def __init__(self, palette: Mapping[str, tuple[float, float, float]]) -> None:
        self.names: tuple[str, ...] = tuple(palette)
        if not 0 < len(self.names) < 255:
            raise ValueError("a palette needs between 1 and 254 colors")
        refs = np.array([palette[n] for n in self.names], dtype=np.float64) * 255.0
        if refs.shape[1:] != (3,) or (refs < 0).any() or (refs > 255).any():
            raise ValueError("palette colors are RGB triples in [0, 1]")
        self.refs = refs
        residuals = _residuals(refs)
        self.table, self.alternative = _labels(residuals, residuals)
        self._fit_error, self._nearest = _fit_tables(residuals)
        # Per light (gains, overexposed): labels, alternatives and which colors are done.
        self._lights: dict[tuple[bytes, bool], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def classify(self, rgb: np.ndarray) -> np.ndarray:
        """Labels (uint8) of ... x 3 uint8 RGB pixels."""
        shift = 8 - _BITS
        q = (rgb >> shift).astype(np.uint16)
        index = (q[..., 0] << (2 * _BITS)) | (q[..., 1] << _BITS) | q[..., 2]
        return np.asarray(self.table[index])

    def classify_packed(self, rgba: np.ndarray) -> np.ndarray:
        """Labels of pixels packed as little-endian uint32 RGBA (`pack_rgba`), any shape."""
        return np.asarray(self.table[codes_of(rgba)])

    def name(self, label: int) -> str:
        return self.names[label - 1]

    def classify_codes(
        self, codes: np.ndarray, gains: np.ndarray, overexposed: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Labels and ambiguous alternatives (`alternatives_of`) of pixels given as quantized
        color codes (`codes_of`) under a light whose per-channel `gains` bring the frame to
        the reference light. Only the colors present are classified (a frame shows a few
        hundred of the 32768), and each light's answers are kept (`LIGHT_MEMORY` lights), so
        the frames of a camera whose light stays the same classify only colors new to it."""
        labels, alternatives, done = self._light_tables(gains, overexposed)
        present = np.bincount(codes, minlength=_LEVELS**3).astype(bool)
        new = np.flatnonzero(present & ~done)
        if len(new):
            labels[new], alternatives[new] = self._classify_cells(new, gains, overexposed)
            done[new] = True
        return np.asarray(labels[codes]), np.asarray(alternatives[codes])

    def _light_tables(
        self, gains: np.ndarray, overexposed: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The lookup tables of one light (labels, alternatives, which cells are filled in),
        kept in the order the lights were last used: the least recently used is forgotten."""
        g = np.asarray(gains, np.float64)
        key = (g.tobytes(), bool(overexposed))
        tables = self._lights.pop(key, None)
        if tables is None:
            size = _LEVELS**3
            tables = (np.zeros(size, np.uint8), np.zeros(size, np.uint8), np.zeros(size, bool))
            for old in list(self._lights)[: max(0, len(self._lights) - LIGHT_MEMORY + 1)]:
                self._lights.pop(old, None)
        self._lights[key] = tables
        return tables

    def forget(self) -> None:
        """Forget the colors classified under each light (`classify_codes`)."""
        self._lights.clear()

    def alternatives_of(self, rgba: np.ndarray) -> np.ndarray:
        """For pixels packed by `pack_rgba`: 1 + the palette index of a second color that fits
        them almost as well as their label (within AMBIGUITY_MARGIN, and within MAX_RESIDUAL),
        or 0 when their color is clear."""
        return np.asarray(self.alternative[codes_of(rgba)])

    def _classify_cells(
        self, cells: np.ndarray, gains: np.ndarray, overexposed: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Labels and ambiguous alternatives of quantized colors under `gains`, in the
        camera's space: a palette color shaded by s and divided by the gains, clipped at 255,
        must come within MAX_RESIDUAL. A channel at the top level may be clipped: a model
        above it fits there."""
        rgb = _cell_centers(cells).astype(np.float32)  # M x 3 (float32: half the work)
        clipped = _cell_levels(cells) == CLIPPED_CELL
        model = (self.refs / np.asarray(gains, np.float64)).astype(np.float32)[None]  # 1 x K x 3
        high = OVEREXPOSED_SHADE if overexposed else MAX_SHADE
        best = np.empty((len(cells), len(self.names)))
        rank = np.empty_like(best)
        # Most colors have no channel at the top level: their shading is a plain projection.
        some = clipped.any(axis=1)
        plain = ~some
        best[plain], rank[plain] = _fit_shaded(rgb[plain], model, high)
        if some.any():
            best[some], rank[some] = _fit_clipped(rgb[some], clipped[some], model, high)
        return _labels(best, rank)

    def fit_error(self, rgb: np.ndarray, gains: np.ndarray) -> np.ndarray:
        """How badly each of M candidate gains (M x 3) explains N unclipped pixels (N x 3):
        the mean over pixels of their relative residual from the nearest shaded palette color
        after the gains (percent, capped at FIT_CAP)."""
        return np.asarray(self._fit_error[_corrected_codes(rgb, gains)].mean(axis=1))

    def relative_errors(
        self, rgb: np.ndarray, gains: np.ndarray, overexposed: bool = False
    ) -> np.ndarray:
        """N x K: how far each of N colours (N x 3, 0-255, unquantized) lies from each of the
        K palette colours shaded and seen under a light of `gains` (as `classify_codes` models
        it), relative to the colour's brightness (percent, as `fit_error` scores it)."""
        rgb = np.asarray(rgb, np.float32)
        model = (self.refs / np.asarray(gains, np.float64)).astype(np.float32)[None]
        high = OVEREXPOSED_SHADE if overexposed else MAX_SHADE
        residual, _ = _fit_shaded(rgb, model, high)
        brightness = np.maximum(np.linalg.norm(rgb, axis=1), FIT_FLOOR)
        return np.asarray(100.0 * residual / brightness[:, None])

    def nearest(self, rgb: np.ndarray, gains: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nearest palette color (index into `names`) of each of N pixels (N x 3) after
        `gains` (3), whatever the distance, and that distance relative to the pixel's
        brightness (percent, capped at FIT_CAP)."""
        codes = _corrected_codes(rgb, np.asarray(gains)[None])[0]
        return np.asarray(self._nearest[codes]), np.asarray(self._fit_error[codes])


def _fit_shaded(rgb: np.ndarray, model: np.ndarray, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Residuals and ranking costs (M x K) of M unclipped colors (M x 3 float32) from the K
    palette colors as the camera shows them (`model`, 1 x K x 3), each shaded by the factor
    in [MIN_SHADE, `high`] that brings it nearest."""
    num = (rgb[:, None, :] * model).sum(axis=2)
    den = (model * model).sum(axis=2)
    shade = np.where(den > 0, num / np.maximum(den, 1e-9), high)
    s = np.clip(shade, MIN_SHADE, high)
    pred = np.minimum(s[:, :, None] * model, 255.0)
    diff = rgb[:, None, :] - pred
    residual = np.sqrt((diff * diff).sum(axis=2))
    return residual, residual + OVERSHADE_COST * np.maximum(s - MAX_SHADE, 0.0)


def _fit_clipped(
    rgb: np.ndarray, clipped: np.ndarray, model: np.ndarray, high: float
) -> tuple[np.ndarray, np.ndarray]:
    """`_fit_shaded` for colors with a channel at the top level (`clipped`, M x 3), which
    may be clipped: the model fits there when it reaches the ceiling, and the shading is
    tried both as projected on the other channels and raised until the model reaches it."""
    rgb = rgb.copy()
    rgb[clipped] = 255.0
    open_ = ~clipped[:, None, :]  # channels whose value is measured, M x 1 x 3
    num = (rgb[:, None, :] * model * open_).sum(axis=2)
    den = (model * model * open_).sum(axis=2)
    shade = np.where(den > 0, num / np.maximum(den, 1e-9), high)
    # A clipped channel needs the model at least at the ceiling.
    need = np.where(clipped[:, None, :], 255.0 / np.maximum(model, 1e-9), 0.0).max(axis=2)
    best = np.full(shade.shape, np.inf)
    rank = np.full(shade.shape, np.inf)
    for s in (shade, np.maximum(shade, need)):
        s = np.clip(s, MIN_SHADE, high)
        pred = np.minimum(s[:, :, None] * model, 255.0)
        diff = rgb[:, None, :] - pred
        diff = np.where(clipped[:, None, :], np.maximum(diff, 0.0), diff)
        residual = np.sqrt((diff * diff).sum(axis=2))
        # Clipped channels fit any color bright enough: of two that fit, the one that
        # needs the frame to be less overexposed is the likelier.
        cost = residual + OVERSHADE_COST * np.maximum(s - MAX_SHADE, 0.0)
        better = cost < rank
        best, rank = np.where(better, residual, best), np.where(better, cost, rank)
    return best, rank


def pack_rgba(rgb: np.ndarray) -> np.ndarray:
    """An H x W x 3 uint8 RGB image as H x W little-endian uint32 (one gather per pixel)."""
    rgba = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
    return np.asarray(rgba.view("<u4")[..., 0])


def codes_of(rgba: np.ndarray) -> np.ndarray:
    """Quantized color codes (the lookup tables' index) of pixels packed by `pack_rgba`."""
    mask = (1 << _BITS) - 1
    shift = 8 - _BITS
    r = (rgba >> shift) & mask
    g = (rgba >> (8 + shift)) & mask
    b = (rgba >> (16 + shift)) & mask
    return np.asarray((r << (2 * _BITS)) | (g << _BITS) | b, np.intp)


def _cell_levels(cells: np.ndarray) -> np.ndarray:
    """M x 3 quantization levels (0-31) of color codes."""
    mask = (1 << _BITS) - 1
    return np.stack([(cells >> (2 * _BITS)) & mask, (cells >> _BITS) & mask, cells & mask], 1)


def _cell_centers(cells: np.ndarray) -> np.ndarray:
    """M x 3 RGB (float, 0-255) at the centers of quantized color cells."""
    step = 256 // _LEVELS
    return np.asarray(_cell_levels(cells) * step + (step - 1) / 2.0, np.float64)


def _residuals(refs: np.ndarray) -> np.ndarray:
    """32768 x K: each quantized color's distance from each palette color, shaded by the
    factor in [MIN_SHADE, MAX_SHADE] that brings it nearest."""
    rgb = _cell_centers(np.arange(_LEVELS**3))
    norms = (refs * refs).sum(axis=1)
    shade = np.clip((rgb @ refs.T) / norms, MIN_SHADE, MAX_SHADE)
    return np.asarray(np.linalg.norm(rgb[:, None, :] - shade[:, :, None] * refs[None], axis=2))


def _labels(residual: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From M x K residuals (RGB distance) and ranking costs: 1 + the index of the best
    ranked color when its residual is within MAX_RESIDUAL (else 0), and 1 + the index of the
    runner-up when it also fits and ranks within AMBIGUITY_MARGIN of the best (else 0)."""
    rows = np.arange(len(residual))
    order = np.argsort(rank, axis=1)[:, :2]
    best, second = order[:, 0], order[:, 1]
    ok = residual[rows, best] <= MAX_RESIDUAL
    close = (residual[rows, second] <= MAX_RESIDUAL) & (
        rank[rows, second] - rank[rows, best] < AMBIGUITY_MARGIN
    )
    labels = np.where(ok, best + 1, 0).astype(np.uint8)
    return labels, np.where(ok & close, second + 1, 0).astype(np.uint8)


def _fit_tables(residuals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From `_residuals`: per quantized color, its residual from the nearest shaded palette
    color relative to its brightness (percent, capped at FIT_CAP), and that color's index."""
    rgb = _cell_centers(np.arange(_LEVELS**3))
    brightness = np.maximum(np.linalg.norm(rgb, axis=1), FIT_FLOOR)
    relative = 100.0 * residuals.min(axis=1) / brightness
    return np.minimum(relative, FIT_CAP).astype(np.float32), residuals.argmin(axis=1)


def _corrected_codes(rgb: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """M x N quantized color codes of N pixels (N x 3) under each of M gains (M x 3).

    Each channel is corrected once per distinct gain of that channel: a grid of gains over
    a cast and an exposure repeats each channel's gains many times."""
    g = np.asarray(gains, np.float32)
    px = np.asarray(rgb).astype(np.float32)
    codes = np.zeros((len(g), len(px)), np.uint16)
    for c, shift in ((0, 2 * _BITS), (1, _BITS), (2, 0)):
        if len(g) > 1:
            values, inverse = np.unique(g[:, c], return_inverse=True)
        else:
            values, inverse = g[:, c], np.zeros(len(g), np.intp)
        corrected = np.clip(values[:, None] * px[None, :, c], 0, 255).astype(np.uint16)
        codes |= ((corrected >> (8 - _BITS)) << shift)[inverse.ravel()]
    return codes
