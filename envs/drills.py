"""Skill drills: seeded layouts that exercise one skill, with the instruction that asks for it.

A drill is narrower than a task family and wider in what it varies: every block size, every
target kind and size, distractors of both kinds. `robot-llm record --drill place|push` records
demonstrations on them (datasets/episodes.py), and benchmarks/skills.py measures skills on the
same distribution. The two never share a layout: a drill's generator is seeded from
`(DRILL_STREAM, seed)` and the benchmark's from `(seed, case)`.

- place: one block (small, medium or large) to a target: onto a block, into a bowl or a zone
  (`PLACE_CASES`), among 1-3 other blocks and one other bowl or zone.
- push: one block (any size) pushed 8-18 cm in a random direction to a point on the table,
  among 1-3 other blocks kept off the push's path; success is the block resting within
  `PUSH_TOLERANCE` of the point.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from robot_llm.envs.tasks.common import footprint_radius, push_path_clear
from robot_llm.tabletop.layout import place_objects
from robot_llm.tabletop.palette import COLORS, SIZES
from robot_llm.tabletop.scene import ObjectSpec, SceneSpec
from robot_llm.tabletop.setups import robot_setup

DRILLS: Final = ("place", "push")
PLACE_CASES: Final = ("block", "bowl", "zone")
DRILL_STREAM: Final = 0xD1  # seeds the drills' generator apart from the benchmark's
PUSH_DISTANCE: Final = (0.08, 0.18)  # meters
PUSH_TOLERANCE: Final = 0.03  # the pushed block's center this close to the point, meters
GOAL_MARGIN: Final = 0.05  # the push point this far inside the workspace, meters
SAMPLE_TRIES: Final = 200


class DrillError(ValueError):
    """No drill of that name, or no feasible layout."""


def place_layout(rng: np.random.Generator, case: str) -> tuple[SceneSpec, str, str]:
    """One place layout: (scene, object id, target id); `case` is the target's kind."""
    if case not in PLACE_CASES:
        raise DrillError(f"no place case {case!r}; cases are {', '.join(PLACE_CASES)}")
    n_distractors = int(rng.integers(1, 4))
    colors = [
        COLORS[int(i)] for i in rng.choice(len(COLORS), size=n_distractors + 4, replace=False)
    ]

    def size() -> str:
        return SIZES[int(rng.integers(len(SIZES)))]

    obj = ObjectSpec(f"{colors[0]}_block", "block", colors[0], size())
    target = ObjectSpec(f"{colors[1]}_{case}", case, colors[1], size())
    blocks = [ObjectSpec(f"{c}_block", "block", c, size()) for c in colors[2 : 2 + n_distractors]]
    other_kind = ("bowl", "zone")[int(rng.integers(2))]
    other = ObjectSpec(f"{colors[-1]}_{other_kind}", other_kind, colors[-1], size())
    objects = place_objects(rng, [obj, target, *blocks, other])
    return SceneSpec(tuple(objects)), obj.id, target.id


def push_layout(rng: np.random.Generator) -> tuple[SceneSpec, str, tuple[float, float]]:
    """One push layout: (scene, object id, the point to push it to)."""
    setup = robot_setup("panda")
    ws = setup.workspace
    for _ in range(SAMPLE_TRIES):
        n_distractors = int(rng.integers(1, 4))
        colors = [COLORS[int(i)] for i in rng.choice(len(COLORS), n_distractors + 1, False)]
        specs = [
            ObjectSpec(f"{c}_block", "block", c, SIZES[int(rng.integers(len(SIZES)))])
            for c in colors
        ]
        objects = place_objects(rng, specs)
        obj = objects[0]
        sx, sy = (float(v) for v in obj.position[:2])
        angle = float(rng.uniform(-math.pi, math.pi))
        dist = float(rng.uniform(*PUSH_DISTANCE))
        ux, uy = math.cos(angle), math.sin(angle)
        to = (round(sx + ux * dist, 3), round(sy + uy * dist, 3))
        if not ws.contains(*to, margin=GOAL_MARGIN):
            continue
        back = footprint_radius(obj) + setup.push_behind
        if not (setup.hand_reaches(sx - ux * back, sy - uy * back) and setup.hand_reaches(*to)):
            continue
        others = [(o, o.position) for o in objects[1:]]
        if push_path_clear(obj, (sx, sy), to, others, setup.push_behind):
            return SceneSpec(tuple(objects)), obj.id, to
    raise DrillError(f"push drill: no feasible push in {SAMPLE_TRIES} layouts")


def drill_episode(drill: str, seed: int) -> tuple[SceneSpec, str]:
    """The layout and instruction of drill episode `seed` (place cycles through its cases)."""
    rng = np.random.default_rng([DRILL_STREAM, seed])
    if drill == "place":
        case = PLACE_CASES[seed % len(PLACE_CASES)]
        scene, obj, target = place_layout(rng, case)
        relation = "on" if case == "block" else "in"
        return scene, f"put the {_words(obj)} {relation} the {_words(target)}"
    if drill == "push":
        scene, obj, to = push_layout(rng)
        return scene, f"push the {_words(obj)} to ({to[0]:.3f}, {to[1]:.3f})"
    raise DrillError(f"no drill {drill!r}; drills are {', '.join(DRILLS)}")


def _words(object_id: str) -> str:
    return object_id.replace("_", " ")
