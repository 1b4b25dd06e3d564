"""TowersOfHanoi: move a three-block tower between colored zones, never larger on smaller."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from robot_llm.envs.tasks.base import Episode, States, Task, choose, container, pick_colors
from robot_llm.envs.tasks.common import place_at
from robot_llm.tabletop.geometry import height
from robot_llm.tabletop.layout import place_objects
from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.predicates import in_zone, on_block, support_height, top
from robot_llm.tabletop.scene import ObjectSpec, SceneSpec

TEMPLATES = (
    "move the tower from the {src} zone to the {dst} zone, one block at a time, never putting "
    "a larger block on a smaller one",
    "solve the tower of hanoi: bring the stack on the {src} zone over to the {dst} zone, moving "
    "one block at a time and never placing a bigger block on a smaller one",
    "transfer the stack of blocks from the {src} zone onto the {dst} zone; move a single block "
    "at a time and never put a block on a smaller one",
    "rebuild the tower of the {src} zone on the {dst} zone, one block at a time, without ever "
    "stacking a larger block on a smaller one",
)
SIZES = ("large", "medium", "small")  # bottom to top
ZONE_SIZE = "medium"


def _edge(s: ObjectState) -> float:
    return height("block", s.spec.size)


class TowersOfHanoi(Task):
    """Three blocks (large, medium, small) on the first of three zones go to another zone."""

    name = "TowersOfHanoi"
    max_episode_steps = 700
    templates = TEMPLATES

    def sample(self, rng: np.random.Generator) -> Episode:
        zone_colors = pick_colors(rng, 3)
        block_colors = pick_colors(rng, 3)
        zones = [container("zone", c, ZONE_SIZE) for c in zone_colors]
        blocks = []
        support = zones[0].id
        for color, size in zip(block_colors, SIZES, strict=True):
            blocks.append(ObjectSpec(f"{color}_block", "block", color, size, on=support))
            support = blocks[-1].id
        scene = SceneSpec(tuple(place_objects(rng, zones + blocks)))
        src = zones[0]
        dst, aux = (zones[1], zones[2]) if rng.random() < 0.5 else (zones[2], zones[1])
        text = choose(rng, TEMPLATES).format(src=src.color, dst=dst.color)
        goal = {
            "source": src.id,
            "target": dst.id,
            "spare": aux.id,
            "blocks": [b.id for b in blocks],  # large, medium, small
        }
        return Episode(scene, text, goal)

    def unfit(self) -> str:
        return self.too_tall(len(SIZES))

    def evaluate(self, states: States) -> dict[str, Any]:
        goal = self.require_episode().goal
        large, medium, small = (states[b] for b in goal["blocks"])
        target = states[goal["target"]]
        layers = [in_zone(large, target), on_block(medium, large), on_block(small, medium)]
        done = 0
        for ok in layers:
            if not ok:
                break
            done += 1
        blocks = [large, medium, small]
        violated = any(
            on_block(a, b) and _edge(a) > _edge(b) for a in blocks for b in blocks if a is not b
        )
        return {
            "success": done == 3,
            "progress": done / 3,
            "blocks_on_target": done,
            "rule_violated": violated,
        }

    # -- oracle ---------------------------------------------------------------------------------
    def _pegs(self, states: States) -> dict[str, str]:
        """Which zone each block stands over (the nearest one)."""
        goal = self.require_episode().goal
        zones = [goal["source"], goal["target"], goal["spare"]]
        out = {}
        for b in goal["blocks"]:
            xy = states[b].position[:2].tolist()
            out[b] = min(zones, key=lambda z: math.dist(xy, states[z].position[:2].tolist()))
        return out

    def oracle_plan(self, states: States) -> list[dict[str, Any]]:
        """The optimal move sequence from the current (legal) configuration."""
        goal = self.require_episode().goal
        if self.evaluate(states)["success"]:
            return []
        blocks: list[str] = goal["blocks"]
        zones = [goal["source"], goal["target"], goal["spare"]]
        peg = self._pegs(states)
        stacks: dict[str, list[str]] = {z: [b for b in blocks if peg[b] == z] for z in zones}
        moves: list[tuple[str, str]] = []

        def solve(k: int, to: str) -> None:
            """Move block k and every smaller one onto zone `to` (blocks are largest first)."""
            if k == len(blocks):
                return
            if peg[blocks[k]] == to:
                solve(k + 1, to)
                return
            other = next(z for z in zones if z not in (peg[blocks[k]], to))
            solve(k + 1, other)
            moves.append((blocks[k], to))
            peg[blocks[k]] = to
            solve(k + 1, to)

        solve(0, goal["target"])
        # Where each block's top is: measured now, predicted after the moves before it.
        xy = {b: states[b].position[:2].tolist() for b in blocks}
        tops = {b: top(states[b]) for b in blocks}
        ops = []
        for b, to in moves:
            for stack in stacks.values():
                if b in stack:
                    stack.remove(b)
            zone = states[to]
            if stacks[to]:
                below = stacks[to][-1]
                target_xy, z = xy[below], tops[below]
            else:
                target_xy, z = zone.position[:2].tolist(), support_height(zone)
            ops.append(place_at(b, target_xy, z, zone.yaw))
            stacks[to].append(b)
            xy[b], tops[b] = target_xy, z + _edge(states[b])
        return ops
