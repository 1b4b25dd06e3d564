"""Verification: did a subgoal have its effect, and does the scene still match the plan?

Perceived objects are turned into the simulator's `ObjectState` so that the same predicates that
decide every task's success (`robot_llm.tabletop.predicates`) decide here too: there is one meaning
of "in the bowl" or "on the block". Perception reports upright objects (a yaw, no tilt).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from robot_llm.skills import MOVING_SKILLS

# What push directions and the default push distance mean, as the push skill defines them.
from robot_llm.tabletop.directions import DEFAULT_PUSH_DISTANCE, DIRECTION_VECTORS
from robot_llm.tabletop.geometry import half_extents_xy
from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.predicates import (
    at_point,
    bottom,
    bridges,
    horizontal_distance,
    placed_in,
    top,
)
from robot_llm.tabletop.scene import ObjectSpec
from robot_llm.types import RobotState, Scene, SceneObject, Subgoal

# A closed gripper holds an object when its width is between this fraction of the object's
# width and the object's width plus HELD_SLACK (fully closed means it grasped nothing).
HELD_MIN_FRACTION: Final = 0.5
HELD_SLACK: Final = 0.02
# A held object that the camera still sees lies this close to the hand, horizontally, meters.
HELD_RADIUS: Final = 0.05
# A picked object's bottom rose at least this much, meters.
LIFT_MIN: Final = 0.02
# push(to=...) succeeds within this distance of the point, or after covering PUSH_PROGRESS of
# the way; push(direction=...) after covering PUSH_PROGRESS of the distance, meters.
PUSH_TOLERANCE: Final = 0.03
PUSH_PROGRESS: Final = 0.5
# move_to succeeds with the end effector this close to the pose, meters.
MOVE_TOLERANCE: Final = 0.01


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""


OK: Final = Verdict(True)


# -- adapter --------------------------------------------------------------------------------------
def object_state(o: SceneObject) -> ObjectState:
    """A perceived object as the predicates' ObjectState: upright, rotated by its yaw."""
    x, y, z = (float(v) for v in o.position)
    spec = ObjectSpec(o.id, o.kind, o.color, o.size, (x, y), float(o.yaw))
    half = float(o.yaw) / 2
    quat = np.array([0.0, 0.0, math.sin(half), math.cos(half)])
    return ObjectState(spec, np.array([x, y, z]), quat)


def object_states(scene: Scene) -> dict[str, ObjectState]:
    """Every object of a scene as an ObjectState, by id."""
    return {o.id: object_state(o) for o in scene.objects}


def _find(scene: Scene, object_id: str | None) -> SceneObject | None:
    for o in scene.objects:
        if o.id == object_id:
            return o
    return None


def _xy(o: SceneObject) -> str:
    return f"[{o.position[0]:.3f}, {o.position[1]:.3f}]"


# -- holding --------------------------------------------------------------------------------------
def object_width(kind: str, size: str) -> float:
    """Width between the fingers when grasping an object of this kind and size, meters."""
    return 2.0 * min(half_extents_xy(kind, size))


def gripper_holds(state: RobotState, kind: str, size: str) -> bool:
    """Proprioception alone: the fingers stopped on something about as wide as the object."""
    width = object_width(kind, size)
    return HELD_MIN_FRACTION * width <= state.gripper_width <= width + HELD_SLACK


def is_held(
    object_id: str,
    scene: Scene,
    state: RobotState,
    last_known: Mapping[str, SceneObject] | None = None,
) -> bool:
    """The object is in the gripper: the fingers closed on its width, and the camera either
    cannot see it (the hand hides it) or sees it at the hand."""
    seen = _find(scene, object_id)
    ref = seen or (last_known or {}).get(object_id)
    if ref is None or not gripper_holds(state, ref.kind, ref.size):
        return False
    if seen is None:
        return True
    ex, ey, _ = state.ee_position
    return math.hypot(seen.position[0] - ex, seen.position[1] - ey) <= HELD_RADIUS


# -- subgoal effects ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evidence:
    """What a check sees: the scenes perceived before and after a subgoal, the robot's
    proprioception after it, and the last place each object was seen."""

    before: Scene
    after: Scene
    state: RobotState
    last_known: Mapping[str, SceneObject]


Check = Callable[[Subgoal, Evidence], Verdict]
CHECKS: dict[str, Check] = {}


def checks(skill: str) -> Callable[[Check], Check]:
    """Register the function that checks a skill's effect from the camera."""

    def register(check: Check) -> Check:
        CHECKS[skill] = check
        return check

    return register


def verify(
    subgoal: Subgoal,
    before: Scene,
    after: Scene,
    state: RobotState,
    last_known: Mapping[str, SceneObject] | None = None,
) -> Verdict:
    """Whether `subgoal` took effect, judged from the scenes perceived before and after it
    and the robot's proprioception after it. Skills without a check (`CHECKS`) always pass."""
    check = CHECKS.get(subgoal.skill)
    if check is None:
        return OK
    return check(subgoal, Evidence(before, after, state, last_known or {}))


@checks("move_to")
def _verify_move_to(subgoal: Subgoal, e: Evidence) -> Verdict:
    assert subgoal.pose is not None
    goal = np.asarray(subgoal.pose[:3], dtype=float)
    d = float(np.linalg.norm(np.asarray(e.state.ee_position) - goal))
    if d <= MOVE_TOLERANCE:
        return OK
    return Verdict(False, f"the end effector stopped {d:.3f} m from the pose")


@checks("pick")
def _verify_pick(subgoal: Subgoal, e: Evidence) -> Verdict:
    before, after, state = e.before, e.after, e.state
    oid = subgoal.object
    assert oid is not None
    start = _find(before, oid) or e.last_known.get(oid)
    if start is None:
        return Verdict(False, f"{oid} was not in the scene")
    now = _find(after, oid)
    if not gripper_holds(state, start.kind, start.size):
        where = f"; it is at {_xy(now)}" if now is not None else ""
        return Verdict(
            False,
            f"the gripper holds nothing (width {state.gripper_width:.3f} m){where}",
        )
    if now is None:
        return OK  # in the closed hand, hidden from the camera
    ex, ey, _ = state.ee_position
    if math.hypot(now.position[0] - ex, now.position[1] - ey) > HELD_RADIUS:
        return Verdict(False, f"{oid} is at {_xy(now)}, not in the gripper")
    rise = bottom(object_state(now)) - bottom(object_state(start))
    if rise < LIFT_MIN:
        return Verdict(False, f"{oid} was not lifted (rose {rise:.3f} m)")
    return OK


@checks("place")
def _verify_place(subgoal: Subgoal, e: Evidence) -> Verdict:
    after = e.after
    oid = subgoal.object
    assert oid is not None
    obj = _find(after, oid)
    if obj is None:
        return Verdict(False, f"{oid} is not in the scene after placing it")
    a = object_state(obj)
    if subgoal.at is not None:
        x, y = subgoal.at
        if at_point(a, (x, y)):
            return OK
        d = math.hypot(a.position[0] - x, a.position[1] - y)
        return Verdict(False, f"{oid} is at {_xy(obj)}, {d:.3f} m from [{x:.3f}, {y:.3f}]")
    if subgoal.across is not None:
        return _verify_across(oid, a, subgoal.across, after)
    tid = subgoal.target
    target = _find(after, tid)
    if target is None:
        return Verdict(False, f"{tid} is not in the scene")
    t = object_state(target)
    if placed_in(a, t):
        return OK
    relation = "on" if subgoal.on is not None else "in"
    d = horizontal_distance(a, t)
    level = bottom(a) - (top(t) if t.spec.kind == "block" else bottom(t))
    return Verdict(
        False,
        f"{oid} is not {relation} {tid}: {d:.3f} m from its center, bottom {level:+.3f} m "
        f"from its {'top' if t.spec.kind == 'block' else 'base'}",
    )


def _verify_across(oid: str, a: ObjectState, across: tuple[str, str], after: Scene) -> Verdict:
    first, second = (_find(after, i) for i in across)
    if first is None or second is None:
        missing = across[0] if first is None else across[1]
        return Verdict(False, f"{missing} is not in the scene")
    s1, s2 = object_state(first), object_state(second)
    if bridges(a, s1, s2):
        return OK
    mx = (s1.position[0] + s2.position[0]) / 2
    my = (s1.position[1] + s2.position[1]) / 2
    d = math.hypot(a.position[0] - mx, a.position[1] - my)
    level = bottom(a) - max(top(s1), top(s2))
    return Verdict(
        False,
        f"{oid} is not across {across[0]} and {across[1]}: {d:.3f} m from between them, "
        f"bottom {level:+.3f} m from their tops",
    )


def push_goal(subgoal: Subgoal, start: SceneObject) -> tuple[float, float]:
    """Where a push subgoal means the object to end up (table frame x, y)."""
    if subgoal.to is not None:
        return (float(subgoal.to[0]), float(subgoal.to[1]))
    assert subgoal.direction is not None
    ux, uy = DIRECTION_VECTORS[subgoal.direction]
    dist = subgoal.distance if subgoal.distance is not None else DEFAULT_PUSH_DISTANCE
    return (start.position[0] + ux * dist, start.position[1] + uy * dist)


@checks("push")
def _verify_push(subgoal: Subgoal, e: Evidence) -> Verdict:
    before, after = e.before, e.after
    oid = subgoal.object
    assert oid is not None
    start, now = _find(before, oid), _find(after, oid)
    if start is None:
        return Verdict(False, f"{oid} was not in the scene")
    if now is None:
        return Verdict(False, f"{oid} is not in the scene after the push")
    gx, gy = push_goal(subgoal, start)
    d0 = math.hypot(start.position[0] - gx, start.position[1] - gy)
    d1 = math.hypot(now.position[0] - gx, now.position[1] - gy)
    if subgoal.to is not None:
        if d1 <= max(PUSH_TOLERANCE, (1.0 - PUSH_PROGRESS) * d0):
            return OK
        return Verdict(False, f"{oid} is {d1:.3f} m from [{gx:.3f}, {gy:.3f}] (was {d0:.3f} m)")
    assert subgoal.direction is not None
    ux, uy = DIRECTION_VECTORS[subgoal.direction]
    moved = (now.position[0] - start.position[0]) * ux + (now.position[1] - start.position[1]) * uy
    if moved >= PUSH_PROGRESS * d0:
        return OK
    return Verdict(False, f"{oid} moved {moved:.3f} m {subgoal.direction} of {d0:.3f} m")


# -- the plan against the scene -------------------------------------------------------------------
def referenced_ids(subgoal: Subgoal) -> tuple[str, ...]:
    """Object ids a subgoal names (its object and its target)."""
    named = (subgoal.object, subgoal.on, subgoal.in_, *(subgoal.across or ()))
    return tuple(i for i in named if i is not None)


def relation_holds(subgoal: Subgoal, scene: Scene) -> bool:
    """Whether a place subgoal's relation (object on/in target, or at a point) holds now."""
    obj = _find(scene, subgoal.object)
    if obj is None:
        return False
    a = object_state(obj)
    if subgoal.at is not None:
        return at_point(a, (float(subgoal.at[0]), float(subgoal.at[1])))
    if subgoal.across is not None:
        return _verify_across(str(subgoal.object), a, subgoal.across, scene).ok
    target = _find(scene, subgoal.target)
    return target is not None and placed_in(a, object_state(target))


def missing_objects(
    subgoals: Sequence[Subgoal], scene: Scene, held: Iterable[str] = ()
) -> list[tuple[int, str]]:
    """(index, id) of every object the subgoals name that the scene lacks (held ones excepted)."""
    present = set(scene.ids) | set(held)
    return [
        (i, oid) for i, s in enumerate(subgoals) for oid in referenced_ids(s) if oid not in present
    ]


def moved_by(subgoals: Iterable[Subgoal]) -> set[str]:
    """Ids that some of these subgoals will move or disturb on purpose."""
    out: set[str] = set()
    for s in subgoals:
        if s.skill in MOVING_SKILLS and s.object is not None:
            out.add(s.object)
    return out
