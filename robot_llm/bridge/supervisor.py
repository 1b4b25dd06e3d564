"""The safety supervisor: every command is checked and clipped before a driver sees it.

Steps are measured from the target the arm tracked at the last control tick, so whatever rate a
client sends at, the target moves at most one period's worth of speed per tick (latest command
wins within a period). What was clipped is named in the acknowledgement:

- "workspace": the end-effector position was moved into the workspace box;
- "speed" / "step": the position step was cut to max_ee_speed per period / max_ee_step;
- "yaw_rate": the yaw step was cut to max_yaw_rate per period;
- "gripper": the opening was clamped to 0..1;
- "joint_limits": joint targets were clamped to the joints' limits;
- "joint_speed" / "joint_step": the joint step was scaled down to the per-joint speed per period
  (the lower of max_joint_speed and the joint's own) / max_joint_step;
- "workspace" on a joint command: the target's end effector (forward kinematics of the target)
  lies outside the allowed box (the workspace box grown by the margin) and is no closer to the
  box than the reference's, so the command is cut to no motion.

Containment holds from every state: an end-effector target always steps toward a point inside
the box, and a joint target may leave the allowed box only to come closer to the box, so an arm
that is outside (at start, after a reset, after a driver glitch) can only be brought back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robot_llm.bridge.description import RobotDescription
from robot_llm.bridge.limits import SafetyLimits
from robot_llm.bridge.messages import EETarget, JointTarget, Vec3

_EPS = 1e-9
# The measured end effector may move this much further out of the allowed box in one tick before
# the server calls it a fault (tracking error, not a glitch).
OUTWARD_TOLERANCE = 0.002  # m
ForwardKinematics = Callable[[np.ndarray], np.ndarray]


@dataclass
class Reference:
    """The target the arm tracked at the last control tick."""

    position: Vec3  # m
    yaw: float  # rad
    gripper: float  # 0..1
    joints: np.ndarray  # (n,) joint target, or the measured joints after an end-effector tick


class Supervisor:
    """Applies SafetyLimits to commands for one robot; pure logic, no threads or sockets.

    `fk` gives the end-effector position of a joint vector (the driver's forward kinematics).
    """

    def __init__(
        self, limits: SafetyLimits, robot: RobotDescription, fk: ForwardKinematics
    ) -> None:
        self.limits = limits
        self.fk = fk
        self.period = 1.0 / robot.control_hz
        self.lower = np.array([j.lower for j in robot.joints], dtype=float)
        self.upper = np.array([j.upper for j in robot.joints], dtype=float)
        speeds = [min(limits.max_joint_speed, j.max_velocity) for j in robot.joints]
        self.joint_step = np.array(speeds, dtype=float) * self.period
        self.box_min = np.asarray(limits.workspace_min, dtype=float)
        self.box_max = np.asarray(limits.workspace_max, dtype=float)
        self._lo, self._hi = limits.workspace_min, limits.workspace_max
        m = limits.workspace_margin
        self.allowed_min, self.allowed_max = self.box_min - m, self.box_max + m

    def check_ee(self, cmd: EETarget, ref: Reference) -> tuple[EETarget, tuple[str, ...]]:
        """The end-effector target the arm may track next period, and the limits that cut it."""
        # Plain floats: this runs for every command, on the path of the acknowledgement.
        lim = self.limits
        clipped: list[str] = []
        (x, y, z), (lx, ly, lz), (hx, hy, hz) = cmd.position, self._lo, self._hi
        px, py, pz = min(max(x, lx), hx), min(max(y, ly), hy), min(max(z, lz), hz)
        if (px, py, pz) != (x, y, z):
            clipped.append("workspace")
        rx, ry, rz = ref.position
        n = math.hypot(px - rx, py - ry, pz - rz)
        by_speed, by_step = lim.max_ee_speed * self.period, lim.max_ee_step
        if n > by_speed + _EPS:
            clipped.append("speed")
        if n > by_step + _EPS:
            clipped.append("step")
        allowed = min(by_speed, by_step)
        if n > allowed + _EPS:  # along the asked direction, cut to the allowed length
            k = allowed / n
            px, py, pz = rx + (px - rx) * k, ry + (py - ry) * k, rz + (pz - rz) * k
        position = (px, py, pz)
        dyaw = math.remainder(cmd.yaw - ref.yaw, 2 * math.pi)
        max_dyaw = lim.max_yaw_rate * self.period
        if abs(dyaw) > max_dyaw + _EPS:
            dyaw = math.copysign(max_dyaw, dyaw)
            clipped.append("yaw_rate")
        yaw = math.remainder(ref.yaw + dyaw, 2 * math.pi)
        gripper = self._gripper(cmd.gripper, clipped)
        return EETarget(position, yaw, gripper), tuple(clipped)

    def check_joints(self, cmd: JointTarget, ref: Reference) -> tuple[JointTarget, tuple[str, ...]]:
        """The joint target the arm may track next period, and the limits that cut it."""
        clipped: list[str] = []
        q = np.clip(cmd.positions, self.lower, self.upper)
        if np.abs(q - cmd.positions).max(initial=0.0) > _EPS:
            clipped.append("joint_limits")
        step = q - ref.joints
        size = np.abs(step)
        scale = 1.0
        if (size > self.joint_step + _EPS).any():
            clipped.append("joint_speed")
            scale = min(scale, float(np.min(self.joint_step / np.maximum(size, _EPS))))
        if size.max(initial=0.0) > self.limits.max_joint_step + _EPS:
            clipped.append("joint_step")
            scale = min(scale, self.limits.max_joint_step / float(size.max()))
        if scale < 1.0:
            q = ref.joints + step * scale  # scaled as a whole: the path keeps its direction
        target = self.fk(q)
        if not self.allowed(target) and self.distance(target) >= self.distance(self.fk(ref.joints)):
            q = np.array(ref.joints, dtype=float)  # no step that leads away from the box
            clipped.append("workspace")
        gripper = self._gripper(cmd.gripper, clipped)
        return JointTarget(q, gripper), tuple(clipped)

    def allowed(self, position: np.ndarray) -> bool:
        """Whether a point lies in the workspace box grown by the margin."""
        p = np.asarray(position, dtype=float)
        return bool(((p >= self.allowed_min) & (p <= self.allowed_max)).all())

    def distance(self, position: np.ndarray) -> float:
        """How far a point lies outside the workspace box (0 inside)."""
        p = np.asarray(position, dtype=float)
        return float(
            np.linalg.norm(np.maximum(self.box_min - p, 0) + np.maximum(p - self.box_max, 0))
        )

    def moved_out(self, before: np.ndarray, after: np.ndarray) -> bool:
        """Whether the measured end effector is outside the allowed box and went further from
        the workspace box in one tick than tracking explains: the arm did what nobody asked."""
        if self.allowed(after):
            return False
        return self.distance(after) > self.distance(before) + OUTWARD_TOLERANCE

    @staticmethod
    def _gripper(value: float, clipped: list[str]) -> float:
        g = min(max(value, 0.0), 1.0)
        if g != value:
            clipped.append("gripper")
        return g
