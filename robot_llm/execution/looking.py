"""The executor's looks: the hand out of the camera's view, timed perception, the plan checked."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Final

import numpy as np

from robot_llm.execution.events import describe
from robot_llm.execution.run_state import Fact, Run, relation_text
from robot_llm.execution.skill_loop import SkillLoop
from robot_llm.execution.tracking import SceneTracker
from robot_llm.execution.verify import (
    missing_objects,
    moved_by,
    referenced_ids,
    relation_holds,
)
from robot_llm.types import Scene, Subgoal

# Where the hand waits while the camera looks: near the robot base, below the main camera, so
# the arm hides nothing on the table; yaw 0 turns the wrist back to neutral, so that the next
# skill starts from a home-like posture (table frame: x, y, z meters, yaw radians). The Panda's
# (and any robot's without one of its own in robot_llm.tabletop.setups): `view_pose_for`.
DEFAULT_VIEW_POSE = (0.15, 0.0, 0.37, 0.0)
# The executor's default: the viewing pose of the robot it drives (`view_pose_for`).
ROBOT_VIEW_POSE: Final = "robot"
VIEW_TOLERANCE = 0.02  # meters
VIEW_YAW_TOLERANCE = 0.05  # radians


def view_pose_for(robot: str) -> tuple[float, float, float, float]:
    """Where the robot called `robot` waits while the camera looks: its own viewing pose
    (robot_llm.tabletop.setups, e.g. the SO-101's home, which it reaches), else
    DEFAULT_VIEW_POSE."""
    from robot_llm.tabletop.setups import robot_setup

    return robot_setup(robot).view_pose or DEFAULT_VIEW_POSE


def move_to_view(loop: SkillLoop, run: Run, view_pose: Sequence[float] | None) -> bool:
    """Take the hand to the viewing pose, out of the camera's way (keeping any grip).
    True when the view is clear: the pose was reached, or there is no viewing pose."""
    if view_pose is None:
        return True
    pose = tuple(float(v) for v in view_pose)
    ee = np.asarray(loop.robot.state().ee_position)
    _, yaw = loop.robot.ee_target()
    near = float(np.linalg.norm(ee - np.asarray(pose[:3]))) <= VIEW_TOLERANCE
    turned = len(pose) > 3 and abs(math.remainder(yaw - pose[3], 2 * math.pi)) > VIEW_YAW_TOLERANCE
    if near and not turned:
        return True
    return loop.drive(run, Subgoal("move_to", pose=pose)).success


def timed_perceive(
    loop: SkillLoop, run: Run, reference: Scene | None = None, clear_view: bool = True
) -> Scene:
    """Perceive now (ids following `reference` if given), counted in the run's timings."""
    loop.check_stop()
    t0 = time.monotonic()
    scene = loop.tracker.perceive(reference, clear_view)
    run.timings.perception += time.monotonic() - t0
    loop.check_stop()
    return scene


def mismatch(loop: SkillLoop, run: Run, remaining: Sequence[Subgoal]) -> tuple[str, list[Fact]]:
    """Why the scene no longer fits the rest of the plan ("" when it does), with the achieved
    relations found undone. Only a clear view counts: with the arm in the picture, objects may
    be hidden."""
    tracker = loop.tracker
    if not tracker.view_clear:
        return "", []
    missing = missing_needed(tracker, remaining)
    if missing:
        # One look can miss an object (a glint, a bad threshold): look again before acting.
        timed_perceive(loop, run)
        missing = missing_needed(tracker, remaining)
    scene = tracker.scene
    if missing:
        i, oid = missing[0]
        where = describe(remaining[i].to_dict())
        return f"{oid} is not in the scene (needed by {where})", []
    planned = moved_by(remaining)
    undone = [
        f
        for f in run.facts
        if not (set(referenced_ids(f.subgoal)) & planned) and not relation_holds(f.subgoal, scene)
    ]
    # A repair starts with an empty hand: while the next subgoal places a held object, the
    # check waits until that place is done.
    nxt = remaining[0] if remaining else None
    busy = nxt is not None and nxt.skill == "place" and tracker.holds(nxt.object)
    if undone and not busy:
        what = ", ".join(relation_text(f.subgoal) for f in undone)
        return f"undone: {what}", undone
    return "", []


def missing_needed(tracker: SceneTracker, remaining: Sequence[Subgoal]) -> list[tuple[int, str]]:
    """(subgoal index, id) of each object the remaining subgoals need that is neither seen nor
    in the hand."""
    scene = tracker.scene
    held = [
        oid
        for s in remaining
        for oid in referenced_ids(s)
        if oid not in scene.ids and tracker.holds(oid)
    ]
    return missing_objects(remaining, scene, held)
