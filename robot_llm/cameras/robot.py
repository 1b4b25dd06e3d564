"""A Robot whose camera is a CameraSource: any arm, with a real (or recorded) camera's frames.

`CameraRobot(robot, source)` forwards everything to `robot` except `capture` of the cameras it
replaces ("main" by default), which comes from `source`. That is how a USB camera or a
RealSense over the table joins an arm behind the bridge (or a simulated one, to replay a
recording through the stack).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from robot_llm.cameras.base import CameraSource
from robot_llm.robots.base import Applied, Robot, RobotInfo
from robot_llm.types import CameraFrame, RobotState


class CameraRobot:
    """`robot` with the cameras named in `cameras` captured from `source` instead."""

    def __init__(
        self, robot: Robot, source: CameraSource, cameras: Iterable[str] = ("main",)
    ) -> None:
        self.robot = robot
        self.source = source
        self.cameras = frozenset(cameras)

    @property
    def info(self) -> RobotInfo:
        return self.robot.info

    def state(self) -> RobotState:
        return self.robot.state()

    def capture(self, camera: str = "main") -> CameraFrame:
        if camera in self.cameras:
            return self.source.capture(camera)
        return self.robot.capture(camera)

    def camera_depth(self, camera: str = "main") -> bool:
        """Whether the camera measures depth (a colour-only source's frames do not)."""
        if camera in self.cameras:
            return not self.source.depth_from_table_plane
        own = getattr(self.robot, "camera_depth", None)
        return bool(own(camera)) if own is not None else True

    def next_frame(self, camera: str = "main", after: float | None = None) -> CameraFrame:
        """A live view's next frame: the source's for the cameras it replaces (a live camera
        paces itself), else the robot's stream (or a capture, for a robot without one)."""
        if camera in self.cameras:
            return self.source.capture(camera)
        stream = getattr(self.robot, "next_frame", None)
        return stream(camera, after) if stream is not None else self.robot.capture(camera)

    def command_ee(self, position: np.ndarray, yaw: float, gripper: float) -> Applied:
        return self.robot.command_ee(position, yaw, gripper)

    def command_joints(self, positions: np.ndarray, gripper: float) -> Applied:
        return self.robot.command_joints(positions, gripper)

    def hold(self) -> Applied:
        return self.robot.hold()

    def stop(self) -> None:
        self.robot.stop()

    def resume(self) -> None:
        self.robot.resume()

    @property
    def stopped(self) -> bool:
        return self.robot.stopped

    def close(self) -> None:
        try:
            self.source.close()
        finally:
            self.robot.close()

    def ee_target(self) -> tuple[np.ndarray, float]:
        return self.robot.ee_target()

    def __getattr__(self, name: str) -> Any:
        """Anything else a particular robot offers (a sim robot's world, a link's state)."""
        return getattr(self.robot, name)


def attach_camera(
    robot: Robot, spec: str, calibration: str | None = None, cameras: Iterable[str] = ("main",)
) -> CameraRobot:
    """`robot` seeing through the camera `spec` names, placed on the table by its calibration
    (robot_llm.cameras.open_table_camera)."""
    from robot_llm.cameras.spec import open_table_camera

    return CameraRobot(robot, open_table_camera(spec, calibration), cameras)
