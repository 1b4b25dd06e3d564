"""Scenes for the teacher data: the bundled scene files and a tabletop-level sampler.

Every scene is returned as the `Scene` the planner reads at run time when a scene file names
the objects (`tabletop.spec_scene.scene_from_spec`, perception's reference: ids, kinds, colors,
sizes, center positions with z from the shared geometry, yaw folded the way perception reports
it, footprints). The planning
layer may not import the simulator (tests/test_layers.py), so instead of the gym task samplers
(`envs/tasks`) this module samples the same kinds of layouts from `robot_llm.tabletop` alone:
loose blocks with bowls and zones (PickPlace, PutInBowl), same-colored blocks and containers
(Sort), a tray and loose blocks (Clear), towers and blocks resting in bowls (Stack, Hanoi),
twins that only position tells apart. Positions go through `tabletop.layout.place_objects`, the
task samplers' own collision-free placement, and are rounded to the millimeter.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Final

import numpy as np

from robot_llm.tabletop.layout import LayoutError, place_objects
from robot_llm.tabletop.palette import COLORS
from robot_llm.tabletop.scene import (
    ObjectSpec,
    SceneError,
    SceneSpec,
    bundled_scenes,
    load_scene,
)
from robot_llm.tabletop.spec_scene import scene_from_spec
from robot_llm.types import Scene

# Bundled scene files used as they are (the SO-101 ones have a smaller table: left out).
SCENE_FILES: Final = ("blocks_and_bowls", "clear_table", "stacked")


@cache
def file_scene(name: str) -> Scene:
    return scene_from_spec(load_scene(bundled_scenes()[name]))


# -- the sampler -----------------------------------------------------------------------------------
def _ids(objs: list[ObjectSpec]) -> list[ObjectSpec]:
    """Readable unique ids: red_block, red_block_2, ... (as the task samplers name them)."""
    seen: dict[str, int] = {}
    out = []
    for o in objs:
        base = f"{o.color}_{o.kind}"
        seen[base] = seen.get(base, 0) + 1
        out.append(replace(o, id=base if seen[base] == 1 else f"{base}_{seen[base]}"))
    return out


def _blocks(rng: random.Random, n: int, colors: list[str], twins: bool) -> list[ObjectSpec]:
    out = []
    for i in range(n):
        color = colors[i] if not (twins and i == 1) else colors[0]
        size = rng.choice(("small", "medium", "large"))
        out.append(ObjectSpec("", "block", color, size))
    return out


def _loose(rng: random.Random) -> list[ObjectSpec]:
    """PickPlace / PutInBowl: 2-4 blocks, one or two bowls, maybe a zone; maybe a pair of
    blocks of one color."""
    colors = rng.sample(COLORS, 7)
    n = rng.randint(2, 4)
    objs = _blocks(rng, n, colors, twins=rng.random() < 0.3)
    cont = colors[n : n + 3]
    objs.append(ObjectSpec("", "bowl", cont[0], rng.choice(("small", "medium"))))
    if rng.random() < 0.6:
        objs.append(ObjectSpec("", "bowl", cont[1], "medium"))
    if rng.random() < 0.6:
        objs.append(ObjectSpec("", "zone", cont[2], rng.choice(("small", "medium"))))
    return objs


def _sorting(rng: random.Random) -> list[ObjectSpec]:
    """Sort: 2-3 colors, a block of each, a bowl or zone of each color."""
    colors = rng.sample(COLORS, rng.randint(2, 3))
    objs = [ObjectSpec("", "block", c, rng.choice(("small", "medium"))) for c in colors]
    kinds = ["bowl", "zone", rng.choice(("bowl", "zone"))]
    objs += [ObjectSpec("", kinds[i], c, "medium") for i, c in enumerate(colors)]
    return objs


def _clearing(rng: random.Random) -> list[ObjectSpec]:
    """Clear: a large tray and 2-4 loose blocks."""
    colors = rng.sample(COLORS, 5)
    objs = [ObjectSpec("", "tray", "gray", "large")]
    objs += _blocks(rng, rng.randint(2, 4), colors, twins=False)
    return objs


def _towers(rng: random.Random) -> list[ObjectSpec]:
    """Stack / Hanoi: a two-block tower, loose blocks, a bowl; block ids fixed before `on`."""
    colors = rng.sample(COLORS, 6)
    objs = _ids(_blocks(rng, 4, colors, twins=False))
    objs[0] = replace(objs[0], size="large")
    objs[1] = replace(objs[1], size="small", on=objs[0].id)
    objs.append(ObjectSpec(f"{colors[5]}_bowl", "bowl", colors[5], "medium"))
    return objs


SAMPLERS: Final[dict[str, Callable[[random.Random], list[ObjectSpec]]]] = {
    "loose": _loose,
    "sorting": _sorting,
    "clearing": _clearing,
    "towers": _towers,
}


def sample_scene(rng: random.Random) -> tuple[str, Scene]:
    """A scene and its source name ("file:NAME" or "sampled:KIND"), all randomness from `rng`."""
    if rng.random() < 0.15:
        name = rng.choice(SCENE_FILES)
        return f"file:{name}", file_scene(name)
    kind = rng.choice(sorted(SAMPLERS))
    for _ in range(20):
        objs = SAMPLERS[kind](rng)
        if not objs[0].id:
            objs = _ids(objs)
        try:
            placed = place_objects(np.random.default_rng(rng.getrandbits(32)), objs)
        except LayoutError:
            continue
        rounded = [
            replace(
                o,
                position=(round(o.position[0], 3), round(o.position[1], 3)),
                yaw=round(o.yaw, 3),
            )
            for o in placed
        ]
        try:
            return f"sampled:{kind}", scene_from_spec(SceneSpec(tuple(rounded)), source="sampled")
        except SceneError:  # a rounded layout that now touches: sample again
            continue
    name = SCENE_FILES[0]
    return f"file:{name}", file_scene(name)
