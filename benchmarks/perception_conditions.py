"""Real-camera conditions for the perception benchmark, with a tune and a held-out split.

Each condition changes a rendered RGB-D frame the way a real camera would before perception sees
it: exposure (a gain on every channel), a colour cast (per-channel white-balance gains of a light
warmer or cooler than the camera is balanced for), sensor noise (read noise plus shot noise that
grows with the signal), optical blur (Gaussian, or a defocus disc), JPEG compression, depth noise
in proportion to the distance with holes (pixels without a measurement, as 0 or NaN), and the
world's randomized rendering (light direction, colour and level, table colour and texture, and all
of the camera effects at once; `robot_llm.envs.appearance`).

Hold-out discipline: perception was tuned on the TUNE split only (its scene seeds and its
parameters). The HELD-OUT split uses other scene seeds and other parameters within the same
families; only its numbers are reported as the result (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from robot_llm.envs.appearance import Appearance, appearance_for, kelvin_to_rgb
from robot_llm.envs.camera_effects import apply_depth_effects, apply_rgb_effects
from robot_llm.types import CameraFrame

SPLITS = ("tune", "heldout")
# Scene seeds per split: the clean benchmark's default scenes are the tune split's.
SCENE_SEED = {"tune": 0, "heldout": 50_000}
# Seeds of the randomized looks (one per scene), and of each frame's noise.
LOOK_SEED = {"tune": 11, "heldout": 12}


def cast_gains(kelvin: float) -> tuple[float, float, float]:
    """White-balance gains of a camera balanced for daylight (6500 K) under a light at `kelvin`:
    the light's colour scaled so its brightest channel is 1 (no channel is brightened, so the
    cast alone clips nothing; over-exposure is its own condition)."""
    return kelvin_to_rgb(kelvin)


@dataclass(frozen=True)
class Condition:
    """One way of degrading frames. `camera` holds the camera effects applied to a neutral
    render (exposure, white balance, noise, Gaussian blur, JPEG, depth noise and holes);
    `defocus` is the radius (pixels) of a disc blur applied first; `nan_holes` reports depth
    holes as NaN instead of 0; `randomized` renders each scene in a random look instead."""

    name: str
    family: str
    camera: Appearance = field(default_factory=Appearance)
    defocus: float = 0.0
    nan_holes: bool = False
    randomized: bool = False

    def params(self) -> dict[str, Any]:
        """The parameters that differ from neutral, for the record."""
        neutral = Appearance().to_dict()
        out = {
            k: v for k, v in self.camera.to_dict().items() if k != "seed" and v != neutral.get(k)
        }
        if self.defocus:
            out["defocus_radius_px"] = self.defocus
        if self.nan_holes:
            out["holes_as"] = "NaN"
        if self.randomized:
            out["randomized"] = "Appearance.sample(strength=1) per scene"
        return out

    def apply(self, frame: CameraFrame, rng: np.random.Generator) -> CameraFrame:
        """The frame as this condition's camera delivers it (a randomized look is rendered by
        the world instead, so its frames come back unchanged)."""
        if self.randomized:
            return frame
        rgb = frame.rgb
        if self.defocus > 0:
            rgb = defocus(rgb, self.defocus)
        rgb = apply_rgb_effects(rgb, self.camera, rng)
        depth = apply_depth_effects(frame.depth, self.camera, rng)
        if self.nan_holes and depth is not frame.depth:
            depth = np.where(depth == 0.0, np.float32(np.nan), depth).astype(np.float32)
        return replace(frame, rgb=rgb, depth=depth)


def defocus(rgb: np.ndarray, radius: float) -> np.ndarray:
    """A defocused lens: each pixel spread evenly over a disc of `radius` pixels."""
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disc = (xx * xx + yy * yy <= radius * radius + 0.5).astype(np.float32)
    out = cv2.filter2D(rgb.astype(np.float32), -1, disc / disc.sum())
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _c(name: str, family: str, **camera: Any) -> Condition:
    return Condition(name, family, Appearance(**camera))


def conditions(split: str) -> list[Condition]:
    """The clean frames, then each real-camera condition, with this split's parameters."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    tune = split == "tune"
    low, high = (0.65, 1.35) if tune else (0.6, 1.4)
    warm, cool = (3500.0, 9000.0) if tune else (3000.0, 11000.0)
    read, shot = (2.0, 0.1) if tune else (2.5, 0.15)
    sigma, radius = (1.0, 1.5) if tune else (1.5, 2.0)
    quality = 55 if tune else 50
    depth_noise, holes = (0.0015, 0.02) if tune else (0.002, 0.03)
    return [
        Condition("clean", "clean"),
        _c(f"gain {low}x", "exposure", exposure=low),
        _c(f"gain {high}x", "exposure", exposure=high),
        _c(f"warm cast {warm:.0f} K", "colour cast", white_balance=cast_gains(warm)),
        _c(f"cool cast {cool:.0f} K", "colour cast", white_balance=cast_gains(cool)),
        _c(f"noise read {read} shot {shot}", "sensor noise", read_noise=read, shot_noise=shot),
        _c(f"Gaussian blur {sigma} px", "blur", blur=sigma),
        Condition(f"defocus blur {radius} px", "blur", defocus=radius),
        _c(f"JPEG q{quality}", "JPEG", jpeg_quality=quality),
        Condition(
            f"depth noise {depth_noise * 1000:g} mm/m, {holes:.0%} holes"
            + (" (NaN)" if not tune else ""),
            "depth",
            Appearance(depth_noise=depth_noise, depth_holes=holes),
            nan_holes=not tune,
        ),
        Condition("randomized rendering", "randomized", randomized=True),
    ]


def look(split: str, scene_index: int) -> Appearance:
    """The randomized look of one scene of a split (the world's own sampler)."""
    return appearance_for(LOOK_SEED[split], scene_index)


def frame_rng(split: str, scene_index: int, condition_index: int) -> np.random.Generator:
    """The noise of one frame: fixed by the split, the scene and the condition."""
    return np.random.default_rng([LOOK_SEED[split], scene_index, condition_index])
