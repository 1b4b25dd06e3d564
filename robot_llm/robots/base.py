"""The Robot protocol: what skills and the executor use to move an arm, sim or real.

Shaped for a real arm: targets are streamed one control period at a time, limits are applied on
the robot side, and every command reports what was actually applied after those limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from robot_llm.errors import Fault
from robot_llm.tabletop.reach import REACH_MAX, REACH_MIN
from robot_llm.types import CameraFrame, RobotState

DEFAULT_MAX_EE_SPEED = 0.25  # m/s


@dataclass(frozen=True)
class RobotLimits:
    """Limits a robot enforces on every command, whatever the caller sends."""

    workspace_min: tuple[float, float, float] = REACH_MIN
    workspace_max: tuple[float, float, float] = REACH_MAX
    max_ee_speed: float = DEFAULT_MAX_EE_SPEED  # m/s
    max_yaw_rate: float = 3.0  # rad/s
    max_joint_speed: float = 1.0  # rad/s per joint for joint-position commands


@dataclass(frozen=True)
class RobotInfo:
    """A robot's description, available before and without any motion."""

    name: str
    joint_names: tuple[str, ...]
    joint_lower: tuple[float, ...]
    joint_upper: tuple[float, ...]
    control_hz: float
    max_gripper_width: float
    home: tuple[float, ...]
    cameras: tuple[str, ...] = ("main",)
    limits: RobotLimits = field(default_factory=RobotLimits)


@dataclass(frozen=True)
class Applied:
    """What a command did after the robot's limits: the target sent and what was clipped."""

    position: tuple[float, float, float]
    yaw: float
    gripper: float
    clipped: tuple[str, ...] = ()  # e.g. ("speed", "workspace")
    mode: str = "ok"


class RobotError(Fault):
    """The robot refused or could not carry out a command (e-stop, fault, lost link)."""


@runtime_checkable
class Robot(Protocol):
    """An arm with a parallel gripper and cameras, simulated or real."""

    @property
    def info(self) -> RobotInfo: ...

    def state(self) -> RobotState:
        """Current proprioception."""
        ...

    def capture(self, camera: str = "main") -> CameraFrame:
        """A fresh RGB-D frame from a camera."""
        ...

    def command_ee(self, position: np.ndarray, yaw: float, gripper: float) -> Applied:
        """Stream an end-effector target (tool pointing down, yaw about +z) and gripper opening
        (0 closed, 1 open) for one control period; returns after that period."""
        ...

    def command_joints(self, positions: np.ndarray, gripper: float) -> Applied:
        """Stream joint-position targets for one control period."""
        ...

    def hold(self) -> Applied:
        """Keep the current pose for one control period (the arm stays where it is)."""
        ...

    def stop(self) -> None:
        """Halt now and latch it: hold position, safe to call from another thread; commands
        only hold until `resume()`."""
        ...

    def resume(self) -> None:
        """Clear a latched stop, so that commands move the arm again."""
        ...

    @property
    def stopped(self) -> bool:
        """Whether a stop is latched (by `stop()`, or on the robot's side: an e-stop, a fault)."""
        ...

    def close(self) -> None:
        """Release what the robot holds (a connection, control of the arm); the arm holds."""
        ...

    def ee_target(self) -> tuple[np.ndarray, float]:
        """The end-effector target the robot is currently tracking (position, yaw)."""
        ...
