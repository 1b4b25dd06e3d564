"""Pyramids: blocks in layers, each upper block resting across two blocks of the layer below.

"build a pyramid: red, green and blue on the bottom, yellow and cyan in the middle, pink on top"
plans the base row with `place ... at` on a free stretch of table (a row running away from the
robot, square to the table, a few millimeters apart), then each upper block with
`place ... across` the two blocks under it. Three layers take six blocks (3-2-1), two layers
take three (2-1).

Layers are read from words around the block names: before them ("bottom row: red, green,
blue") or after them ("red, green and blue as the base"); "above them" and "on top of them"
mean the layer over the one just named. Without layer words the blocks go bottom-up in the
order said; with no blocks named, every block on the table is used when there are three or six.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import numpy as np

from robot_llm.planning.colors import palette_color
from robot_llm.planning.draft import cap, clarify, refuse
from robot_llm.planning.lexicon import BLOCK, SIZE_ORDER, SIZE_WORDS
from robot_llm.planning.np_parser import parse_np
from robot_llm.planning.table_model import CLEARANCE, TableModel
from robot_llm.tabletop.geometry import height
from robot_llm.types import Subgoal

if TYPE_CHECKING:
    from robot_llm.planning.interpreter import Interpreter

PYRAMID_WORDS: Final = frozenset({"pyramid", "pyramids"})
# Gap between neighbouring base blocks, meters (the task allows up to ROW_GAP).
BASE_GAP: Final = 0.008
# Where the base row may stand: reachable, seen well by the camera (table frame, meters).
SITE_X: Final = (0.36, 0.62)
SITE_Y: Final = (-0.22, 0.22)
SITE_PREFERRED: Final = (0.50, 0.0)
SITE_STEP: Final = 0.01
# Room kept around the row for the fingers, meters.
SITE_MARGIN: Final = 0.02
LAYER_SIZES: Final = {3: (3, 2, 1), 2: (2, 1)}

_LAYER_WORDS: Final = {
    "bottom": 0,
    "base": 0,
    "foundation": 0,
    "lowest": 0,
    "ground": 0,
    "middle": 1,
    "center": 1,
    "centre": 1,
    "top": 2,
    "peak": 2,
    "apex": 2,
    "summit": 2,
    "tip": 2,
    "highest": 2,
}
_ORDINAL_LAYERS: Final = {"first": 0, "second": 1, "third": 2, "1st": 0, "2nd": 1, "3rd": 2}
_LEVEL_NOUNS: Final = frozenset({"level", "row", "layer", "tier", "floor", "story", "storey"})
_RELATIVE: Final = (("on", "top", "of", "them"), ("on", "top", "of", "those"), ("above", "them"))
_RELATIVE_SHORT: Final = (("above", "those"), ("over", "them"), ("on", "them"), ("above",))
_NEXT_LAYER: Final = -1  # a layer word meaning "the one above the layer just named"
LAYER_NAMES: Final = ("on the bottom", "in the middle", "on top")
# Every question about a pyramid's layers starts so (an answer to it extends the command).
QUESTION_PREFIX: Final = "A pyramid takes"


@dataclass
class _Run:
    blocks: list[list[str]] = field(default_factory=list)  # each: the words naming one block
    layer: int | None = None
    closed: bool = False


def is_pyramid(tokens: Sequence[str]) -> bool:
    return any(t in PYRAMID_WORDS for t in tokens)


def _layer_at(tokens: Sequence[str], i: int) -> tuple[int, int] | None:
    """(layer, words used) when a layer phrase starts at token i."""
    for phrase in (*_RELATIVE, *_RELATIVE_SHORT):
        if tuple(tokens[i : i + len(phrase)]) == phrase:
            return _NEXT_LAYER, len(phrase)
    t = tokens[i]
    if t in _ORDINAL_LAYERS and i + 1 < len(tokens) and tokens[i + 1] in _LEVEL_NOUNS:
        return _ORDINAL_LAYERS[t], 2
    if t in _LAYER_WORDS:
        return _LAYER_WORDS[t], 1
    return None


def _block_at(tokens: Sequence[str], i: int) -> tuple[list[str], int] | None:
    """(words naming a block, words used) when a color (with an optional size) starts at i."""
    size: list[str] = []
    j = i
    if tokens[j] in SIZE_WORDS and j + 1 < len(tokens):
        size, j = [tokens[j]], j + 1
    for n in (2, 1):
        phrase = " ".join(tokens[j : j + n])
        if len(tokens[j : j + n]) == n and palette_color(phrase) is not None:
            return [*size, *tokens[j : j + n]], j + n - i
    return None


def read_layers(tokens: Sequence[str]) -> list[_Run]:
    """Block names grouped into runs, each with the layer the words around it give."""
    runs: list[_Run] = []
    pending: int | None = None
    i = 0
    while i < len(tokens):
        block = _block_at(tokens, i)
        if block is not None:
            words, used = block
            if not runs or runs[-1].closed:
                runs.append(_Run(layer=pending))
                pending = None
            runs[-1].blocks.append(words)
            i += used
            continue
        layer = _layer_at(tokens, i)
        if layer is not None:
            k, used = layer
            if k == _NEXT_LAYER:
                named = [r.layer for r in runs if r.layer is not None]
                k = (named[-1] + 1) if named else 1
            current = runs[-1] if runs else None
            if current is not None and not current.closed and current.layer is None:
                current.layer, current.closed = k, True
            else:
                if current is not None:
                    current.closed = True
                pending = k
            i += used
            continue
        if tokens[i] in (";", ":") and runs and runs[-1].layer is not None:
            runs[-1].closed = True
        i += 1
    return runs


def _ground(it: Interpreter, words: list[str]) -> str:
    ref = parse_np(["the", *words, "block"], it.ids)
    if ref is None:
        raise clarify(f"Which block is '{' '.join(words)}'?")
    ids = it.need(it.resolve(ref, "object"), " ".join(words))
    return ids[0]


def plan_layers(it: Interpreter, tokens: Sequence[str]) -> list[list[str]]:
    """The pyramid's block ids, bottom layer first; a Clarify or Refuse when it cannot tell."""
    world = it.s.world
    runs = read_layers(tokens)
    named = [[_ground(it, w) for w in r.blocks] for r in runs]
    flat = [b for ids in named for b in ids]
    repeated = sorted({b for b in flat if flat.count(b) > 1})
    if repeated:
        raise refuse(f"{cap(it.s.names(repeated))} can only go in one place in the pyramid.")
    blocks = [t.id for t in world if t.kind == BLOCK]
    if not flat:
        if len(blocks) not in (3, 6):
            raise clarify(
                f"{QUESTION_PREFIX} three blocks (two on the bottom, one on top) or six (three, "
                f"two, one), and I see {len(blocks)} blocks. Which go on the bottom, in the "
                "middle and on top?",
                blocks,
            )
        # Bigger blocks lower down; otherwise in scene order.
        flat = sorted(blocks, key=lambda b: -SIZE_ORDER.get(world[b].size, 1))
        named, runs = [flat], [_Run()]
    base_given = [ids for r, ids in zip(runs, named, strict=True) if r.layer == 0]
    three = len(flat) > 3 or any(len(ids) >= 3 for ids in base_given)
    sizes = LAYER_SIZES[3 if three else 2]
    layers: list[list[str]] = [[] for _ in sizes]
    unplaced: list[str] = []
    for run, ids in zip(runs, named, strict=True):
        if run.layer is None:
            unplaced += ids
        else:
            layers[min(run.layer, len(sizes) - 1)] += ids
    for k, want in enumerate(sizes):  # blocks without a layer fill the gaps bottom-up
        while len(layers[k]) < want and unplaced:
            layers[k].append(unplaced.pop(0))
    over = [k for k, want in enumerate(sizes) if len(layers[k]) > want]
    if unplaced or over:
        k = over[0] if over else 0
        raise clarify(
            f"{QUESTION_PREFIX} {_layer_counts(sizes)}, and I read {len(layers[k])} blocks "
            f"{LAYER_NAMES[k]}. Which blocks go where?",
            flat,
        )
    missing = [(k, want - len(layers[k])) for k, want in enumerate(sizes) if len(layers[k]) < want]
    if missing:
        spare = [b for b in blocks if b not in flat]
        need = ", ".join(f"{_count(n)} {LAYER_NAMES[k]}" for k, n in missing)
        if not spare:
            raise refuse(
                f"{QUESTION_PREFIX} {_layer_counts(sizes)}; I need {need} more, and there are "
                "no other blocks."
            )
        raise clarify(
            f"{QUESTION_PREFIX} {_layer_counts(sizes)}. Which blocks go {need}? I see "
            f"{it.s.names(spare)}.",
            spare,
        )
    return layers


def _count(n: int) -> str:
    return {1: "one", 2: "two", 3: "three"}.get(n, str(n))


def _layer_counts(sizes: Sequence[int]) -> str:
    return ", ".join(f"{_count(n)} {LAYER_NAMES[k]}" for k, n in enumerate(sizes))


def build(it: Interpreter, tokens: Sequence[str]) -> None:
    """Plan a pyramid on the PlanDraft: base row first, then each layer across the one below."""
    s = it.s
    world = s.world
    layers = plan_layers(it, tokens)
    ids = [b for layer in layers for b in layer]
    for b in ids:
        s.check_movable(b)
    sizes = {world[b].size for b in ids}
    if len(sizes) > 1:
        raise refuse(
            f"The blocks of a pyramid must be the same size, and {s.names(ids)} are not: a block "
            "resting across two blocks of different heights would tilt."
        )
    edge = height(BLOCK, world[ids[0]].size)
    slots = _base_slots(world, layers[0], edge)
    if slots is None:
        raise refuse(
            f"There is no free stretch of table for a row of {len(layers[0])} blocks; clear "
            "some space first."
        )
    for b, xy in zip(layers[0], slots, strict=True):
        s.clear_above(b)
        s.pick(b)
        s.steps.append(Subgoal("place", object=b, at=xy))
        world.place_at(b, xy)
    for below, layer in itertools.pairwise(layers):
        for k, b in enumerate(layer):
            s.clear_above(b)
            s.pick(b)
            pair = (below[k], below[k + 1])
            s.steps.append(Subgoal("place", object=b, across=pair))
            world.place_across(b, pair)
    s.placed.update(ids)
    s.mention(ids)


def _base_slots(
    world: TableModel, base: Sequence[str], edge: float
) -> list[tuple[float, float]] | None:
    """Slots for the base row, on the free stretch of table nearest SITE_PREFERRED; None when
    there is none.

    The row runs along +x, away from the robot, the first block farthest. Carried at the hand's
    travel yaw, a block then goes down with the fingers opening across the row, into no gap: a
    row along y would make the hand turn each block a quarter turn while holding it, and a held
    block slips in the fingers as the hand turns (a few degrees per quarter turn, and a tilt
    that shifts it as it is let go), enough to leave the middle layer too far apart for the
    top block. The base's middle block, hidden from the camera under the two blocks over it, is
    kept by the executor's tracker."""
    spacing = edge + BASE_GAP
    n = len(base)
    offsets = [((n - 1) / 2 - k) * spacing for k in range(n)]
    me = math.sqrt(2) * edge / 2
    ws = world.workspace
    x0 = max(SITE_X[0], ws.x[0] + me) + offsets[0]
    x1 = min(SITE_X[1], ws.x[1] - me) + offsets[-1]
    y0, y1 = max(SITE_Y[0], ws.y[0] + me), min(SITE_Y[1], ws.y[1] - me)
    if x0 > x1 or y0 > y1:
        return None
    gx, gy = np.meshgrid(
        np.round(np.arange(x0, x1 + 1e-9, SITE_STEP), 3),
        np.round(np.arange(y0, y1 + 1e-9, SITE_STEP), 3),
        indexing="ij",
    )
    px, py = gx.ravel(), gy.ravel()
    ok = np.ones(px.shape, dtype=bool)
    for t in world:
        if t.held or t.support is not None:
            continue
        reach = t.radius + me + CLEARANCE + SITE_MARGIN
        for dx in offsets:
            ok &= np.hypot(px + dx - t.x, py - t.y) >= reach
    if not ok.any():
        return None
    dist = np.hypot(px - SITE_PREFERRED[0], py - SITE_PREFERRED[1])
    dist[~ok] = np.inf
    i = int(np.argmin(dist))
    return [(round(float(px[i] + dx), 3), round(float(py[i]), 3)) for dx in offsets]
