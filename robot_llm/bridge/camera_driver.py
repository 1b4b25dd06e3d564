"""A driver whose main camera is a real (or recorded) camera: `bridge serve --camera SPEC`.

`CameraDriver(driver, source)` forwards the arm to `driver` and takes the frames of the cameras
it replaces ("main" by default) from a `robot_llm.cameras` source, so an arm's driver and the
camera over its table need not come from the same vendor. `describe()` reports the camera as the
source sees it (image size, calibrated intrinsics, pose on the table, whether it measures
depth), and frames are stamped on the driver's clock, as the Driver protocol asks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np

from robot_llm.bridge.description import CameraModel, RobotDescription
from robot_llm.bridge.driver import Driver
from robot_llm.cameras.base import CameraSource
from robot_llm.types import CameraFrame, RobotState


class CameraDriver:
    """`driver` with the cameras named in `cameras` captured from `source` instead."""

    def __init__(
        self, driver: Driver, source: CameraSource, cameras: Iterable[str] = ("main",)
    ) -> None:
        cal = source.calibration
        if cal is None or not cal.has_pose:
            raise ValueError(f"camera {source.name}: its calibration must give its pose")
        self.driver = driver
        self.source = source
        self.cameras = tuple(dict.fromkeys(cameras))
        base = driver.describe()
        models = {c.name: c for c in base.cameras}
        for name in self.cameras:
            models[name] = CameraModel(
                name,
                int(cal.image_size[0]),
                int(cal.image_size[1]),
                _rows(cal.camera_matrix),
                _rows(cal.table_from_camera),
                depth=not source.depth_from_table_plane,
            )
        self._description = dataclasses.replace(base, cameras=tuple(models.values()))

    def describe(self) -> RobotDescription:
        return self._description

    def capture(self, camera: str) -> CameraFrame:
        if camera not in self.cameras:
            return self.driver.capture(camera)
        frame = self.source.capture(camera)
        now = self.driver.read_state().timestamp  # frames and states share the driver's clock
        return dataclasses.replace(frame, timestamp=now, camera=camera)

    def read_state(self) -> RobotState:
        return self.driver.read_state()

    def ee_target(self) -> tuple[np.ndarray, float]:
        return self.driver.ee_target()

    def forward_kinematics(self, positions: np.ndarray) -> np.ndarray:
        return self.driver.forward_kinematics(positions)

    def write_ee(self, position: np.ndarray, yaw: float, gripper: float) -> None:
        self.driver.write_ee(position, yaw, gripper)

    def write_joints(self, positions: np.ndarray, gripper: float) -> None:
        self.driver.write_joints(positions, gripper)

    def hold(self) -> None:
        self.driver.hold()

    def stop(self) -> None:
        self.driver.stop()

    def close(self) -> None:
        try:
            self.source.close()
        finally:
            self.driver.close()

    def __getattr__(self, name: str) -> Any:
        """Anything else a particular driver offers."""
        return getattr(self.driver, name)


def _rows(matrix: Any) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(matrix, dtype=float))
