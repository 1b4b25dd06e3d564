"""An arm loaded into a PyBullet client: joints resolved by name, IK, joint and gripper commands.

This is the simulator-side robot model (panda-gym's "Robot"): it turns targets into motor
commands. Indices and limits come from the URDF via the robot description's names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet as p

from robot_llm.envs.assets import resolve_asset
from robot_llm.envs.robots import RobotDescription

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
        width = grip.width_per_position * sum(s[0] for s in states[n:]) if grip else 0.0
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
        return float(grip.width_per_position * sum(s[0] for s in states))

    @property
    def max_gripper_width(self) -> float:
        grip = self.description.gripper
        if grip is None:
            return 0.0
        return grip.width_per_position * grip.open_position * len(grip.joints)

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
        """
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
