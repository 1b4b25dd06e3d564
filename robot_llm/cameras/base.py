"""The CameraSource protocol and the errors every source raises.

A source is one physical or recorded camera. `capture(camera)` returns a CameraFrame exactly as
the Robot protocol's `capture` does (RGB, metric depth, intrinsics, the camera's pose in the
table frame), so perception cannot tell a USB camera, a RealSense or a recording from the
simulator's camera.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from robot_llm.cameras.calibration import CameraCalibration
from robot_llm.errors import Fault, InputError
from robot_llm.types import CameraFrame


class CameraError(InputError):
    """A camera the user named cannot be used (no such device, bad spec, missing package);
    one line that names it."""


class EndOfRecording(CameraError):
    """A recorded source (folder or video) has no more frames."""


class CameraFault(Fault):
    """A camera that was working stopped delivering frames (unplugged, a driver error)."""


@runtime_checkable
class CameraSource(Protocol):
    """One camera: live (USB, RealSense) or recorded (a video file, an image folder)."""

    @property
    def name(self) -> str:
        """The source's spec string, e.g. "uvc:0"; messages name the camera by it."""
        ...

    @property
    def calibration(self) -> CameraCalibration | None:
        """The calibration its frames use (None: nominal intrinsics, no pose)."""
        ...

    @property
    def depth_from_table_plane(self) -> bool:
        """True when the camera measures no depth and frames carry the table plane's depth
        instead (objects' heights then come from their known sizes, not from the frame)."""
        ...

    def capture(self, camera: str = "main") -> CameraFrame:
        """A fresh frame, named `camera`; `EndOfRecording` after a recording's last frame."""
        ...

    def close(self) -> None:
        """Release the device or file."""
        ...
