"""An arm loaded into a PyBullet client: joints resolved by name, IK, joint and gripper commands.

This is the simulator-side robot model (panda-gym's "Robot"): it turns targets into motor
commands. Indices and limits come from the URDF via the robot description's names.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
import pybullet as p

from robot_llm.envs.assets import resolve_asset
from robot_llm.envs.robots import RobotDescription
from robot_llm.tabletop.rotations import tool_yaw

# Damping of PyBullet's damped-least-squares IK; its default (0.1) leaves centimetre errors.
IK_DAMPING = 0.01
# Fraction of the distance to the home posture taken per IK call, inside the null space.
POSTURE_GAIN = 0.2


@dataclass(frozen=True)
class JointLimits:
    lower: np.ndarray
    upper: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray


def _vector(text: str | None) -> np.ndarray:
    return np.array([float(v) for v in (text or "0 0 0").split()], dtype=float)


class TopDownIK:
    """Closed-form inverse kinematics of a five-joint arm with its tool pointing straight down.

    The arm (the SO-101's shape): a pan joint about the vertical, three pitch joints about
    parallel horizontal axes (shoulder, elbow, wrist) in one plane with the pan axis, and a
    roll joint about the tool axis. With the tool vertical, the pan sets the azimuth, the
    shoulder and elbow reach the wrist (elbow up), the wrist pitch keeps the tool vertical and
    the roll sets the yaw. Link offsets and axes are read from the URDF's joint origins.
    """

    def __init__(self, urdf: str, description: RobotDescription) -> None:
        root = ET.parse(urdf).getroot()
        joints = {j.get("name"): j for j in root.findall("joint")}
        names = description.arm_joints
        if len(names) != 5:
            raise ValueError(f"robot {description.name!r}: top-down IK needs 5 arm joints")
        origin = []
        axis = []
        for n in names:
            el = joints[n]
            o = el.find("origin")
            a = el.find("axis")
            origin.append(_vector(o.get("xyz") if o is not None else None))
            axis.append(_vector(a.get("xyz") if a is not None else "1 0 0"))
        pan, lift, elbow, flex, roll = origin
        self.pan_sign = float(np.sign(axis[0][2]))
        self.pitch_sign = float(np.sign(axis[1][1]))
        self.roll_sign = float(np.sign(axis[4][0]))
        # The tool centre's offset along the roll axis: the fixed joints from the roll joint's
        # link down to the end-effector link, walked up from the end-effector link.
        by_child = {j.find("child").get("link"): j for j in root.findall("joint")}  # type: ignore[union-attr]
        roll_link = joints[names[4]].find("child").get("link")  # type: ignore[union-attr]
        frame = np.eye(4)
        link = description.ee_link
        while link != roll_link:
            j = by_child.get(link)
            if j is None or j.get("type") != "fixed":
                raise ValueError(
                    f"robot {description.name!r}: {description.ee_link!r} is not fixed to the "
                    f"link of {names[4]!r}"
                )
            o = j.find("origin")
            step = np.eye(4)
            rpy = _vector(o.get("rpy") if o is not None else None)
            quat = p.getQuaternionFromEuler(rpy.tolist())
            step[:3, :3] = np.asarray(p.getMatrixFromQuaternion(quat)).reshape(3, 3)
            step[:3, 3] = _vector(o.get("xyz") if o is not None else None)
            frame = step @ frame
            link = j.find("parent").get("link")  # type: ignore[union-attr]
        if abs(frame[1, 3]) > 1e-9 or abs(frame[2, 3]) > 1e-9:
            raise ValueError(f"robot {description.name!r}: the tool centre is off the roll axis")
        tool = float(roll[0] + frame[0, 3])
        base = np.asarray(description.base_position, dtype=float)
        self.pan_xy = base[:2] + pan[:2]
        self.shoulder = (float(lift[0]), float(base[2] + pan[2] + lift[2]))  # (r, z) in the plane
        self.upper = (float(np.hypot(elbow[0], elbow[2])), math.atan2(elbow[2], elbow[0]))
        self.fore = (float(np.hypot(flex[0], flex[2])), math.atan2(flex[2], flex[0]))
        self.tool = tool
        self.yaw_offset = 0.0  # the tool's yaw with pan and roll at 0 (set by the Arm)

    def solve(
        self, position: np.ndarray, yaw: float, lower: np.ndarray, upper: np.ndarray
    ) -> np.ndarray:
        """Joint positions (clipped to the limits) that put the tool centre at `position`
        pointing down with `yaw`; an unreachable point gives the nearest stretch toward it."""
        dx, dy = float(position[0] - self.pan_xy[0]), float(position[1] - self.pan_xy[1])
        phi = math.atan2(dy, dx)
        r = math.hypot(dx, dy)
        px = r - self.shoulder[0]
        pz = float(position[2]) + self.tool - self.shoulder[1]
        (l1, t_upper), (l2, t_fore) = self.upper, self.fore
        d = math.hypot(px, pz)
        lo, hi = abs(l1 - l2) + 1e-6, l1 + l2 - 1e-6
        if not lo <= d <= hi:
            scale = min(max(d, lo), hi) / max(d, 1e-9)
            px, pz, d = px * scale, pz * scale, min(max(d, lo), hi)
        cos_b = (d * d - l1 * l1 - l2 * l2) / (2 * l1 * l2)
        bend = -math.acos(min(max(cos_b, -1.0), 1.0))  # elbow up: the forearm turns down
        t1 = math.atan2(pz, px) - math.atan2(l2 * math.sin(bend), l1 + l2 * math.cos(bend))
        t2 = t1 + bend
        s = self.pitch_sign
        q_lift = s * (t_upper - t1)
        q_elbow = s * (t_fore - t2) - q_lift
        q_flex = s * math.pi / 2 - q_lift - q_elbow
        q_pan = self.pan_sign * phi
        q_roll = -self.roll_sign * math.remainder(yaw - phi - self.yaw_offset, 2 * math.pi)
        if not lower[4] <= q_roll <= upper[4]:  # the other turn, when the range allows it
            alt = q_roll - math.copysign(2 * math.pi, q_roll)
            q_roll = alt if lower[4] <= alt <= upper[4] else q_roll
        q = np.array([q_pan, q_lift, q_elbow, q_flex, q_roll])
        return np.minimum(np.maximum(q, lower), upper)


class Arm:
    """A robot body in one PyBullet client, addressed by the names in its description."""

    def __init__(self, client: int, description: RobotDescription) -> None:
        self.client = client
        self.description = description
        self.body = p.loadURDF(
            resolve_asset(description.urdf),
            basePosition=description.base_position,
            useFixedBase=True,
            flags=p.URDF_USE_INERTIA_FROM_FILE,
            physicsClientId=client,
        )
        joints: dict[str, int] = {}
        links: dict[str, int] = {}
        movable: list[int] = []
        infos = []
        for j in range(p.getNumJoints(self.body, physicsClientId=client)):
            info = p.getJointInfo(self.body, j, physicsClientId=client)
            infos.append(info)
            joints[info[1].decode()] = j
            links[info[12].decode()] = j
            if info[2] != p.JOINT_FIXED:
                movable.append(j)
        self.arm_joints = [self._lookup(joints, n, "joint") for n in description.arm_joints]
        self.ee_link = self._lookup(links, description.ee_link, "link")
        self.camera_link = self._lookup(links, description.wrist_camera_link, "link")
        grip = description.gripper
        self.finger_joints = (
            [self._lookup(joints, n, "joint") for n in grip.joints] if grip is not None else []
        )
        self.movable = movable
        self._arm_in_movable = [movable.index(j) for j in self.arm_joints]

        def column(k: int, idx: list[int]) -> np.ndarray:
            return np.array([infos[j][k] for j in idx], dtype=float)

        self.limits = JointLimits(
            column(8, self.arm_joints),
            column(9, self.arm_joints),
            column(11, self.arm_joints),
            column(10, self.arm_joints),
        )
        if grip is not None:
            # Fingers grip better with high friction; the URDF leaves it at the default.
            for j in self.finger_joints:
                p.changeDynamics(
                    self.body,
                    j,
                    lateralFriction=1.5,
                    spinningFriction=0.002,
                    physicsClientId=client,
                )
        self._forces = np.maximum(self.limits.effort, 1.0)
        self._ik_damping = [IK_DAMPING] * len(movable)
        self._zero_dofs = [0.0] * len(movable)
        self._home = np.asarray(description.home, dtype=float)
        self._eps6 = 1e-6 * np.eye(6)
        self._eye_arm = np.eye(len(self.arm_joints))
        self.gripper_target = grip.open_position if grip is not None else 0.0
        self._sent_gripper_target = float("nan")
        self._state_joints = self.arm_joints + self.finger_joints
        self._n_arm = len(self.arm_joints)
        self._top_down: TopDownIK | None = None
        if description.ik == "top_down":
            self._top_down = TopDownIK(resolve_asset(description.urdf), description)
            self._top_down.yaw_offset = self._yaw_at_zero(self._top_down.pitch_sign)

    def _yaw_at_zero(self, pitch_sign: float) -> float:
        """The tool's yaw pointing down with pan and roll at 0 (the arm goes home afterwards)."""
        for j in self.arm_joints:
            p.resetJointState(self.body, j, 0.0, 0.0, physicsClientId=self.client)
        # At 0 the tool points along the arm; the wrist pitch of a quarter turn points it down.
        flex = self.arm_joints[3]
        p.resetJointState(
            self.body, flex, pitch_sign * math.pi / 2, 0.0, physicsClientId=self.client
        )
        _, quat = self.ee_pose()
        yaw = tool_yaw(quat, np.asarray(self.description.ee_down))
        for j, q in zip(self.arm_joints, self.description.home, strict=True):
            p.resetJointState(self.body, j, q, 0.0, physicsClientId=self.client)
        return float(yaw)

    def _lookup(self, table: dict[str, int], name: str, what: str) -> int:
        if name not in table:
            raise ValueError(
                f"robot {self.description.name!r}: no {what} named {name!r} in "
                f"{self.description.urdf}; it has {sorted(table)}"
            )
        return table[name]

    @property
    def has_gripper(self) -> bool:
        return self.description.gripper is not None

    def reset_home(self) -> None:
        """Teleport to the home pose with an open gripper (reset only, never during motion)."""
        for j, q in zip(self.arm_joints, self.description.home, strict=True):
            p.resetJointState(self.body, j, q, 0.0, physicsClientId=self.client)
        grip = self.description.gripper
        if grip is not None:
            for j in self.finger_joints:
                p.resetJointState(
                    self.body, j, grip.open_position, 0.0, physicsClientId=self.client
                )
            self.gripper_target = grip.open_position
        self._sent_gripper_target = float("nan")
        self.command_joints(np.asarray(self.description.home, dtype=float))
        self.command_gripper(1.0)

    def joint_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Arm joint positions and velocities."""
        q, dq, _ = self.proprioception()
        return q, dq

    def proprioception(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Arm joint positions, velocities and the gripper width, from one simulator query."""
        states = p.getJointStates(self.body, self._state_joints, physicsClientId=self.client)
        n = self._n_arm
        q = np.array([s[0] for s in states[:n]])
        dq = np.array([s[1] for s in states[:n]])
        grip = self.description.gripper
        width = grip.width([s[0] for s in states[n:]]) if grip else 0.0
        return q, dq, float(width)

    def ee_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """End-effector position (m) and orientation quaternion (x, y, z, w) in the table frame."""
        s = p.getLinkState(
            self.body, self.ee_link, computeForwardKinematics=1, physicsClientId=self.client
        )
        return np.array(s[4]), np.array(s[5])

    def link_pose(self, link: int) -> tuple[np.ndarray, np.ndarray]:
        s = p.getLinkState(self.body, link, computeForwardKinematics=1, physicsClientId=self.client)
        return np.array(s[4]), np.array(s[5])

    def gripper_width(self) -> float:
        grip = self.description.gripper
        if grip is None:
            return 0.0
        states = p.getJointStates(self.body, self.finger_joints, physicsClientId=self.client)
        return float(grip.width([s[0] for s in states]))

    @property
    def max_gripper_width(self) -> float:
        grip = self.description.gripper
        if grip is None:
            return 0.0
        return grip.max_width

    def solve_ik(
        self,
        position: np.ndarray,
        orientation: np.ndarray,
        iterations: int = 20,
        posture_gain: float = POSTURE_GAIN,
    ) -> np.ndarray:
        """Arm joint positions that put the end effector at the pose, within joint limits.

        Damped least squares from the current configuration, then one step toward the home
        posture inside the Jacobian's null space (it leaves the hand where it is to first order),
        so the elbow stays up and joints drift away from their limits over successive calls.
        A robot described with `ik="top_down"` is solved in closed form instead
        (`TopDownIK`: the yaw is read from `orientation`, which must point the tool down).
        """
        if self._top_down is not None:
            yaw = tool_yaw(np.asarray(orientation), np.asarray(self.description.ee_down))
            return self._top_down.solve(
                np.asarray(position), yaw, self.limits.lower, self.limits.upper
            )
        sol = p.calculateInverseKinematics(
            self.body,
            self.ee_link,
            position.tolist(),
            orientation.tolist(),
            jointDamping=self._ik_damping,
            maxNumIterations=iterations,
            residualThreshold=1e-5,
            physicsClientId=self.client,
        )
        q_all = np.asarray(sol)
        q = q_all[self._arm_in_movable]
        if posture_gain > 0.0:
            q = q + self._null_space_step(q_all, q, posture_gain)
        return np.minimum(np.maximum(q, self.limits.lower), self.limits.upper)

    def _null_space_step(self, q_all: np.ndarray, q: np.ndarray, gain: float) -> np.ndarray:
        zeros = self._zero_dofs
        lin, ang = p.calculateJacobian(
            self.body,
            self.ee_link,
            [0.0, 0.0, 0.0],
            q_all.tolist(),
            zeros,
            zeros,
            physicsClientId=self.client,
        )
        jac = np.vstack([np.asarray(lin), np.asarray(ang)])[:, self._arm_in_movable]
        # Projector onto the null space: I - J^T (J J^T + eps I)^-1 J.
        jjt = jac @ jac.T + self._eps6
        projector = self._eye_arm - jac.T @ np.linalg.solve(jjt, jac)
        return np.asarray(projector @ (gain * (self._home - q)))

    def command_joints(self, q: np.ndarray) -> None:
        """Stream joint-position targets to the arm's motors."""
        p.setJointMotorControlArray(
            self.body,
            self.arm_joints,
            p.POSITION_CONTROL,
            targetPositions=q.tolist(),
            forces=self._forces.tolist(),
            physicsClientId=self.client,
        )

    def command_gripper(self, opening: float) -> None:
        """Drive the fingers toward `opening` in [0, 1] (0 closed, 1 fully open)."""
        grip = self.description.gripper
        if grip is None:
            return
        opening = min(max(float(opening), 0.0), 1.0)
        if grip.kind == "revolute":  # `opening` is linear in the gap, not in the jaw's angle
            target = grip.position_for(opening * grip.max_width)
        else:
            target = grip.closed_position + opening * (grip.open_position - grip.closed_position)
        if target == self._sent_gripper_target:
            return  # motor targets persist in PyBullet; resending costs time every step
        self._sent_gripper_target = target
        self.gripper_target = target
        n = len(self.finger_joints)
        p.setJointMotorControlArray(
            self.body,
            self.finger_joints,
            p.POSITION_CONTROL,
            targetPositions=[target] * n,
            forces=[grip.force] * n,
            physicsClientId=self.client,
        )
