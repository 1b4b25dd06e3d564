"""What a run of the executor returns."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from robot_llm.execution.events import Event
from robot_llm.types import Plan, Scene, Subgoal

Status = Literal["done", "failed", "stopped"]


@dataclass(frozen=True)
class SubgoalResult:
    """One subgoal as executed: every attempt of it together.

    `plan` numbers the plan it belonged to (0 the one given to run(), n after the n-th replan or
    repair); `repair` marks subgoals the executor added to restore an undone earlier one.
    """

    index: int
    subgoal: Subgoal
    success: bool
    attempts: int
    reason: str = ""
    duration: float = 0.0
    plan: int = 0
    repair: bool = False

    @property
    def skill(self) -> str:
        return self.subgoal.skill

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "skill": self.skill,
            "subgoal": self.subgoal.to_dict(),
            "success": self.success,
            "attempts": self.attempts,
            "reason": self.reason,
            "duration": round(self.duration, 4),
            "plan": self.plan,
            "repair": self.repair,
        }


@dataclass
class RunTimings:
    """Where a run's time went: wall seconds spent in perception, in skills (commanding the
    robot), in verification, in video capture and in total, plus `periods` (control periods
    commanded) and `sim_seconds` (periods / control rate). The executor adds up as it runs."""

    perception: float = 0.0
    skills: float = 0.0
    verification: float = 0.0
    video: float = 0.0
    periods: int = 0
    total: float = 0.0
    sim_seconds: float = 0.0

    def to_dict(self) -> dict[str, float]:
        """Every field by name, in this order, as floats (`periods` too), unrounded."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class ExecutionResult:
    """The outcome of `Executor.run`: status, per-subgoal results, final scene, events, timings
    (`RunTimings`)."""

    status: Status
    reason: str
    subgoals: tuple[SubgoalResult, ...]
    scene: Scene
    events: tuple[Event, ...]
    timings: RunTimings
    plan: Plan  # the plan that was running at the end (the last replan, if any)
    log_path: Path | None = None
    video_path: Path | None = None
    replans: int = 0

    @property
    def success(self) -> bool:
        return self.status == "done"

    def to_dict(self, events: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "success": self.success,
            "reason": self.reason,
            "subgoals": [r.to_dict() for r in self.subgoals],
            "replans": self.replans,
            "plan": self.plan.to_dict(),
            "scene_after": scene_summary(self.scene),
            "timings": {k: round(v, 4) for k, v in self.timings.to_dict().items()},
        }
        if self.log_path is not None:
            out["log"] = str(self.log_path)
        if self.video_path is not None:
            out["video"] = str(self.video_path)
        if events:
            out["events"] = [e.to_dict() for e in self.events]
        return out


def scene_summary(scene: Scene) -> list[dict[str, Any]]:
    """Objects as id, kind, color, size and position [x, y, z] rounded to 0.1 mm."""
    return [
        {
            "id": o.id,
            "kind": o.kind,
            "color": o.color,
            "size": o.size,
            "position": [round(float(v), 4) for v in o.position],
        }
        for o in scene.objects
    ]
