"""A learned skill: a trained policy (one checkpoint per skill) run as a `Skill`.

At the start it reads the subgoal's object and target from the observation's scene (once, as
the policy was trained: the executor perceives once per skill), resets the policy, and then
each control period turns the robot state into features (`features.py`), takes the policy's
next action and sends it as an `EECommand` in the table frame (positions relative to the
skill's anchor, yaws relative to the hand yaw the chunk was predicted at). It succeeds when
the policy says `done`, and fails after `max_steps` control periods without it.

    policies = load_skill_policies("policies/learned/checkpoints")   # {"pick": policy, ...}
    skill = LearnedSkill("pick", policies["pick"])
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from robot_llm.errors import InputError
from robot_llm.policies.base import EECommand, Observation, SkillResult, SkillRun
from robot_llm.policies.learned.features import (
    KINDS,
    SKILLS,
    FeatureError,
    ObjectPose,
    anchor_of,
    decode_action,
    env_features,
    frame_yaw,
    hand_yaw,
    kind_of,
    object_height,
    state_features,
    target_of,
)
from robot_llm.policies.manipulation import expected_in
from robot_llm.policies.motion import GRIP_SQUEEZE
from robot_llm.tabletop.geometry import half_extents_xy
from robot_llm.tabletop.palette import BLOCK_EDGE
from robot_llm.types import Scene, Subgoal

DEFAULT_MAX_STEPS = 720  # 30 s at 24 Hz; the scripted demonstrations take 4-10 s
MIN_STEPS = 4  # a done flag before this many periods is not believed
HELD_SQUEEZE = 0.002  # a held block is about this much wider than the fingers' gap, meters
DEFAULT_MAX_GRIPPER_WIDTH = 0.08  # meters between the fingers fully open (the Panda's)


def grip_opening(predicted: float, edge: float, max_width: float) -> float:
    """The gripper command for a predicted opening (0 closed .. 1 open) on a block of `edge`
    meters: a prediction that closes the fingers on the block holds it `GRIP_SQUEEZE` inside
    its edge, as the scripted grip does.

    The demonstrations squeeze 2 mm, a few hundredths of the 0-1 opening, which is about the
    regression's error: a learned pick that closed a little wider held the block so weakly that
    it slipped out at the start of the place. The policy still decides when to close and open;
    this only sets how hard a closed hand holds. Openings wider than the block pass unchanged.
    """
    if edge <= 0.0 or max_width <= 0.0 or predicted * max_width >= edge:
        return predicted
    return min(predicted, max(edge - GRIP_SQUEEZE, 0.0) / max_width)


def scene_poses(scene: Scene) -> dict[str, ObjectPose]:
    """The feature poses of the perceived objects, by id."""
    out = {}
    for o in scene:
        try:
            h = object_height(o.kind, o.size)
        except KeyError:
            h = float(BLOCK_EDGE["medium"])
        x, y, z = (float(v) for v in o.position)
        out[o.id] = ObjectPose((x, y, z), float(o.yaw), o.kind, h)
    return out


def _occupant(scene: Scene, subgoal: Subgoal) -> str:
    """A block other than the subgoal's resting within its container's outline ("" if none)."""
    try:
        box = scene.get(str(subgoal.in_))
    except KeyError:
        return ""
    reach = max(half_extents_xy(box.kind, box.size))
    for o in scene:
        near = math.dist(o.position[:2], box.position[:2]) < reach
        if near and o.kind == "block" and o.id != subgoal.object:
            return o.id
    return ""


class LearnedSkill:
    """Runs a loaded policy (ChunkingMLPPolicy) for the subgoals of one skill."""

    name: ClassVar[str] = "learned"

    def __init__(
        self,
        skill: str,
        policy: Any,
        max_steps: int = DEFAULT_MAX_STEPS,
        fallback: Callable[[], Any] | None = None,
        max_gripper_width: float = DEFAULT_MAX_GRIPPER_WIDTH,
    ) -> None:
        if skill not in SKILLS:
            raise FeatureError(f"no learned skill {skill!r}; known: {', '.join(SKILLS)}")
        self.skill = skill
        self.policy = policy
        self.max_steps = max_steps
        self.max_gripper_width = max_gripper_width
        # The skill for subgoals and scenes the policy was not trained on (a place `at` a
        # point or `across` two blocks or into a tray, a push in a direction, a pick from a
        # tower): the scripted one, in the registry.
        self.fallback = fallback

    def supports(self, subgoal: Subgoal) -> bool:
        """Whether the policy can describe this subgoal (place on/in an object, push to)."""
        if self.skill == "place":
            return subgoal.target is not None
        if self.skill == "push":
            return subgoal.to is not None
        return True

    def _object(self, subgoal: Subgoal, poses: dict[str, ObjectPose], state: Any) -> Any:
        oid = subgoal.object or ""
        if self.skill != "place":
            return poses.get(oid)
        # A place's object is in the hand: only its height is used, from its perceived size,
        # else (the hand hides it) from the fingers' gap.
        seen = poses.get(oid)
        kind = seen.kind if seen is not None else kind_of(oid)
        height = seen.height if seen is not None else float(BLOCK_EDGE["medium"])
        width = float(state.gripper_width)
        if seen is None and kind == "block" and 0.0 < width < max(BLOCK_EDGE.values()) + 0.01:
            height = min(BLOCK_EDGE.values(), key=lambda e: abs(e - (width + HELD_SQUEEZE)))
        x, y, z = (float(v) for v in state.ee_position)
        return ObjectPose((x, y, z), 0.0, kind, float(height))

    def _unseen(
        self, obj: ObjectPose, target: ObjectPose | None, subgoal: Subgoal, observation: Observation
    ) -> str:
        """What about this scene the demonstrations never showed ("" when nothing): a target
        of another kind (a tray), a container that holds or will hold other blocks (the
        demonstrations drop into an empty one, at its middle), an object to pick that rests on
        something (a tower)."""
        if target is not None and self.skill == "place" and target.kind not in KINDS:
            return f"a place into a {target.kind}"
        if target is not None and self.skill == "place" and subgoal.in_ is not None:
            if expected_in(subgoal, observation) > 1:
                return f"{subgoal.in_!r} is to hold more than one block"
            if _occupant(observation.scene, subgoal):
                return f"{subgoal.in_!r} already holds a block"
        if self.skill == "pick" and obj.kind == "block" and obj.position[2] > obj.height:
            return "a pick from on top of another object"
        return ""

    def run(self, subgoal: Subgoal, observation: Observation) -> SkillRun:
        import torch

        if subgoal.skill != self.skill:
            return SkillResult(False, f"the learned {self.skill} cannot run {subgoal.skill!r}")
        if not self.supports(subgoal) and self.fallback is not None:
            result: SkillResult = yield from self.fallback().run(subgoal, observation)
            return result
        poses = scene_poses(observation.scene)
        s = observation.state
        obj = self._object(subgoal, poses, s)
        if obj is None:
            return SkillResult(False, f"{subgoal.object!r} is not in the scene")
        try:
            target = target_of(subgoal, poses)
        except FeatureError as err:
            return SkillResult(False, str(err))
        unseen = self._unseen(obj, target, subgoal, observation)
        if unseen and self.fallback is not None:
            result = yield from self.fallback().run(subgoal, observation)
            return result
        anchor = anchor_of(self.skill, obj, target)
        frame = frame_yaw(self.skill, obj, target)
        self.policy.reset()
        ref_yaw = hand_yaw(s.ee_orientation)
        t0 = float(s.timestamp)
        for step in range(self.max_steps):
            s = observation.state
            hand = np.asarray(s.ee_position, dtype=float)
            yaw = hand_yaw(s.ee_orientation)
            batch = {
                "observation.state": torch.from_numpy(
                    state_features(
                        hand, yaw, float(s.gripper_width), float(s.timestamp) - t0, frame
                    )
                )[None],
                "observation.environment_state": torch.from_numpy(
                    env_features(self.skill, hand, yaw, obj, target, frame)
                )[None],
            }
            if self.policy.queued == 0:
                ref_yaw = yaw
            action = self.policy.select_action(batch)[0].numpy()
            position, cmd_yaw, gripper, done = decode_action(action, anchor, ref_yaw, frame)
            if done and step >= MIN_STEPS:
                return SkillResult(True)
            if self.skill != "push" and obj.kind == "block":
                gripper = grip_opening(gripper, obj.height, self.max_gripper_width)
            observation = yield EECommand(position, cmd_yaw, gripper)
        return SkillResult(
            False, f"learned {self.skill}: not done after {self.max_steps} control periods"
        )


def load_skill_policies(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The checkpoints in `folder/<skill>/` (pick, place, push: those present), loaded; an
    InputError when the folder has none."""
    from robot_llm.policies.learned.checkpoint import CONFIG_FILE, load_policy

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"learned policy: {root} is not a folder")
    found = {s: load_policy(root / s) for s in SKILLS if (root / s / CONFIG_FILE).is_file()}
    if not found:
        raise InputError(
            f"learned policy: {root} has no checkpoint (expected {'/, '.join(SKILLS)}/ folders "
            "with config.json and model.safetensors)"
        )
    return found
