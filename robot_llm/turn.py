"""What one session turn gives: `TurnResult` (with its `TurnTimings`) and its JSON form."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from robot_llm.execution.result import RunTimings, SubgoalResult, scene_summary
from robot_llm.types import Clarify, PlanResult, Refuse, Scene

# planned: a plan, not run; done / failed / stopped: how its run ended; clarify, refused: the
# planner's answer; cancelled: the operator did not confirm the plan.
TurnStatus = Literal["planned", "done", "failed", "stopped", "clarify", "refused", "cancelled"]
_PLANNED: dict[str, TurnStatus] = {"plan": "planned", "clarify": "clarify", "refuse": "refused"}


@dataclass(frozen=True)
class TurnTimings:
    """Wall seconds of a turn: perceiving and planning (0.1 ms), executing (1 ms) when a plan
    ran, with the executor's own breakdown (`RunTimings`)."""

    perception_s: float
    planning_s: float
    execution_s: float | None = None
    executor: RunTimings | None = None

    def to_dict(self) -> dict[str, float]:
        """`perception_s`, `planning_s`, then `execution_s` and `executor_<key>` after a run."""
        out = {"perception_s": self.perception_s, "planning_s": self.planning_s}
        if self.execution_s is not None:
            out["execution_s"] = self.execution_s
        if self.executor is not None:
            out.update({f"executor_{k}": v for k, v in self.executor.to_dict().items()})
        return out


@dataclass(frozen=True)
class TurnResult:
    """One command through a session: the planner's answer and, when it ran, how the run went.

    `scene` is what the planner saw; `scene_after` the scene after a turn that may execute (the
    same scene when nothing moved), None for a turn that only plans. `subgoals` is None unless a
    plan ran; `task_success` / `task_progress` are the task's own verdict (a task session that
    executes). `to_dict()` is the `--json` output of `robot-llm run` and `plan`
    (docs/commands.md).
    """

    command: str
    source: str
    status: TurnStatus
    plan: PlanResult
    scene: Scene
    timings: TurnTimings
    question: str | None = None
    candidates: tuple[str, ...] | None = None
    reason: str | None = None
    subgoals: tuple[SubgoalResult, ...] | None = None
    scene_after: Scene | None = None
    task_success: bool | None = None
    task_progress: float | None = None

    @classmethod
    def planned(
        cls, command: str, source: str, plan: PlanResult, scene: Scene, timings: TurnTimings
    ) -> TurnResult:
        """The turn of a command planned and not run: status, question or reason from `plan`."""
        turn = cls(command, source, _PLANNED[plan.type], plan, scene, timings)
        if isinstance(plan, Clarify):
            return replace(turn, question=plan.question, candidates=tuple(plan.candidates))
        if isinstance(plan, Refuse):
            return replace(turn, reason=plan.reason)
        return turn

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: keys in this order, each only where it applies."""
        out: dict[str, Any] = {
            "command": self.command,
            "source": self.source,
            "status": self.status,
            "plan": self.plan.to_dict(),
        }
        if self.question is not None:
            out["question"] = self.question
        if self.candidates is not None:
            out["candidates"] = list(self.candidates)
        if self.subgoals is not None:
            out["subgoals"] = [r.to_dict() for r in self.subgoals]
        if self.reason is not None:
            out["reason"] = self.reason
        if self.scene_after is not None:
            out["scene_after"] = scene_summary(self.scene_after)
        else:
            out["scene"] = scene_summary(self.scene)
        if self.task_success is not None:
            out["task_success"] = self.task_success
        if self.task_progress is not None:
            out["task_progress"] = self.task_progress
        out["timings"] = self.timings.to_dict()
        return out
