"""Intel RealSense RGB-D cameras through `pyrealsense2` (the `realsense` extra).

Depth is aligned to the colour image by librealsense (`rs.align`), so both share the colour
camera's intrinsics, and scaled to meters with the device's depth scale; 0 stays "no depth".
Without a calibration file the colour stream's factory intrinsics are used.

This module is not exercised by the test suite (no device, no package there); it is kept to the
few calls every RealSense example makes.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from robot_llm.cameras.base import CameraError, CameraFault
from robot_llm.cameras.calibration import CameraCalibration
from robot_llm.cameras.frames import BuiltSource, FrameBuilder
from robot_llm.types import CameraFrame

DEFAULT_SIZE = (640, 480)
DEFAULT_FPS = 30
FRAME_TIMEOUT_MS = 2000
MISSING = (
    "realsense: the pyrealsense2 package is not installed; "
    "install the extra: pip install 'robot-llm[realsense]'"
)


def import_realsense() -> Any:
    """The pyrealsense2 module; `CameraError` naming the extra when it is not installed."""
    try:
        return importlib.import_module("pyrealsense2")
    except ImportError:
        raise CameraError(MISSING) from None


def list_devices() -> list[dict[str, str]]:
    """Connected RealSense devices (name and serial number); [] without the package."""
    try:
        rs = importlib.import_module("pyrealsense2")
    except ImportError:
        return []
    return [
        {
            "spec": f"realsense:{d.get_info(rs.camera_info.serial_number)}",
            "name": str(d.get_info(rs.camera_info.name)),
        }
        for d in rs.context().query_devices()
    ]


class RealSenseSource(BuiltSource):
    """A RealSense camera (`realsense`, or `realsense:SERIAL` for one of several)."""

    def __init__(
        self,
        serial: str | None = None,
        calibration: CameraCalibration | None = None,
        size: tuple[int, int] | None = None,
        fps: float | None = None,
    ) -> None:
        rs = import_realsense()
        self._name = f"realsense:{serial}" if serial else "realsense"
        self.rs = rs
        width, height = size or (calibration.image_size if calibration else DEFAULT_SIZE)
        rate = int(fps or DEFAULT_FPS)
        config = rs.config()
        if serial:
            config.enable_device(serial)
        config.enable_stream(rs.stream.color, width, height, rs.format.rgb8, rate)
        config.enable_stream(rs.stream.depth, width, height, rs.format.z16, rate)
        self.pipeline = rs.pipeline()
        try:
            profile = self.pipeline.start(config)
        except RuntimeError as err:
            detail = " ".join(str(err).split())
            raise CameraError(
                f"{self._name}: cannot start {width}x{height} at {rate} fps: {detail}"
            ) from None
        self.depth_scale = float(profile.get_device().first_depth_sensor().get_depth_scale())
        self.align = rs.align(rs.stream.color)
        color = profile.get_stream(rs.stream.color).as_video_stream_profile().get_intrinsics()
        factory = np.array(
            [[color.fx, 0.0, color.ppx], [0.0, color.fy, color.ppy], [0.0, 0.0, 1.0]]
        )
        self.factory_distortion = np.asarray(color.coeffs, float)
        self.size = (int(color.width), int(color.height))
        self.builder = FrameBuilder(
            self._name, calibration, measures_depth=True, factory_intrinsics=factory
        )

    @property
    def factory_calibration(self) -> CameraCalibration:
        """The colour stream's own intrinsics and distortion, as a calibration without a pose
        (what `calibrate-extrinsics` starts from when there is no calibration file)."""
        k = np.asarray(self.builder.factory_intrinsics)
        return CameraCalibration(
            self.size, k, self.factory_distortion, {"method": "realsense factory intrinsics"}
        )

    def capture(self, camera: str = "main") -> CameraFrame:
        try:
            frames = self.pipeline.wait_for_frames(FRAME_TIMEOUT_MS)
        except RuntimeError as err:
            raise CameraFault(f"{self._name}: no frame: {' '.join(str(err).split())}") from None
        aligned = self.align.process(frames)
        color, depth = aligned.get_color_frame(), aligned.get_depth_frame()
        if not color or not depth:
            raise CameraFault(f"{self._name}: a frame came without colour or depth")
        rgb = np.asanyarray(color.get_data()).copy()
        meters = np.asanyarray(depth.get_data()).astype(np.float32) * self.depth_scale
        return self.builder.build(rgb, meters, color.get_timestamp() / 1000.0, camera)

    def close(self) -> None:
        self.pipeline.stop()
