"""A session turn's JSON form: the keys, their order and the timings of docs/commands.md."""

from __future__ import annotations

import json
from dataclasses import replace

from robot_llm.execution.result import RunTimings, SubgoalResult
from robot_llm.turn import TurnResult, TurnTimings
from robot_llm.types import Clarify, Plan, Refuse, Scene, SceneObject, Subgoal

SCENE = Scene((SceneObject("red_block", "block", "red", "medium", (0.5, 0.1, 0.02), 0.0),))
PICK = Subgoal("pick", object="red_block")


def test_run_timings_keep_their_keys_in_order_and_periods_as_a_float() -> None:
    timings = RunTimings(perception=0.5, skills=1.25, periods=672, total=2.0, sim_seconds=28.0)
    assert timings.to_dict() == {
        "perception": 0.5,
        "skills": 1.25,
        "verification": 0.0,
        "video": 0.0,
        "periods": 672.0,
        "total": 2.0,
        "sim_seconds": 28.0,
    }
    assert list(timings.to_dict()) == [
        "perception",
        "skills",
        "verification",
        "video",
        "periods",
        "total",
        "sim_seconds",
    ]
    assert json.dumps(timings.to_dict()["periods"]) == "672.0"


def test_a_planned_turn_has_the_planners_fields_and_the_scene() -> None:
    timings = TurnTimings(0.1315, 0.0184)
    plan = Plan((PICK,), "pick up the red block", "rule")
    turn = TurnResult.planned("pick up the red block", "scene.yaml", plan, SCENE, timings)
    out = turn.to_dict()
    assert list(out) == ["command", "source", "status", "plan", "scene", "timings"]
    assert out["status"] == "planned" and out["plan"] == plan.to_dict()
    assert out["scene"][0]["id"] == "red_block"
    assert out["timings"] == {"perception_s": 0.1315, "planning_s": 0.0184}

    ask = Clarify("which block?", ("red_block", "blue_block"))
    out = TurnResult.planned("pick it", "", ask, SCENE, timings).to_dict()
    assert list(out)[:6] == ["command", "source", "status", "plan", "question", "candidates"]
    assert (out["status"], out["candidates"]) == ("clarify", ["red_block", "blue_block"])

    out = TurnResult.planned("jump", "", Refuse("no"), SCENE, timings).to_dict()
    assert list(out) == ["command", "source", "status", "plan", "reason", "scene", "timings"]
    assert (out["status"], out["reason"]) == ("refused", "no")


def test_an_executed_turn_adds_subgoals_reason_scene_after_verdict_and_executor_timings() -> None:
    plan = Plan((PICK,), "pick up the red block", "rule")
    planned = TurnResult.planned("pick", "task", plan, SCENE, TurnTimings(0.1, 0.02))
    run = RunTimings(perception=0.5, periods=10, total=1.0, sim_seconds=0.5)
    turn = replace(
        planned,
        status="failed",
        subgoals=(SubgoalResult(0, PICK, False, 3, "grasp missed", 0.98765),),
        reason="grasp missed",
        scene_after=SCENE,
        task_success=False,
        task_progress=0.5,
        timings=replace(planned.timings, execution_s=1.234, executor=run),
    )
    out = turn.to_dict()
    assert list(out) == [
        "command",
        "source",
        "status",
        "plan",
        "subgoals",
        "reason",
        "scene_after",
        "task_success",
        "task_progress",
        "timings",
    ]
    assert out["subgoals"][0]["duration"] == 0.9877
    assert list(out["timings"]) == [
        "perception_s",
        "planning_s",
        "execution_s",
        "executor_perception",
        "executor_skills",
        "executor_verification",
        "executor_video",
        "executor_periods",
        "executor_total",
        "executor_sim_seconds",
    ]
    assert out["timings"]["executor_periods"] == 10.0
