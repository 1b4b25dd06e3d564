"""The limits the bridge server's supervisor enforces on every command (see supervisor.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Final

from robot_llm.bridge.protocol import Fields, ProtocolError
from robot_llm.robots.base import DEFAULT_MAX_EE_SPEED, RobotLimits
from robot_llm.tabletop.reach import REACH_MAX, REACH_MIN

if TYPE_CHECKING:
    from robot_llm.bridge.driver import Driver

DEFAULT_WATCHDOG_S: Final = 0.2


@dataclass(frozen=True)
class SafetyLimits:
    """Workspace box, speeds and per-command steps, and the watchdog timeout.

    Speeds are per second and become steps per control period; `max_ee_step` and
    `max_joint_step` cap one command whatever the rate. `workspace_margin`: leaving the box
    grown by this much (possible with joint commands) latches a fault.
    """

    workspace_min: tuple[float, float, float] = REACH_MIN
    workspace_max: tuple[float, float, float] = REACH_MAX
    max_ee_speed: float = DEFAULT_MAX_EE_SPEED  # m/s
    max_yaw_rate: float = 3.0  # rad/s
    max_joint_speed: float = 1.0  # rad/s per joint (lowered further by each joint's own limit)
    max_ee_step: float = 0.05  # m per command
    max_joint_step: float = 0.2  # rad per command
    workspace_margin: float = 0.05  # m
    watchdog_s: float = DEFAULT_WATCHDOG_S

    def __post_init__(self) -> None:
        for name in ("max_ee_speed", "max_yaw_rate", "max_joint_speed", "max_ee_step"):
            if not getattr(self, name) > 0:
                raise ValueError(f"safety limit {name} must be > 0, got {getattr(self, name)}")
        if not self.max_joint_step > 0 or not self.watchdog_s > 0 or self.workspace_margin < 0:
            raise ValueError("max_joint_step and watchdog_s must be > 0, workspace_margin >= 0")
        if any(lo >= hi for lo, hi in zip(self.workspace_min, self.workspace_max, strict=True)):
            raise ValueError("the workspace box needs workspace_min < workspace_max on each axis")

    def robot_limits(self) -> RobotLimits:
        """The RobotLimits a client plans with (skills stay inside them)."""
        return RobotLimits(
            workspace_min=self.workspace_min,
            workspace_max=self.workspace_max,
            max_ee_speed=self.max_ee_speed,
            max_yaw_rate=self.max_yaw_rate,
            max_joint_speed=self.max_joint_speed,
        )

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["workspace_min"] = list(self.workspace_min)
        d["workspace_max"] = list(self.workspace_max)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> SafetyLimits:
        f = Fields(d, "limits")
        lo, hi = f.vector("workspace_min", 3), f.vector("workspace_max", 3)
        values = {
            x.name: f.number(x.name)
            for x in fields(cls)
            if x.name not in ("workspace_min", "workspace_max")
        }
        try:
            return cls(
                (float(lo[0]), float(lo[1]), float(lo[2])),
                (float(hi[0]), float(hi[1]), float(hi[2])),
                **values,
            )
        except ValueError as err:
            raise ProtocolError("bad_field", f"limits: {err}") from None

    def with_overrides(self, **overrides: float) -> SafetyLimits:
        return type(self)(**{**asdict(self), **overrides})


def limits_for_robot(limits: SafetyLimits, robot: str, keep_speed: bool = False) -> SafetyLimits:
    """`limits` with the workspace box and speed cap of the robot called `robot`, from its setup
    (robot_llm.tabletop.setups: its reach box and hand speed, in the table frame with the base
    where its robot description puts it); unchanged for a robot without a setup of its own (the
    Panda's defaults). `keep_speed`: the speed cap was given explicitly (`--max-ee-speed`)."""
    from robot_llm.tabletop.setups import SETUPS

    setup = SETUPS.get(robot)
    if setup is None:
        return limits
    return replace(
        limits,
        workspace_min=setup.reach_min,
        workspace_max=setup.reach_max,
        max_ee_speed=limits.max_ee_speed if keep_speed else setup.max_ee_speed,
    )


def driver_limits(driver: Driver, limits: SafetyLimits, keep_speed: bool = False) -> SafetyLimits:
    """The limits to serve `driver` with: `limits_for_robot` of the robot its description
    names (a camera driver describes the arm it wraps)."""
    return limits_for_robot(limits, driver.describe().name, keep_speed)
