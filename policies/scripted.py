"""The scripted skills, one class per skill of the plan schema, registered by name.

    skill = make_skill("pick", MotionLimits.from_robot(robot.info))
    result = run_skill(skill, Subgoal("pick", object="red_block"), robot, perceive)

pick, place and push live in `robot_llm.policies.manipulation`; the arm and gripper moves
(move_to, open_gripper, close_gripper, home, stop) are here. All of them are generators over
`robot_llm.policies.base` commands and read object poses only from the perceived Scene.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Final

import numpy as np

from robot_llm.policies.base import HoldCommand, Observation, Skill, SkillResult, SkillRun
from robot_llm.policies.manipulation import (
    Pick,
    Place,
    Push,
    Scripted,
    fail,
    hang,
)
from robot_llm.policies.motion import (
    HELD_WIDTH,
    Motion,
    MotionLimits,
    actuate,
    current_opening,
    hand_pose,
    held_edge,
    joint_move,
    move,
    move_path,
    observed_pose,
)
from robot_llm.policies.scene_geometry import fmt, in_hand, tallest_near
from robot_llm.robots.base import Robot
from robot_llm.types import SKILLS as SCHEMA_SKILLS
from robot_llm.types import Subgoal

# Where `home` takes the hand when the robot's home pose is unknown: x, y, z, yaw.
DEFAULT_HOME_POSE: Final = (0.30, 0.0, 0.35, 0.0)


def _hanging(obs: Observation) -> float:
    w = obs.state.gripper_width
    return hang(held_edge(w)) if HELD_WIDTH[0] < w < HELD_WIDTH[1] else 0.0


class MoveTo(Scripted):
    """move_to(pose=[x, y, z] or [x, y, z, yaw]): bring the hand there in straight lines,
    going over the objects near the path when the direct line is too low; the gripper keeps
    its opening. Fails when the pose is outside the workspace or not reached."""

    name: ClassVar[str] = "move_to"

    def run(self, subgoal: Subgoal, observation: Observation) -> SkillRun:
        lim = self.limits
        pose = tuple(subgoal.pose or ())
        goal = np.asarray(pose[:3], dtype=float)
        if not lim.contains(goal, margin=1e-6):
            return fail(
                f"pose {fmt(goal)} is outside the workspace "
                f"{fmt(lim.workspace_min)}..{fmt(lim.workspace_max)}"
            )
        start, hand_yaw = hand_pose(observation)
        yaw = float(pose[3]) if len(pose) > 3 else hand_yaw
        below = _hanging(observation)
        m = Motion(observation, lim.holding() if below else lim, current_opening(observation, lim))
        held = in_hand(observation.scene, start)
        floor = tallest_near(observation.scene, [start, goal], exclude=held) + below + 0.02
        if min(start[2], goal[2]) >= floor:
            ok = yield from move(m, goal, yaw)
        else:
            safe = self.travel_height(observation.scene, [start, goal], held, below)
            safe = max(safe, goal[2])
            waypoints = [[start[0], start[1], max(start[2], safe)], [goal[0], goal[1], safe], goal]
            ok = yield from move_path(m, waypoints, yaw)
        if not ok:
            err = float(np.linalg.norm(observed_pose(m.obs)[0] - goal))
            return fail(f"move_to {fmt(goal)}: the hand stopped {err * 100:.1f} cm away")
        return SkillResult(True)


class OpenGripper(Scripted):
    """open_gripper: open the fingers fully where the hand is."""

    name: ClassVar[str] = "open_gripper"

    def run(self, subgoal: Subgoal, observation: Observation) -> SkillRun:
        m = Motion(observation, self.limits)
        width = yield from actuate(m, 1.0)
        if width < 0.9 * self.limits.max_gripper_width:
            return fail(f"gripper opened only to {width:.3f} m")
        return SkillResult(True)


class CloseGripper(Scripted):
    """close_gripper: close the fingers where the hand is (on whatever is between them)."""

    name: ClassVar[str] = "close_gripper"

    def run(self, subgoal: Subgoal, observation: Observation) -> SkillRun:
        m = Motion(observation, self.limits)
        yield from actuate(m, 0.0)
        return SkillResult(True)


class Home(Scripted):
    """home: lift clear of the objects, then go to the home hand pose (Cartesian, speed capped)
    and/or the home joint positions (`MotionLimits.home_pose` / `home_joints`), keeping the
    gripper as it is. With neither known, the hand goes to DEFAULT_HOME_POSE."""

    name: ClassVar[str] = "home"

    def run(self, subgoal: Subgoal, observation: Observation) -> SkillRun:
        below = _hanging(observation)
        lim = self.limits.holding() if below else self.limits
        m = Motion(observation, lim, gripper=current_opening(observation, lim))
        start, _ = hand_pose(observation)
        held = in_hand(observation.scene, start)
        safe = tallest_near(observation.scene, [start], exclude=held) + lim.travel_clearance + below
        safe = min(safe, lim.workspace_max[2])
        if start[2] < safe:
            yield from move(m, [start[0], start[1], safe], settle=False)
        pose = lim.home_pose
        if pose is None and lim.home_joints is None:
            pose = DEFAULT_HOME_POSE
        if pose is not None:
            goal = lim.clamp(pose[:3])
            ok = yield from move(m, goal, pose[3] if len(pose) > 3 else 0.0)
            if not ok and lim.home_joints is None:
                err = float(np.linalg.norm(observed_pose(m.obs)[0] - goal))
                return fail(f"home: the hand stopped {err * 100:.1f} cm from {fmt(goal)}")
        if lim.home_joints is not None:
            ok = yield from joint_move(m, lim.home_joints)
            if not ok:
                return fail("home: the arm did not reach its home joint positions")
        return SkillResult(True)


class Stop(Scripted):
    """stop: hold where the arm is for one control period; succeeds at once."""

    name: ClassVar[str] = "stop"

    def run(self, subgoal: Subgoal, observation: Observation) -> SkillRun:
        yield HoldCommand()
        return SkillResult(True)


SKILLS: Final[dict[str, type[Scripted]]] = {
    cls.name: cls for cls in (Pick, Place, Push, MoveTo, OpenGripper, CloseGripper, Home, Stop)
}
assert tuple(SKILLS) == SCHEMA_SKILLS, "one scripted skill per schema skill, in schema order"


def make_skill(name: str, limits: MotionLimits | None = None, **options: int) -> Skill:
    """The scripted skill registered under `name`; ValueError lists the names."""
    try:
        cls = SKILLS[name]
    except KeyError:
        raise ValueError(f"unknown skill {name!r}; skills are {', '.join(SKILLS)}") from None
    return cls(limits, **options)


__all__ = [
    "DEFAULT_HOME_POSE",
    "SKILLS",
    "CloseGripper",
    "Home",
    "MoveTo",
    "OpenGripper",
    "Pick",
    "Place",
    "Push",
    "Stop",
    "make_skill",
]


def scripted_skills(robot: Robot) -> dict[str, Callable[[], Skill]]:
    """Factories of the scripted skills (`robot_llm.policies.scripted`), each made with motion
    limits taken from the robot's own (speed cap, workspace, control rate, home)."""
    limits = MotionLimits.from_robot(robot.info)
    return {name: _factory(cls, limits) for name, cls in SKILLS.items()}


def _factory(cls: type[Scripted], limits: MotionLimits) -> Callable[[], Skill]:
    def make() -> Skill:
        skill: Skill = cls(limits)
        return skill

    return make
