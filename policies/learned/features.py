"""Features of a learned skill, shared by training (dataset frames) and run time (observations).

Everything is in a frame that moves with the hand, so a policy learns "go down onto the thing
in front of you" rather than absolute table coordinates:

- `observation.state` (5): hand height z (table frame), sin and cos of the hand yaw, gripper
  width, and seconds since the skill started (a demonstration that waits above the block for
  a fresh view and then goes down is not a guess about when). The hand's x and y are left out
  on purpose: where things are comes only relative to the hand, so a few dozen
  demonstrations generalize over the table instead of being memorized.
- `observation.environment_state` (ENV_SIZE): the subgoal's object and target as they were when
  the skill started (the executor perceives once per skill), relative to the hand now:
  object position minus hand position (3; zeros for a place, whose object is in the hand),
  the object's yaw relative to the hand folded by its symmetry (90 degrees for blocks and
  zones) and its sin/cos of 4x (3), the object's height (1);
  target position minus hand position (3, the `to` point for push), target yaw relative to the
  hand folded (1), the target's rest height (1), its kind one-hot block/bowl/zone (3).
  A pick has no target (zeros).
- `action` (ACTION_SIZE): the commanded end-effector target minus the skill's anchor (3: the
  object's position at the start for pick and push, the target's for place; a fixed point, so
  "go 3 cm above the block" is the same action wherever the block is), the commanded yaw minus
  the hand yaw when the chunk was predicted (1, wrapped to +-pi), the gripper opening (1, 0
  closed .. 1 open), and `done` (1 on the skill's last DONE_FRAMES frames).

A push is learned in its own frame as well: every horizontal offset (features and actions) and
the hand yaw are turned by the direction from the object to the point it goes to
(`frame_yaw`), so each demonstration is "come down behind it and slide it along +x" whatever
the direction; pick and place use the table's axes (frame 0).

Pure numpy; torch is not imported here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from robot_llm.errors import InputError
from robot_llm.tabletop.geometry import BLOCK_EDGE, rest_height
from robot_llm.tabletop.rotations import tool_yaw, yaw_mod
from robot_llm.types import Subgoal

SKILLS: Final = ("pick", "place", "push")
STATE_SIZE: Final = 5
ENV_SIZE: Final = 16
ACTION_SIZE: Final = 6
DONE_FRAMES: Final = 3  # frames at the end of a demonstration labelled done
KINDS: Final = ("block", "bowl", "zone")
# A tool pointing straight down with yaw 0 (rotation by pi about x), as policies.motion uses.
TOOL_DOWN: Final = np.array([1.0, 0.0, 0.0, 0.0])


class FeatureError(InputError):
    """A subgoal or object that a learned skill cannot describe."""


@dataclass(frozen=True)
class ObjectPose:
    """What a skill's features need of one object: where it is, its yaw, kind and height."""

    position: tuple[float, float, float]
    yaw: float
    kind: str
    height: float  # full height of a block (its edge); rest height of a container


def kind_of(object_id: str) -> str:
    """The kind named by an id like `red_block` (the tasks' and benchmarks' convention)."""
    kind = object_id.rsplit("_", 1)[-1]
    return kind if kind in KINDS or kind == "tray" else "block"


def object_height(kind: str, size: str) -> float:
    """Height used in the features for an object of this kind and size (meters)."""
    return float(BLOCK_EDGE[size]) if kind == "block" else float(rest_height(kind, size))


def height_from_rest(kind: str, z: float) -> float:
    """The feature height of an object resting on the table with its center at `z`: a block's
    edge is the nearest palette edge to 2 z; containers have one rest height."""
    if kind == "block":
        return float(min(BLOCK_EDGE.values(), key=lambda e: abs(e - 2 * z)))
    return float(rest_height(kind, "medium"))


def quat_yaw(q: Sequence[float]) -> float:
    """Yaw about +z of an object's quaternion (x, y, z, w)."""
    x, y, z, w = (float(v) for v in q)
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def hand_yaw(quat: Sequence[float]) -> float:
    """Yaw of a straight-down tool from the end-effector quaternion."""
    return float(tool_yaw(np.asarray(quat, dtype=float), TOOL_DOWN))


def _symmetry(kind: str) -> float:
    return math.pi / 2 if kind in ("block", "zone") else (math.pi if kind == "tray" else 0.0)


def _relative_yaw(kind: str, yaw: float, hand: float) -> float:
    period = _symmetry(kind)
    return yaw_mod(yaw - hand, period) if period else 0.0


def state_features(
    hand: Sequence[float], yaw: float, gripper_width: float, elapsed: float, frame: float = 0.0
) -> np.ndarray:
    """The state features of one frame; the hand yaw relative to the skill's frame
    (`frame_yaw`)."""
    turned = yaw - frame
    return np.array(
        [hand[2], math.sin(turned), math.cos(turned), gripper_width, elapsed], dtype=np.float32
    )


def env_features(
    skill: str,
    hand: Sequence[float],
    yaw: float,
    obj: ObjectPose | None,
    target: ObjectPose | None,
    frame: float = 0.0,
) -> np.ndarray:
    """The environment features of one frame (see the module docstring); horizontal offsets
    turned into the skill's frame (`frame_yaw`)."""
    if skill not in SKILLS:
        raise FeatureError(f"no learned features for skill {skill!r}; known: {', '.join(SKILLS)}")
    out = np.zeros(ENV_SIZE, dtype=np.float32)
    h = np.asarray(hand, dtype=float)
    if obj is not None and skill == "place":
        # The object is in the hand: where the camera last saw it says little; its height
        # says how high to let go.
        out[6] = obj.height
    elif obj is not None:
        rel = _relative_yaw(obj.kind, obj.yaw, yaw)
        out[0:3] = np.asarray(obj.position) - h
        out[3:6] = (rel, math.sin(4 * rel), math.cos(4 * rel))
        out[6] = obj.height
    if target is not None:
        out[7:10] = np.asarray(target.position) - h
        out[10] = _relative_yaw(target.kind, target.yaw, yaw)
        out[11] = target.height
        if target.kind in KINDS:
            out[12 + KINDS.index(target.kind)] = 1.0
    if frame:
        out[0:2] = _turn(out[0:2], -frame)
        out[7:9] = _turn(out[7:9], -frame)
    return out


def frame_yaw(skill: str, obj: ObjectPose | None, target: ObjectPose | None) -> float:
    """The direction a skill's features and actions are turned by: for a push, from the
    object to the point it goes to (every push is then "along +x"); 0 for pick and place."""
    if skill != "push" or obj is None or target is None:
        return 0.0
    dx = target.position[0] - obj.position[0]
    dy = target.position[1] - obj.position[1]
    return math.atan2(dy, dx) if (dx or dy) else 0.0


def _turn(xy: Sequence[float] | np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    x, y = float(xy[0]), float(xy[1])
    return np.array([c * x - s * y, s * x + c * y])


def target_of(subgoal: Subgoal, poses: Mapping[str, ObjectPose]) -> ObjectPose | None:
    """The place target's pose, or the push goal as a point on the table; None for a pick."""
    if subgoal.skill == "pick":
        return None
    if subgoal.skill == "push":
        if subgoal.to is None:
            raise FeatureError("a learned push needs a `to` point")
        obj = poses.get(subgoal.object or "")
        z = obj.position[2] if obj is not None else 0.0
        return ObjectPose((float(subgoal.to[0]), float(subgoal.to[1]), z), 0.0, "point", 0.0)
    target = subgoal.target
    if target is None:
        raise FeatureError(f"a learned place needs `on` or `in`: {subgoal.to_dict()}")
    if target not in poses:
        raise FeatureError(f"the target {target!r} is not in the scene")
    return poses[target]


def anchor_of(skill: str, obj: ObjectPose | None, target: ObjectPose | None) -> np.ndarray:
    """The fixed point a skill's actions are relative to: the target's position for a place,
    the object's for pick and push."""
    ref = target if skill == "place" else obj
    if ref is None:
        raise FeatureError(
            f"a learned {skill} needs its {'target' if skill == 'place' else 'object'}"
        )
    return np.asarray(ref.position, dtype=float)


def encode_action(
    position: Sequence[float],
    yaw: float,
    gripper: float,
    done: float,
    anchor: Sequence[float],
    ref_yaw: float,
    frame: float = 0.0,
) -> np.ndarray:
    """A commanded end-effector pose as an action: position relative to the skill's anchor
    (turned into the skill's frame), yaw relative to the hand's when the chunk was predicted."""
    d = np.asarray(position, dtype=float) - np.asarray(anchor, dtype=float)
    if frame:
        d[:2] = _turn(d[:2], -frame)
    return np.array(
        [d[0], d[1], d[2], math.remainder(yaw - ref_yaw, 2 * math.pi), gripper, done],
        dtype=np.float32,
    )


def decode_action(
    action: Sequence[float], anchor: Sequence[float], ref_yaw: float, frame: float = 0.0
) -> tuple[np.ndarray, float, float, bool]:
    """(position, yaw, gripper, done) in the table frame from an action."""
    a = np.asarray(action, dtype=float)
    offset = a[0:3].copy()
    if frame:
        offset[:2] = _turn(offset[:2], frame)
    position = np.asarray(anchor, dtype=float) + offset
    gripper = float(np.clip(a[4], 0.0, 1.0))
    return position, float(ref_yaw + a[3]), gripper, bool(a[5] > 0.5)
