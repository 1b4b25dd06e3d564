"""Clear: put every block on the table into a tray ("clear the table", VIMA-Bench style)."""

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
from robot_llm.tabletop.predicates import in_tray
from robot_llm.tabletop.scene import SceneSpec

TEMPLATES = (
    "put everything in the tray",
    "clear the table",
    "clear the table by putting all the blocks in the {tray}",
    "put all the blocks into the {tray}",
    "tidy up: every block goes in the {tray}",
)
TRAY_SIZE = "large"


class Clear(Task):
    """3-5 blocks and one large tray; the tray holds them in a single column."""

    name = "Clear"
    max_episode_steps = 450
    templates = TEMPLATES

    def unfit(self) -> str:
        """The tray and the fewest blocks it clears (three) must fit the table."""
        if not self.compact:
            return ""
        size = self.size("medium")
        least = [container("tray", "gray", self.size(TRAY_SIZE))]
        least += [block(c, size) for c in ("red", "blue", "green")]
        if self.crowded(least):
            return "a tray and three blocks, the fewest it clears, do not fit its table"
        return ""

    def sample(self, rng: np.random.Generator) -> Episode:
        n = int(rng.integers(3, 6))
        tray_color, *colors = pick_colors(rng, n + 1)
        blocks = [block(c, choose(rng, ("small", "medium"))) for c in colors]
        tray = container("tray", tray_color, TRAY_SIZE)
        scene = SceneSpec(tuple(place_objects(rng, [tray, *blocks])))
        text = choose(rng, TEMPLATES).format(tray=f"{tray_color} tray")
        return Episode(scene, text, {"tray": tray.id, "blocks": [b.id for b in blocks]})

    def _done(self, states: States) -> list[bool]:
        goal = self.require_episode().goal
        tray = states[goal["tray"]]
        return [in_tray(states[b], tray) for b in goal["blocks"]]

    def evaluate(self, states: States) -> dict[str, Any]:
        done = self._done(states)
        return {
            "success": all(done),
            "progress": fraction(sum(done), len(done)),
            "blocks_in_tray": sum(done),
            "blocks_total": len(done),
        }

    def oracle_plan(self, states: States) -> list[dict[str, Any]]:
        goal = self.require_episode().goal
        tray = states[goal["tray"]]
        n = len(goal["blocks"])
        return [
            place_in_slot(b, tray, i, n)
            for i, (b, ok) in enumerate(zip(goal["blocks"], self._done(states), strict=True))
            if not ok
        ]
