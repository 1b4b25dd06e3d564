"""The task contract: a task samples an episode (scene, goal, instruction) and evaluates it.

`evaluate()` is the single source of truth for success: the env's reward and info, the
executor's verification and the benchmark all read it. It is a pure function of object poses.

A task samples for one robot (`Task(robot)`, `make_task(name, robot)`): its table, reach and
object sizes come from the robot's setup (`robot_llm.tabletop.setups`). The default setup (the
Panda's) samples exactly as the families always have; a robot with a small table of its own
(`RobotSetup.object_size` set, e.g. the SO-101) gets fewer, smaller objects inside its reach, and
a family that cannot fit it says why (`unfit()`).
"""

from __future__ import annotations

import string
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from robot_llm.errors import InputError
from robot_llm.tabletop.layout import LayoutError, place_objects
from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.palette import COLORS
from robot_llm.tabletop.scene import ObjectSpec, SceneSpec, Workspace
from robot_llm.tabletop.setups import RobotSetup, robot_setup

# Characters an instruction may contain (the env's `spaces.Text` charset).
INSTRUCTION_CHARSET = string.ascii_letters + string.digits + " ,.;:'!?-()"
INSTRUCTION_MAX_LENGTH = 256

States = Mapping[str, ObjectState]
DEFAULT_ROBOT = "panda"
# A small table sometimes needs a few fresh layouts (each already restarts place_objects).
LAYOUT_TRIES = 10


@dataclass(frozen=True)
class Episode:
    """What one reset produces: the scene to build, the instruction, and the task's goal."""

    scene: SceneSpec
    instruction: str
    goal: dict[str, Any] = field(default_factory=dict)


class TaskDoesNotFit(InputError):
    """A task family that a robot cannot do (its table is too small, its piles too tall)."""


class Task(ABC):
    """A family of language-conditioned tabletop tasks."""

    name: ClassVar[str]
    max_episode_steps: ClassVar[int]
    templates: ClassVar[tuple[str, ...]]

    def __init__(self, robot: str = DEFAULT_ROBOT) -> None:
        self.episode: Episode | None = None
        self.robot = robot
        self.setup: RobotSetup = robot_setup(robot)

    # -- the robot the episodes are sampled for ------------------------------------------------
    def for_robot(self, robot: str) -> Task:
        """This task sampling for `robot` (its setup's table, reach and sizes); returns self.

        Raises TaskDoesNotFit when the family cannot be done by that robot."""
        self.robot = robot
        self.setup = robot_setup(robot)
        why = self.unfit()
        if why:
            raise TaskDoesNotFit(f"{self.name} does not fit the {robot}: {why}")
        return self

    @property
    def workspace(self) -> Workspace:
        """Where this robot's objects may stand (robot_llm.tabletop.setups)."""
        return self.setup.workspace

    @property
    def compact(self) -> bool:
        """Whether the robot has a small table of its own: fewer objects, all of its one size."""
        return self.setup.object_size is not None

    def size(self, size: str) -> str:
        """The size an object of the family's `size` gets on this robot's table."""
        return self.setup.object_size or size

    def unfit(self) -> str:
        """Why this robot cannot do the family ("" when it can)."""
        return ""

    def layout(
        self, rng: np.random.Generator, objects: Sequence[ObjectSpec], **kw: Any
    ) -> list[ObjectSpec]:
        """`place_objects` on this robot's workspace. On the default table it is the plain call
        (the same draws as always); a small table gets a few fresh tries."""
        if not self.compact:
            return place_objects(rng, objects, **kw)
        for _ in range(LAYOUT_TRIES - 1):
            try:
                return place_objects(rng, objects, workspace=self.workspace, **kw)
            except LayoutError:
                continue
        return place_objects(rng, objects, workspace=self.workspace, **kw)

    def crowded(self, objects: Sequence[ObjectSpec]) -> bool:
        """Whether `objects` find no layout on this robot's table (seeded, a few tries)."""
        try:
            place_objects(np.random.default_rng(0), objects, workspace=self.workspace)
        except LayoutError:
            return True
        return False

    def too_tall(self, blocks: int) -> str:
        """Why a pile `blocks` high is out of this robot's reach ("" when it is not)."""
        most = self.setup.max_stack
        if most is None or blocks <= most:
            return ""
        return (
            f"it builds piles {blocks} blocks high; the {self.robot} piles at most {most} (its "
            "hand cannot carry a block over a higher pile)"
        )

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
