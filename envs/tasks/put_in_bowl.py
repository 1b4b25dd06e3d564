"""PutInBowl: put every block of one color in a bowl of another (CLIPort "put-block-in-bowl")."""

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
    fraction,
    pick_colors,
)
from robot_llm.envs.tasks.common import place_in_slot, with_article
from robot_llm.tabletop.layout import place_objects
from robot_llm.tabletop.predicates import in_bowl
from robot_llm.tabletop.scene import ObjectSpec, SceneSpec

TEMPLATES = (
    "put the {color} {blocks} in {a_bowl}",
    "place all {color} {blocks} into the {bowl_color} bowl",
    "pick up every {color} block and drop it in the {bowl_color} bowl",
    "move the {color} {blocks} to {a_bowl}",
    "the {color} {blocks} should go in the {bowl_color} bowl",
)


class PutInBowl(Task):
    """1-3 blocks of a target color into a bowl of the target bowl color, among distractors."""

    name = "PutInBowl"
    max_episode_steps = 330
    templates = TEMPLATES

    def sample(self, rng: np.random.Generator) -> Episode:
        if self.compact:
            return self._sample_compact(rng)
        n_targets = int(rng.integers(1, 4))
        n_distractor_blocks = int(rng.integers(1, 6 - n_targets))
        color, bowl_color, other_bowl_color = pick_colors(rng, 3)
        block_colors = pick_colors(rng, n_distractor_blocks, exclude=(color,))
        size = "medium" if n_targets < 3 else "small"
        targets = [block(color, size, "" if i == 0 else f"_{i + 1}") for i in range(n_targets)]
        distractors = [block(c, choose(rng, ("small", "medium"))) for c in block_colors]
        # A target bowl holding several blocks is large so they fit side by side.
        bowl = container("bowl", bowl_color, "large" if n_targets > 1 else "medium")
        # One distractor bowl: a third bowl rarely fits on the table beside the blocks.
        other_bowl = container("bowl", other_bowl_color)
        scene = SceneSpec(tuple(place_objects(rng, targets + distractors + [bowl, other_bowl])))
        return self._episode(rng, scene, targets, bowl, color)

    def _sample_compact(self, rng: np.random.Generator) -> Episode:
        """A small table: one bowl and two blocks, one or both of the target color (a small bowl
        takes two small blocks side by side); no second bowl fits beside them."""
        n_targets = int(rng.integers(1, 3))
        color, bowl_color = pick_colors(rng, 2)
        block_colors = pick_colors(rng, 2 - n_targets, exclude=(color, bowl_color))
        size = self.size("small")
        targets = [block(color, size, "" if i == 0 else f"_{i + 1}") for i in range(n_targets)]
        distractors = [block(c, size) for c in block_colors]
        bowl = container("bowl", bowl_color, size)
        scene = SceneSpec(tuple(self.layout(rng, targets + distractors + [bowl])))
        return self._episode(rng, scene, targets, bowl, color)

    def _episode(
        self,
        rng: np.random.Generator,
        scene: SceneSpec,
        targets: list[ObjectSpec],
        bowl: ObjectSpec,
        color: str,
    ) -> Episode:
        n_targets, bowl_color = len(targets), bowl.color
        text = choose(rng, TEMPLATES).format(
            color=color,
            bowl_color=bowl_color,
            a_bowl=with_article(f"{bowl_color} bowl"),
            blocks="blocks" if n_targets > 1 else "block",
        )
        goal = {
            "blocks": [b.id for b in targets],
            "bowls": [bowl.id],
            "color": color,
            "bowl_color": bowl_color,
        }
        return Episode(scene, text, goal)

    def _done(self, states: States) -> list[bool]:
        goal = self.require_episode().goal
        bowls = [states[b] for b in goal["bowls"]]
        return [any(in_bowl(states[b], bowl) for bowl in bowls) for b in goal["blocks"]]

    def evaluate(self, states: States) -> dict[str, Any]:
        goal = self.require_episode().goal
        done = self._done(states)
        bowls = [states[b] for b in goal["bowls"]]
        targets = set(goal["blocks"])
        stray = sum(
            1
            for s in states.values()
            if s.spec.kind == "block"
            and s.spec.id not in targets
            and any(in_bowl(s, bowl) for bowl in bowls)
        )
        return {
            "success": all(done),
            "progress": fraction(sum(done), len(done)),
            "blocks_in_bowl": sum(done),
            "blocks_total": len(done),
            "distractors_in_bowl": stray,
        }

    def oracle_plan(self, states: States) -> list[dict[str, Any]]:
        goal = self.require_episode().goal
        bowl = states[goal["bowls"][0]]
        n = len(goal["blocks"])
        return [
            place_in_slot(b, bowl, i, n)
            for i, (b, ok) in enumerate(zip(goal["blocks"], self._done(states), strict=True))
            if not ok
        ]
