"""Robot descriptions: which URDF, which joints and links by name, home pose and gripper.

A description holds names only. Indices and limits are read from the URDF when the robot is
loaded (see `robot_llm.envs.arm`), so adding another arm is a new entry here, not new code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from robot_llm.errors import InputError
from robot_llm.registry import Registry


@dataclass(frozen=True)
class GripperDescription:
    """A gripper: parallel fingers on prismatic joints that move together (the default), or
    one revolute jaw that swings against a fixed one (`kind="revolute"`, as on the SO-101).

    A revolute jaw turns about a pivot `jaw_lever` behind the tool centre along the tool axis
    and `jaw_drop` from the fixed jaw's face across it. At angle 0 its finger's face meets the
    fixed jaw's face at the tool centre, turned `jaw_tilt` radians toward it at the tip (so the
    faces are parallel at angle `jaw_tilt`); the width is the gap between the faces along the
    line through the tool centre, across the tool axis.
    """

    joints: tuple[str, ...]
    open_position: float  # joint position when fully open: meters per finger, or radians
    closed_position: float
    force: float  # newtons per finger joint (newton meters for a revolute jaw)
    # Width between the fingers is `width_per_position * sum(finger positions)`.
    width_per_position: float = 1.0
    kind: str = "prismatic"
    jaw_lever: float = 0.0
    jaw_drop: float = 0.0
    jaw_tilt: float = 0.0

    def width(self, positions: Sequence[float]) -> float:
        """Gap between the fingers (meters) at these joint positions."""
        if self.kind == "revolute":
            a = float(positions[0])
            lever, drop = self.jaw_lever, self.jaw_drop
            # The face's point at the tool centre and its direction, turned by a about the pivot.
            px = lever * math.cos(a) + drop * math.sin(a)
            pz = lever * math.sin(a) - drop * math.cos(a)
            dx, dz = math.cos(a - self.jaw_tilt), math.sin(a - self.jaw_tilt)
            return pz + (lever - px) / dx * dz + drop
        return self.width_per_position * float(sum(positions))

    def position_for(self, width: float) -> float:
        """The joint position (per joint) that opens the fingers `width` meters."""
        if self.kind != "revolute":
            return width / (self.width_per_position * len(self.joints))
        lo, hi = self.closed_position, self.open_position
        if width <= self.width([lo]):
            return lo
        for _ in range(40):  # the gap grows with the angle between closed and open: bisect
            mid = 0.5 * (lo + hi)
            if self.width([mid]) < width:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    @property
    def max_width(self) -> float:
        """The gap when fully open, meters."""
        return self.width([self.open_position] * len(self.joints))


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
    # "pybullet": PyBullet's damped least squares (with a null-space pull toward home);
    # "top_down": closed form for a pan joint, three parallel pitch joints and a roll joint about
    # the tool axis, the tool pointing straight down (envs.arm.TopDownIK).
    ik: str = "pybullet"


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


# The SO-101 (SO-ARM100 family): five STS3215 bus servos for the arm and one for a revolute jaw.
# It stands 20 cm into the table (its base at x = 0.20, robot_llm.tabletop.setups) so that the
# objects it reaches lie inside the shared table workspace; see docs/so101.md (Simulation).
SO101_HOME: Final = (-1.84, -0.3682, 0.4997, 1.4393, -1.84)
SO101: Final = RobotDescription(
    name="so101",
    urdf="sim_assets:robots/so101/so101.urdf",
    arm_joints=("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll"),
    ee_link="gripper_tcp",
    # Turned back over its left shoulder, the tool pointing down 6 cm above the table at
    # (0.16, 0.145), behind the objects' workspace, so the main camera sees all of it; yaw 0.
    home=SO101_HOME,
    # With yaw 0 the jaws close along the table's x, the moving jaw on the far side.
    ee_down=_down(),
    wrist_camera_link="wrist_camera",  # an add-on mount on the real arm
    gripper=GripperDescription(
        joints=("gripper",),
        open_position=0.80,  # about 46 degrees: 7.3 cm between the jaws at the tool centre
        closed_position=0.0,
        force=1.0,  # N m, about half the servo's stall torque: some 15 N at the jaw
        kind="revolute",
        jaw_lever=0.086,
        jaw_drop=0.014,  # the fixed jaw's face: robot_llm.tabletop.setups (fixed_jaw_offset)
        jaw_tilt=0.40,  # parallel faces on a 3.5 cm block
    ),
    base_position=(0.20, 0.0, 0.0),
    ik="top_down",
)


class UnknownRobot(InputError):
    """No simulated robot of that name."""


ROBOTS: Final[Registry[RobotDescription]] = Registry("robot", UnknownRobot)
for _robot in (PANDA, KUKA_IIWA, XARM6, SO101):
    ROBOTS.register(_robot.name, _robot)


def get_robot(name: str) -> RobotDescription:
    """The description registered under `name`; UnknownRobot lists the known names."""
    return ROBOTS.find(name)
