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

from robot_llm.envs.tabletop_env import TabletopEnv
from robot_llm.tabletop.geometry import footprint, height
from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.predicates import top

SAFE_CLEARANCE = 0.10  # travel this high above the tallest object near the path, meters
REACHED = 0.004  # a waypoint is reached within this distance, meters
GRIPPER_STEPS = 6  # control steps to close or open the fingers
SETTLE_STEPS = 3  # control steps the hand rests before closing, so it grasps where it aimed
MAX_WAYPOINT_STEPS = 60
MAX_HELD_OFFSET = 0.02  # a held object farther than this from the hand center is not held
GRIP_SQUEEZE = 0.004  # close the fingers to this much less than the object's width, meters
# Grasp a cube this fraction of its edge below its top (at most 2 cm): a little above its center
# of mass, so it hangs from the fingertips instead of toppling about them.
GRASP_DEPTH = 0.4
FINGER_MARGIN = 0.015  # open the fingers this much wider than the object on each side, meters
FINGER_THICKNESS = 0.03  # a Panda finger reaches this far outside its pad, meters
FINGERTIP_DROP = 0.011  # the fingertips reach this far below the grasp point, meters
FINGER_ROOM = 0.008  # free space wanted between open fingers and other objects, meters
MAX_OPS = 40  # operations per episode, retries included (Hanoi needs 7, Chain five stages)


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
            # Steer the env's end-effector target, not the hand: the hand lags its target, and
            # steering by the hand's error lets the target run ahead and the hand overshoot.
            lead = target - env._target_pos
            a[:3] = np.clip(lead / env.max_translation, -1.0, 1.0)
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

    def _grip_action(self, width: float) -> float:
        """Gripper action that closes the fingers to just inside an object `width` wide.

        The fingers are position-driven; commanding them fully closed saturates both motors,
        and then a held cube slides with both fingers along the closing axis whenever the
        hand accelerates. Aiming just inside the cube bounds that slip. (Squeezing harder
        tips small cubes out of the fingertips.)
        """
        max_width = self.env.world.require_arm().max_gripper_width
        if max_width <= 0.0:
            return -1.0
        opening = min(max((width - GRIP_SQUEEZE) / max_width, 0.0), 1.0)
        return 2.0 * opening - 1.0

    def _near_yaw(self, yaw: float, period: float) -> float:
        """The angle equal to `yaw` modulo `period` nearest the hand's current yaw."""
        base = self.env._target_yaw
        return base + math.remainder(yaw - base, period)

    def _open_action(self, width: float) -> float:
        """Gripper action that opens the fingers FINGER_MARGIN wider than `width` each side.

        Not fully open: a finger then reaches less far into neighbours and container walls.
        """
        max_width = self.env.world.require_arm().max_gripper_width
        if max_width <= 0.0:
            return 1.0
        return 2.0 * min((width + 2 * FINGER_MARGIN) / max_width, 1.0) - 1.0

    def _finger_room(
        self, obj: ObjectState, yaw: float, grasp_z: float, states: Mapping[str, ObjectState]
    ) -> float:
        """Free space between the open fingers of a grasp at hand `yaw` and other objects.

        Objects lower than the fingertips and containers the object stands in do not count.
        """
        edge = height(obj.spec.kind, obj.spec.size)
        axis = np.array([-math.sin(yaw), math.cos(yaw)])  # the fingers open along this
        center = np.asarray(obj.position[:2], dtype=float)
        tip_z = grasp_z - FINGERTIP_DROP
        inner = edge / 2 + FINGER_MARGIN
        reaches = np.linspace(inner, inner + FINGER_THICKNESS, 4)
        points = [center + side * r * axis for side in (-1.0, 1.0) for r in reaches]
        room = math.inf
        for other in states.values():
            if other.spec.id == obj.spec.id or top(other) <= tip_z:
                continue
            poly = footprint(other.spec.kind, other.spec.size, other.position[:2], other.yaw)
            if _polygon_distance(center, poly) == 0.0:
                continue  # a bowl or tray the object stands in
            room = min(room, *(_polygon_distance(q, poly) for q in points))
        return room

    def _pick_place(self, op: Mapping[str, Any]) -> Iterator[np.ndarray]:
        states = self.env.world.object_states()
        obj = states[op["object"]]
        edge = height(obj.spec.kind, obj.spec.size)
        tallest = max(float(s.position[2]) + 0.03 for s in states.values())
        safe_z = max(tallest, float(op["target"][2]) + edge) + SAFE_CLEARANCE
        grasp = np.array(
            [*obj.position[:2], obj.position[2] + edge / 2 - min(0.02, edge * GRASP_DEPTH)]
        )
        if "hand_yaw" in op:
            # The fingers must open along a given axis (neighbours lie along the other one).
            # Grasp so the hand turns at most 45 degrees while carrying: the cube then ends
            # with the hand's yaw modulo 90 degrees.
            place_yaw = self._near_yaw(float(op["hand_yaw"]), math.pi)
            yaw = place_yaw + math.remainder(obj.yaw - place_yaw, math.pi / 2)
        else:
            yaw = self._grasp_yaw(obj.yaw)
        # A cube can be grasped across either pair of faces: if a neighbour stands in the way
        # of the open fingers, turn the hand a quarter turn.
        room = self._finger_room(obj, yaw, float(grasp[2]), states)
        if room < FINGER_ROOM:
            ref = place_yaw if "hand_yaw" in op else self.env._target_yaw
            alt = yaw + math.copysign(math.pi / 2, math.remainder(ref - yaw, 2 * math.pi))
            if self._finger_room(obj, alt, float(grasp[2]), states) > room:
                yaw = alt
        if "hand_yaw" not in op:
            place_yaw = yaw + math.remainder(float(op.get("yaw", obj.yaw)) - yaw, math.pi / 2)
        opened = self._open_action(edge)
        yield from self._move(np.array([*grasp[:2], safe_z]), yaw, opened)
        yield from self._move(grasp, yaw, opened)
        yield from self._hold(opened, SETTLE_STEPS)
        grip = self._grip_action(edge)
        yield from self._hold(grip)
        yield from self._move(np.array([*grasp[:2], safe_z]), yaw, grip)
        tx, ty, tz = (float(v) for v in op["target"])  # tz: where the object's bottom goes
        yield from self._move(np.array([tx, ty, safe_z]), place_yaw, grip)
        # Closing fingers can nudge a cube a few millimeters along their pads: aim the cube,
        # not the hand (unless it is not in the hand at all).
        held = self.env.world.object_states()[op["object"]]
        dx, dy = (held.position[:2] - self._ee()[:2]).tolist()
        if math.hypot(dx, dy) > MAX_HELD_OFFSET:
            dx = dy = 0.0
        drop = np.array([tx - dx, ty - dy, tz + edge - min(0.02, edge * GRASP_DEPTH) + 0.004])
        yield from self._move(np.array([drop[0], drop[1], safe_z]), place_yaw, grip)
        yield from self._move(drop, place_yaw, grip)
        yield from self._hold(opened)
        yield from self._move(np.array([drop[0], drop[1], safe_z]), place_yaw, opened)

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
        """Actions until the task's plan is exhausted.

        Closed loop: after each operation the task plans again from the poses it left, so a
        target computed from a block placed a moment ago is exact, a failed operation is
        retried, and multi-stage tasks move on to their next stage.
        """
        task = self.env.task
        for _ in range(MAX_OPS):
            plan = task.oracle_plan(self.env.world.object_states())
            if not plan:
                return
            op = plan[0]
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


def _polygon_distance(point: np.ndarray, poly: np.ndarray) -> float:
    """Distance from a point to a convex counter-clockwise polygon; 0 inside it."""
    edges = np.roll(poly, -1, axis=0) - poly
    rel = point - poly
    if bool((edges[:, 0] * rel[:, 1] - edges[:, 1] * rel[:, 0] >= 0.0).all()):
        return 0.0
    t = np.clip((rel * edges).sum(axis=1) / (edges * edges).sum(axis=1), 0.0, 1.0)
    nearest = poly + t[:, None] * edges
    return float(np.linalg.norm(nearest - point, axis=1).min())
