"""Pixel colors to palette names through a lookup table over quantized RGB.

Lambertian shading scales a surface's RGB by one factor, so a pixel matches a palette color
when it is that color times a shading factor in [MIN_SHADE, MAX_SHADE], up to a small residual.
This keeps hue, saturation and brightness together: brown is dark orange in hue, gray is dark
white in chroma, and only the brightness range tells them from orange and from the table.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

MIN_SHADE = 0.42  # darkest lit face of a palette color (ambient light only), as a fraction
MAX_SHADE = 1.06  # brightest face (facing the light)
MAX_RESIDUAL = 16.0  # RGB distance (0-255) from the shaded palette color
_BITS = 5  # quantization per channel: 32 levels, a 32 KiB table


class ColorClassifier:
    """Labels each pixel with 1 + its palette index, or 0 when it matches no palette color."""

    def __init__(self, palette: Mapping[str, tuple[float, float, float]]) -> None:
        self.names: tuple[str, ...] = tuple(palette)
        if not 0 < len(self.names) < 255:
            raise ValueError("a palette needs between 1 and 254 colors")
        refs = np.array([palette[n] for n in self.names], dtype=np.float64) * 255.0
        if refs.shape[1:] != (3,) or (refs < 0).any() or (refs > 255).any():
            raise ValueError("palette colors are RGB triples in [0, 1]")
        self.table = _lookup_table(refs)

    def classify(self, rgb: np.ndarray) -> np.ndarray:
        """Labels (uint8) of ... x 3 uint8 RGB pixels."""
        shift = 8 - _BITS
        q = (rgb >> shift).astype(np.uint16)
        index = (q[..., 0] << (2 * _BITS)) | (q[..., 1] << _BITS) | q[..., 2]
        return np.asarray(self.table[index])

    def classify_packed(self, rgba: np.ndarray) -> np.ndarray:
        """Labels of pixels packed as little-endian uint32 RGBA (`pack_rgba`), any shape."""
        mask = (1 << _BITS) - 1
        shift = 8 - _BITS
        r = (rgba >> shift) & mask
        g = (rgba >> (8 + shift)) & mask
        b = (rgba >> (16 + shift)) & mask
        return np.asarray(self.table[(r << (2 * _BITS)) | (g << _BITS) | b])

    def name(self, label: int) -> str:
        return self.names[label - 1]


def pack_rgba(rgb: np.ndarray) -> np.ndarray:
    """An H x W x 3 uint8 RGB image as H x W little-endian uint32 (one gather per pixel)."""
    rgba = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
    return np.asarray(rgba.view("<u4")[..., 0])


def _lookup_table(refs: np.ndarray) -> np.ndarray:
    levels = 1 << _BITS
    step = 256 // levels
    centers = np.arange(levels) * step + (step - 1) / 2.0
    r, g, b = np.meshgrid(centers, centers, centers, indexing="ij")
    rgb = np.stack([r, g, b], axis=-1).reshape(-1, 3)
    # Best shading factor per palette color, clamped to the lit range, and the residual left.
    norms = (refs * refs).sum(axis=1)
    shade = np.clip((rgb @ refs.T) / norms, MIN_SHADE, MAX_SHADE)
    residual = np.linalg.norm(rgb[:, None, :] - shade[:, :, None] * refs[None], axis=2)
    best = residual.argmin(axis=1)
    ok = residual[np.arange(len(rgb)), best] <= MAX_RESIDUAL
    return np.where(ok, best + 1, 0).astype(np.uint8)
