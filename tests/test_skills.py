"""Scripted skills on the simulated arm: each schema skill does what it says, within limits.

Skills see simulator truth as their scene here (TruthPerceiver, perceived every control period)
so these tests check the skills, not perception; one test runs pick on camera perception.
Nothing is timed by the wall clock: speeds are checked from commands and observed poses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pybullet as p
import pytest

from robot_llm.envs.world import TabletopWorld
from robot_llm.perception import TruthPerceiver
from robot_llm.policies.base import Command, EECommand, HoldCommand, Observation
from robot_llm.policies.motion import MotionLimits, line, trapezoid
from robot_llm.policies.placement import PlaceError, free_spot, resolve_place
from robot_llm.policies.runner import run_skill
from robot_llm.policies.scripted import SKILLS, make_skill
from robot_llm.robots.base import Applied, Robot
from robot_llm.robots.sim import SimRobot
from robot_llm.tabletop.predicates import in_bowl, in_tray, in_zone, on_block, on_table, upright
from robot_llm.types import SKILLS as SCHEMA_SKILLS
from robot_llm.types import Scene, SceneObject, Subgoal

MakeWorld = Callable[..., TabletopWorld]

SCENE = [
    {"id": "red", "kind": "block", "color": "red", "size": "medium", "position": [0.45, 0.12],
     "yaw": 25.0},
    {"id": "blue", "kind": "block", "color": "blue", "size": "large", "position": [0.55, -0.12],
     "yaw": -30.0},
    {"id": "green", "kind": "block", "color": "green", "size": "small", "position": [0.38, -0.05]},
    {"id": "bowl", "kind": "bowl", "color": "yellow", "size": "medium", "position": [0.60, 0.14]},
    {"id": "zone", "kind": "zone", "color": "purple", "size": "medium", "position": [0.42, -0.22]},
]  # fmt: skip


@dataclass
class Rig:
    """A world, its SimRobot, motion limits and a truth perceiver, with a log of every step."""

    world: TabletopWorld
    robot: SimRobot
    limits: MotionLimits
    steps: list[tuple[Command, Applied, Observation]] = field(default_factory=list)

    def scene(self) -> Scene:
        return replace(TruthPerceiver(self.world).perceive(), timestamp=self.robot.sim_time)

    def run(self, skill: str, **fields: Any) -> Any:
        sub = Subgoal(skill, **fields)
        return run_skill(
            make_skill(skill, self.limits), sub, self.robot, self.scene, on_step=self.log
        )

    def log(self, command: Command, applied: Applied, obs: Observation) -> None:
        self.steps.append((command, applied, obs))

    def state(self, object_id: str) -> Any:
        return self.world.object_states()[object_id]

    def settle(self, n: int = 12) -> None:
        for _ in range(n):
            self.robot.hold()


@pytest.fixture
def rig(make_world: MakeWorld) -> Rig:
    world = make_world(SCENE)
    robot = SimRobot(world)
    pos, yaw = robot.ee_target()
    limits = MotionLimits.from_robot(robot.info, home_pose=(*pos, yaw))
    return Rig(world, robot, limits)


# -- pure motion math -----------------------------------------------------------------------------
@pytest.mark.parametrize("distance", [0.001, 0.02, 0.3, 1.0])
def test_trapezoid_caps_speed_and_acceleration(distance: float) -> None:
    dt, v, a = 1 / 24, 0.25, 1.0
    s = trapezoid(distance, v, a, dt)
    steps = np.diff(np.concatenate([[0.0], s]))
    assert s[-1] == pytest.approx(distance)
    assert (steps >= -1e-12).all()
    assert steps.max() <= v * dt + 1e-12
    assert np.abs(np.diff(steps)).max() <= a * dt * dt * 1.01 + 1e-12


def test_line_interpolates_yaw_within_rate() -> None:
    lim = MotionLimits()
    poses = line(np.zeros(3), 3.0, np.array([0.1, 0.0, 0.0]), -3.0, lim)
    yaws = np.unwrap([y for _, y in poses])
    assert math.remainder(yaws[-1] + 3.0, 2 * math.pi) == pytest.approx(0.0, abs=1e-9)
    assert abs(yaws[-1] - 3.0) < 0.3  # the short way round, through pi
    assert np.abs(np.diff(yaws)).max() <= lim.max_yaw_rate * lim.dt + 1e-9


def test_registry_has_one_skill_per_schema_skill() -> None:
    assert tuple(SKILLS) == SCHEMA_SKILLS
    for name in SCHEMA_SKILLS:
        assert make_skill(name).name == name
    with pytest.raises(ValueError, match="unknown skill"):
        make_skill("dance")


# -- pick -----------------------------------------------------------------------------------------
def test_pick_lifts_the_block_and_verifies_the_grasp(rig: Rig) -> None:
    result = rig.run("pick", object="red")
    assert result.success, result.reason
    red = rig.state("red")
    assert red.position[2] > 0.08
    ee = np.asarray(rig.robot.state().ee_position)
    assert np.linalg.norm(red.position[:2] - ee[:2]) < 0.01
    assert rig.robot.state().gripper_width == pytest.approx(0.04, abs=0.006)
    assert math.remainder(red.yaw - rig.robot.ee_target()[1], math.pi / 2) == pytest.approx(
        0.0, abs=0.06
    )


def test_pick_fails_when_the_block_is_not_where_the_scene_says(rig: Rig) -> None:
    stale = rig.scene()
    body = rig.world.bodies["red"]
    p.resetBasePositionAndOrientation(
        body, (0.65, 0.0, 0.02), (0, 0, 0, 1), physicsClientId=rig.world.client
    )
    result = run_skill(
        make_skill("pick", rig.limits),
        Subgoal("pick", object="red"),
        rig.robot,
        lambda: stale,
        perceive_every=0,
    )
    assert not result.success
    assert result.reason.startswith("grasp missed: gripper closed to 0.0")


def test_pick_reports_unknown_objects_and_non_blocks(rig: Rig) -> None:
    assert rig.run("pick", object="ghost").reason == "object 'ghost' not in scene"
    result = rig.run("pick", object="bowl")
    assert not result.success and "only blocks" in result.reason
    assert not rig.steps  # nothing moved


# -- place ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("obj", "where", "check"),
    [
        ("green", {"on": "blue"}, lambda s, t: on_block(s, t)),
        ("red", {"in_": "bowl"}, lambda s, t: in_bowl(s, t)),
        ("green", {"in_": "zone"}, lambda s, t: in_zone(s, t)),
    ],
)
def test_place_puts_the_held_block_on_or_in_its_target(
    rig: Rig, obj: str, where: dict[str, str], check: Callable[..., bool]
) -> None:
    assert rig.run("pick", object=obj).success
    result = rig.run("place", object=obj, **where)
    assert result.success, result.reason
    rig.settle()
    target = next(iter(where.values()))
    assert check(rig.state(obj), rig.state(target))
    assert rig.robot.state().ee_position[2] > rig.state(obj).position[2] + 0.04  # retreated


def test_place_at_a_point_lands_within_tolerance(rig: Rig) -> None:
    assert rig.run("pick", object="red").success
    result = rig.run("place", object="red", at=(0.55, 0.02))
    assert result.success, result.reason
    rig.settle()
    red = rig.state("red")
    assert math.dist(red.position[:2], (0.55, 0.02)) < 0.01
    assert on_table(red)


def test_two_blocks_share_a_bowl(rig: Rig) -> None:
    for block in ("red", "green"):
        assert rig.run("pick", object=block).success
        result = rig.run("place", object=block, in_="bowl")
        assert result.success, result.reason
    rig.settle()
    bowl = rig.state("bowl")
    assert in_bowl(rig.state("red"), bowl) and in_bowl(rig.state("green"), bowl)
    assert upright(rig.state("green"))  # beside the red block, not on it


def test_place_in_a_tray(make_world: MakeWorld) -> None:
    world = make_world(
        [
            {"id": "b", "kind": "block", "color": "red", "size": "small", "position": [0.4, 0.15]},
            {"id": "t", "kind": "tray", "color": "gray", "position": [0.55, -0.05]},
        ]
    )
    robot = SimRobot(world)
    rig = Rig(world, robot, MotionLimits.from_robot(robot.info))
    assert rig.run("pick", object="b").success
    result = rig.run("place", object="b", in_="t")
    assert result.success, result.reason
    rig.settle()
    assert in_tray(rig.state("b"), rig.state("t"))
    assert rig.robot.state().gripper_width > 0.075  # the hand left the block with open fingers


def test_place_fails_when_nothing_is_held(rig: Rig) -> None:
    result = rig.run("place", object="red", on="blue")
    assert not result.success
    assert result.reason.startswith("nothing held")


def test_place_notices_a_block_that_fell_out(rig: Rig) -> None:
    assert rig.run("pick", object="red").success
    p.resetBasePositionAndOrientation(
        rig.world.bodies["red"], (0.65, 0.0, 0.02), (0, 0, 0, 1), physicsClientId=rig.world.client
    )
    rig.settle()
    result = rig.run("place", object="red", on="blue")
    assert not result.success
    assert result.reason.startswith("nothing held: the fingers closed freely")


def test_place_on_a_missing_target_fails_with_a_reason(rig: Rig) -> None:
    assert rig.run("pick", object="red").success
    result = rig.run("place", object="red", on="ghost")
    assert result.reason == "target 'ghost' not in scene"


def _obj(oid: str, kind: str, xy: tuple[float, float], size: str = "medium") -> SceneObject:
    z = {"block": 0.02, "bowl": 0.0225, "zone": 0.001, "tray": 0.02}[kind]
    return SceneObject(oid, kind, "red", size, (xy[0], xy[1], z))


def test_free_spot_keeps_blocks_in_a_container_apart() -> None:
    bowl = _obj("bowl", "bowl", (0.5, 0.0), "large")
    inside = _obj("a", "block", (0.5, 0.0))
    spot = free_spot(bowl, 0.04, [inside])
    assert spot is not None
    assert np.linalg.norm(spot - [0.5, 0.0]) > 0.04  # not on the block already there
    assert np.linalg.norm(spot - [0.5, 0.0]) < 0.06  # still inside the bowl
    assert free_spot(bowl, 0.04, []) == pytest.approx([0.5, 0.0])


def test_place_targets_explain_what_is_wrong() -> None:
    scene = Scene((_obj("a", "block", (0.5, 0.0)), _obj("z", "zone", (0.4, 0.2))))
    with pytest.raises(PlaceError, match="occupied by 'a'"):
        resolve_place(scene, Subgoal("place", object="h", at=(0.505, 0.0)), "h", 0.04)
    with pytest.raises(PlaceError, match="on itself"):
        resolve_place(scene, Subgoal("place", object="a", on="a"), "a", 0.04)
    on_zone = resolve_place(scene, Subgoal("place", object="h", at=(0.41, 0.2)), "h", 0.04)
    assert on_zone.kind == "zone" and on_zone.surface == pytest.approx(0.002)
    stacked = resolve_place(scene, Subgoal("place", object="h", on="a"), "h", 0.04)
    assert stacked.surface == pytest.approx(0.04) and stacked.align_yaw == 0.0


# -- push -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("direction", "axis", "sign"),
    [("left", 1, 1.0), ("right", 1, -1.0), ("forward", 0, 1.0), ("back", 0, -1.0)],
)
def test_push_moves_the_block_in_the_requested_direction(
    rig: Rig, direction: str, axis: int, sign: float
) -> None:
    before = rig.state("green").position.copy()
    result = rig.run("push", object="green", direction=direction)
    assert result.success, result.reason
    rig.settle()
    after = rig.state("green")
    moved = after.position - before
    assert sign * moved[axis] == pytest.approx(0.10, abs=0.025)
    assert abs(moved[1 - axis]) < 0.025
    assert upright(after)


def test_push_refuses_when_something_is_in_the_way(rig: Rig) -> None:
    result = rig.run("push", object="red", direction="forward")  # into the bowl
    assert not result.success and "'bowl'" in result.reason
    assert not rig.steps


def _square(oid: str, x: float, y: float, edge: float = 0.03) -> SceneObject:
    h = edge / 2
    corners = ((x - h, y - h), (x + h, y - h), (x + h, y + h), (x - h, y + h))
    return SceneObject(oid, "block", "red", "small", (x, y, h), footprint=corners)


def test_push_may_end_a_block_beside_another_closer_than_the_fingers_are_wide() -> None:
    from robot_llm.policies.manipulation import Push

    pushed = _square("a", 0.30, 0.00)
    start, goal = np.array([0.30, 0.00]), np.array([0.30, 0.10])
    behind, end = np.array([0.30, -0.035]), np.array([0.30, 0.065])  # lead + contact: 3.5 cm
    beside_goal = _square("b", 0.346, 0.10)  # 3.1 cm from the goal's center to its face
    assert (
        Push.blocker(Scene([pushed, beside_goal]), pushed, start, goal, behind, end, 0.015, 0.015)
        == ""
    )
    beside_fingers = _square("c", 0.34, 0.04)  # 2.5 cm from where the fingers pass
    why = Push.blocker(
        Scene([pushed, beside_fingers]), pushed, start, goal, behind, end, 0.015, 0.015
    )
    assert "'c' is in the way" in why
    on_path = _square("d", 0.31, 0.09)  # the block itself would hit it
    why = Push.blocker(Scene([pushed, on_path]), pushed, start, goal, behind, end, 0.015, 0.015)
    assert "'d' is in the way" in why


def test_push_to_a_point(rig: Rig) -> None:
    result = rig.run("push", object="green", to=(0.38, -0.13))
    assert result.success, result.reason
    rig.settle()
    assert math.dist(rig.state("green").position[:2], (0.38, -0.13)) < 0.025


# -- arm and gripper ------------------------------------------------------------------------------
def test_move_to_reaches_the_pose(rig: Rig) -> None:
    result = rig.run("move_to", pose=(0.5, 0.1, 0.2, 0.6))
    assert result.success, result.reason
    state = rig.robot.state()
    assert math.dist(state.ee_position, (0.5, 0.1, 0.2)) < 0.005
    assert rig.robot.ee_target()[1] == pytest.approx(0.6, abs=0.03)


def test_move_to_and_home_keep_a_held_block(rig: Rig) -> None:
    assert rig.run("pick", object="red").success
    assert rig.run("move_to", pose=(0.5, 0.0, 0.15, 0.3)).success
    assert rig.run("home").success
    red = rig.state("red")
    ee = np.asarray(rig.robot.state().ee_position)
    assert np.linalg.norm(red.position - ee) < 0.02  # still between the fingers


def test_move_to_outside_the_workspace_fails(rig: Rig) -> None:
    result = rig.run("move_to", pose=(1.5, 0.0, 0.2))
    assert not result.success and "outside the workspace" in result.reason


def test_open_and_close_change_the_gripper_width(rig: Rig) -> None:
    assert rig.run("close_gripper").success
    assert rig.robot.state().gripper_width < 0.005
    assert rig.run("open_gripper").success
    assert rig.robot.state().gripper_width > 0.075


def test_home_returns_to_the_home_pose(rig: Rig) -> None:
    home = np.asarray(rig.robot.state().joint_positions)
    assert rig.run("move_to", pose=(0.55, -0.2, 0.12, -0.8)).success
    result = rig.run("home")
    assert result.success, result.reason
    assert np.abs(np.asarray(rig.robot.state().joint_positions) - home).max() < 0.03


def test_home_without_a_known_home_pose_uses_the_joints(rig: Rig) -> None:
    assert rig.run("move_to", pose=(0.45, 0.1, 0.25)).success
    rig.limits = MotionLimits.from_robot(rig.robot.info)
    assert rig.run("home").success
    info_home = np.asarray(rig.robot.info.home)
    assert np.abs(np.asarray(rig.robot.state().joint_positions) - info_home).max() < 0.03


def test_stop_holds_for_one_period_and_succeeds(rig: Rig) -> None:
    gen = make_skill("stop").run(Subgoal("stop"), Observation(rig.robot.state(), rig.scene()))
    assert isinstance(next(gen), HoldCommand)
    with pytest.raises(StopIteration) as done:
        gen.send(Observation(rig.robot.state(), rig.scene()))
    assert done.value.value.success


# -- limits ---------------------------------------------------------------------------------------
def test_skills_never_exceed_the_speed_cap(rig: Rig) -> None:
    assert rig.run("pick", object="red").success
    assert rig.run("place", object="red", on="blue").success
    assert rig.run("push", object="green", direction="right").success
    cap = rig.limits.max_speed
    dt = 1.0 / rig.robot.control_hz
    targets = [np.asarray(a.position) for c, a, _ in rig.steps if isinstance(c, EECommand)]
    assert not any("speed" in a.clipped for _, a, _ in rig.steps)
    steps = np.linalg.norm(np.diff(np.asarray(targets), axis=0), axis=1)
    assert steps.max() <= cap * dt + 1e-9
    ee = np.asarray([o.state.ee_position for _, _, o in rig.steps])
    observed = np.linalg.norm(np.diff(ee, axis=0), axis=1) / dt
    assert observed.max() < 1.1 * cap  # the arm tracks the capped target without overshoot


def test_a_lower_speed_cap_is_respected(rig: Rig) -> None:
    rig.limits = replace(rig.limits, max_speed=0.1)
    assert rig.run("move_to", pose=(0.5, 0.0, 0.2)).success
    targets = np.asarray([a.position for _, a, _ in rig.steps])
    steps = np.linalg.norm(np.diff(targets, axis=0), axis=1)
    assert steps.max() <= 0.1 / rig.robot.control_hz + 1e-9


def test_sim_robot_clips_workspace_and_speed_and_reports_it(rig: Rig) -> None:
    robot = rig.robot
    start, yaw = robot.ee_target()
    applied = robot.command_ee(np.array([2.0, 0.0, 0.3]), yaw, 1.0)
    assert "workspace" in applied.clipped and "speed" in applied.clipped
    step = np.asarray(applied.position) - start
    assert np.linalg.norm(step) == pytest.approx(robot.limits.max_ee_speed / robot.control_hz)
    inside = np.asarray(applied.position) + np.array([0.005, 0.0, 0.0])
    assert robot.command_ee(inside, yaw, 1.0).clipped == ()


def test_stop_latches_a_hold_and_skills_end(rig: Rig) -> None:
    robot = rig.robot
    assert isinstance(robot, Robot) and not robot.stopped
    assert rig.run("move_to", pose=(0.45, 0.0, 0.25)).success
    robot.stop()
    assert robot.stopped
    before = np.asarray(robot.state().ee_position)
    result = rig.run("move_to", pose=(0.6, 0.2, 0.15))
    assert not result.success and result.reason == "robot is holding"
    for _ in range(24):
        assert robot.command_ee(np.array([0.6, 0.2, 0.15]), 0.0, 1.0).mode == "holding"
    assert np.linalg.norm(np.asarray(robot.state().ee_position) - before) < 0.003
    robot.resume()
    assert not robot.stopped
    assert rig.run("move_to", pose=(0.6, 0.2, 0.15)).success


def test_the_robot_protocol_holds_what_callers_use() -> None:
    """stop, resume, stopped and close are part of the protocol: callers never look them up."""
    members = {"stop", "resume", "stopped", "close", "state", "capture", "command_ee", "hold"}
    assert members <= set(dir(Robot))

    class NoClose:  # everything a robot needs but close()
        info = state = capture = command_ee = command_joints = hold = stop = resume = print
        ee_target = print
        stopped = False

    assert not isinstance(NoClose(), Robot)


def test_run_skill_gives_up_after_max_steps(rig: Rig) -> None:
    result = run_skill(
        make_skill("move_to", rig.limits),
        Subgoal("move_to", pose=(0.6, 0.2, 0.15)),
        rig.robot,
        rig.scene,
        max_steps=5,
    )
    assert not result.success and "did not finish in 5 steps" in result.reason


# -- camera perception ----------------------------------------------------------------------------
def test_pick_with_camera_perception(rig: Rig) -> None:
    from robot_llm.perception import CameraPerceiver, associate

    reference = rig.scene()
    perceiver = CameraPerceiver()

    def perceive() -> Scene:
        frame = rig.robot.capture("main")
        return associate(perceiver.perceive(frame), reference)

    result = run_skill(
        make_skill("pick", rig.limits),
        Subgoal("pick", object="blue"),
        rig.robot,
        perceive,
        perceive_every=0,
    )
    assert result.success, result.reason
    assert rig.state("blue").position[2] > 0.08
