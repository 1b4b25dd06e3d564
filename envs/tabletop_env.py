"""The gymnasium environment: a TabletopWorld plus a Task, driven by end-effector deltas.

Action: 5 numbers in [-1, 1]: (dx, dy, dz, dyaw, gripper). The first four are velocities as a
fraction of MAX_SPEED (m/s) and MAX_YAW_RATE (rad/s), held for one control period, that move an
end-effector target (pointing straight down); `gripper` is an absolute opening, -1 closed and +1
fully open. The control rate is `control_hz` (default 12 Hz: 20 physics substeps per step);
physics always runs at 240 Hz underneath.

`randomize` > 0 renders each episode in a random look (lights, table texture, camera effects;
robot_llm.envs.appearance) at that strength, seeded by `reset(seed=...)`; 0 (the default)
renders the neutral look.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any, Final, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from robot_llm.envs.appearance import Appearance
from robot_llm.envs.arm import POSTURE_GAIN
from robot_llm.envs.camera import CameraSpec
from robot_llm.envs.tasks import make_task
from robot_llm.envs.tasks.base import INSTRUCTION_CHARSET, INSTRUCTION_MAX_LENGTH, Task
from robot_llm.envs.world import MAIN_CAMERA, PHYSICS_HZ, TabletopWorld
from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.reach import REACH_MAX, REACH_MIN
from robot_llm.tabletop.rotations import tool_orientation, tool_yaw

MAX_SPEED: Final = 0.30  # m/s of the end-effector target at full action
MAX_YAW_RATE: Final = 3.0  # rad/s of the end-effector target at full action
DEFAULT_CONTROL_HZ: Final = 12
MAX_OBJECTS: Final = 16  # rows of the state observation's object table
POSTURE_EVERY: Final = 4  # control steps between null-space posture corrections
# The end-effector target stays in this box (table frame, meters) and near the actual hand.
# The reach box, with the floor 5 mm up so that a hand target never presses into the table.
EE_BOUNDS: Final = tuple(
    (lo, hi) for lo, hi in zip((*REACH_MIN[:2], 0.005), REACH_MAX, strict=True)
)
MAX_TARGET_LEAD: Final = 0.05
_EE_LOW: Final = np.array([b[0] for b in EE_BOUNDS])
_EE_HIGH: Final = np.array([b[1] for b in EE_BOUNDS])
OBS_MODES: Final = ("rgbd", "state")
# Observation bounds; values are clipped into them (objects rest on the floor at worst).
JOINT_VEL_BOUND: Final = 20.0
POSE_BOUND: Final = 5.0
LOOK_STREAM: Final = 0x100C  # seeds the looks of `randomize` apart from the scenes


def _display_available() -> bool:
    if os.environ.get("DISPLAY"):
        return True
    gym.logger.warn("render_mode='human' needs a display (DISPLAY is unset); running headless")
    return False


class TabletopEnv(gym.Env[dict[str, Any], np.ndarray]):
    """A language-conditioned tabletop manipulation task on a simulated arm."""

    metadata: dict[str, Any] = {  # noqa: RUF012 (gymnasium's convention: a class attribute)
        "render_modes": ["rgb_array", "human"],
        "render_fps": DEFAULT_CONTROL_HZ,
    }

    def __init__(
        self,
        task: str | Task = "PickPlace",
        obs_mode: str = "rgbd",
        render_mode: str | None = None,
        robot: str = "panda",
        camera_size: tuple[int, int] = (320, 240),
        control_hz: int = DEFAULT_CONTROL_HZ,
        randomize: float = 0.0,
    ) -> None:
        if obs_mode not in OBS_MODES:
            raise ValueError(f"unknown obs_mode {obs_mode!r}; choose one of {OBS_MODES}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}")
        if PHYSICS_HZ % control_hz:
            raise ValueError(f"control_hz must divide {PHYSICS_HZ}, got {control_hz}")
        if not randomize >= 0:
            raise ValueError(f"randomize must be at least 0, got {randomize}")
        self.randomize = float(randomize)
        self._look_rng: np.random.Generator | None = None
        self.task = make_task(task, robot) if isinstance(task, str) else task.for_robot(robot)
        self.obs_mode = obs_mode
        self.render_mode = render_mode
        self.control_hz = control_hz
        self.substeps = PHYSICS_HZ // control_hz
        self.max_translation = MAX_SPEED / control_hz  # meters per step at full action
        self.max_rotation = MAX_YAW_RATE / control_hz  # radians per step at full action
        self.metadata = {**self.metadata, "render_fps": control_hz}
        width, height = camera_size
        camera = CameraSpec(
            "main", width, height, MAIN_CAMERA.fov_y_deg, MAIN_CAMERA.near, MAIN_CAMERA.far
        )
        gui = render_mode == "human" and _display_available()
        self.world = TabletopWorld(robot, gui=gui, main_camera=camera)
        self._build_spaces(camera)
        self._target_pos = np.zeros(3)
        self._ee_pos = np.zeros(3)
        self._ee_down = np.asarray(self.world.description.ee_down)
        self._target_yaw = 0.0
        self._gripper = 1.0
        self._frame_step = -1
        self._frame: Any = None
        self._steps = 0
        self._last_eval: dict[str, Any] = {}

    def _build_spaces(self, camera: CameraSpec) -> None:
        n = len(self.world.description.arm_joints)
        obs: dict[str, spaces.Space[Any]] = {
            "joint_pos": spaces.Box(-2 * np.pi, 2 * np.pi, (n,), np.float32),
            "joint_vel": spaces.Box(-JOINT_VEL_BOUND, JOINT_VEL_BOUND, (n,), np.float32),
            "ee_pose": spaces.Box(-POSE_BOUND, POSE_BOUND, (7,), np.float32),
            "gripper_width": spaces.Box(0.0, 0.2, (1,), np.float32),
            "instruction": spaces.Text(
                INSTRUCTION_MAX_LENGTH, min_length=1, charset=INSTRUCTION_CHARSET
            ),
        }
        if self.obs_mode == "rgbd":
            obs["rgb"] = spaces.Box(0, 255, (camera.height, camera.width, 3), np.uint8)
            obs["depth"] = spaces.Box(0.0, camera.far, (camera.height, camera.width), np.float32)
        else:
            obs["objects"] = spaces.Box(-POSE_BOUND, POSE_BOUND, (MAX_OBJECTS, 7), np.float32)
        self.observation_space = spaces.Dict(obs)
        self.action_space = spaces.Box(-1.0, 1.0, (5,), np.float32)

    # -- gymnasium API --------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        if self.randomize > 0:
            # A generator of its own, so that the episodes' scenes are the same with and
            # without randomized rendering.
            if seed is not None or self._look_rng is None:
                words = None if seed is None else [seed % 2**63, LOOK_STREAM]
                self._look_rng = np.random.default_rng(words)
            self.world.appearance = Appearance.sample(self._look_rng, self.randomize)
        episode = self.task.reset(self.np_random)
        self.world.build(episode.scene)
        arm = self.world.require_arm()
        pos, quat = arm.ee_pose()
        self._ee_down = np.asarray(arm.description.ee_down)
        self._target_pos = pos.copy()
        self._target_yaw = tool_yaw(quat, self._ee_down)
        self._gripper = 1.0
        self._steps = 0
        self._frame_step = -1
        states = self.world.object_states()
        self._last_eval = self.task.evaluate(states)
        return self._observation(states), self._info(self._last_eval)

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (5,):
            raise ValueError(
                f"action must have 5 values (dx, dy, dz, dyaw, gripper), got {a.shape}"
            )
        if not math.isfinite(float(a.sum())):  # NaN or inf anywhere makes the sum non-finite
            raise ValueError(f"action contains NaN or infinity: {a.tolist()}")
        a = np.minimum(np.maximum(a, -1.0), 1.0)
        arm = self.world.require_arm()
        # The hand has not moved since the last observation, so its pose is still current.
        ee_pos = self._ee_pos
        target = self._target_pos + a[:3] * self.max_translation
        target = np.minimum(np.maximum(target, ee_pos - MAX_TARGET_LEAD), ee_pos + MAX_TARGET_LEAD)
        self._target_pos = np.minimum(np.maximum(target, _EE_LOW), _EE_HIGH)
        self._target_yaw = math.remainder(self._target_yaw + a[3] * self.max_rotation, 2 * math.pi)
        orientation = tool_orientation(self._target_yaw, self._ee_down)
        # Null-space posture correction every few steps keeps the per-step cost low.
        posture = POSTURE_GAIN if self._steps % POSTURE_EVERY == 0 else 0.0
        arm.command_joints(arm.solve_ik(self._target_pos, orientation, posture_gain=posture))
        self._gripper = float((a[4] + 1.0) / 2.0)
        arm.command_gripper(self._gripper)
        self.world.step_physics(self.substeps)
        self._steps += 1
        states = self.world.object_states()
        evaluation = self.task.evaluate(states)
        if self.task.advance(evaluation):
            evaluation = self.task.evaluate(states)
        self._last_eval = evaluation
        success = bool(evaluation["success"])
        obs = self._observation(states)
        return obs, float(success), success, False, self._info(evaluation)

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return np.asarray(self._render_frame().rgb)

    def close(self) -> None:
        self.world.close()

    # -- helpers --------------------------------------------------------------------------------
    def _render_frame(self) -> Any:
        if self._frame_step != self._steps or self._frame is None:
            self._frame = self.world.render_main()
            self._frame_step = self._steps
        return self._frame

    def _observation(self, states: Mapping[str, ObjectState]) -> dict[str, Any]:
        arm = self.world.require_arm()
        q, dq, width = arm.proprioception()
        pos, quat = arm.ee_pose()
        self._ee_pos = pos
        width = min(max(width, 0.0), 0.2)
        obs: dict[str, Any] = {
            "joint_pos": q.astype(np.float32),
            "joint_vel": np.minimum(np.maximum(dq, -JOINT_VEL_BOUND), JOINT_VEL_BOUND).astype(
                np.float32
            ),
            "ee_pose": np.array((*pos, *quat), dtype=np.float32),
            "gripper_width": np.array([width], np.float32),
            "instruction": self.task.instruction,
        }
        if self.obs_mode == "rgbd":
            frame = self._render_frame()
            obs["rgb"] = frame.rgb
            obs["depth"] = np.minimum(frame.depth, self.world.main_camera.far)
        else:
            table = np.zeros((MAX_OBJECTS, 7), dtype=np.float32)
            rows = [(*s.position, *s.orientation) for s in states.values()][:MAX_OBJECTS]
            if rows:
                table[: len(rows)] = rows
            obs["objects"] = np.minimum(np.maximum(table, -POSE_BOUND), POSE_BOUND)
        return obs

    def _info(self, evaluation: dict[str, Any]) -> dict[str, Any]:
        info = dict(evaluation)
        info["is_success"] = bool(evaluation["success"])
        info["instruction"] = self.task.instruction
        info["object_ids"] = list(self.world.bodies)
        return info

    @property
    def evaluation(self) -> dict[str, Any]:
        """The latest `task.evaluate()` result."""
        return self._last_eval
