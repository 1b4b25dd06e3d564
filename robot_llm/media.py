"""Writing camera frames to video files with OpenCV."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from robot_llm.errors import Fault


class MediaError(Fault):
    """A video could not be written."""


def caption(frame: np.ndarray, text: str) -> np.ndarray:
    """A copy of an RGB frame with a line of text on a dark band at the bottom."""
    import cv2

    out = np.ascontiguousarray(frame.copy())
    h = out.shape[0]
    band = max(18, h // 18)
    out[h - band :, :] = (out[h - band :, :] * 0.35).astype(np.uint8)
    scale = band / 34.0
    cv2.putText(
        out,
        text[:90],
        (6, h - band // 4 - 2),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return out


def write_mp4(path: str | Path, frames: Sequence[np.ndarray], fps: float) -> Path:
    """Write RGB uint8 frames (H x W x 3, all the same size) to an mp4 file."""
    import cv2

    if not frames:
        raise MediaError(f"{path}: no frames to write")
    out = Path(path)
    if out.parent and not out.parent.exists():
        raise MediaError(f"{path}: folder {out.parent} does not exist")
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), float(fps), (w, h))
    if not writer.isOpened():
        raise MediaError(f"{path}: OpenCV cannot open an mp4 writer")
    try:
        for frame in frames:
            if frame.shape[:2] != (h, w):
                raise MediaError(f"{path}: frame size {frame.shape[:2]} differs from {(h, w)}")
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return out
