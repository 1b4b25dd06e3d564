"""Camera sources by name: `uvc:0`, `uvc:/dev/video2`, `realsense`, `realsense:SERIAL`,
`folder:PATH`, `video:PATH`.

`open_source` is the one place that turns such a string (and an optional calibration file)
into a CameraSource; the CLI and anything that takes `--camera SPEC` call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from robot_llm.cameras.base import CameraError, CameraSource
from robot_llm.cameras.calibration import CameraCalibration, load_calibration

KINDS = {
    "uvc": "uvc:INDEX or uvc:/dev/videoN",
    "realsense": "realsense or realsense:SERIAL",
    "folder": "folder:PATH (an image folder)",
    "video": "video:PATH (a video file)",
}
USAGE = ", ".join(KINDS.values())


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source spec: its kind and what follows the colon ("" when nothing does)."""

    kind: str
    target: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind


def parse_source(spec: str) -> SourceSpec:
    """A source spec string parsed; `CameraError` listing the kinds when it is not one."""
    kind, _, target = spec.strip().partition(":")
    kind = kind.lower()
    if kind not in KINDS:
        raise CameraError(f"camera source {spec!r}: unknown kind; sources are {USAGE}")
    if kind in ("uvc", "folder", "video") and not target:
        raise CameraError(f"camera source {spec!r}: expected {KINDS[kind]}")
    return SourceSpec(kind, target)


def open_source(
    spec: str | SourceSpec,
    calibration: str | Path | CameraCalibration | None = None,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    raw: bool = False,
) -> CameraSource:
    """Open the camera a spec names, its frames calibrated by `calibration` (a file or a loaded
    calibration; for a folder, its own calibration.yaml when none is given). `raw` frames are
    the camera's own pixels, calibrated by nothing: what calibration itself needs."""
    parsed = parse_source(spec) if isinstance(spec, str) else spec
    cal = load_calibration(calibration) if isinstance(calibration, str | Path) else calibration
    if raw:
        cal = None
    if parsed.kind == "uvc":
        from robot_llm.cameras.uvc import UvcSource

        target = parsed.target
        device: int | str = int(target) if target.isdigit() else target
        return UvcSource(device, cal, size, fps)
    if parsed.kind == "realsense":
        from robot_llm.cameras.realsense import RealSenseSource

        return RealSenseSource(parsed.target or None, cal, size, fps)
    from robot_llm.cameras.recorded import FolderSource, VideoSource

    if parsed.kind == "folder":
        return FolderSource(parsed.target, cal, fps=fps or 30.0, own_calibration=not raw)
    return VideoSource(parsed.target, cal)


def open_table_camera(spec: str, calibration: str | Path | None = None) -> CameraSource:
    """`open_source` for a camera that looks at the table for the stack: its frames must say
    where the camera is, so the calibration (the file given, or a recorded folder's own) needs
    the camera's pose; `CameraError` says how to get one."""
    source = open_source(spec, calibration)
    cal = source.calibration
    if cal is None or not cal.has_pose:
        source.close()
        what = "has no pose" if cal is not None else "is missing"
        raise CameraError(
            f"--camera {spec}: the calibration {what}; give --camera-calibration FILE made by "
            "robot-llm camera calibrate-extrinsics (docs/cameras.md)"
        )
    return source
