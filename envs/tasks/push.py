"""Push: slide a block, without grasping, to a side or corner or next to another block.

Modelled on Language-Table. The start is sampled so the block is not already at its goal and
the straight push path is free of other blocks.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np

from robot_llm.envs.tasks.base import Episode, States, Task, block, choose, pick_colors
from robot_llm.envs.tasks.common import (
    REGION_PHRASES,
    footprint_radius,
    next_to_push_target,
    push_path_clear,
    region_distance,
    region_push_target,
)
from robot_llm.tabletop.geometry import height
from robot_llm.tabletop.layout import LayoutError, place_objects
from robot_llm.tabletop.predicates import NEXT_TO_GAP, REGIONS, holds, horizontal_distance
from robot_llm.tabletop.scene import ObjectSpec, SceneSpec
from robot_llm.tabletop.setups import RobotSetup

REGION_TEMPLATES = (
    "push the {obj} to the {place}",
    "slide the {obj} to the {place} of the table",
    "without picking it up, move the {obj} to the {place}",
    "nudge the {obj} over to the {place} of the table",
)
NEXT_TO_TEMPLATES = (
    "push the {obj} next to the {other}",
    "push the {obj} next to the {other_color} one",
    "slide the {obj} over until it is beside the {other}",
    "without lifting it, move the {obj} close to the {other}",
)
# A push must move the block at least this far, meters.
MIN_PUSH: Final = 0.06
SAMPLE_TRIES: Final = 100


def _next_to_threshold(a: ObjectSpec, b: ObjectSpec) -> float:
    """Center distance below which predicates.next_to holds for two blocks on the table."""
    reach = (height(a.kind, a.size) + height(b.kind, b.size)) / 2
    return reach * math.sqrt(2) + NEXT_TO_GAP


def _hand_reaches_push(
    setup: RobotSetup, obj: ObjectSpec, target: tuple[float, float], behind: float
) -> bool:
    """Whether the hand reaches where it comes down behind `obj` (its corner's reach plus
    `behind`) and where it stops, the push ending at `target`."""
    sx, sy = (float(v) for v in obj.position)
    d = math.dist((sx, sy), target)
    ux, uy = (target[0] - sx) / d, (target[1] - sy) / d
    back = footprint_radius(obj) + behind
    start = (sx - ux * back, sy - uy * back)
    half = height(obj.kind, obj.size) / 2
    end = (target[0] - ux * half, target[1] - uy * half)
    return setup.hand_reaches(*start) and setup.hand_reaches(*end)


class Push(Task):
    """One block of 3-5 pushed to a region of the table or beside another block."""

    name = "Push"
    max_episode_steps = 120
    templates = REGION_TEMPLATES + NEXT_TO_TEMPLATES

    def sample(self, rng: np.random.Generator) -> Episode:
        for _ in range(SAMPLE_TRIES):
            episode = self._try_sample(rng)
            if episode is not None:
                return episode
        raise RuntimeError(f"{self.name}: no feasible push found in {SAMPLE_TRIES} layouts")

    def _try_sample(self, rng: np.random.Generator) -> Episode | None:
        if self.compact:
            return self._try_sample_compact(rng)
        n = int(rng.integers(3, 6))
        colors = pick_colors(rng, n)
        specs = [block(c) for c in colors]
        objects = place_objects(rng, specs)
        obj, other = objects[0], objects[1]
        kind = "next_to" if rng.random() < 0.3 else "region"
        region = choose(rng, tuple(REGIONS))
        if kind == "region":
            start_gap = region_distance(obj.position, region)
            target = region_push_target(obj.position, region)
            obstacles = [(o, o.position) for o in objects[1:]]
        else:
            start_gap = math.dist(obj.position, other.position) - _next_to_threshold(obj, other)
            target = next_to_push_target(obj.position, other.position, obj.size, other.size)
            obstacles = [(o, o.position) for o in objects[2:]]
        if start_gap < 0.02 or math.dist(obj.position, target) < MIN_PUSH:
            return None
        if not push_path_clear(obj, obj.position, target, obstacles):
            return None
        if kind == "region":
            text = choose(rng, REGION_TEMPLATES).format(
                obj=f"{obj.color} block", place=REGION_PHRASES[region]
            )
            goal: dict[str, Any] = {"relation": "region", "object": obj.id, "region": region}
        else:
            text = choose(rng, NEXT_TO_TEMPLATES).format(
                obj=f"{obj.color} block", other=f"{other.color} block", other_color=other.color
            )
            goal = {"relation": "next_to", "object": obj.id, "target": other.id}
        goal["start_distance"] = start_gap
        return Episode(SceneSpec(tuple(objects)), text, goal)

    def _try_sample_compact(self, rng: np.random.Generator) -> Episode | None:
        """A small table: 2-3 blocks, one pushed next to another. The regions are the shared
        table's (predicates.REGIONS), mostly out of a small arm's reach: no region pushes. The
        hand must reach where it comes down behind the block and where the push ends."""
        n = int(rng.integers(2, 4))
        colors = pick_colors(rng, n)
        try:
            objects = self.layout(rng, [block(c, self.size("medium")) for c in colors])
        except LayoutError:
            return None
        obj, other = objects[0], objects[1]
        start_gap = math.dist(obj.position, other.position) - _next_to_threshold(obj, other)
        target = next_to_push_target(obj.position, other.position, obj.size, other.size)
        if start_gap < 0.02 or math.dist(obj.position, target) < MIN_PUSH:
            return None
        behind = self.setup.push_behind
        if not self.workspace.contains(*target) or not _hand_reaches_push(
            self.setup, obj, target, behind
        ):
            return None
        if not push_path_clear(
            obj, obj.position, target, [(o, o.position) for o in objects[2:]], behind
        ):
            return None
        text = choose(rng, NEXT_TO_TEMPLATES).format(
            obj=f"{obj.color} block", other=f"{other.color} block", other_color=other.color
        )
        goal: dict[str, Any] = {"relation": "next_to", "object": obj.id, "target": other.id}
        goal["start_distance"] = start_gap
        return Episode(SceneSpec(tuple(objects)), text, goal)

    def _gap(self, states: States) -> float:
        """How far the block still is from its goal, meters (0 once there)."""
        goal = self.require_episode().goal
        a = states[goal["object"]]
        if goal["relation"] == "region":
            return region_distance(a.position[:2].tolist(), goal["region"])
        b = states[goal["target"]]
        return max(horizontal_distance(a, b) - _next_to_threshold(a.spec, b.spec), 0.0)

    def evaluate(self, states: States) -> dict[str, Any]:
        goal = self.require_episode().goal
        ok = holds(goal, states)
        gap = self._gap(states)
        start = float(goal["start_distance"])
        progress = 1.0 if ok else min(max(1.0 - gap / start, 0.0), 0.99)
        return {"success": ok, "progress": progress, "distance_to_goal": gap}

    def oracle_plan(self, states: States) -> list[dict[str, Any]]:
        goal = self.require_episode().goal
        if holds(goal, states):
            return []
        a = states[goal["object"]]
        xy = a.position[:2].tolist()
        if goal["relation"] == "region":
            target = region_push_target(xy, goal["region"])
        else:
            b = states[goal["target"]]
            target = next_to_push_target(xy, b.position[:2].tolist(), a.spec.size, b.spec.size)
        return [{"op": "push", "object": a.spec.id, "target": [target[0], target[1]]}]
