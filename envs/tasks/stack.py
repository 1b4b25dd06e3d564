"""Stack: build a tower of 3-4 blocks in a named order (Ravens "stack-block" style)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from robot_llm.envs.tasks.base import Episode, States, Task, block, choose, fraction, pick_colors
from robot_llm.envs.tasks.common import join_words, place_at
from robot_llm.tabletop.geometry import height
from robot_llm.tabletop.layout import place_objects
from robot_llm.tabletop.predicates import on_block, on_table, top
from robot_llm.tabletop.scene import SceneSpec


def _bottom_up(colors: list[str]) -> str:
    return ", then ".join(colors)


TEMPLATES = (
    "stack the blocks with {bottom} at the bottom, then {rest}",
    "build a tower of the {listing} blocks, from bottom to top",
    "make a tower with the {top} block on top, then {down}, and the {bottom} block at the bottom",
    "stack the {listing} blocks on top of each other in that order, starting at the bottom",
    "put the blocks in a single stack: {bottom} on the table, then {rest} on top",
)


class Stack(Task):
    """A tower of 3-4 medium blocks in a named bottom-to-top order, maybe a distractor block."""

    name = "Stack"
    max_episode_steps = 300
    templates = TEMPLATES

    def unfit(self) -> str:
        return self.too_tall(3)

    def sample(self, rng: np.random.Generator) -> Episode:
        n = int(rng.integers(3, 5))
        n_distractors = int(rng.integers(0, 2))
        colors = pick_colors(rng, n + n_distractors)
        tower = [block(c) for c in colors[:n]]
        distractors = [block(c, choose(rng, ("small", "medium"))) for c in colors[n:]]
        scene = SceneSpec(tuple(place_objects(rng, tower + distractors)))
        order = colors[:n]
        text = choose(rng, TEMPLATES).format(
            bottom=order[0],
            top=order[-1],
            rest=_bottom_up(order[1:]),
            down=_bottom_up(order[-2:0:-1]),
            listing=join_words(order),
        )
        return Episode(scene, text, {"order": [b.id for b in tower]})

    def _layers(self, states: States) -> tuple[bool, int]:
        """Whether the bottom block is on the table, and how many layers above it are right."""
        order = self.require_episode().goal["order"]
        blocks = [states[i] for i in order]
        if not on_table(blocks[0]):
            return False, 0
        layers = 0
        for below, above in itertools.pairwise(blocks):
            if not on_block(above, below):
                break
            layers += 1
        return True, layers

    def evaluate(self, states: States) -> dict[str, Any]:
        order = self.require_episode().goal["order"]
        base_ok, layers = self._layers(states)
        total = len(order) - 1
        return {
            "success": base_ok and layers == total,
            "progress": fraction(layers, total),
            "layers_correct": layers,
            "layers_total": total,
            "base_on_table": base_ok,
        }

    def oracle_plan(self, states: States) -> list[dict[str, Any]]:
        order = self.require_episode().goal["order"]
        base_ok, layers = self._layers(states)
        if not base_ok or layers == len(order) - 1:
            return []  # the bottom block never moves; if it fell over the oracle gives up
        support = states[order[layers]]
        xy = support.position[:2].tolist()
        z = top(support)
        ops = []
        for obj_id in order[layers + 1 :]:
            ops.append(place_at(obj_id, xy, z, support.yaw))
            spec = states[obj_id].spec
            z += height(spec.kind, spec.size)
        return ops
