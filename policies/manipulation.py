"""Scripted pick, place and push skills: top-down grasps of cubes from a perceived Scene.

Each skill reads object poses only from `Observation.scene`; it checks what it can from
proprioception (gripper width after closing) and, when the caller sends a fresh scene, from
perception (a lifted block left the table; a placed block landed where it should).
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from typing import ClassVar, Final

import numpy as np

from robot_llm.policies.base import Command, Observation, SkillResult, SkillRun
from robot_llm.policies.motion import (
    HELD_WIDTH,
    Motion,
    MotionLimits,
    actuate,
    current_opening,
    grasp_yaw,
    grip,
    hand_pose,
    held_edge,
    holds_something,
    move,
    move_path,
    nearest_equivalent,
    observed_pose,
    wait_for_scene,
)
from robot_llm.policies.placement import (
    RELEASE_MARGIN,
    PlaceError,
    PlaceTarget,
    choose_hand_yaw,
    resolve_place,
)
from robot_llm.policies.scene_geometry import (
    Vector,
    block_edge,
    bottom,
    fmt,
    outline,
    polygon_point_distance,
    polygon_segment_distance,
    tallest_near,
    top,
)
from robot_llm.tabletop.directions import DEFAULT_PUSH_DISTANCE, DIRECTION_VECTORS
from robot_llm.types import Scene, SceneObject, Subgoal

# The hand travels this high above the tallest object near its path (fingertips reach about
# 1 cm below the end-effector point), meters.
TRAVEL_CLEARANCE: Final = 0.07
# Hand height of a descent's fast part above its goal; the rest is slow, meters.
SLOW_ZONE: Final = 0.03
SLOW_SPEED: Final = 0.08  # m/s for the last part of a descent and for pushing
# Fingers open this much wider than the block before a grasp, meters.
GRASP_MARGIN: Final = 0.035
# Closed fingers narrower than this fraction of the block edge hold nothing.
MIN_GRIP_FRACTION: Final = 0.5
# Closed fingers wider than the block edge by this much did not close on it, meters.
MAX_GRIP_EXCESS: Final = 0.02
# The end-effector point grasps a block this far above its center, meters. Simulated fingers
# touch a block at single points 3.6 mm below that point; a block held higher than that
# (its center above the contacts) can tip over them like an inverted pendulum.
GRASP_ABOVE_CENTER: Final = 0.004
# Lowest end-effector height for a grasp (fingertips clear the table), meters.
MIN_GRASP_Z: Final = 0.013
# A grasp or release pose is good enough this close, meters; farther and the skill fails.
GRASP_TOLERANCE: Final = 0.003
GIVE_UP_ERROR: Final = 0.012
# Control periods a skill waits for a fresh scene to verify its outcome (0: do not wait).
VERIFY_WAIT: Final = 6
# Pushing: the hand starts this far behind the object's face, and the closed fingers' face is
# this far ahead of the end-effector point, meters.
PUSH_BACKOFF: Final = 0.035
PUSH_CONTACT: Final = 0.011
PUSH_HEIGHT: Final = 0.015
# Closed fingers reach this far to either side of the push line; the object's path keeps this
# much more room to other objects, meters.
PUSH_FINGER_HALF_WIDTH: Final = 0.03
PUSH_PATH_MARGIN: Final = 0.005
# Panda fingertips reach this far below the end-effector point, meters.
FINGERTIP_DEPTH: Final = 0.0072
# A fixed jaw comes down this far clear of the block's face before the moving jaw presses the
# block onto it, meters.
FIXED_JAW_CLEARANCE: Final = 0.008
# A fixed jaw's thickness behind its face: its back is the pad a push leads with, meters.
FIXED_JAW_THICKNESS: Final = 0.008


def grasp_depth(edge: float) -> float:
    """How far below a block's top the end-effector point grasps it: GRASP_ABOVE_CENTER above
    its center, so the block hangs below the points where the fingers touch it."""
    return edge / 2 - GRASP_ABOVE_CENTER


def hang(edge: float) -> float:
    """How far a held block reaches below the end-effector point."""
    return edge - grasp_depth(edge)


def fail(reason: str) -> SkillResult:
    return SkillResult(False, reason)


def _xy(o: SceneObject) -> np.ndarray:
    return np.asarray(o.position[:2], dtype=float)


class Scripted:
    """Base of the scripted skills: motion limits shared by every move they make."""

    name: ClassVar[str] = ""

    def __init__(self, limits: MotionLimits | None = None, verify_wait: int = VERIFY_WAIT) -> None:
        self.limits = limits or MotionLimits()
        self.verify_wait = verify_wait

    def travel_height(
        self, scene: Scene, path: Sequence[Vector], exclude: Sequence[str], below: float
    ) -> float:
        """Hand height that clears everything near the path with `below` meters hanging below
        the end-effector point."""
        z = tallest_near(scene, path, exclude=exclude) + self.limits.travel_clearance + below
        return min(z, self.limits.workspace_max[2])

    def approach(
        self, m: Motion, xy: np.ndarray, safe: float, goal_z: float, yaw: float
    ) -> Generator[Command, Observation, str]:
        """Up to `safe` where the hand is, over to xy, down to goal_z (slowly at the end).

        Returns why the hand could not get there ("" when it did)."""
        start, _ = hand_pose(m.obs)
        waypoints = []
        if start[2] < safe - 0.005:
            waypoints.append([start[0], start[1], safe])
        waypoints.append([xy[0], xy[1], max(safe, goal_z)])
        yield from move_path(m, waypoints, yaw)
        slow_from = goal_z + SLOW_ZONE
        if slow_from < safe:
            yield from move(m, [xy[0], xy[1], slow_from], yaw, settle=False)
        goal = np.array([xy[0], xy[1], goal_z])
        yield from move(m, goal, yaw, speed=SLOW_SPEED, tolerance=GRASP_TOLERANCE)
        err = float(np.linalg.norm(observed_pose(m.obs)[0] - goal))
        if err > GIVE_UP_ERROR:
            return f"could not reach {fmt(goal)}: the hand stopped {err * 100:.1f} cm away"
        return ""

    def to_view(
        self, m: Motion, scene: Scene, exclude: Sequence[str], below: float
    ) -> Generator[Command, Observation, None]:
        """Take the hand to the robot's viewing pose (`MotionLimits.view_pose`), over what is
        near the way; nothing when the robot has none."""
        pose = self.limits.view_pose
        if pose is None:
            return
        start, _ = hand_pose(m.obs)
        goal = np.asarray(pose[:3], dtype=float)
        safe = max(self.travel_height(scene, [start, goal], exclude, below), goal[2])
        waypoints = [[start[0], start[1], max(start[2], safe)], [goal[0], goal[1], safe], goal]
        yield from move_path(m, waypoints, pose[3])

    def fresh_scene(self, m: Motion, since: float) -> Generator[Command, Observation, bool]:
        """Hold briefly (`verify_wait` periods at most) for a scene perceived at or after
        `since`; False when none came (the caller perceives only between skills)."""
        return (yield from wait_for_scene(m, since, self.verify_wait))


class Pick(Scripted):
    """pick(object): grasp a block from above, aligned to its yaw, verify and lift it."""

    name: ClassVar[str] = "pick"

    def run(self, subgoal: Subgoal, observation: Observation) -> SkillRun:
        lim = self.limits
        m = Motion(observation, lim, gripper=current_opening(observation, lim))
        scene = observation.scene
        oid = str(subgoal.object)
        try:
            obj = scene.get(oid)
        except KeyError:
            return fail(f"object {oid!r} not in scene")
        if obj.kind != "block":
            return fail(f"cannot pick {oid!r}: it is a {obj.kind}, and only blocks can be picked")
        edge = block_edge(obj)
        if edge + 0.005 > lim.max_gripper_width:
            return fail(f"cannot pick {oid!r}: {edge:.3f} m is wider than the gripper opens")
        xy = _xy(obj)
        grasp_z = max(top(obj) - grasp_depth(edge), lim.min_grasp_z)
        start, hand_yaw = hand_pose(observation)
        yaw = grasp_yaw(obj.yaw, hand_yaw)
        xy = xy + lim.jaw_shift(edge, yaw, FIXED_JAW_CLEARANCE)
        safe = self.travel_height(scene, [start, xy], exclude=(), below=0.0)
        m.gripper = lim.opening(edge + lim.grasp_margin)
        why = yield from self.approach(m, xy, safe, grasp_z, yaw)
        if why:
            return fail(f"pick {oid!r}: {why}")
        width = yield from grip(m, edge)
        check = self.check_width(width, edge)
        if check:
            yield from self.retreat(m, lim.opening(edge + lim.grasp_margin), safe)
            return fail(check)
        m.limits = lim.holding()
        lift = max(
            self.travel_height(scene, [xy], exclude=(oid,), below=hang(edge)), grasp_z + 0.08
        )
        lift = min(lift, lim.workspace_max[2])
        yield from move(m, [xy[0], xy[1], lift], yaw)
        width = m.obs.state.gripper_width
        if not holds_something(width):
            return fail(f"{oid!r} slipped out of the gripper while lifting ({width:.3f} m)")
        if (yield from self.fresh_scene(m, m.time)):
            seen = _find(m.obs.scene, oid)
            if seen is not None and bottom(seen) < bottom(obj) + 0.5 * (lift - grasp_z):
                d = float(np.linalg.norm(_xy(seen) - xy))
                if d < 0.05:
                    return fail(f"grasp failed: {oid!r} stayed on the table after lifting")
        yield from self.to_view(m, scene, (oid,), hang(edge))
        return SkillResult(True)

    @staticmethod
    def check_width(width: float, edge: float) -> str:
        """Why the closed fingers do not hold a block of this edge ("" when they do)."""
        if width < MIN_GRIP_FRACTION * edge:
            return f"grasp missed: gripper closed to {width:.3f} m"
        if width > edge + MAX_GRIP_EXCESS:
            return f"grasp failed: fingers stopped at {width:.3f} m, block is {edge:.3f} m"
        return ""

    @staticmethod
    def retreat(m: Motion, opening: float, z: float) -> Generator[Command, Observation, None]:
        """Open the fingers and go straight up to height z (after a failed grasp)."""
        yield from actuate(m, opening)
        pos, _ = hand_pose(m.obs)
        yield from move(m, [pos[0], pos[1], max(z, pos[2])], settle=False)


def expected_in(subgoal: Subgoal, observation: Observation) -> int:
    """Blocks the plan puts in this place subgoal's container, this one included."""
    if subgoal.in_ is None:
        return 1
    later = {s.object for s in observation.upcoming if s.skill == "place" and s.in_ == subgoal.in_}
    return 1 + len(later - {subgoal.object})


class Place(Scripted):
    """place(object, on= | in_= | at=): carry the held block over the target, lower, release."""

    name: ClassVar[str] = "place"

    def run(self, subgoal: Subgoal, observation: Observation) -> SkillRun:
        lim = self.limits
        oid = str(subgoal.object)
        width = observation.state.gripper_width
        if width < 0.01:
            return fail(f"nothing held: gripper closed to {width:.3f} m")
        if width >= HELD_WIDTH[1]:
            return fail(f"nothing held: gripper open at {width:.3f} m")
        if not holds_something(width):
            return fail(f"nothing held: the fingers closed freely to {width:.3f} m")
        m = Motion(observation, lim.holding(), gripper=current_opening(observation, lim))
        scene = observation.scene
        start, hand_yaw = hand_pose(observation)
        seen = _find(scene, oid)
        edge, offset = self.held_geometry(seen, start, width)
        try:
            spot = resolve_place(scene, subgoal, oid, edge, expected_in(subgoal, observation))
        except PlaceError as err:
            return fail(str(err))
        if not lim.contains([spot.xy[0], spot.xy[1], lim.workspace_min[2]], margin=1e-6):
            return fail(f"place point {fmt(spot.xy)} is outside the workspace")
        gap = edge + RELEASE_MARGIN
        below_hand = {oid, *(o.id for o in spot.supports)}
        if spot.target is not None:
            below_hand.add(spot.target.id)
        obstacles = [o for o in scene if o.id not in below_hand and o.kind != "zone"]
        yaw = choose_hand_yaw(hand_yaw, spot, gap, obstacles)
        below = hang(edge)
        if lim.fixed_jaw_offset > 0.0:  # the block sits on the fixed jaw, turned with the hand
            offset = -lim.jaw_shift(edge, yaw)
        hand_xy = spot.xy - offset
        release_z = spot.surface + spot.release_gap + below
        safe = self.travel_height(scene, [start, hand_xy], exclude=(oid,), below=below)
        why = yield from self.approach(m, hand_xy, safe, release_z, yaw)
        if why:
            return fail(f"place {oid!r}: {why}")
        yield from actuate(m, lim.opening(gap))
        m.limits = lim
        # Up past the block's top with the fingers just open, then open them fully (so an
        # empty hand reads as open) and go on up.
        top_z = lim.workspace_max[2]
        clear = min(release_z + grasp_depth(edge) + 0.015, top_z)
        yield from move(m, [hand_xy[0], hand_xy[1], clear], settle=False)
        m.gripper = 1.0
        retreat = min(max(clear + 0.03, spot.surface + edge + lim.travel_clearance), top_z)
        yield from move(m, [hand_xy[0], hand_xy[1], retreat], settle=False)
        if (yield from self.fresh_scene(m, m.time)):
            why = self.check_landing(m.obs.scene, oid, spot, edge)
            if why:
                return fail(why)
        yield from self.to_view(m, scene, (oid,), 0.0)
        return SkillResult(True)

    @staticmethod
    def held_geometry(
        seen: SceneObject | None, hand: np.ndarray, width: float
    ) -> tuple[float, np.ndarray]:
        """Edge of the held block and its xy offset from the hand.

        From perception when the block is seen in the hand; else the edge is the finger gap
        snapped to a block size and the block is taken as centered between the fingers."""
        edge = held_edge(width)
        offset = np.zeros(2)
        if seen is not None and seen.kind == "block":
            d = _xy(seen) - hand[:2]
            in_hand = float(np.linalg.norm(d)) < 0.02 and bottom(seen) > 0.02
            if in_hand:
                edge = block_edge(seen)
                offset = d
        return edge, offset

    @staticmethod
    def check_landing(scene: Scene, oid: str, spot: PlaceTarget, edge: float) -> str:
        """Why a freshly perceived scene shows the block not where it was put ("" if fine)."""
        seen = _find(scene, oid)
        if seen is None:
            return ""  # not seen (occluded or missed): nothing to judge
        where = f"{oid!r} landed at {fmt(seen.position[:2])}"
        if spot.supports:
            a, b = (_find(scene, o.id) or o for o in spot.supports)
            middle = (_xy(a) + _xy(b)) / 2
            off = float(np.linalg.norm(_xy(seen) - middle))
            level = max(top(a), top(b))
            if off > 0.015 or abs(bottom(seen) - level) > 0.015:
                return f"{where}, not across {a.id!r} and {b.id!r}"
            return ""
        target = spot.target and (_find(scene, spot.target.id) or spot.target)
        if spot.kind == "block" and target is not None:
            off = float(np.linalg.norm(_xy(seen) - _xy(target)))
            if off > block_edge(target) / 2 + 0.005 or abs(bottom(seen) - top(target)) > 0.015:
                return f"{where}, not on {target.id!r}"
            return ""
        off = float(np.linalg.norm(_xy(seen) - spot.xy))
        if off > max(0.03, edge):
            name = f"its spot in {target.id!r}" if target is not None else fmt(spot.xy)
            return f"{where}, {off * 100:.1f} cm from {name}"
        return ""


class Push(Scripted):
    """push(object, to=[x, y] | direction [+ distance]): slide it with the closed fingers."""

    name: ClassVar[str] = "push"

    def run(self, subgoal: Subgoal, observation: Observation) -> SkillRun:
        lim = self.limits
        oid = str(subgoal.object)
        scene = observation.scene
        try:
            obj = scene.get(oid)
        except KeyError:
            return fail(f"object {oid!r} not in scene")
        if obj.kind == "zone":
            return fail(f"cannot push {oid!r}: zones are markings on the table")
        start_xy = _xy(obj)
        goal = self.goal(subgoal, start_xy)
        if not lim.contains([goal[0], goal[1], lim.workspace_min[2]], margin=1e-6):
            return fail(f"push goal {fmt(goal)} is outside the workspace")
        dist = float(np.linalg.norm(goal - start_xy))
        if dist < 0.005:
            return SkillResult(True)
        u = (goal - start_xy) / dist
        # A gripper with a fixed jaw pushes with that jaw's back leading, the jaws closed.
        contact = PUSH_CONTACT
        if lim.fixed_jaw_offset > 0.0:
            contact = lim.fixed_jaw_offset + FIXED_JAW_THICKNESS
        reach = float((outline(obj) - start_xy).dot(u).max())
        behind = start_xy - u * (reach + PUSH_BACKOFF + contact)
        # Pushed by a flat pad, a turned block turns until a face leads: it ends with its center
        # half its width (not its corner's reach) ahead of the pad.
        lead = min(reach, 0.5 * (top(obj) - bottom(obj))) if obj.kind == "block" else reach
        end = goal - u * (lead + contact)
        # Push at the object's middle (a bowl low on its wall), fingertips clear of the table.
        z = max(PUSH_HEIGHT, min(float(obj.position[2]), bottom(obj) + 0.03))
        blocked = self.blocker(scene, obj, start_xy, goal, behind, end, reach, z)
        if blocked:
            return fail(blocked)
        _, hand_yaw = hand_pose(observation)
        if lim.fixed_jaw_offset > 0.0:
            # The moving jaw (on the hand's +x side) trails: the hand's +x points back.
            yaw = nearest_equivalent(math.atan2(-u[1], -u[0]), hand_yaw, 2 * math.pi)
        else:
            # Fingers side by side across the push (they open along (-sin, cos) of the hand yaw).
            yaw = nearest_equivalent(math.atan2(u[1], u[0]), hand_yaw, math.pi)
            if abs(yaw) > 3 * math.pi / 4:
                yaw -= math.copysign(math.pi, yaw)
        start, _ = hand_pose(observation)
        safe = self.travel_height(scene, [start, behind], exclude=(), below=0.0)
        m = Motion(observation, lim, gripper=0.0)
        why = yield from self.approach(m, behind, safe, z, yaw)
        if why:
            return fail(f"push {oid!r}: {why}")
        yield from move(m, [end[0], end[1], z], yaw, speed=SLOW_SPEED, tolerance=0.005)
        t_done = m.time
        retreat = self.travel_height(scene, [end], exclude=(oid,), below=0.0)
        back = end - u * 0.01
        yield from move(m, [back[0], back[1], z], yaw, settle=False)
        yield from move(m, [back[0], back[1], retreat], yaw, settle=False)
        if (yield from self.fresh_scene(m, t_done)):
            seen = _find(m.obs.scene, oid)
            if seen is not None:
                moved = float((_xy(seen) - start_xy) @ u)
                if moved < 0.5 * dist:
                    return fail(f"{oid!r} moved {moved:.3f} m of {dist:.3f} m")
        yield from self.to_view(m, scene, (oid,), 0.0)
        return SkillResult(True)

    @staticmethod
    def blocker(
        scene: Scene,
        obj: SceneObject,
        start: np.ndarray,
        goal: np.ndarray,
        behind: np.ndarray,
        end: np.ndarray,
        reach: float,
        z: float,
    ) -> str:
        """Why the push cannot go ("" when it can): something stands where the hand comes
        down behind the object (to height z), or in the way of the object and the hand pushing
        it. Objects lower than that (zones, the block it stands on) do not count.

        The object sweeps its own half-width along start -> goal; the fingers sweep theirs only
        as far as they go, `end` (they stop behind the object's goal), so a block may end next
        to another one closer than the fingers are wide."""
        for o in scene:
            if o.id == obj.id:
                continue
            poly = outline(o)
            near_hand = polygon_point_distance(poly, behind) < PUSH_FINGER_HALF_WIDTH + 0.005
            if near_hand and top(o) > z - FINGERTIP_DEPTH - 0.003:
                return f"no room to push {obj.id!r}: {o.id!r} is where the hand goes down"
            swept = polygon_segment_distance(poly, start, goal) < reach + PUSH_PATH_MARGIN
            fingers = polygon_segment_distance(poly, behind, end) < (
                PUSH_FINGER_HALF_WIDTH + PUSH_PATH_MARGIN
            )
            if (swept or fingers) and top(o) > bottom(obj) + 0.005:
                return f"{o.id!r} is in the way of pushing {obj.id!r}"
        return ""

    @staticmethod
    def goal(subgoal: Subgoal, start: np.ndarray) -> np.ndarray:
        if subgoal.to is not None:
            return np.asarray(subgoal.to, dtype=float)
        u = np.asarray(DIRECTION_VECTORS[str(subgoal.direction)])
        return start + u * (subgoal.distance or DEFAULT_PUSH_DISTANCE)


def _find(scene: Scene, oid: str) -> SceneObject | None:
    try:
        return scene.get(oid)
    except KeyError:
        return None
