"""Robot descriptions: which URDF, which joints and links by name, home pose and gripper.

A description holds names only. Indices and limits are read from the URDF when the robot is
loaded (see `robot_llm.envs.arm`), so adding another arm is a new entry here, not new code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from robot_llm.errors import InputError
from robot_llm.registry import Registry


@dataclass(frozen=True)
class GripperDescription:
    """A parallel gripper driven by one or more prismatic joints that move together."""

    joints: tuple[str, ...]
    open_position: float  # joint position when fully open, meters per finger
    closed_position: float
    force: float  # newtons per finger joint
    # Width between the fingers is `width_per_position * sum(finger positions)`.
    width_per_position: float = 1.0


@dataclass(frozen=True)
class RobotDescription:
    """Everything needed to load and drive an arm, by name."""

    name: str
    urdf: str  # "pybullet_data:<relative path>" or "sim_assets:<relative path>"
    arm_joints: tuple[str, ...]
    ee_link: str  # tool center point used for IK and reported as the end-effector pose
    home: tuple[float, ...]  # arm joint positions, radians
    # Quaternion (x, y, z, w) of the end-effector pointing straight down with yaw 0.
    ee_down: tuple[float, float, float, float]
    wrist_camera_link: str
    gripper: GripperDescription | None = None
    base_position: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _down(roll: float = math.pi) -> tuple[float, float, float, float]:
    # Rotation of `roll` about x: turns +z of the tool frame to point at the table.
    return (math.sin(roll / 2), 0.0, 0.0, math.cos(roll / 2))


PANDA: Final = RobotDescription(
    name="panda",
    urdf="pybullet_data:franka_panda/panda.urdf",
    arm_joints=tuple(f"panda_joint{i}" for i in range(1, 8)),
    ee_link="panda_grasptarget",
    # Tucked, so the main camera sees the table, with the tool pointing down (joint 6 = joint 2 -
    # joint 4) and the end effector at x = 0.168, inside the workspace box (x >= 0.15).
    home=(0.0, -1.4, 0.0, -2.9, 0.0, 1.5, math.pi / 4),
    ee_down=_down(),
    wrist_camera_link="panda_hand",
    gripper=GripperDescription(
        joints=("panda_finger_joint1", "panda_finger_joint2"),
        open_position=0.04,
        closed_position=0.0,
        force=40.0,
    ),
)

KUKA_IIWA: Final = RobotDescription(
    name="kuka_iiwa",
    urdf="pybullet_data:kuka_iiwa/model.urdf",
    arm_joints=tuple(f"lbr_iiwa_joint_{i}" for i in range(1, 8)),
    ee_link="lbr_iiwa_link_7",
    home=(0.0, 0.6, 0.0, -1.3, 0.0, 1.2, 0.0),
    ee_down=_down(),
    wrist_camera_link="lbr_iiwa_link_7",
)

XARM6: Final = RobotDescription(
    name="xarm6",
    urdf="pybullet_data:xarm/xarm6_robot.urdf",
    arm_joints=tuple(f"joint{i}" for i in range(1, 7)),
    ee_link="link6",
    home=(0.0, -0.3, -0.8, 0.0, 1.1, 0.0),
    ee_down=_down(),
    wrist_camera_link="link6",
)


class UnknownRobot(InputError):
    """No simulated robot of that name."""


ROBOTS: Final[Registry[RobotDescription]] = Registry("robot", UnknownRobot)
for _robot in (PANDA, KUKA_IIWA, XARM6):
    ROBOTS.register(_robot.name, _robot)


def get_robot(name: str) -> RobotDescription:
    """The description registered under `name`; UnknownRobot lists the known names."""
    return ROBOTS.find(name)
