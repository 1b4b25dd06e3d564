"""Chain: five instructions in one scene, revealed one at a time (CALVIN's long-horizon chains).

The subtasks are generated symbolically: a model of where each block is (table, bowl, zone or on
another block) and roughly where it stands makes sure each subtask is feasible from the state
the previous ones leave: the block to move has nothing on top, bowls and the zone hold one
block, and a push has a free straight path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from robot_llm.envs.tasks.base import (
    DEFAULT_ROBOT,
    Episode,
    States,
    Task,
    block,
    choose,
    container,
    describe,
    fraction,
    pick_colors,
    place_on,
)
from robot_llm.envs.tasks.common import (
    REGION_PHRASES,
    push_path_clear,
    region_distance,
    region_push_target,
)
from robot_llm.envs.tasks.push import MIN_PUSH
from robot_llm.tabletop.layout import place_objects
from robot_llm.tabletop.predicates import REGIONS, holds
from robot_llm.tabletop.scene import ObjectSpec, SceneSpec

N_SUBTASKS: Final = 5
SAMPLE_TRIES: Final = 20
IN_BOWL_TEMPLATES = (
    "put the {obj} in the {target}",
    "place the {obj} into the {target}",
    "drop the {obj} in the {target}",
)
ON_ZONE_TEMPLATES = (
    "put the {obj} on the {target}",
    "move the {obj} onto the {target}",
    "place the {obj} on the {target}",
)
ON_BLOCK_TEMPLATES = (
    "stack the {obj} on the {target}",
    "put the {obj} on top of the {target}",
    "place the {obj} onto the {target}",
)
REGION_TEMPLATES = (
    "push the {obj} to the {place}",
    "slide the {obj} to the {place} of the table",
    "without lifting it, move the {obj} to the {place}",
)
KIND_TEMPLATES: Final = {
    "in_bowl": IN_BOWL_TEMPLATES,
    "on_zone": ON_ZONE_TEMPLATES,
    "on_block": ON_BLOCK_TEMPLATES,
    "region": REGION_TEMPLATES,
}


@dataclass
class _World:
    """The generator's model of the scene: where every block is, roughly, after each subtask."""

    specs: dict[str, ObjectSpec]
    support: dict[str, str | None]  # block id -> bowl, zone or block it is in or on; None: table
    xy: dict[str, tuple[float, float]] = field(default_factory=dict)

    def clear(self, b: str) -> bool:
        return all(s != b for s in self.support.values())

    def empty(self, box: str) -> bool:
        return all(s != box for s in self.support.values())

    def on_ground(self, b: str) -> bool:
        """On the table or on the zone: a block a stack may be built on."""
        s = self.support[b]
        return s is None or self.specs[s].kind == "zone"


def _candidates(world: _World) -> dict[str, list[dict[str, Any]]]:
    """Every feasible subtask relation from the modelled state, grouped by kind."""
    blocks = list(world.support)
    boxes = [i for i, s in world.specs.items() if s.kind in ("bowl", "zone")]
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in KIND_TEMPLATES}
    for b in blocks:
        if not world.clear(b):
            continue
        for box in boxes:
            if world.support[b] != box and world.empty(box):
                kind = "in_bowl" if world.specs[box].kind == "bowl" else "on_zone"
                rel = "in" if kind == "in_bowl" else "on"
                out[kind].append({"relation": rel, "object": b, "target": box})
        for c in blocks:
            if c != b and world.clear(c) and world.on_ground(c) and world.support[b] != c:
                out["on_block"].append({"relation": "on", "object": b, "target": c})
        if world.support[b] is None:
            for region in REGIONS:
                if _push_feasible(world, b, region):
                    out["region"].append({"relation": "region", "object": b, "region": region})
    return out


def _push_feasible(world: _World, b: str, region: str) -> bool:
    start = world.xy[b]
    if region_distance(start, region) < 0.02:
        return False
    target = region_push_target(start, region)
    if math.dist(start, target) < MIN_PUSH:
        return False
    obstacles = [(world.specs[o], world.xy[o]) for o in world.xy if o != b]
    return push_path_clear(world.specs[b], start, target, obstacles)


def _apply(world: _World, relation: Mapping[str, Any]) -> None:
    b = str(relation["object"])
    if relation["relation"] == "region":
        world.xy[b] = region_push_target(world.xy[b], str(relation["region"]))
        return
    target = str(relation["target"])
    world.support[b] = target
    world.xy[b] = world.xy[target]


def _text(rng: np.random.Generator, kind: str, relation: Mapping[str, Any], world: _World) -> str:
    obj = describe(world.specs[str(relation["object"])])
    if kind == "region":
        return choose(rng, REGION_TEMPLATES).format(
            obj=obj, place=REGION_PHRASES[str(relation["region"])]
        )
    target = describe(world.specs[str(relation["target"])])
    return choose(rng, KIND_TEMPLATES[kind]).format(obj=obj, target=target)


class Chain(Task):
    """One scene (4-5 blocks, 2 bowls, 1 zone) and five subtasks in a row."""

    name = "Chain"
    max_episode_steps = 450
    templates = IN_BOWL_TEMPLATES + ON_ZONE_TEMPLATES + ON_BLOCK_TEMPLATES + REGION_TEMPLATES

    def __init__(self, robot: str = DEFAULT_ROBOT) -> None:
        super().__init__(robot)
        self.stage = 0

    def reset(self, rng: np.random.Generator) -> Episode:
        episode = super().reset(rng)
        self.stage = 0
        return episode

    def unfit(self) -> str:
        """Its scene (four blocks, two bowls and a zone at the fewest) must fit the table."""
        if not self.compact:
            return ""
        size = self.size("medium")
        least = [block(c, size) for c in ("red", "blue", "green", "yellow")]
        least += [container("bowl", c, size) for c in ("orange", "purple")]
        least.append(container("zone", "pink", size))
        if self.crowded(least):
            return (
                "four blocks, two bowls and a zone, its scene at the fewest, do not fit its table"
            )
        return ""

    def sample(self, rng: np.random.Generator) -> Episode:
        for _ in range(SAMPLE_TRIES):
            episode = self._try_sample(rng)
            if episode is not None:
                return episode
        raise RuntimeError(f"{self.name}: no feasible chain found in {SAMPLE_TRIES} scenes")

    def _try_sample(self, rng: np.random.Generator) -> Episode | None:
        n_blocks = int(rng.integers(4, 6))
        colors = pick_colors(rng, n_blocks + 3)
        blocks = [block(c) for c in colors[:n_blocks]]
        boxes = [
            container("bowl", colors[n_blocks]),
            container("bowl", colors[n_blocks + 1]),
            container("zone", colors[n_blocks + 2]),
        ]
        objects = place_objects(rng, blocks + boxes)
        specs = {o.id: o for o in objects}
        world = _World(
            specs,
            {b.id: None for b in blocks},
            {o.id: (float(o.position[0]), float(o.position[1])) for o in objects},
        )
        subtasks: list[dict[str, Any]] = []
        last: str | None = None
        for _ in range(N_SUBTASKS):
            options = _candidates(world)
            # Prefer moving another block than the one just moved, as CALVIN chains do.
            fresh = {k: [r for r in rs if r["object"] != last] for k, rs in options.items()}
            if any(fresh.values()):
                options = fresh
            kinds = [k for k, rs in options.items() if rs]
            if not kinds:
                return None  # a dead end: everything full or covered
            kind = choose(rng, kinds)
            relation = options[kind][int(rng.integers(len(options[kind])))]
            relation["text"] = _text(rng, kind, relation, world)
            subtasks.append(relation)
            _apply(world, relation)
            last = str(relation["object"])
        return Episode(SceneSpec(tuple(objects)), subtasks[0]["text"], {"subtasks": subtasks})

    @property
    def instruction(self) -> str:
        subtasks = self.require_episode().goal["subtasks"]
        return str(subtasks[min(self.stage, len(subtasks) - 1)]["text"])

    def evaluate(self, states: States) -> dict[str, Any]:
        subtasks = self.require_episode().goal["subtasks"]
        stage = min(self.stage, len(subtasks) - 1)
        done = holds(subtasks[stage], states)
        completed = stage + int(done)
        return {
            "success": completed == len(subtasks),
            "progress": fraction(completed, len(subtasks)),
            "stage": stage,
            "completed_in_a_row": completed,
            "subtask_done": done,
        }

    def advance(self, evaluation: Mapping[str, Any]) -> bool:
        subtasks = self.require_episode().goal["subtasks"]
        if evaluation.get("subtask_done") and self.stage < len(subtasks) - 1:
            self.stage += 1
            return True
        return False

    def oracle_plan(self, states: States) -> list[dict[str, Any]]:
        subtasks = self.require_episode().goal["subtasks"]
        current = subtasks[min(self.stage, len(subtasks) - 1)]
        if holds(current, states):
            return []
        obj = str(current["object"])
        if current["relation"] == "region":
            target = region_push_target(states[obj].position[:2].tolist(), current["region"])
            return [{"op": "push", "object": obj, "target": [target[0], target[1]]}]
        return [place_on(obj, states[str(current["target"])])]
