"""A privileged scripted expert for the gymnasium tasks: it reads simulator ground truth.

It turns a task's `oracle_plan()` (pick-and-place and push operations on object ids) into the
env's end-effector-delta actions. It exists for tests, demos before perception, and as an upper
bound in ablations; user-facing features go through perception and skills instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from robot_llm.envs.geometry import height
from robot_llm.envs.tabletop_env import TabletopEnv

SAFE_CLEARANCE = 0.10  # travel this high above the tallest object near the path, meters
REACHED = 0.004  # a waypoint is reached within this distance, meters
GRIPPER_STEPS = 6  # control steps to close or open the fingers
MAX_WAYPOINT_STEPS = 60


@dataclass
class OracleResult:
    success: bool
    steps: int
    frames: list[np.ndarray]


class Oracle:
    """Executes a task's oracle plan on a TabletopEnv by streaming actions."""

    def __init__(self, env: TabletopEnv) -> None:
        self.env = env

    # -- primitives -----------------------------------------------------------------------------
    def _ee(self) -> np.ndarray:
        return np.asarray(self.env.world.require_arm().ee_pose()[0])

    def _move(self, target: np.ndarray, yaw: float, gripper: float) -> Iterator[np.ndarray]:
        env = self.env
        for _ in range(MAX_WAYPOINT_STEPS):
            ee = self._ee()
            delta = target - ee
            dyaw = math.remainder(yaw - env._target_yaw, math.pi / 2 * 4)
            if np.linalg.norm(delta) < REACHED and abs(dyaw) < 0.02:
                return
            a = np.zeros(5)
            a[:3] = np.clip(delta / env.max_translation, -1.0, 1.0)
            a[3] = np.clip(dyaw / env.max_rotation, -1.0, 1.0)
            a[4] = gripper
            yield a

    def _hold(self, gripper: float, steps: int = GRIPPER_STEPS) -> Iterator[np.ndarray]:
        for _ in range(steps):
            a = np.zeros(5)
            a[4] = gripper
            yield a

    def _grasp_yaw(self, object_yaw: float) -> float:
        # A cube looks the same every 90 degrees: turn the hand the least amount.
        base = self.env._target_yaw
        return base + math.remainder(object_yaw - base, math.pi / 2)

    def _pick_place(self, op: Mapping[str, Any]) -> Iterator[np.ndarray]:
        states = self.env.world.object_states()
        obj = states[op["object"]]
        edge = height(obj.spec.kind, obj.spec.size)
        tallest = max(float(s.position[2]) + 0.03 for s in states.values())
        safe_z = max(tallest, float(op["target"][2]) + edge) + SAFE_CLEARANCE
        grasp = np.array([*obj.position[:2], obj.position[2] + edge / 2 - min(0.02, edge * 0.5)])
        yaw = self._grasp_yaw(obj.yaw)
        yield from self._move(np.array([*grasp[:2], safe_z]), yaw, 1.0)
        yield from self._move(grasp, yaw, 1.0)
        yield from self._hold(-1.0)
        yield from self._move(np.array([*grasp[:2], safe_z]), yaw, -1.0)
        tx, ty, tz = (float(v) for v in op["target"])  # tz: where the object's bottom goes
        place_yaw = self._grasp_yaw(float(op.get("yaw", obj.yaw)))
        drop = np.array([tx, ty, tz + edge - min(0.02, edge * 0.5) + 0.004])
        yield from self._move(np.array([tx, ty, safe_z]), place_yaw, -1.0)
        yield from self._move(drop, place_yaw, -1.0)
        yield from self._hold(1.0)
        yield from self._move(np.array([tx, ty, safe_z]), place_yaw, 1.0)

    def _push(self, op: Mapping[str, Any]) -> Iterator[np.ndarray]:
        states = self.env.world.object_states()
        obj = states[op["object"]]
        edge = height(obj.spec.kind, obj.spec.size)
        start = np.asarray(obj.position[:2], dtype=float)
        goal = np.asarray(op["target"][:2], dtype=float)
        direction = goal - start
        dist = float(np.linalg.norm(direction))
        if dist < 1e-3:
            return
        u = direction / dist
        behind = start - u * (edge / 2 + 0.03)
        end = goal - u * (edge / 2 + 0.008)
        z = edge / 2
        yaw = self.env._target_yaw
        safe_z = edge + SAFE_CLEARANCE
        yield from self._move(np.array([*behind, safe_z]), yaw, -1.0)
        yield from self._move(np.array([*behind, z]), yaw, -1.0)
        yield from self._move(np.array([*end, z]), yaw, -1.0)
        yield from self._move(np.array([*end, safe_z]), yaw, -1.0)

    # -- episodes -------------------------------------------------------------------------------
    def actions(self) -> Iterator[np.ndarray]:
        """Actions until the task's plan is exhausted; re-plans for multi-stage tasks."""
        task = self.env.task
        for _ in range(12):  # a plan per stage; Chain has five
            plan = task.oracle_plan(self.env.world.object_states())
            if not plan:
                return
            for op in plan:
                if op["op"] == "pick_place":
                    yield from self._pick_place(op)
                elif op["op"] == "push":
                    yield from self._push(op)
                else:
                    raise ValueError(f"unknown oracle op {op['op']!r}")
            if self.env.evaluation.get("success"):
                return

    def run(self, record: bool = False) -> OracleResult:
        """Run one episode from the env's current state until success or the step limit."""
        env = self.env
        frames: list[np.ndarray] = []
        limit = env.task.max_episode_steps
        steps = 0
        if record:
            frames.append(env.world.render_main().rgb)
        for a in self.actions():
            _, _, terminated, _, _ = env.step(a.astype(np.float32))
            steps += 1
            if record:
                frames.append(env.world.render_main().rgb)
            if terminated or steps >= limit:
                break
        # Let the last placement settle so success is judged at rest.
        while steps < limit and not env.evaluation.get("success"):
            a = np.zeros(5, dtype=np.float32)
            a[4] = 1.0
            env.step(a)
            steps += 1
            if record:
                frames.append(env.world.render_main().rgb)
            if steps % 6 == 0:
                break
        return OracleResult(bool(env.evaluation.get("success")), steps, frames)
