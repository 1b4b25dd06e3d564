"""The executor: runs plans in simulation with camera perception, verifies, retries, repairs,
replans and stops; its events, log, video and the `robot-llm execute` command.

Tiers: pure logic (verification on hand-made scenes, event JSON), control flow with small skills
of this file on the simulated robot, and end-to-end runs of the scripted skills with the camera
perceiver in the loop.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pybullet as p
import pytest

from robot_llm.envs.world import TabletopWorld
from robot_llm.execution import (
    Event,
    Executor,
    PlanFinished,
    PlanStarted,
    Replanned,
    Stopped,
    SubgoalFailed,
    SubgoalRetried,
    SubgoalStarted,
    SubgoalSucceeded,
    event_from_dict,
    read_log,
)
from robot_llm.execution.verify import (
    gripper_holds,
    is_held,
    object_state,
    relation_holds,
    verify,
)
from robot_llm.perception import CameraPerceiver, TruthPerceiver, scene_from_spec
from robot_llm.policies.base import HoldCommand, Observation, SkillResult, SkillRun
from robot_llm.robots.sim import SimRobot
from robot_llm.tabletop.predicates import in_bowl, on_block
from robot_llm.tabletop.scene import SceneSpec, bundled_scenes, load_scene
from robot_llm.types import Clarify, Plan, RobotState, Scene, SceneObject, Subgoal

pytestmark = pytest.mark.timeout(240)

SCENE_FILE = bundled_scenes()["blocks_and_bowls"]
PICK_RED = Subgoal("pick", object="red_block")
RED_IN_BOWL = Subgoal("place", object="red_block", in_="green_bowl")
PICK_GREEN = Subgoal("pick", object="green_block")
GREEN_ON_BLUE = Subgoal("place", object="green_block", on="blue_block")


# -- fixtures and helpers -------------------------------------------------------------------------
@dataclass
class Sim:
    world: TabletopWorld
    robot: SimRobot
    spec: SceneSpec

    @property
    def reference(self) -> Scene:
        return scene_from_spec(self.spec)

    def truth(self) -> dict[str, Any]:
        return self.world.object_states()

    def teleport(self, object_id: str, xy: tuple[float, float]) -> None:
        """Put an object upright on the table at xy, at rest (a knock or a slip, by hand)."""
        spec = self.spec.get(object_id)
        half = _half_height(spec.kind, spec.size)
        body = self.world.bodies[object_id]
        c = self.world.client
        p.resetBasePositionAndOrientation(body, [xy[0], xy[1], half + 0.0005], [0, 0, 0, 1], c)
        p.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0], physicsClientId=c)


def _half_height(kind: str, size: str) -> float:
    from robot_llm.tabletop.geometry import height

    return height(kind, size) / 2


@pytest.fixture
def sim(make_world: Callable[..., TabletopWorld]) -> Sim:
    spec = load_scene(SCENE_FILE)
    world = make_world(spec)
    return Sim(world, SimRobot(world), spec)


def kinds(events: Sequence[Event]) -> list[str]:
    return [e.type for e in events]


def plan_of(*subgoals: Subgoal, command: str = "test") -> Plan:
    return Plan(tuple(subgoals), command, "test")


# -- pure logic: verification on hand-made scenes -------------------------------------------------
def obj(oid: str, kind: str, xyz: tuple[float, float, float], size: str = "medium") -> SceneObject:
    return SceneObject(oid, kind, oid.split("_")[0], size, xyz, 0.3)


def state(ee: tuple[float, float, float] = (0.15, 0.0, 0.37), width: float = 0.08) -> RobotState:
    return RobotState((0.0,) * 7, (0.0,) * 7, ee, (1.0, 0.0, 0.0, 0.0), width)


def test_adapter_gives_predicates_perceived_objects() -> None:
    block = obj("red_block", "block", (0.6, 0.15, 0.027))
    bowl = obj("green_bowl", "bowl", (0.6, 0.15, 0.0233))
    s = object_state(block)
    assert s.spec.id == "red_block" and s.spec.kind == "block" and s.spec.size == "medium"
    assert math.isclose(s.yaw, 0.3, abs_tol=1e-9) and s.tilt < 1e-9
    assert in_bowl(s, object_state(bowl))
    base = obj("blue_block", "block", (0.36, -0.2, 0.025), "large")
    top = obj("green_block", "block", (0.362, -0.205, 0.065), "small")
    assert on_block(object_state(top), object_state(base))
    scene = Scene((block, bowl, base, top))
    assert relation_holds(RED_IN_BOWL, scene) and relation_holds(GREEN_ON_BLUE, scene)
    assert not relation_holds(Subgoal("place", object="red_block", on="blue_block"), scene)


def test_verify_place_push_pick_and_move_on_hand_made_scenes() -> None:
    bowl = obj("green_bowl", "bowl", (0.6, 0.15, 0.0233))
    inside = Scene((obj("red_block", "block", (0.61, 0.16, 0.027)), bowl))
    beside = Scene((obj("red_block", "block", (0.42, 0.12, 0.02)), bowl))
    assert verify(RED_IN_BOWL, beside, inside, state()).ok
    failed = verify(RED_IN_BOWL, inside, beside, state())
    assert not failed.ok and "not in green_bowl" in failed.reason
    at = Subgoal("place", object="red_block", at=(0.42, 0.125))
    assert verify(at, beside, beside, state()).ok
    # push: half the distance along the direction counts
    left = Subgoal("push", object="red_block", direction="left", distance=0.1)
    moved = Scene((obj("red_block", "block", (0.42, 0.19, 0.02)), bowl))
    assert verify(left, beside, moved, state()).ok
    assert not verify(left, beside, beside, state()).ok
    # pick: the fingers closed on the block's width and the camera no longer sees it on the table
    held = Scene((bowl,))
    assert verify(PICK_RED, beside, held, state(width=0.04)).ok
    missed = verify(PICK_RED, beside, beside, state(width=0.0))
    assert not missed.ok and "holds nothing" in missed.reason
    assert not verify(PICK_RED, beside, beside, state(ee=(0.15, 0.0, 0.37), width=0.04)).ok
    assert gripper_holds(state(width=0.039), "block", "medium")
    assert not gripper_holds(state(width=0.08), "block", "medium")
    assert is_held("red_block", held, state(width=0.04), {"red_block": beside.objects[0]})
    move = Subgoal("move_to", pose=(0.4, 0.0, 0.3))
    assert verify(move, held, held, state(ee=(0.401, 0.0, 0.3))).ok
    assert not verify(move, held, held, state(ee=(0.45, 0.0, 0.3))).ok


def test_events_round_trip_through_json() -> None:
    sub = RED_IN_BOWL.to_dict()
    events: list[Event] = [
        PlanStarted(0.0, "cmd", "test", (PICK_RED.to_dict(), sub), notes=("set a block aside",)),
        SubgoalStarted(0.1, 1, sub, 1),
        SubgoalFailed(0.2, 1, sub, 1, "missed", False),
        SubgoalRetried(0.3, 1, sub, 2, "missed", True),
        SubgoalSucceeded(0.4, 1, sub, 2, 0.3),
        Replanned(0.5, "undone", "repair", (sub,), 1),
        Stopped(0.6, 0),
        PlanFinished(0.7, "stopped", "stop requested", 0.7, 1, 1),
    ]
    for e in events:
        d = json.loads(json.dumps(e.to_dict()))
        assert d["event"] == e.type
        assert event_from_dict(d) == e
        assert e.summary()
    with pytest.raises(ValueError, match="unknown event"):
        event_from_dict({"event": "exploded"})


# -- control flow with small skills of this file ---------------------------------------------------
class Flaky:
    """Holds still for a few control periods and fails the first `failures` runs."""

    name: ClassVar[str] = "open_gripper"
    runs = 0

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def run(self, subgoal: Subgoal, observation: Observation) -> SkillRun:
        for _ in range(3):
            yield HoldCommand()
        Flaky.runs += 1
        if Flaky.runs <= self.failures:
            return SkillResult(False, f"flaky failure {Flaky.runs}")
        return SkillResult(True)


def flaky(failures: int) -> Callable[[], Flaky]:
    Flaky.runs = 0
    return lambda: Flaky(failures)


def test_failed_skill_is_retried_and_events_follow(sim: Sim) -> None:
    seen: list[Event] = []
    executor = Executor(
        sim.robot,
        TruthPerceiver(sim.world),
        skills={"open_gripper": flaky(1)},
        on_event=seen.append,
    )
    result = executor.run(plan_of(Subgoal("open_gripper")), sim.reference)
    assert result.status == "done", result.reason
    assert kinds(result.events) == [
        "plan_started",
        "subgoal_started",
        "subgoal_failed",
        "subgoal_retried",
        "subgoal_started",
        "subgoal_succeeded",
        "plan_finished",
    ]
    assert seen == list(result.events)
    failed = result.events[2]
    assert isinstance(failed, SubgoalFailed)
    assert failed.reason == "flaky failure 1" and not failed.final
    (r,) = result.subgoals
    assert r.success and r.attempts == 2 and r.skill == "open_gripper"
    assert result.timings.periods >= 6


def test_retries_run_out_and_the_run_fails_with_the_reason(sim: Sim, tmp_path: Path) -> None:
    executor = Executor(
        sim.robot,
        TruthPerceiver(sim.world),
        skills={"open_gripper": flaky(99)},
        max_retries=1,
        log_path=tmp_path,  # a folder: one new log file per run
    )
    result = executor.run(plan_of(Subgoal("open_gripper"), Subgoal("open_gripper")))
    assert result.log_path is not None and result.log_path.parent == tmp_path
    assert read_log(result.log_path) == list(result.events)
    assert result.status == "failed"
    assert "subgoal 0 (open_gripper) failed: flaky failure 2" in result.reason
    (r,) = result.subgoals
    assert not r.success and r.attempts == 2
    finals = [e for e in result.events if isinstance(e, SubgoalFailed)]
    assert [e.final for e in finals] == [False, True]
    assert kinds(result.events)[-1] == "plan_finished"


def test_plan_naming_a_missing_object_fails_or_asks_the_replanner(sim: Sim) -> None:
    plan = plan_of(Subgoal("pick", object="purple_block"))
    truth = TruthPerceiver(sim.world)
    result = Executor(sim.robot, truth, skills={}).run(plan, sim.reference)
    assert result.status == "failed"
    assert result.reason.startswith("purple_block is not in the scene (needed by pick")
    assert not result.subgoals

    calls: list[tuple[str, Scene, Sequence[Any]]] = []

    def replan(command: str, scene: Scene, history: Sequence[Any]) -> Clarify:
        calls.append((command, scene, history))
        return Clarify("Which block do you mean?", ("red_block", "green_block"))

    result = Executor(sim.robot, truth, skills={}, replan=replan).run(plan, sim.reference)
    assert result.status == "failed" and "asks: Which block do you mean?" in result.reason
    ((command, scene, history),) = calls
    assert command == "test" and "red_block" in scene.ids and list(history) == []


# -- end to end: scripted skills, camera perception -----------------------------------------------
def test_plan_runs_with_camera_perception_and_verified_effects(sim: Sim, tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    seen: list[Event] = []
    executor = Executor(sim.robot, CameraPerceiver(), log_path=log, on_event=seen.append)
    plan = plan_of(PICK_RED, RED_IN_BOWL, PICK_GREEN, GREEN_ON_BLUE)
    result = executor.run(plan, sim.reference)
    assert result.status == "done", result.reason
    assert [(r.skill, r.success, r.attempts) for r in result.subgoals] == [
        ("pick", True, 1),
        ("place", True, 1),
        ("pick", True, 1),
        ("place", True, 1),
    ]
    # The simulator agrees with what the executor verified from the camera.
    truth = sim.truth()
    assert in_bowl(truth["red_block"], truth["green_bowl"])
    assert on_block(truth["green_block"], truth["blue_block"])
    # The final scene keeps the scene file's ids.
    assert set(result.scene.ids) == set(sim.spec.ids)
    assert relation_holds(RED_IN_BOWL, result.scene)
    # Events: the expected sequence, the same in the callback, the result and the log.
    assert kinds(result.events) == [
        "plan_started",
        *["subgoal_started", "subgoal_succeeded"] * 4,
        "plan_finished",
    ]
    starts = [e for e in result.events if isinstance(e, SubgoalStarted)]
    assert [e.index for e in starts] == [0, 1, 2, 3]
    assert starts[1].subgoal == {"skill": "place", "object": "red_block", "in": "green_bowl"}
    assert seen == list(result.events)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [e.to_dict() for e in result.events]
    assert read_log(log) == list(result.events)
    finished = result.events[-1]
    assert isinstance(finished, PlanFinished) and finished.status == "done"
    assert finished.succeeded == 4 and finished.failed == 0
    assert result.timings.perception > 0 and result.timings.periods > 100


def test_missed_grasp_is_retried_with_fresh_perception(sim: Sim) -> None:
    camera = CameraPerceiver()
    calls = 0

    def perceive_then_slip(frame: Any) -> Scene:
        # The block slides away right after the first look: the first grasp closes on air.
        nonlocal calls
        scene = camera.perceive(frame)
        calls += 1
        if calls == 1:
            sim.teleport("red_block", (0.47, 0.05))
        return scene

    executor = Executor(sim.robot, perceive_then_slip)
    result = executor.run(plan_of(PICK_RED, RED_IN_BOWL), sim.reference)
    assert result.status == "done", result.reason
    pick, place = result.subgoals
    assert pick.attempts == 2 and pick.success and place.attempts == 1
    failed = next(e for e in result.events if isinstance(e, SubgoalFailed))
    assert failed.index == 0 and "holds nothing" in failed.reason
    retried = next(e for e in result.events if isinstance(e, SubgoalRetried))
    assert retried.attempt == 2 and not retried.repick
    truth = sim.truth()
    assert in_bowl(truth["red_block"], truth["green_bowl"])


def test_failed_place_that_dropped_the_block_picks_it_up_again(sim: Sim) -> None:
    def drop_on_first_place(event: Event) -> None:
        if isinstance(event, SubgoalStarted) and event.index == 1 and event.attempt == 1:
            sim.teleport("red_block", (0.47, 0.05))  # out of the hand, onto the table

    executor = Executor(sim.robot, CameraPerceiver(), on_event=drop_on_first_place)
    result = executor.run(plan_of(PICK_RED, RED_IN_BOWL), sim.reference)
    assert result.status == "done", result.reason
    place = result.subgoals[1]
    assert place.success and place.attempts == 2
    retried = next(e for e in result.events if isinstance(e, SubgoalRetried))
    assert retried.repick and retried.index == 1
    truth = sim.truth()
    assert in_bowl(truth["red_block"], truth["green_bowl"])


def test_pushes_and_a_place_at_a_point_are_verified(sim: Sim) -> None:
    plan = plan_of(
        Subgoal("push", object="red_block", direction="back", distance=0.06),
        Subgoal("push", object="green_block", to=(0.50, 0.02)),
        PICK_RED,
        Subgoal("place", object="red_block", at=(0.55, 0.02)),
    )
    result = Executor(sim.robot, CameraPerceiver()).run(plan, sim.reference)
    assert result.status == "done", result.reason
    assert all(r.success and r.attempts == 1 for r in result.subgoals)
    truth = sim.truth()
    assert math.dist(truth["green_block"].position[:2], (0.50, 0.02)) < 0.03
    assert math.dist(truth["red_block"].position[:2], (0.55, 0.02)) < 0.015


def knock_green_off(sim: Sim, when_index: int) -> Callable[[Event], None]:
    done = False

    def hook(event: Event) -> None:
        nonlocal done
        if isinstance(event, SubgoalStarted) and event.index == when_index and not done:
            done = True
            sim.teleport("green_block", (0.50, -0.02))  # knocked off the blue block

    return hook


def test_knocked_off_block_is_noticed_and_restored(sim: Sim) -> None:
    plan = plan_of(PICK_GREEN, GREEN_ON_BLUE, PICK_RED, RED_IN_BOWL)
    executor = Executor(sim.robot, CameraPerceiver(), on_event=knock_green_off(sim, 2))
    result = executor.run(plan, sim.reference)
    assert result.status == "done", result.reason
    (replanned,) = [e for e in result.events if isinstance(e, Replanned)]
    assert replanned.source == "repair" and "green_block on blue_block" in replanned.reason
    assert [s["skill"] for s in replanned.subgoals[:2]] == ["pick", "place"]
    repairs = [r for r in result.subgoals if r.repair]
    assert [(r.skill, r.success) for r in repairs] == [("pick", True), ("place", True)]
    assert len(result.subgoals) == 6
    truth = sim.truth()
    assert on_block(truth["green_block"], truth["blue_block"])
    assert in_bowl(truth["red_block"], truth["green_bowl"])


def test_knocked_off_block_goes_to_the_replanner(sim: Sim) -> None:
    goals = [GREEN_ON_BLUE]
    calls: list[Sequence[Any]] = []

    def replan(command: str, scene: Scene, history: Sequence[Any]) -> Plan:
        # A small goal-based planner: pick and place whatever goal does not hold now.
        calls.append(history)
        todo = [g for g in goals if not relation_holds(g, scene)]
        steps = [s for g in todo for s in (Subgoal("pick", object=g.object), g)]
        return Plan(tuple(steps), command, "goals")

    plan = plan_of(PICK_GREEN, GREEN_ON_BLUE, Subgoal("home"))
    executor = Executor(
        sim.robot, CameraPerceiver(), replan=replan, on_event=knock_green_off(sim, 2)
    )
    result = executor.run(plan, sim.reference)
    assert result.status == "done", result.reason
    (replanned,) = [e for e in result.events if isinstance(e, Replanned)]
    assert replanned.source == "replanner" and replanned.plan == 1
    assert [h["skill"] for h in calls[0]] == ["pick", "place", "home"]
    assert result.plan.planner == "goals" and result.replans == 1
    assert on_block(sim.truth()["green_block"], sim.truth()["blue_block"])


def test_stop_from_another_thread_halts_within_a_period_and_holds(
    make_world: Callable[..., TabletopWorld],
) -> None:
    world = make_world(load_scene(SCENE_FILE))
    robot = SimRobot(world, realtime=True)  # periods take wall time, as on a real arm
    executor = Executor(robot, TruthPerceiver(world))
    started = threading.Event()
    marks: dict[str, Any] = {}

    def on_event(event: Event) -> None:
        if isinstance(event, SubgoalStarted):
            started.set()

    executor.add_listener(on_event)

    def stopper() -> None:
        started.wait(30)
        time.sleep(0.6)
        marks["ee"] = np.asarray(robot.state().ee_position)
        executor.stop()
        marks["sim_time"] = robot.sim_time
        marks["wall"] = time.monotonic()

    thread = threading.Thread(target=stopper)
    thread.start()
    long_move = Subgoal("move_to", pose=(0.60, 0.30, 0.15))  # ~0.6 m: over 2 s at 0.25 m/s
    result = executor.run(plan_of(long_move))
    end_wall = time.monotonic()
    thread.join(5)
    assert result.status == "stopped" and result.reason == "stop requested"
    assert kinds(result.events)[-2:] == ["stopped", "plan_finished"]
    (r,) = result.subgoals
    assert not r.success and r.reason == "stop requested"
    periods_after = (robot.sim_time - marks["sim_time"]) * robot.control_hz
    assert periods_after <= 2 + 1e-6
    assert end_wall - marks["wall"] < 0.5
    # The arm stays where it stopped: no more than a period's travel, then still.
    ee = np.asarray(robot.state().ee_position)
    assert np.linalg.norm(ee - marks["ee"]) < 0.02
    robot.realtime = False
    for _ in range(24):
        robot.hold()
    assert np.linalg.norm(np.asarray(robot.state().ee_position) - ee) < 0.003
    assert robot.stopped
    # A new run refuses to move until resumed.
    again = executor.run(plan_of(Subgoal("home")))
    assert again.status == "stopped" and "resume" in again.reason


# -- the execute command ---------------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "robot_llm.cli", *args],
        capture_output=True,
        text=True,
        timeout=200,
    )


def write_plan(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_execute_cli_prints_one_json_object_and_writes_video_and_log(tmp_path: Path) -> None:
    import cv2

    plan = write_plan(
        tmp_path / "plan.json",
        {
            "type": "plan",
            "command": "red in green",
            "subgoals": [PICK_RED.to_dict(), RED_IN_BOWL.to_dict()],
        },
    )
    video, log = tmp_path / "run.mp4", tmp_path / "run.jsonl"
    out = run_cli(
        "execute",
        "--scene",
        str(SCENE_FILE),
        "--plan",
        str(plan),
        "--json",
        "--video",
        str(video),
        "--video-every",
        "16",
        "--log",
        str(log),
    )
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["status"] == "done" and data["success"] is True
    assert [(s["skill"], s["success"]) for s in data["subgoals"]] == [
        ("pick", True),
        ("place", True),
    ]
    after = {o["id"]: o for o in data["scene_after"]}
    assert set(after) == set(load_scene(SCENE_FILE).ids)
    red, bowl = after["red_block"], after["green_bowl"]
    assert red["kind"] == "block" and red["color"] == "red" and red["size"] == "medium"
    assert len(red["position"]) == 3
    assert math.dist(red["position"][:2], bowl["position"][:2]) < 0.05
    assert data["video"] == str(video) and data["log"] == str(log)
    assert "pick red_block" in out.stderr  # progress goes to stderr
    cap = cv2.VideoCapture(str(video))
    ok, frame = cap.read()
    assert ok and frame.shape == (480, 640, 3)
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) > 10
    events = read_log(log)
    assert events[0].type == "plan_started" and events[-1].type == "plan_finished"


def test_execute_cli_failed_run_is_exit_1_with_the_reason(tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path / "plan.json",
        {"type": "plan", "subgoals": [{"skill": "pick", "object": "green_bowl"}]},
    )
    out = run_cli(
        "execute",
        "--scene",
        str(SCENE_FILE),
        "--plan",
        str(plan),
        "--perception",
        "truth",
        "--json",
    )
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == "failed" and data["perception"] == "truth"
    assert "only blocks can be picked" in data["reason"]
    assert data["subgoals"][0]["attempts"] == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"type": "plan", "subgoals": [{"skill": "fly"}]}, "unknown skill 'fly'"),
        (
            {"type": "plan", "subgoals": [{"skill": "pick", "object": "purple_block"}]},
            "names 'purple_block', which is not in the scene",
        ),
        ({"type": "clarify", "question": "which one?"}, "holds a clarify result, not a plan"),
        (None, "file not found"),
    ],
    ids=["malformed", "schema", "unknown-id", "clarify", "missing"],
)
def test_execute_cli_bad_plan_is_exit_2_with_one_line(
    tmp_path: Path, content: Any, message: str
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        write_plan(path, content)
    out = run_cli("execute", "--scene", str(SCENE_FILE), "--plan", str(path), "--json")
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("robot-llm: error: ")
    assert message in lines[0] and str(path) in lines[0]


def test_cli_help_lists_execute() -> None:
    out = run_cli("--help")
    assert "execute" in out.stdout


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    before = threading.active_count()
    yield
    assert threading.active_count() <= before


# -- pyramids, shared containers, hidden blocks ---------------------------------------------------
def _three_blocks(make_world: Callable[..., TabletopWorld]) -> Sim:
    from robot_llm.tabletop.scene import ObjectSpec

    spec = SceneSpec(
        (
            ObjectSpec("red_block", "block", "red", "medium", (0.38, 0.18), 0.4),
            ObjectSpec("blue_block", "block", "blue", "medium", (0.40, -0.20), -0.3),
            ObjectSpec("green_block", "block", "green", "medium", (0.62, 0.16), 0.2),
            ObjectSpec("yellow_bowl", "bowl", "yellow", "medium", (0.60, -0.16), 0.0),
        )
    )
    world = make_world(spec)
    return Sim(world, SimRobot(world), spec)


def test_a_block_across_two_blocks_builds_a_small_pyramid(
    make_world: Callable[..., TabletopWorld],
) -> None:
    from robot_llm.tabletop.predicates import bridges, side_by_side

    sim = _three_blocks(make_world)
    plan = plan_of(
        Subgoal("pick", object="red_block"),
        Subgoal("place", object="red_block", at=(0.50, 0.024)),
        Subgoal("pick", object="blue_block"),
        Subgoal("place", object="blue_block", at=(0.50, -0.024)),
        Subgoal("pick", object="green_block"),
        Subgoal("place", object="green_block", across=("red_block", "blue_block")),
    )
    result = Executor(sim.robot, CameraPerceiver()).run(plan, sim.reference)
    assert result.status == "done", result.reason
    t = sim.truth()
    assert side_by_side(t["red_block"], t["blue_block"])
    assert bridges(t["green_block"], t["red_block"], t["blue_block"])
    # The first base block went down square to the table (it started turned by 0.4 rad).
    assert abs(((t["red_block"].yaw + math.pi / 4) % (math.pi / 2)) - math.pi / 4) < 0.1


def test_place_across_blocks_that_stand_apart_fails_with_the_reason(
    make_world: Callable[..., TabletopWorld],
) -> None:
    sim = _three_blocks(make_world)
    plan = plan_of(
        Subgoal("pick", object="green_block"),
        Subgoal("place", object="green_block", across=("red_block", "blue_block")),
    )
    result = Executor(sim.robot, CameraPerceiver(), max_retries=0).run(plan, sim.reference)
    assert result.status == "failed"
    assert "too far apart to bridge" in result.reason
    assert sim.truth()["red_block"].position[2] < 0.03  # nothing was put on the red block


def test_two_blocks_into_one_bowl_leave_room_for_each_other(
    make_world: Callable[..., TabletopWorld],
) -> None:
    sim = _three_blocks(make_world)
    plan = plan_of(
        Subgoal("pick", object="red_block"),
        Subgoal("place", object="red_block", in_="yellow_bowl"),
        Subgoal("pick", object="blue_block"),
        Subgoal("place", object="blue_block", in_="yellow_bowl"),
    )
    result = Executor(sim.robot, CameraPerceiver(), max_retries=0).run(plan, sim.reference)
    assert result.status == "done", result.reason
    t = sim.truth()
    assert in_bowl(t["red_block"], t["yellow_bowl"]) and in_bowl(t["blue_block"], t["yellow_bowl"])


class _Still:
    """A robot that stands still with its hand at `ee`; its frames come from the test."""

    info = None

    def __init__(self, ee: tuple[float, float, float]) -> None:
        self.ee = ee

    def capture(self, camera: str = "main") -> Any:
        return None

    def state(self) -> RobotState:
        return state(ee=self.ee)


def test_a_hidden_block_keeps_its_last_confident_pose() -> None:
    from robot_llm.execution.tracking import SceneTracker

    frames = iter(
        [
            Scene((SceneObject("green_block", "block", "green", "medium", (0.5, 0.0, 0.02), 0.0),)),
            # Mostly hidden: a sliver of pixels puts it 3 cm off.
            Scene(
                (
                    SceneObject(
                        "green_block",
                        "block",
                        "green",
                        "medium",
                        (0.47, -0.017, 0.02),
                        0.0,
                        confidence=0.25,
                    ),
                )
            ),
            # Moved by a skill, a low-confidence sighting is taken as it is.
            Scene(
                (
                    SceneObject(
                        "green_block",
                        "block",
                        "green",
                        "medium",
                        (0.48, 0.01, 0.02),
                        0.0,
                        confidence=0.3,
                    ),
                )
            ),
        ]
    )

    tracker = SceneTracker(_Still((0.48, 0.01, 0.2)), lambda _frame: next(frames))  # type: ignore[arg-type]
    first = tracker.perceive()
    assert first.get("green_block").position[:2] == (0.5, 0.0)
    hidden = tracker.perceive()
    assert hidden.get("green_block").position[:2] == (0.5, 0.0)
    tracker.expect_at_hand("green_block")
    moved = tracker.perceive()
    assert moved.get("green_block").position[:2] == (0.48, 0.01)


def test_a_block_hidden_under_blocks_resting_on_it_stays_in_the_scene() -> None:
    from robot_llm.execution.tracking import SceneTracker

    def block(color: str, x: float, z: float) -> SceneObject:
        return SceneObject(f"{color}_block", "block", color, "medium", (x, 0.0, z), 0.0)

    base = [block("red", 0.452, 0.02), block("green", 0.5, 0.02), block("blue", 0.548, 0.02)]
    over = [block("pink", 0.476, 0.06), block("cyan", 0.524, 0.06)]
    frames = iter(
        [
            Scene((*base, *over[:1])),
            # The middle of the base row, under the two blocks across it, is not seen at all.
            Scene((base[0], base[2], *over)),
            # Taken away with nothing over its place: gone.
            Scene((base[0], block("cyan", 0.3, 0.02))),
        ]
    )

    tracker = SceneTracker(_Still((0.15, 0.0, 0.37)), lambda _frame: next(frames))  # type: ignore[arg-type]
    tracker.perceive()
    covered = tracker.perceive()
    assert covered.get("green_block").position == (0.5, 0.0, 0.02)
    assert len(covered.objects) == 5
    uncovered = tracker.perceive()
    assert "green_block" not in uncovered.ids
    assert "blue_block" not in uncovered.ids


def test_a_block_one_look_misses_stays_while_the_depth_shows_it() -> None:
    """A look that misses a block (its colour confused by the light) keeps it where it stood
    while the frame's depth shows its top there; once the depth shows the table, it is gone."""
    from robot_llm.execution.tracking import SceneTracker, depth_shows_top
    from robot_llm.tabletop.scene import parse_scene

    spec = {"id": "green_block", "kind": "block", "color": "green", "size": "small"}
    other = {"id": "red_block", "kind": "block", "color": "red", "size": "small"}
    frames = []
    # The block, then the table without it (a block far off keeps the scene non-empty).
    for scene in (
        [{**spec, "position": [0.5, 0.05]}, {**other, "position": [0.35, -0.2]}],
        [{**other, "position": [0.35, -0.2]}],
    ):
        world = TabletopWorld()
        try:
            world.build(parse_scene(scene))
            frames.append(world.render_main().to_camera_frame())
        finally:
            world.close()
    block = SceneObject("green_block", "block", "green", "small", (0.5, 0.05, 0.015), 0.0)
    assert depth_shows_top(block, frames[0])
    assert not depth_shows_top(block, frames[1])
    assert not depth_shows_top(replace(block, position=(0.5, 0.05, 0.04)), frames[0])

    class Camera(_Still):
        shown = iter([frames[0], frames[0], frames[1]])

        def capture(self, camera: str = "main") -> Any:
            return next(self.shown)

    looks = iter([Scene((block,)), Scene(), Scene()])
    tracker = SceneTracker(Camera((0.15, 0.0, 0.37)), lambda _frame: next(looks))  # type: ignore[arg-type]
    tracker.perceive()
    assert tracker.perceive().get("green_block").position == block.position
    assert "green_block" not in tracker.perceive().ids


def test_the_block_just_put_down_keeps_its_id_whatever_colour_it_reads() -> None:
    """A yellow block put into a shaded bowl can read orange: the act names it. A block seen
    under the one just put on it, or under the hand after a pick, stays what it was."""
    from robot_llm.execution.tracking import SceneTracker

    def block(oid: str, color: str, x: float, y: float, z: float = 0.02) -> SceneObject:
        return SceneObject(oid, "block", color, "medium", (x, y, z), 0.0)

    robot = _Still((0.15, 0.0, 0.37))
    orange = block("orange_block", "orange", 0.5, -0.1)
    looks = iter(
        [
            Scene((block("yellow_block", "yellow", 0.3, 0.1), orange)),
            # Put at (0.55, 0.05): seen there as orange.
            Scene((block("orange_block_2", "orange", 0.552, 0.051), orange)),
            # A pick of the orange block, with a yellow look-alike left under the hand.
            Scene(
                (
                    block("yellow_block_2", "yellow", 0.501, -0.1),
                    block("yellow_block", "yellow", 0.552, 0.051),
                )
            ),
        ]
    )
    tracker = SceneTracker(robot, lambda _frame: next(looks))  # type: ignore[arg-type]
    tracker.perceive()
    robot.ee = (0.55, 0.05, 0.2)
    tracker.expect_at_hand("yellow_block", put=True)
    put = tracker.perceive()
    assert put.get("yellow_block").position[:2] == (0.552, 0.051)
    assert put.get("yellow_block").color == "yellow"
    assert put.get("yellow_block").color_alternatives == ("orange",)
    assert put.get("orange_block").position[:2] == (0.5, -0.1)
    robot.ee = (0.5, -0.1, 0.2)
    tracker.expect_at_hand("orange_block")  # a pick: what is seen there is not the picked block
    picked = tracker.perceive()
    assert "orange_block" not in picked.ids

    under = block("blue_block", "blue", 0.5, 0.0)
    looks = iter([Scene((under, block("red_block", "red", 0.3, 0.0))), Scene((under,))])
    tracker = SceneTracker(robot, lambda _frame: next(looks))  # type: ignore[arg-type]
    tracker.perceive()
    robot.ee = (0.5, 0.0, 0.2)
    tracker.expect_at_hand("red_block", put=True)  # put on the blue block, and not seen
    assert tracker.perceive().get("blue_block").color == "blue"
    assert "red_block" not in tracker.scene.ids


def test_a_block_that_reads_another_colour_where_it_stood_is_still_that_block() -> None:
    """Objects do not change colour; the light they are seen in does. A block seen where a
    known block stood, that nothing moved, is that block; one seen elsewhere is not."""
    from robot_llm.execution.tracking import SceneTracker

    def block(oid: str, color: str, x: float, y: float) -> SceneObject:
        return SceneObject(oid, "block", color, "medium", (x, y, 0.06), 0.0)

    first = (block("yellow_block", "yellow", 0.52, 0.0), block("red_block", "red", 0.3, 0.2))
    then = (block("orange_block", "orange", 0.521, -0.002), block("pink_block", "pink", 0.3, -0.2))
    looks = iter([Scene(first), Scene(then)])
    tracker = SceneTracker(_Still((0.15, 0.0, 0.37)), lambda _frame: next(looks))  # type: ignore[arg-type]
    tracker.perceive()
    scene = tracker.perceive()
    assert scene.get("yellow_block").color == "yellow"
    assert scene.get("yellow_block").color_alternatives == ("orange",)
    assert "orange_block" not in scene.ids
    assert "red_block" not in scene.ids  # a pink block elsewhere is not the red one
    assert scene.get("pink_block").color == "pink"
