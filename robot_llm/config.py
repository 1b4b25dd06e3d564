"""The stack's configuration, typed: which robot, how it perceives, which planner, which skills.

One dataclass per part. `run`, `plan`, `repl` and `listen` build a `StackConfig` from their
shared options (`--scene/--task/--seed`, `--robot`, `--randomize`, `--perception`, `--planner`,
`--policy`), the benchmark from its suite and flags, and a program from a dict
(`StackConfig.from_dict`, strict: an unknown key or a value of the wrong kind is one
`ConfigError` line that names it).
`robot_llm.session.open_session` builds a session from one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Final

from robot_llm.errors import InputError

PERCEPTION_MODES: Final = ("camera", "truth")
DEFAULT_SIM_ROBOT: Final = "panda"


class ConfigError(InputError):
    """A configuration that cannot be used; the message names the key."""


@dataclass(frozen=True)
class RobotConfig:
    """The arm: a simulated one on a scene file or a seeded task, or one behind a bridge.

    `robot` is a simulated robot's name (`robot_llm.envs.robots.ROBOTS`, default panda) or a
    bridge address (`tcp://HOST:PORT`, `ipc://PATH`); with an address, a scene file only names
    the objects on the real table.

    `randomize` (a simulated robot only) is the seed of randomized rendering: lights, table
    texture and camera effects drawn per episode from it and `seed`, at `randomize_strength`
    (1: a real camera in an ordinary room; docs/perception.md). None renders the neutral look.

    `camera` is a camera source spec (`uvc:0`, `realsense`, `folder:PATH`, `video:PATH`;
    docs/cameras.md) whose frames replace the robot's main camera, calibrated by the file
    `camera_calibration` (a folder recording may carry its own).
    """

    scene: str | None = None
    task: str | None = None
    seed: int = 0
    robot: str | None = None
    curve_keys: str | None = None
    randomize: int | None = None
    randomize_strength: float = 1.0
    camera: str | None = None
    camera_calibration: str | None = None

    def __post_init__(self) -> None:
        if self.camera_calibration is not None and self.camera is None:
            raise ConfigError("camera_calibration needs a camera (--camera SPEC)")
        if not self.randomize_strength >= 0:
            raise ConfigError(
                f"randomize_strength must be at least 0, got {self.randomize_strength}"
            )

    @property
    def address(self) -> str | None:
        """The bridge address, when the robot is behind one."""
        return self.robot if self.robot is not None and "://" in self.robot else None

    @property
    def sim_robot(self) -> str:
        """The simulated robot's name (when not behind a bridge)."""
        return DEFAULT_SIM_ROBOT if self.robot is None or self.address else self.robot


@dataclass(frozen=True)
class PlannerConfig:
    """A planner backend by name (`robot_llm.planning.PLANNERS`) and its options."""

    name: str = "rule"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutorSettings:
    """How plans are executed: the skills (a policy by name, `robot_llm.policies.registry`) and
    the executor's limits; None keeps the executor's default (docs/execution.md)."""

    policy: str = "scripted"
    max_retries: int | None = None
    max_replans: int | None = None
    skill_timeout: float | None = None
    max_steps: int | None = None  # stop the executor after this many control periods


@dataclass(frozen=True)
class StackConfig:
    """Everything a session is built from."""

    robot: RobotConfig = field(default_factory=RobotConfig)
    perception: str = "camera"
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)

    def __post_init__(self) -> None:
        if self.perception not in PERCEPTION_MODES:
            raise ConfigError(
                f"perception {self.perception!r} is not one of {', '.join(PERCEPTION_MODES)}"
            )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["planner"]["options"] = dict(self.planner.options)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "stack") -> StackConfig:
        """A configuration from plain data; ConfigError names an unknown key or a bad value."""
        parts = _strict(data, cls, where)
        return cls(
            robot=RobotConfig(**_strict(parts.get("robot", {}), RobotConfig, f"{where}.robot")),
            perception=parts.get("perception", "camera"),
            planner=PlannerConfig(
                **_strict(parts.get("planner", {}), PlannerConfig, f"{where}.planner")
            ),
            executor=ExecutorSettings(
                **_strict(parts.get("executor", {}), ExecutorSettings, f"{where}.executor")
            ),
        )


_KINDS: Final[dict[str, tuple[type, ...]]] = {
    "str": (str,),
    "str | None": (str, type(None)),
    "int": (int,),
    "int | None": (int, type(None)),
    "float": (int, float),
    "float | None": (int, float, type(None)),
    "Mapping[str, Any]": (dict,),
}


def _strict(data: object, cls: type, where: str) -> dict[str, Any]:
    """`data` as keyword arguments of the dataclass `cls`: known keys only, values of the
    declared kind (nested configurations are checked by their own call)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a map, got {type(data).__name__}")
    declared = {f.name: str(f.type) for f in fields(cls)}
    for key, value in data.items():
        if key not in declared:
            raise ConfigError(f"{where}: unknown key {key!r}; keys are {', '.join(declared)}")
        kinds = _KINDS.get(declared[key])
        if kinds is not None and (
            not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        ):
            raise ConfigError(f"{where}.{key} must be {declared[key]}, got {value!r}")
    return dict(data)
