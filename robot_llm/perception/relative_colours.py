"""Objects given one colour that cannot all be it: the light's cast cancels between them.

Under a light the frame's estimate gets wrong, a yellow block can take the label orange next to
a real orange block (both then look orange to the planner, and "the yellow block" is a
question). One light's per-channel gains shift every object's log chromaticity (log red/green,
log blue/green) by the same amount, so the difference between two objects' chromaticities is
the same under any gains. Among objects labelled with one colour, the one whose chromaticity
the frame's gains bring nearest that colour is taken to be it (the anchor); each other one is
that colour plus its difference from the anchor. When that lands at least SPLIT of the way to
another palette colour of another hue (not brown for orange: that differs in brightness and
saturation, which shading changes too) and nearer to it than to the label, the object is that
other colour, with the label kept as its alternative (so the planner still asks where only the
label would do).
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping, Sequence

import numpy as np

from robot_llm.perception.detection import ColorRegion, Detection
from robot_llm.perception.shapes import inside_convex

SPLIT = 0.5  # of the palette colours' distance along the line between them
# Palette colours whose hues are this close (degrees), or either of which has no hue (gray),
# differ in brightness and saturation (brown is dark orange), which shading and the blur of a
# rim change too: never told apart this way.
MIN_HUE_APART = 12.0
MIN_SATURATION = 0.2
DARKEST = 20.0  # 8-bit channel values below this are mostly noise: floored for the ratios
MIN_PIXELS = 30  # an object's pixels of its colour needed to measure its chromaticity
CLIPPED = 250.0  # a median channel this bright may be clipped: its ratios are only bounds


def chromaticity(rgb: np.ndarray) -> np.ndarray:
    """... x 2 log red/green and blue/green of ... x 3 colours (0-255)."""
    px = np.maximum(np.asarray(rgb, np.float64), DARKEST)
    return np.log(px[..., [0, 2]] / px[..., [1]])


def separate_confused(
    detections: list[Detection],
    regions: list[ColorRegion],
    palette: Mapping[str, tuple[float, float, float]],
    gains: Sequence[float] = (1.0, 1.0, 1.0),
) -> None:
    """Relabel (in place) each object whose colour, relative to the best-fitting object of its
    label, is another palette colour's (see the module). `gains` are the frame's light."""
    refs = {
        name: chromaticity(np.asarray(rgb, np.float64) * 255.0) for name, rgb in palette.items()
    }
    hues = {name: _hue(rgb) for name, rgb in palette.items()}
    shift = np.log([gains[0] / gains[1], gains[2] / gains[1]])
    by_name = {r.color: r for r in regions}
    groups: dict[str, list[Detection]] = {}
    for det in detections:
        groups.setdefault(det.color, []).append(det)
    changes: list[tuple[Detection, str]] = []
    for colour, group in groups.items():
        region = by_name.get(colour)
        if region is None or len(group) < 2 or colour not in refs:
            continue
        seen = [(d, c) for d in group if (c := _median_chromaticity(d, region)) is not None]
        if len(seen) < 2:
            continue
        own = refs[colour]
        anchor = min(seen, key=lambda dc: float(np.linalg.norm(dc[1] + shift - own)))[1]
        for det, measured in seen:
            implied = own + measured - anchor
            other = _other_colour(implied, colour, refs, hues)
            if other is not None:
                changes.append((det, other))
    for det, other in changes:
        det.alternatives = (det.color,)
        det.color = other


def _hue(rgb: Sequence[float]) -> float | None:
    """A palette colour's hue in degrees; None for one too grey to have one."""
    h, _, s = colorsys.rgb_to_hls(*(float(c) for c in rgb))
    return None if s < MIN_SATURATION else 360.0 * h


def _other_colour(
    implied: np.ndarray,
    colour: str,
    refs: Mapping[str, np.ndarray],
    hues: Mapping[str, float | None],
) -> str | None:
    """The palette colour of another hue than `colour` that the chromaticity `implied` lies at
    least SPLIT of the way towards and nearer to than to `colour`; None if there is none."""
    own = refs[colour]
    best, best_distance = None, float(np.linalg.norm(implied - own))
    for name, ref in refs.items():
        axis = ref - own
        length2 = float(axis @ axis)
        if name == colour or length2 < 1e-6 or not _hues_apart(hues[name], hues[colour]):
            continue
        distance = float(np.linalg.norm(implied - ref))
        if float((implied - own) @ axis) / length2 >= SPLIT and distance < best_distance:
            best, best_distance = name, distance
    return best


def _hues_apart(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return False
    apart = abs(a - b) % 360.0
    return min(apart, 360.0 - apart) >= MIN_HUE_APART


def _median_chromaticity(det: Detection, region: ColorRegion) -> np.ndarray | None:
    """The chromaticity of the median colour of the region's pixels inside the object's
    footprint; None when too few pixels show it or a channel may be clipped (a gain no longer
    shifts a clipped colour's chromaticity as it shifts the others')."""
    if len(det.footprint) < 3:
        return None
    corners = np.asarray(det.footprint, np.float64)
    x, y = region.x, region.y
    (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
    # Only the pixels in the footprint's bounding box are tested against the footprint.
    near = region.mask & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    inside = inside_convex(corners, x[near], y[near])
    if np.count_nonzero(inside) < MIN_PIXELS:
        return None
    rgb = region.crop(region.maps.rgb)[near][inside]
    colour = np.median(rgb, axis=0)
    if (colour >= CLIPPED).any():  # the sensor's ceiling, not the light, shaped its ratios
        return None
    return chromaticity(colour)
