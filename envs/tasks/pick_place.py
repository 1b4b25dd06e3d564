"""PickPlace: put one block in a bowl or zone, or on another block (Ravens/CLIPort style)."""

from __future__ import annotations

from typing import Any

import numpy as np

from robot_llm.envs.tasks.base import (
    Episode,
    States,
    Task,
    block,
    choose,
    container,
    describe,
    pick_colors,
    place_on,
)
from robot_llm.tabletop.layout import place_objects
from robot_llm.tabletop.predicates import holds, horizontal_distance
from robot_llm.tabletop.scene import ObjectSpec, SceneSpec

IN_TEMPLATES = (
    "put the {obj} in the {target}",
    "place the {obj} into the {target}",
    "pick up the {obj} and drop it in the {target}",
    "move the {obj} to the {target}",
)
ON_TEMPLATES = (
    "put the {obj} on the {target}",
    "place the {obj} onto the {target}",
    "stack the {obj} on top of the {target}",
    "set the {obj} down on the {target}",
)


class PickPlace(Task):
    """One block to a target: in a bowl, on a zone, or on top of another block."""

    name = "PickPlace"
    max_episode_steps = 200
    templates = IN_TEMPLATES + ON_TEMPLATES

    def sample(self, rng: np.random.Generator) -> Episode:
        if self.compact:
            return self._sample_compact(rng)
        n_blocks = int(rng.integers(2, 5))
        target_kind = choose(rng, ("bowl", "zone", "block"))
        colors = pick_colors(rng, n_blocks + 2)
        blocks = [block(c, choose(rng, ("small", "medium"))) for c in colors[:n_blocks]]
        others = [container(choose(rng, ("bowl", "zone")), c) for c in colors[n_blocks:]]
        if target_kind != "block":
            others[0] = container(target_kind, others[0].color)
        objects = place_objects(rng, blocks + others)
        return self._episode(rng, SceneSpec(tuple(objects)), blocks, others, target_kind)

    def _sample_compact(self, rng: np.random.Generator) -> Episode:
        """A small table: two blocks and the target bowl or zone, or 2-3 blocks for "on"."""
        target_kind = choose(rng, ("bowl", "zone", "block"))
        n_blocks = int(rng.integers(2, 4)) if target_kind == "block" else 2
        colors = pick_colors(rng, n_blocks + 1)
        size = self.size("small")
        blocks = [block(c, size) for c in colors[:n_blocks]]
        others = [] if target_kind == "block" else [container(target_kind, colors[-1], size)]
        scene = SceneSpec(tuple(self.layout(rng, blocks + others)))
        return self._episode(rng, scene, blocks, others, target_kind)

    def _episode(
        self,
        rng: np.random.Generator,
        scene: SceneSpec,
        blocks: list[ObjectSpec],
        others: list[ObjectSpec],
        target_kind: str,
    ) -> Episode:
        obj = blocks[0]
        target = blocks[1] if target_kind == "block" else others[0]
        templates = ON_TEMPLATES if target_kind == "block" else IN_TEMPLATES
        relation = "on" if target_kind == "block" else "in"
        text = choose(rng, templates).format(obj=describe(obj), target=describe(target))
        goal = {"relation": relation, "object": obj.id, "target": target.id}
        return Episode(scene, text, goal)

    def oracle_plan(self, states: States) -> list[dict[str, Any]]:
        goal = self.require_episode().goal
        if holds(goal, states):
            return []
        return [place_on(goal["object"], states[goal["target"]])]

    def evaluate(self, states: States) -> dict[str, Any]:
        goal = self.require_episode().goal
        ok = holds(goal, states)
        d = horizontal_distance(states[goal["object"]], states[goal["target"]])
        return {"success": ok, "progress": 1.0 if ok else 0.0, "distance_to_target": d}
