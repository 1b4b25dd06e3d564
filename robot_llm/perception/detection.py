"""Intermediate results of perception: an object found in the image, before it gets its id."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from robot_llm.perception.pixels import PixelMaps


@dataclass
class Detection:
    """One object found in a frame, in the table frame."""

    kind: str
    color: str
    size: str
    position: tuple[float, float, float]
    yaw: float
    footprint: np.ndarray  # N x 2
    confidence: float
    top: float = 0.0  # height of the surface something resting on it would stand on, meters
    pixels: int = 0
    alternatives: tuple[str, ...] = ()  # other colors its pixels fit almost as well


@dataclass
class ColorRegion:
    """The pixels of one palette color, cropped to their bounding box in the maps."""

    color: str
    top: int
    left: int
    mask: np.ndarray  # bool crop
    maps: PixelMaps = field(repr=False)
    # uint8 crop: 1 + the palette index of a color the pixel fits almost as well, or 0; None
    # when no pixel of the region is ambiguous (colors.ColorClassifier.alternatives_of).
    alternatives: np.ndarray | None = field(default=None, repr=False)

    @property
    def rows(self) -> slice:
        return slice(self.top, self.top + self.mask.shape[0])

    @property
    def cols(self) -> slice:
        return slice(self.left, self.left + self.mask.shape[1])

    def crop(self, image: np.ndarray) -> np.ndarray:
        return image[self.rows, self.cols]

    def window(self, rows: slice, cols: slice) -> ColorRegion:
        """The part of this region in rows x cols of its crop."""
        top, left = self.top + (rows.start or 0), self.left + (cols.start or 0)
        return ColorRegion(self.color, top, left, self.mask[rows, cols], self.maps)

    @property
    def z(self) -> np.ndarray:
        return self.crop(self.maps.z)

    @property
    def x(self) -> np.ndarray:
        return self.crop(self.maps.x)

    @property
    def y(self) -> np.ndarray:
        return self.crop(self.maps.y)


def confidence_from(pixels: int, fit_error: float, full_pixels: float, error_scale: float) -> float:
    """A confidence in [0, 1] from how much of an object was seen and how well it fit."""
    seen = min(1.0, pixels / max(full_pixels, 1.0))
    fit = 1.0 / (1.0 + (fit_error / error_scale) ** 2)
    return float(np.clip(0.25 + 0.75 * seen * fit, 0.0, 1.0))
