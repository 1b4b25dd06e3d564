"""Seeded hard scenes for the perception benchmark: stacks, blocks in bowls, trays and on zones,
touching blocks of one color, bowls on zones.

Each scene is a few clusters. A cluster is laid out by `place_objects` through a placeholder
(the cluster's base object, or a large zone standing in for a group of touching blocks), then
the placeholder is replaced by the cluster's objects around its position.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from robot_llm.tabletop.geometry import half_extents_xy
from robot_llm.tabletop.layout import LayoutError, place_objects
from robot_llm.tabletop.palette import BLOCK_EDGE, COLORS
from robot_llm.tabletop.scene import ObjectSpec, SceneError, SceneSpec
from robot_llm.tabletop.slots import slot_offsets

Cluster = Callable[[np.random.Generator, ObjectSpec], list[ObjectSpec]]
TOUCH_GAP = 0.0005  # touching blocks: a hair apart so the scene validator accepts them


class _Names:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, kind: str) -> str:
        self.n += 1
        return f"{kind}{self.n}"


def _color(rng: np.random.Generator, same_as: str | None = None, p_same: float = 0.0) -> str:
    if same_as is not None and rng.random() < p_same:
        return same_as
    return str(COLORS[int(rng.integers(len(COLORS)))])


def _size(rng: np.random.Generator, options: tuple[str, ...] = ("small", "medium", "large")) -> str:
    return options[int(rng.integers(len(options)))]


def _rotate(dx: float, dy: float, yaw: float) -> tuple[float, float]:
    c, s = math.cos(yaw), math.sin(yaw)
    return (c * dx - s * dy, s * dx + c * dy)


def hard_scene(rng: np.random.Generator) -> SceneSpec:
    """A random scene of 2-4 hard clusters and up to two loose blocks."""
    for _ in range(50):
        name = _Names()
        kinds = ["stack", "bowl", "zone", "tray", "touching", "bowl_on_zone"]
        weights = np.array([3, 3, 2, 1, 3, 1], float)
        picks = rng.choice(len(kinds), size=int(rng.integers(2, 5)), p=weights / weights.sum())
        placeholders, builders = [], []
        for k in picks:
            holder, build = _CLUSTERS[kinds[int(k)]](rng, name)
            placeholders.append(holder)
            builders.append(build)
        loose = [
            ObjectSpec(name("block"), "block", _color(rng), _size(rng))
            for _ in range(int(rng.integers(0, 3)))
        ]
        try:
            placed = place_objects(rng, placeholders + loose)
        except LayoutError:
            continue
        by_id = {o.id: o for o in placed}
        objects: list[ObjectSpec] = []
        for holder, build in zip(placeholders, builders, strict=True):
            objects += build(by_id[holder.id])
        objects += [by_id[o.id] for o in loose]
        try:
            return SceneSpec(tuple(objects), name="hard")
        except SceneError:
            continue
    raise RuntimeError("no valid hard scene in 50 tries")


def _stack(rng: np.random.Generator, name: _Names):
    n = int(rng.integers(2, 5))
    sizes = [_size(rng) for _ in range(n)]
    base_color = _color(rng)
    colors = [base_color] + [_color(rng, base_color, 0.2) for _ in range(n - 1)]
    twist = rng.random() < 0.5
    ids = [name("block") for _ in range(n)]
    holder = ObjectSpec(ids[0], "block", colors[0], sizes[0])

    def build(at: ObjectSpec) -> list[ObjectSpec]:
        out = [at]
        for i in range(1, n):
            below = out[-1]
            yaw = below.yaw + (float(rng.uniform(-0.6, 0.6)) if twist else 0.0)
            dx, dy = rng.uniform(-0.004, 0.004, 2)
            pos = (below.position[0] + float(dx), below.position[1] + float(dy))
            out.append(ObjectSpec(ids[i], "block", colors[i], sizes[i], pos, yaw, below.id))
        return out

    return holder, build


def _container(kind: str) -> Callable[[np.random.Generator, _Names], tuple[ObjectSpec, Callable]]:
    def make(rng: np.random.Generator, name: _Names):
        n = int(rng.integers(1, 4)) if kind != "zone" else int(rng.integers(1, 3))
        size = "large" if (kind == "bowl" and n > 1) else _size(rng)
        if kind == "zone" and n > 1:
            size = "large"
        color = _color(rng)
        holder = ObjectSpec(name(kind), kind, color, size)
        block_size = "small" if n > 2 else _size(rng, ("small", "medium"))
        colors = [_color(rng, color, 0.2) for _ in range(n)]
        ids = [name("block") for _ in range(n)]

        def build(at: ObjectSpec) -> list[ObjectSpec]:
            out = [at]
            for i, (dx, dy, hand) in enumerate(slot_offsets(kind, n)):
                ox, oy = _rotate(dx, dy, at.yaw)
                yaw = at.yaw + (hand if hand is not None else float(rng.uniform(-0.7, 0.7)))
                pos = (at.position[0] + ox, at.position[1] + oy)
                out.append(ObjectSpec(ids[i], "block", colors[i], block_size, pos, yaw, at.id))
            return out

        return holder, build

    return make


def _bowl_on_zone(rng: np.random.Generator, name: _Names):
    zone = ObjectSpec(name("zone"), "zone", _color(rng), "large")
    bowl_id, block_id = name("bowl"), name("block")
    bowl_color = _color(rng)
    block_color = _color(rng, bowl_color, 0.2)

    def build(at: ObjectSpec) -> list[ObjectSpec]:
        bowl = ObjectSpec(bowl_id, "bowl", bowl_color, "small", at.position, 0.0, at.id)
        out = [at, bowl]
        if rng.random() < 0.6:
            out.append(
                ObjectSpec(block_id, "block", block_color, "small", at.position, 0.3, bowl_id)
            )
        return out

    return zone, build


def _touching(rng: np.random.Generator, name: _Names):
    n = int(rng.integers(2, 4))
    size = _size(rng) if n == 2 else _size(rng, ("small", "medium"))
    e = BLOCK_EDGE[size] + TOUCH_GAP
    color = _color(rng)
    # Cells of a 2 x 2 grid: a pair side by side, or an L of three.
    cells = [(0, 0), (1, 0)] if n == 2 else [(0, 0), (1, 0), (0, 1)]
    holder = ObjectSpec(name("zone"), "zone", color, "large")
    ids = [name("block") for _ in range(n)]
    yaw = float(rng.uniform(-math.pi / 4, math.pi / 4))
    mean = np.mean(cells, axis=0)

    def build(at: ObjectSpec) -> list[ObjectSpec]:
        out = []
        for i, (cx, cy) in enumerate(cells):
            dx, dy = _rotate((cx - mean[0]) * e, (cy - mean[1]) * e, yaw)
            pos = (at.position[0] + dx, at.position[1] + dy)
            out.append(ObjectSpec(ids[i], "block", color, size, pos, yaw))
        return out

    assert half_extents_xy("zone", "large")[0] >= BLOCK_EDGE["large"]
    return holder, build


_CLUSTERS = {
    "stack": _stack,
    "bowl": _container("bowl"),
    "zone": _container("zone"),
    "tray": _container("tray"),
    "touching": _touching,
    "bowl_on_zone": _bowl_on_zone,
}
