"""Pyramid: six blocks in a 3-2-1 pyramid, named layer by layer (Ravens "stack-block-pyramid").

Success is judged relationally: the base blocks may stand anywhere, in any order, as long as
they form a row; each upper block must bridge two adjacent blocks of the layer below.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from robot_llm.envs.tasks.base import Episode, States, Task, block, choose, fraction, pick_colors
from robot_llm.envs.tasks.common import place_at
from robot_llm.tabletop.geometry import height
from robot_llm.tabletop.layout import place_objects
from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.predicates import (
    PLACE_TOLERANCE,
    REST_TOLERANCE,
    bottom,
    bridges,
    on_table,
    side_by_side,
    top,
    upright,
)
from robot_llm.tabletop.scene import ObjectSpec, SceneSpec

TEMPLATES = (
    "build a pyramid: {b0}, {b1} and {b2} on the bottom, {m0} and {m1} in the middle, {t} on top",
    "make a three-level pyramid with the {b0}, {b1} and {b2} blocks as the base, the {m0} and "
    "{m1} blocks on the second level and the {t} block on top",
    "stack the blocks into a pyramid; bottom row: {b0}, {b1}, {b2}; middle row: {m0}, {m1}; "
    "top: {t}",
    "use the {b0}, {b1} and {b2} blocks for the base of a pyramid, put the {m0} and {m1} blocks "
    "above them and the {t} block at the peak",
)
SIZE: Final = "medium"
# Gap the oracle leaves between neighbouring base blocks, meters.
SLOT_GAP: Final = 0.005
# The oracle counts a block within this distance of its slot as placed, meters.
SLOT_TOLERANCE: Final = 0.008
# Where the oracle builds: the row runs along +y (left-right in the camera image).
ROW_YAW: Final = math.pi / 2
SITE_X: Final = (0.42, 0.58)
SITE_Y: Final = (-0.12, 0.12)


def _midpoint(a: ObjectState, b: ObjectState) -> np.ndarray:
    return np.asarray((a.position[:2] + b.position[:2]) / 2)


def _row(blocks: Sequence[ObjectState]) -> list[ObjectState] | None:
    """The three blocks in row order (end, middle, end) if they form a row on the table."""
    if not all(on_table(b) for b in blocks):
        return None
    for mid in range(3):
        a, b = (blocks[i] for i in range(3) if i != mid)
        m = blocks[mid]
        if not (side_by_side(a, m) and side_by_side(m, b)):
            continue
        if float(np.linalg.norm(m.position[:2] - _midpoint(a, b))) <= PLACE_TOLERANCE:
            return [a, m, b]
    return None


class Pyramid(Task):
    """Six medium blocks of distinct colors: three on the bottom, two in the middle, one on top."""

    name = "Pyramid"
    max_episode_steps = 530
    templates = TEMPLATES

    def unfit(self) -> str:
        return self.too_tall(3)

    def sample(self, rng: np.random.Generator) -> Episode:
        colors = pick_colors(rng, 6)
        blocks = [block(c, SIZE) for c in colors]
        site = (float(rng.uniform(*SITE_X)), float(rng.uniform(*SITE_Y)))
        # Keep the building site free: an invisible small tray stands in for the pyramid.
        reserved = ObjectSpec("_site", "tray", "gray", "small", site, 0.0)
        scene = SceneSpec(tuple(place_objects(rng, blocks, fixed=(reserved,))))
        names = dict(zip(("b0", "b1", "b2", "m0", "m1", "t"), colors, strict=True))
        text = choose(rng, TEMPLATES).format(**names)
        ids = [b.id for b in blocks]
        goal = {"base": ids[:3], "middle": ids[3:5], "top": ids[5], "site": list(site)}
        return Episode(scene, text, goal)

    def _placed(self, states: States) -> dict[str, bool]:
        """Per block: whether it is where the pyramid needs it (see the module docstring)."""
        goal = self.require_episode().goal
        base = [states[i] for i in goal["base"]]
        middle = [states[i] for i in goal["middle"]]
        out = dict.fromkeys([*goal["base"], *goal["middle"], goal["top"]], False)
        row = _row(base)
        if row is not None:
            out.update(dict.fromkeys(goal["base"], True))
        else:  # partial credit: two base blocks already side by side on the table
            for a, b in itertools.combinations(base, 2):
                if on_table(a) and on_table(b) and side_by_side(a, b):
                    out[a.spec.id] = out[b.spec.id] = True
                    break
        pairs = [(row[0], row[1]), (row[1], row[2])] if row is not None else []
        used: set[int] = set()
        for m in middle:
            for k, (a, b) in enumerate(pairs):
                if k not in used and bridges(m, a, b):
                    used.add(k)
                    out[m.spec.id] = True
                    break
        if all(out[m.spec.id] for m in middle):
            out[goal["top"]] = bridges(states[goal["top"]], middle[0], middle[1])
        return out

    def evaluate(self, states: States) -> dict[str, Any]:
        goal = self.require_episode().goal
        placed = self._placed(states)
        n = sum(placed.values())
        return {
            "success": n == len(placed),
            "progress": fraction(n, len(placed)),
            "blocks_placed": n,
            "base_done": all(placed[i] for i in goal["base"]),
            "middle_done": all(placed[i] for i in goal["middle"]),
            "top_done": placed[goal["top"]],
        }

    def oracle_plan(self, states: States) -> list[dict[str, Any]]:
        """Base blocks at fixed slots around the site, then each upper block over its pair."""
        goal = self.require_episode().goal
        edge = height("block", SIZE)
        spacing = edge + SLOT_GAP
        ux, uy = math.cos(ROW_YAW), math.sin(ROW_YAW)
        sx, sy = goal["site"]
        slots = [(sx + (i - 1) * spacing * ux, sy + (i - 1) * spacing * uy) for i in range(3)]
        if self.evaluate(states)["success"]:
            return []
        ops: list[dict[str, Any]] = []
        base = goal["base"]
        at_slot = [
            on_table(states[b])
            and math.dist(states[b].position[:2].tolist(), slot) <= SLOT_TOLERANCE
            for b, slot in zip(base, slots, strict=True)
        ]
        # Predicted poses: blocks already at their slot where they are, the rest at the slot.
        support: list[tuple[tuple[float, float], float]] = []
        for b, slot, ok in zip(base, slots, at_slot, strict=True):
            if not ok:
                ops.append(place_at(b, slot, 0.0, ROW_YAW, hand_yaw=ROW_YAW))
                support.append((slot, edge))
            else:
                s = states[b]
                support.append(((float(s.position[0]), float(s.position[1])), top(s)))
        layer = support
        for ids in (goal["middle"], [goal["top"]]):
            nxt = []
            for k, obj_id in enumerate(ids):
                (ax, ay), za = layer[k]
                (bx, by), zb = layer[k + 1]
                xy = ((ax + bx) / 2, (ay + by) / 2)
                z = max(za, zb)
                s = states[obj_id]
                done = (
                    not ops
                    and upright(s)
                    and math.dist(s.position[:2].tolist(), xy) <= SLOT_TOLERANCE
                    and abs(bottom(s) - z) <= REST_TOLERANCE
                )
                if done:
                    nxt.append(((float(s.position[0]), float(s.position[1])), top(s)))
                else:
                    ops.append(place_at(obj_id, xy, z, ROW_YAW, hand_yaw=ROW_YAW))
                    nxt.append((xy, z + edge))
            layer = nxt
        return ops
