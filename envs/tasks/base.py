"""The task contract: a task samples an episode (scene, goal, instruction) and evaluates it.

`evaluate()` is the single source of truth for success: the env's reward and info, the
executor's verification and the benchmark all read it. It is a pure function of object poses.
"""

from __future__ import annotations

import string
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.palette import COLORS
from robot_llm.tabletop.scene import ObjectSpec, SceneSpec

# Characters an instruction may contain (the env's `spaces.Text` charset).
INSTRUCTION_CHARSET = string.ascii_letters + string.digits + " ,.;:'!?-()"
INSTRUCTION_MAX_LENGTH = 256

States = Mapping[str, ObjectState]


@dataclass(frozen=True)
class Episode:
    """What one reset produces: the scene to build, the instruction, and the task's goal."""

    scene: SceneSpec
    instruction: str
    goal: dict[str, Any] = field(default_factory=dict)


class Task(ABC):
    """A family of language-conditioned tabletop tasks."""

    name: ClassVar[str]
    max_episode_steps: ClassVar[int]
    templates: ClassVar[tuple[str, ...]]

    def __init__(self) -> None:
        self.episode: Episode | None = None

    # -- hooks a task implements ----------------------------------------------------------------
    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Episode:
        """A random scene, goal and instruction; all randomness from `rng`."""

    @abstractmethod
    def evaluate(self, states: States) -> dict[str, Any]:
        """Success and progress for the current episode from object poses.

        Returns at least `success` (bool) and `progress` (float in [0, 1]).
        """

    def oracle_plan(self, states: States) -> list[dict[str, Any]]:
        """Privileged solution from ground-truth poses, for tests, demos and ablations.

        A list of operations: {"op": "pick_place", "object": id, "target": [x, y, z], "yaw": rad}
        (z is where the object's bottom goes; yaw optional; an optional "hand_yaw" fixes the
        hand's yaw at the place, modulo half a turn, so the fingers open along (-sin, cos) of
        it, clear of neighbours) or {"op": "push", "object": id, "target": [x, y]}.
        Multi-stage tasks return the operations of the current stage. An empty list means
        nothing is left to do. The Oracle executes the first operation and asks again.
        """
        raise NotImplementedError(f"{self.name} has no oracle plan")

    # -- shared behaviour -----------------------------------------------------------------------
    def reset(self, rng: np.random.Generator) -> Episode:
        self.episode = self.sample(rng)
        return self.episode

    def require_episode(self) -> Episode:
        if self.episode is None:
            raise RuntimeError(f"{self.name}: no episode yet; call reset() first")
        return self.episode

    @property
    def instruction(self) -> str:
        return self.require_episode().instruction

    def advance(self, evaluation: Mapping[str, Any]) -> bool:
        """Move to the next instruction when the current one is done (multi-stage tasks only).

        Returns True when the instruction changed.
        """
        return False


def pick_colors(rng: np.random.Generator, n: int, exclude: Sequence[str] = ()) -> list[str]:
    """n distinct palette colors, none of `exclude`."""
    pool = [c for c in COLORS if c not in exclude]
    idx = rng.choice(len(pool), size=n, replace=False)
    return [pool[int(i)] for i in idx]


def choose(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def block(color: str, size: str = "medium", suffix: str = "") -> ObjectSpec:
    """A block spec with a readable id ("red_block"); positions come from layout."""
    return ObjectSpec(f"{color}_block{suffix}", "block", color, size)


def container(kind: str, color: str, size: str = "medium", suffix: str = "") -> ObjectSpec:
    return ObjectSpec(f"{color}_{kind}{suffix}", kind, color, size)


def describe(spec: ObjectSpec, with_size: bool = False) -> str:
    """How an instruction names an object: "red block", "large blue bowl"."""
    noun = spec.kind
    return f"{spec.size} {spec.color} {noun}" if with_size else f"{spec.color} {noun}"


def place_on(obj_id: str, support: ObjectState) -> dict[str, Any]:
    """Oracle op: put `obj_id` centered on or in `support` (a block, bowl, zone or tray)."""
    from robot_llm.tabletop.predicates import support_height

    x, y, _ = support.position.tolist()
    return {
        "op": "pick_place",
        "object": obj_id,
        "target": [x, y, support_height(support)],
        "yaw": support.yaw,
    }


def fraction(done: int, total: int) -> float:
    return float(done) / float(total) if total else 1.0
