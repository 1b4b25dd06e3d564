"""Turning a source's raw images into CameraFrames: one code path for every source.

Every source hands its RGB image (and depth, when it measures any) to a `FrameBuilder`, which
checks the image size against the calibration, undistorts, attaches intrinsics and the camera's
pose, and fills in the table plane's depth for a colour-only camera. Recorded and live sources
therefore produce frames the same way, and the tests of recorded sources cover the live ones'
frame handling too.
"""

from __future__ import annotations

import logging

import numpy as np

from robot_llm.cameras.base import CameraError
from robot_llm.cameras.calibration import CameraCalibration
from robot_llm.cameras.geometry import Undistorter, nominal_intrinsics, table_plane_depth
from robot_llm.types import CameraFrame

log = logging.getLogger("robot_llm.cameras")


class FrameBuilder:
    """Builds the CameraFrames of one source.

    `calibration` gives intrinsics, distortion and pose; without it, `factory_intrinsics` (a
    RealSense's own) or a nominal guess stand in and the pose is the identity (frames can be
    looked at, not perceived). `measures_depth` says whether the source gives depth images.
    """

    def __init__(
        self,
        name: str,
        calibration: CameraCalibration | None,
        measures_depth: bool,
        factory_intrinsics: np.ndarray | None = None,
    ) -> None:
        self.name = name
        self.calibration = calibration
        self.measures_depth = measures_depth
        self.factory_intrinsics = factory_intrinsics
        self._undistort: Undistorter | None = None
        self._size: tuple[int, int] | None = None
        if not measures_depth:
            if calibration is not None and calibration.has_pose:
                log.info(
                    "%s measures no depth: its frames carry the depth of the table plane z = 0, "
                    "so heights come from objects' known sizes",
                    name,
                )
            else:
                log.info("%s measures no depth and has no pose: its frames carry no depth", name)

    @property
    def depth_from_table_plane(self) -> bool:
        return not self.measures_depth

    def intrinsics(self, size: tuple[int, int]) -> np.ndarray:
        if self.calibration is not None:
            return np.asarray(self.calibration.camera_matrix, float)
        if self.factory_intrinsics is not None:
            return np.asarray(self.factory_intrinsics, float)
        return nominal_intrinsics(size)

    def extrinsics(self) -> np.ndarray:
        if self.calibration is not None and self.calibration.table_from_camera is not None:
            return np.asarray(self.calibration.table_from_camera, float)
        return np.eye(4)

    def build(
        self,
        rgb: np.ndarray,
        depth: np.ndarray | None,
        timestamp: float,
        camera: str,
    ) -> CameraFrame:
        """A frame from an H x W x 3 uint8 RGB image and optional H x W metric depth."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise CameraError(f"{self.name}: expected an RGB image, got {rgb.dtype} {rgb.shape}")
        size = (int(rgb.shape[1]), int(rgb.shape[0]))
        self._check_size(size)
        if depth is not None and depth.shape != rgb.shape[:2]:
            raise CameraError(
                f"{self.name}: depth image is {depth.shape[1]}x{depth.shape[0]}, "
                f"colour image {size[0]}x{size[1]}"
            )
        if self._undistort is not None:
            rgb = self._undistort.rgb(rgb)
            if depth is not None:
                depth = self._undistort.depth(depth)
        k = self.intrinsics(size)
        pose = self.extrinsics()
        if depth is None:
            if self.calibration is not None and self.calibration.has_pose:
                depth = table_plane_depth(k, pose, size)
            else:
                depth = np.zeros(rgb.shape[:2], np.float32)
        return CameraFrame(
            np.ascontiguousarray(rgb),
            np.ascontiguousarray(depth, dtype=np.float32),
            k,
            pose,
            float(timestamp),
            camera,
        )

    def _check_size(self, size: tuple[int, int]) -> None:
        if size == self._size:
            return
        cal = self.calibration
        if cal is not None and tuple(cal.image_size) != size:
            w, h = cal.image_size
            raise CameraError(
                f"{self.name}: frames are {size[0]}x{size[1]} but the calibration is for {w}x{h} "
                "(ask the camera for that size, or calibrate at this one)"
            )
        if cal is not None and cal.has_distortion:
            self._undistort = Undistorter(cal.camera_matrix, cal.distortion, size)
        self._size = size


class BuiltSource:
    """The CameraSource properties every source has whose frames a `FrameBuilder` makes: its
    spec string as name, its calibration, and whether its depth is the table plane's."""

    _name: str
    builder: FrameBuilder

    @property
    def name(self) -> str:
        return self._name

    @property
    def calibration(self) -> CameraCalibration | None:
        return self.builder.calibration

    @property
    def depth_from_table_plane(self) -> bool:
        return self.builder.depth_from_table_plane
