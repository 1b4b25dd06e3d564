"""A simulated Robot over the envs/ tabletop world (PyBullet stays behind this class)."""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from robot_llm.envs.world import PHYSICS_HZ, TabletopWorld
from robot_llm.robots.base import Applied, RobotInfo, RobotLimits
from robot_llm.tabletop.rotations import tool_orientation, tool_yaw
from robot_llm.types import CameraFrame, RobotState


def _limits_of(name: str) -> RobotLimits:
    """The robot's own reach box and speed (robot_llm.tabletop.setups); the defaults for a
    robot without a setup of its own."""
    from robot_llm.tabletop.setups import SETUPS

    setup = SETUPS.get(name)
    if setup is None:
        return RobotLimits()
    return RobotLimits(
        workspace_min=setup.reach_min,
        workspace_max=setup.reach_max,
        max_ee_speed=setup.max_ee_speed,
    )


class SimRobot:
    """Robot protocol on a TabletopWorld: each command advances physics by one control period.

    With `realtime=True` each period also waits for wall-clock time, as a real arm would.
    """

    def __init__(
        self,
        world: TabletopWorld,
        control_hz: int = 24,
        limits: RobotLimits | None = None,
        realtime: bool = False,
    ) -> None:
        if PHYSICS_HZ % control_hz:
            raise ValueError(f"control_hz must divide {PHYSICS_HZ}, got {control_hz}")
        self.world = world
        self.control_hz = control_hz
        self.substeps = PHYSICS_HZ // control_hz
        self.limits = limits or _limits_of(world.require_arm().description.name)
        self.realtime = realtime
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._sim_time = 0.0
        arm = world.require_arm()
        self._down = np.asarray(arm.description.ee_down)
        self._sync_target()
        d = arm.description
        self._info = RobotInfo(
            name=d.name,
            joint_names=d.arm_joints,
            joint_lower=tuple(float(v) for v in arm.limits.lower),
            joint_upper=tuple(float(v) for v in arm.limits.upper),
            control_hz=float(control_hz),
            max_gripper_width=arm.max_gripper_width,
            home=d.home,
            cameras=("main", "wrist"),
            limits=self.limits,
        )

    def _sync_target(self) -> None:
        arm = self.world.require_arm()
        pos, quat = arm.ee_pose()
        self._target = np.asarray(pos, dtype=float)
        self._yaw = tool_yaw(quat, self._down)
        grip = arm.description.gripper
        if grip is None:
            self._gripper = 0.0
        elif grip.kind == "revolute":  # openings are linear in the gap (envs.arm)
            self._gripper = grip.width([arm.gripper_target]) / grip.max_width
        else:
            self._gripper = (arm.gripper_target - grip.closed_position) / (
                grip.open_position - grip.closed_position
            )

    # -- Robot protocol -------------------------------------------------------------------------
    @property
    def info(self) -> RobotInfo:
        return self._info

    @property
    def sim_time(self) -> float:
        return self._sim_time

    def state(self) -> RobotState:
        with self._lock:  # one physics client: no reads while another thread steps it
            arm = self.world.require_arm()
            q, dq, width = arm.proprioception()
            pos, quat = arm.ee_pose()
        mode = "holding" if self._stop.is_set() else "ok"
        return RobotState(
            tuple(float(v) for v in q),
            tuple(float(v) for v in dq),
            (float(pos[0]), float(pos[1]), float(pos[2])),
            (float(quat[0]), float(quat[1]), float(quat[2]), float(quat[3])),
            float(width),
            self._sim_time,
            mode,
        )

    def capture(self, camera: str = "main") -> CameraFrame:
        if camera not in ("main", "wrist"):
            raise ValueError(f"unknown camera {camera!r}; cameras are main, wrist")
        with self._lock:
            frame = self.world.render_main() if camera == "main" else self.world.render_wrist()
        return CameraFrame(
            frame.rgb,
            frame.depth,
            frame.intrinsics.matrix,
            frame.extrinsics,
            self._sim_time,
            camera,
        )

    def ee_target(self) -> tuple[np.ndarray, float]:
        return self._target.copy(), self._yaw

    def command_ee(self, position: np.ndarray, yaw: float, gripper: float) -> Applied:
        with self._lock:
            if self._stop.is_set():
                return self.hold()
            clipped: list[str] = []
            lim = self.limits
            pos = np.asarray(position, dtype=float)
            if not (np.isfinite(pos).all() and math.isfinite(yaw) and math.isfinite(gripper)):
                raise ValueError(f"non-finite end-effector command: {pos.tolist()}, {yaw}")
            boxed = np.clip(pos, lim.workspace_min, lim.workspace_max)
            if not np.allclose(boxed, pos):
                clipped.append("workspace")
            step = boxed - self._target
            max_step = lim.max_ee_speed / self.control_hz
            n = float(np.linalg.norm(step))
            if n > max_step + 1e-12:
                boxed = self._target + step * (max_step / n)
                clipped.append("speed")
            dyaw = math.remainder(yaw - self._yaw, 2 * math.pi)
            max_dyaw = lim.max_yaw_rate / self.control_hz
            if abs(dyaw) > max_dyaw:
                dyaw = math.copysign(max_dyaw, dyaw)
                clipped.append("yaw_rate")
            self._target = boxed
            self._yaw = math.remainder(self._yaw + dyaw, 2 * math.pi)
            self._gripper = min(max(float(gripper), 0.0), 1.0)
            arm = self.world.require_arm()
            orientation = tool_orientation(self._yaw, self._down)
            arm.command_joints(arm.solve_ik(self._target, orientation))
            arm.command_gripper(self._gripper)
            self._advance()
            return Applied(
                (float(boxed[0]), float(boxed[1]), float(boxed[2])),
                self._yaw,
                self._gripper,
                tuple(clipped),
            )

    def command_joints(self, positions: np.ndarray, gripper: float) -> Applied:
        with self._lock:
            if self._stop.is_set():
                return self.hold()
            arm = self.world.require_arm()
            q = np.asarray(positions, dtype=float)
            if q.shape != (len(arm.arm_joints),) or not np.isfinite(q).all():
                raise ValueError(f"joint command must be {len(arm.arm_joints)} finite values")
            clipped = []
            q_lim = np.clip(q, arm.limits.lower, arm.limits.upper)
            if not np.allclose(q_lim, q):
                clipped.append("joint_limits")
            # A far joint target would make the position motors slam: step toward it instead.
            current, _, _ = arm.proprioception()
            max_step = self.limits.max_joint_speed / self.control_hz
            step = q_lim - current
            if np.abs(step).max() > max_step:
                q_lim = current + step * (max_step / np.abs(step).max())
                clipped.append("joint_speed")
            arm.command_joints(q_lim)
            self._gripper = min(max(float(gripper), 0.0), 1.0)
            arm.command_gripper(self._gripper)
            self._advance()
            self._sync_target()
            t = self._target
            return Applied(
                (float(t[0]), float(t[1]), float(t[2])), self._yaw, self._gripper, tuple(clipped)
            )

    def hold(self) -> Applied:
        """Track the current target (or, after stop(), the pose where the arm stopped)."""
        with self._lock:
            self._advance()
            t = self._target
            mode = "holding" if self._stop.is_set() else "ok"
            return Applied(
                (float(t[0]), float(t[1]), float(t[2])), self._yaw, self._gripper, (), mode
            )

    def stop(self) -> None:
        """Latch a stop: the arm holds where it is; later commands only hold until `resume()`."""
        self._stop.set()
        with self._lock:
            arm = self.world.require_arm()
            q, _, _ = arm.proprioception()
            arm.command_joints(q)  # motors hold the measured pose, gripper keeps its grip
            self._sync_target()

    def resume(self) -> None:
        """Clear a latched stop."""
        with self._lock:
            self._sync_target()
            self._stop.clear()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        """Nothing to release: the world belongs to whoever built it and closes with it."""

    # -- internals ------------------------------------------------------------------------------
    def _advance(self) -> None:
        t0 = time.monotonic()
        self.world.step_physics(self.substeps)
        self._sim_time += self.substeps / PHYSICS_HZ
        if self.realtime:
            remaining = 1.0 / self.control_hz - (time.monotonic() - t0)
            if remaining > 0:
                time.sleep(remaining)
