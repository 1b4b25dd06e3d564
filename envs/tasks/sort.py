"""Sort: every block into the bowl or zone of its own color (VIMA-Bench "rearrange by color")."""

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
from robot_llm.envs.tasks.common import place_in_slot
from robot_llm.tabletop.layout import place_objects
from robot_llm.tabletop.predicates import placed_in
from robot_llm.tabletop.scene import SceneSpec

TEMPLATES = (
    "sort the blocks into the {containers} of the same color",
    "put each block in the {container} that matches its color",
    "place every block into the {container} of its own color",
    "sort the blocks by color: each one goes in the {container} with the same color",
    "match the blocks to the {containers} by color",
)


MAX_BLOCKS = 5
MAX_BOWLS = 2


class Sort(Task):
    """2-3 colors, 1-2 blocks of each, and one bowl or zone of each color."""

    name = "Sort"
    max_episode_steps = 450
    templates = TEMPLATES

    def unfit(self) -> str:
        """The fewest it sorts, two blocks and a zone of each color, must fit the table."""
        if not self.compact:
            return ""
        size = self.size("medium")
        least = [block("red", size), block("blue", size)]
        least += [container("zone", "red", size), container("zone", "blue", size)]
        if self.crowded(least):
            return "two blocks and two zones, the fewest it sorts, do not fit its table"
        return ""

    def sample(self, rng: np.random.Generator) -> Episode:
        n_colors = int(rng.integers(2, 4))
        colors = pick_colors(rng, n_colors)
        counts = [int(rng.integers(1, 3)) for _ in colors]
        kinds = [choose(rng, ("bowl", "zone")) for _ in colors]
        # Three bowls or six blocks rarely fit on the table beside everything else.
        if sum(counts) > MAX_BLOCKS:
            counts[int(rng.integers(len(counts)))] = 1
        if kinds.count("bowl") > MAX_BOWLS:
            kinds[int(rng.integers(len(kinds)))] = "zone"
        blocks = []
        containers = []
        assignment: dict[str, list[str]] = {}
        for color, n, kind in zip(colors, counts, kinds, strict=True):
            # Two blocks share a zone side by side; a large zone leaves room between them.
            box = container(kind, color, "large" if kind == "zone" and n > 1 else "medium")
            mine = [block(color, "medium", "" if i == 0 else f"_{i + 1}") for i in range(n)]
            blocks += mine
            containers.append(box)
            assignment[box.id] = [b.id for b in mine]
        scene = SceneSpec(tuple(place_objects(rng, blocks + containers)))
        present = sorted(set(kinds))
        one = " or ".join(present)
        many = " and ".join(f"{k}s" for k in present)
        text = choose(rng, TEMPLATES).format(container=one, containers=many)
        return Episode(scene, text, {"containers": assignment})

    def _done(self, states: States) -> dict[str, bool]:
        """Per block: whether it is in a container of its color."""
        assignment: dict[str, list[str]] = self.require_episode().goal["containers"]
        out: dict[str, bool] = {}
        for box_id, block_ids in assignment.items():  # one container per color
            for b in block_ids:
                out[b] = placed_in(states[b], states[box_id])
        return out

    def evaluate(self, states: States) -> dict[str, Any]:
        done = self._done(states)
        n = sum(done.values())
        return {
            "success": n == len(done),
            "progress": fraction(n, len(done)),
            "blocks_sorted": n,
            "blocks_total": len(done),
        }

    def oracle_plan(self, states: States) -> list[dict[str, Any]]:
        assignment: dict[str, list[str]] = self.require_episode().goal["containers"]
        done = self._done(states)
        ops = []
        for box_id, block_ids in assignment.items():
            for i, b in enumerate(block_ids):
                if not done[b]:
                    ops.append(place_in_slot(b, states[box_id], i, len(block_ids)))
        return ops
