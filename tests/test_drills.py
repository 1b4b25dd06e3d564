"""Skill drills (robot_llm.envs.drills): seeded layouts for recording place and push
demonstrations, whose instructions the rule planner turns into exactly the drilled skill."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_llm.envs.drills import (
    PLACE_CASES,
    PUSH_DISTANCE,
    DrillError,
    drill_episode,
    place_layout,
)
from robot_llm.envs.tasks.common import push_path_clear
from robot_llm.perception import scene_from_spec
from robot_llm.planning import History, RulePlanner
from robot_llm.tabletop.scene import WORKSPACE
from robot_llm.tabletop.setups import robot_setup
from robot_llm.types import Plan


def test_a_drill_episode_is_its_seed_and_place_cycles_through_its_cases() -> None:
    a, b = drill_episode("place", 4), drill_episode("place", 4)
    assert a == b
    assert drill_episode("place", 5) != a
    kinds = []
    for seed in range(6):
        scene, text = drill_episode("place", seed)
        target = scene.objects[1]
        kinds.append(target.kind)
        assert text.endswith(f"the {target.color} {target.kind}")
    assert kinds == [*PLACE_CASES, *PLACE_CASES]


def test_place_drills_vary_every_size_and_refuse_an_unknown_case() -> None:
    sizes = set()
    for seed in range(30):
        scene, obj, target = place_layout(np.random.default_rng(seed), "bowl")
        sizes.add(scene.objects[0].size)
        assert scene.objects[0].id == obj and scene.objects[1].id == target
    assert sizes == {"small", "medium", "large"}
    with pytest.raises(DrillError, match="no place case 'tray'"):
        place_layout(np.random.default_rng(0), "tray")
    with pytest.raises(DrillError, match="drills are place, push"):
        drill_episode("throw", 0)


def test_a_push_drill_ends_inside_the_table_with_its_path_clear() -> None:
    setup = robot_setup("panda")
    for seed in range(20):
        scene, text = drill_episode("push", seed)
        obj = scene.objects[0]
        to = tuple(float(v) for v in text.split("(")[1].rstrip(")").split(","))
        d = math.dist(obj.position[:2], to)
        assert PUSH_DISTANCE[0] - 1e-3 <= d <= PUSH_DISTANCE[1] + 1e-3, (seed, d)
        assert WORKSPACE.contains(*to) and setup.hand_reaches(*to)
        others = [(o, o.position) for o in scene.objects[1:]]
        assert push_path_clear(obj, obj.position, to, others, setup.push_behind)


def test_the_rule_planner_reads_a_drill_as_the_drilled_skill() -> None:
    planner = RulePlanner()
    for drill in ("place", "push"):
        for seed in range(6):
            spec, text = drill_episode(drill, seed)
            result = planner.plan(text, scene_from_spec(spec), History())
            assert isinstance(result, Plan), (text, result)
            skills = [s.skill for s in result.subgoals]
            obj = spec.objects[0].id
            if drill == "push":
                assert skills == ["push"] and result.subgoals[0].object == obj
                to = result.subgoals[0].to
                assert to is not None and text.endswith(f"({to[0]:.3f}, {to[1]:.3f})")
            else:
                assert skills == ["pick", "place"], text
                assert result.subgoals[1].target == spec.objects[1].id
