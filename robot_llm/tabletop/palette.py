"""Named colors and size classes of the tabletop world.

The palette is the single list of object colors: scene files, task generators, rendering and
(later) perception all read it from here.
"""

from __future__ import annotations

from typing import Final

# RGB in [0, 1]. Chosen to stay apart in hue/saturation/value under the renderer's lighting.
PALETTE: Final[dict[str, tuple[float, float, float]]] = {
    "red": (0.85, 0.10, 0.10),
    "orange": (0.95, 0.50, 0.05),
    "yellow": (0.95, 0.85, 0.10),
    "green": (0.15, 0.65, 0.20),
    "blue": (0.10, 0.25, 0.85),
    "purple": (0.50, 0.15, 0.65),
    "pink": (0.95, 0.45, 0.70),
    "cyan": (0.10, 0.80, 0.85),
    "brown": (0.45, 0.28, 0.12),
    "gray": (0.45, 0.45, 0.45),
}

COLORS: Final[tuple[str, ...]] = tuple(PALETTE)

SIZES: Final[tuple[str, ...]] = ("small", "medium", "large")

# Edge length of a cubic block per size class, meters.
BLOCK_EDGE: Final[dict[str, float]] = {"small": 0.03, "medium": 0.04, "large": 0.05}

# Bowl inner radius at the floor, per size class, meters.
BOWL_RADIUS: Final[dict[str, float]] = {"small": 0.055, "medium": 0.065, "large": 0.075}

# Side of a square flat target zone, per size class, meters.
ZONE_SIDE: Final[dict[str, float]] = {"small": 0.08, "medium": 0.10, "large": 0.12}

# Tray inner footprint (x, y) per size class, meters.
TRAY_INNER: Final[dict[str, tuple[float, float]]] = {
    "small": (0.14, 0.20),
    "medium": (0.16, 0.24),
    "large": (0.18, 0.28),
}


def rgba(color: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """The RGBA tuple of a palette color; KeyError names the color when unknown."""
    r, g, b = PALETTE[color]
    return (r, g, b, alpha)
