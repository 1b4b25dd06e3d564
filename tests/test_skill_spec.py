"""The skill table (`robot_llm.skills`) and what every layer reads from it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from robot_llm.execution.verify import CHECKS
from robot_llm.plan_schema import SUBGOAL_SCHEMA
from robot_llm.planning.base import held_after
from robot_llm.planning.llm.grounding import subgoal_variants
from robot_llm.planning.suite import load_scenes, parse_step
from robot_llm.policies.scripted import SKILLS as SCRIPTED
from robot_llm.skills import (
    FIELDS,
    MOVING_SKILLS,
    SKILL_SPECS,
    SKILLS,
    SPECS,
    hand_after,
    read_shorthand,
)
from robot_llm.types import Plan, Scene, SchemaError, Subgoal

SAMPLE: dict[str, Any] = {
    "object": "a",
    "on": "b",
    "in": "c",
    "at": (0.5, 0.1),
    "across": ("b", "d"),
    "to": (0.45, -0.2),
    "direction": "left",
    "distance": 0.05,
    "pose": (0.4, 0.0, 0.3, 1.5),
}


def example_subgoals() -> list[Subgoal]:
    """One subgoal of every shape of every skill, from the table alone."""
    return [
        Subgoal.from_dict({"skill": spec.name, **{k: SAMPLE[k] for k in shape}})
        for spec in SKILL_SPECS
        for shape in spec.shapes()
    ]


def test_every_field_is_a_subgoal_attribute_and_every_skill_has_a_policy() -> None:
    attrs = {f.name for f in dataclasses.fields(Subgoal)}
    assert {f.attr for f in FIELDS.values()} == attrs - {"skill"}
    for spec in SKILL_SPECS:
        assert set(spec.fields) <= set(FIELDS), spec.name
        assert not set(spec.required) & set(spec.one_of + spec.optional), spec.name
        # an empty list would offer no ids to constrained decoding: name every kind handled
        assert bool(spec.object_kinds) == ("object" in spec.fields), spec.name
    assert tuple(SCRIPTED) == SKILLS
    assert set(CHECKS) <= set(SKILLS)
    # an object the skill moves is checked from the camera afterwards
    assert set(MOVING_SKILLS) <= set(CHECKS)


def test_shapes_cover_each_choice_and_keep_dependent_fields_together() -> None:
    shapes = {spec.name: list(spec.shapes()) for spec in SKILL_SPECS}
    assert shapes["place"] == [("object", k) for k in ("on", "in", "at", "across")]
    assert shapes["push"] == [
        ("object", "to"),
        ("object", "direction"),
        ("object", "direction", "distance"),
    ]
    assert shapes["home"] == [()]


@pytest.mark.parametrize("subgoal", example_subgoals(), ids=lambda s: s.shorthand())
def test_shorthand_and_json_round_trip(subgoal: Subgoal) -> None:
    assert Subgoal.from_shorthand(subgoal.shorthand()) == subgoal
    assert Subgoal.from_dict(subgoal.to_dict()) == subgoal
    pattern = parse_step(subgoal.shorthand())
    assert pattern.matches(subgoal) and str(pattern) == subgoal.shorthand()


def test_shorthand_is_the_words_people_write() -> None:
    assert Subgoal("place", object="r", in_="g").shorthand() == "place r in g"
    assert Subgoal("push", object="r", direction="left", distance=0.1).shorthand() == (
        "push r left 0.1"
    )
    assert Subgoal("move_to", pose=(0.4, 0.0, 0.3)).shorthand() == "move_to 0.4 0 0.3"
    assert read_shorthand("place r at *", patterns=True) == ("place", {"object": "r", "at": "*"})


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("fly r", "unknown skill 'fly'"),
        ("pick", "pick needs object"),
        ("place r", "place needs one of on, in, at, across"),
        ("place r on", "on needs a value"),
        ("place r at 0.5", "at needs 2 numbers"),
        ("pick r g", "unexpected 'g'"),
        ("push r left far", "could not convert"),
    ],
)
def test_bad_shorthand_says_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        read_shorthand(text)
    with pytest.raises(SchemaError, match=f"cannot read step {text!r}"):
        Subgoal.from_shorthand(text)


def test_a_field_that_needs_another_is_refused_alone() -> None:
    with pytest.raises(SchemaError, match="'distance' goes only with 'direction'"):
        Subgoal("push", object="r", to=(0.5, 0.0), distance=0.2)
    with pytest.raises(SchemaError, match="needs exactly one of 'to', 'direction'"):
        Subgoal("push", object="r")
    with pytest.raises(SchemaError, match="skill 'pick' takes no field 'on'"):
        Subgoal("pick", object="r", on="g")


def test_json_schema_follows_the_table() -> None:
    by_name = {v["properties"]["skill"]["const"]: v for v in SUBGOAL_SCHEMA["oneOf"]}
    assert tuple(by_name) == SKILLS
    for spec in SKILL_SPECS:
        v = by_name[spec.name]
        assert v["required"] == ["skill", *spec.required]
        assert set(v["properties"]) == {"skill", *spec.fields}
        assert [c["required"][0] for c in v.get("oneOf", [])] == list(spec.one_of)


def test_hand_effects() -> None:
    assert hand_after("pick", "r", None) == "r"
    assert hand_after("place", "r", "r") is None
    assert hand_after("open_gripper", None, "r") is None
    # a push closes the fingers: what they held stays held
    assert hand_after("push", "b", "r") == "r"
    assert hand_after("home", None, "r") == "r"
    plan = Plan((Subgoal("pick", object="r"), Subgoal("move_to", pose=(0.4, 0.0, 0.3))))
    assert held_after(plan) == "r"


def test_grounding_offers_only_shapes_the_scene_can_fill() -> None:
    scene = load_scenes()["main"]
    variants = subgoal_variants(scene)
    names = [v["properties"]["skill"]["const"] for v in variants]
    assert set(names) == set(SKILLS)
    picks = [v for v in variants if v["properties"]["skill"]["const"] == "pick"]
    blocks = {o.id for o in scene if o.kind == "block"}
    assert len(picks) == 1 and set(picks[0]["properties"]["object"]["enum"]) == blocks
    # one block alone cannot go on another block or across two
    block = next(o for o in scene if o.kind == "block")
    bowl = next(o for o in scene if o.kind == "bowl")
    lone = Scene((block, bowl))
    shapes = [
        tuple(sorted(set(v["properties"]) - {"skill"}))
        for v in subgoal_variants(lone)
        if v["properties"]["skill"]["const"] == "place"
    ]
    assert ("object", "on") not in shapes and ("across", "object") not in shapes
    assert ("at", "object") in shapes


def test_every_spec_name_is_known_to_the_gate_and_parser() -> None:
    for spec in SKILL_SPECS:
        assert SPECS[spec.name] is spec
    with pytest.raises(SchemaError, match="unknown skill 'fly'; skills are pick, place"):
        Subgoal("fly")
