"""`camera check`'s work: perceive one frame and draw what was perceived over it.

The drawing is the operator console's (`console.views.draw_objects`): each object's top
outlined in its colour and labelled with its id, so a check looks like the console's view.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from robot_llm.cameras.base import CameraError
from robot_llm.types import CameraFrame, Scene


@dataclass(frozen=True)
class CheckResult:
    """What perception made of a frame, how long it took, and the frame with it drawn."""

    scene: Scene
    seconds: float
    drawing: np.ndarray  # H x W x 3 RGB


def check_frame(frame: CameraFrame, out: Path | None = None, depth: bool = True) -> CheckResult:
    """Perceive `frame` as the stack would (CameraPerceiver; ColourOnlyPerceiver for a camera
    that measures no `depth`), draw the objects over it, and write the drawing to `out` (PNG)
    when given."""
    from robot_llm.console.views import draw_objects
    from robot_llm.perception import CameraPerceiver, ColourOnlyPerceiver

    perceiver = CameraPerceiver() if depth else ColourOnlyPerceiver()
    t0 = time.perf_counter()
    scene = perceiver.perceive(frame)
    seconds = time.perf_counter() - t0
    drawing = draw_objects(frame.rgb, scene.objects, frame.intrinsics, frame.extrinsics)
    if out is not None and not cv2.imwrite(str(out), np.ascontiguousarray(drawing[:, :, ::-1])):
        raise CameraError(f"{out}: cannot write an image there")
    return CheckResult(scene, seconds, drawing)
