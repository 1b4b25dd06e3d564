"""The plan JSON Schema (robot_llm.plan_schema) agrees with the plan parser on examples."""

from __future__ import annotations

import json
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from robot_llm.plan_schema import PLAN_SCHEMA
from robot_llm.types import Plan, SchemaError, plan_result_from_dict

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = jsonschema.Draft202012Validator(PLAN_SCHEMA)


def doc_examples() -> list[Any]:
    text = (ROOT / "docs" / "plan-schema.md").read_text(encoding="utf-8")
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]


def plan(*subgoals: dict[str, Any]) -> dict[str, Any]:
    return {"type": "plan", "subgoals": list(subgoals)}


GOOD = [
    plan(),
    plan({"skill": "pick", "object": "a"}, {"skill": "place", "object": "a", "in": "b"}),
    plan({"skill": "place", "object": "a", "on": "b"}),
    plan({"skill": "place", "object": "a", "at": [0.5, -0.1]}),
    plan({"skill": "place", "object": "a", "across": ["b", "c"]}),
    plan({"skill": "push", "object": "a", "to": [0.5, 0.1]}),
    plan({"skill": "push", "object": "a", "direction": "back"}),
    plan({"skill": "move_to", "pose": [0.4, 0.0, 0.3]}),
    plan({"skill": "move_to", "pose": [0.4, 0.0, 0.3, 1.0]}),
    plan(*({"skill": s} for s in ("open_gripper", "close_gripper", "home", "stop"))),
    {"type": "plan", "version": 1, "command": "x", "planner": "rules", "subgoals": []},
    {"type": "clarify", "question": "which one?"},
    {"type": "clarify", "question": "which one?", "candidates": ["a", "b"]},
    {"type": "refuse", "reason": "unsafe"},
]

BAD = [
    [],
    {},
    {"type": "maybe"},
    {"type": "plan"},
    {"type": "plan", "subgoals": {}},
    {"type": "plan", "version": 2, "subgoals": []},
    plan({"object": "a"}),
    plan({"skill": "grab", "object": "a"}),
    plan({"skill": "pick"}),
    plan({"skill": "pick", "obj": "a"}),
    plan({"skill": "pick", "object": 3}),
    plan({"skill": "pick", "object": "a", "on": "b"}),
    plan({"skill": "place", "object": "a"}),
    plan({"skill": "place", "object": "a", "on": "b", "in": "c"}),
    plan({"skill": "place", "object": "a", "at": [0.5]}),
    plan({"skill": "place", "object": "a", "at": [0.5, 0.1, 0.0]}),
    plan({"skill": "place", "object": "a", "across": ["b"]}),
    plan({"skill": "place", "object": "a", "across": ["b", 3]}),
    plan({"skill": "place", "object": "a", "across": ["b", "b"]}),
    plan({"skill": "place", "object": "a", "across": ["b", "c"], "on": "b"}),
    plan({"skill": "pick", "object": "a", "across": ["b", "c"]}),
    plan({"skill": "push", "object": "a"}),
    plan({"skill": "push", "object": "a", "to": [0.5, 0.1], "direction": "left"}),
    plan({"skill": "push", "object": "a", "direction": "up"}),
    # a distance means something only along a direction; with `to` it would be ignored
    plan({"skill": "push", "object": "a", "to": [0.5, 0.1], "distance": 0.2}),
    plan({"skill": "push", "object": "a", "direction": "left", "distance": 2}),
    plan({"skill": "push", "object": "a", "direction": "left", "distance": 0}),
    plan({"skill": "push", "object": "a", "direction": "left", "distance": "far"}),
    plan({"skill": "move_to", "pose": [0.5, 0.1]}),
    plan({"skill": "move_to"}),
    plan({"skill": "home", "object": "a"}),
    plan("pick a"),
    {"type": "clarify"},
    {"type": "clarify", "question": ""},
    {"type": "clarify", "question": "which?", "candidates": [1, 2]},
    {"type": "refuse"},
    {"type": "refuse", "reason": ""},
]


def parses(data: Any) -> bool:
    try:
        plan_result_from_dict(data)
    except SchemaError:
        return False
    return True


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(PLAN_SCHEMA)
    assert PLAN_SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("data", GOOD, ids=lambda d: json.dumps(d)[:60])
def test_schema_and_parser_accept_good_plans(data: Any) -> None:
    assert VALIDATOR.is_valid(data)
    assert parses(data)
    # The parser's output serializes back to something the schema accepts.
    assert VALIDATOR.is_valid(plan_result_from_dict(data).to_dict())


@pytest.mark.parametrize("data", BAD, ids=lambda d: json.dumps(d)[:60])
def test_schema_and_parser_reject_bad_plans(data: Any) -> None:
    assert not VALIDATOR.is_valid(data)
    assert not parses(data)


def test_documented_examples_are_valid() -> None:
    examples = doc_examples()
    assert {e["type"] for e in examples} == {"plan", "clarify", "refuse"}
    for example in examples:
        VALIDATOR.validate(example)
        assert parses(example)


def test_bundled_plan_files_are_valid_for_their_scene() -> None:
    from robot_llm.execution.plans import check_plan_ids, load_plan
    from robot_llm.tabletop.scene import bundled_scenes, load_scene

    folder = resources.files("robot_llm.sim_assets").joinpath("plans")
    demo = Path(str(folder.joinpath("demo.json")))
    VALIDATOR.validate(json.loads(demo.read_text(encoding="utf-8")))
    result = load_plan(demo)
    assert isinstance(result, Plan) and len(result.subgoals) >= 4
    check_plan_ids(result, load_scene(bundled_scenes()["blocks_and_bowls"]).ids)


def test_a_plans_notes_round_trip_and_must_be_strings() -> None:
    from robot_llm.types import Subgoal

    plan = Plan((Subgoal("pick", object="a"),), "pick a", "rule", notes=("a was under b",))
    data = json.loads(json.dumps(plan.to_dict()))
    jsonschema.validate(data, PLAN_SCHEMA)
    assert plan_result_from_dict(data) == plan
    assert "notes" not in Plan(()).to_dict()  # absent when none: older readers see no change
    with pytest.raises(SchemaError, match="'notes' must be a list of strings"):
        plan_result_from_dict({**data, "notes": "a was under b"})


def test_the_rule_planner_sets_a_covering_block_aside_and_says_so() -> None:
    from robot_llm.planning import History, RulePlanner
    from robot_llm.types import Refuse, Scene, SceneObject

    scene = Scene(
        (
            SceneObject("orange_block", "block", "orange", "large", (0.42, 0.05, 0.025)),
            SceneObject("purple_block", "block", "purple", "medium", (0.42, 0.05, 0.07)),
            SceneObject("cyan_bowl", "bowl", "cyan", "medium", (0.60, -0.15, 0.02)),
            SceneObject("brown_block", "block", "brown", "medium", (0.36, -0.15, 0.02)),
        )
    )
    plan = RulePlanner().plan("put the orange block in the cyan bowl", scene, History())
    assert isinstance(plan, Plan)
    assert [s.shorthand().split(" at ")[0] for s in plan.subgoals] == [
        "pick purple_block",
        "place purple_block",
        "pick orange_block",
        "place orange_block in cyan_bowl",
    ]
    aside = plan.subgoals[1].at
    assert aside is not None and math.dist(aside, (0.42, 0.05)) > 0.05  # off the stack
    assert plan.notes == ("The orange block is under the purple block; I'll set it aside first.",)
    # A block this command itself put there is not taken off again.
    again = RulePlanner().plan(
        "put the brown block on the purple block, then pick up the orange block",
        scene,
        History(),
    )
    assert isinstance(again, Refuse) and "which this command puts there" in again.reason
