"""The state of one executor run, and what it keeps of what the plan achieved.

`Run` holds a run's plan, results, events and timings; `Fact` is a relation a place achieved,
which the executor checks on every look until the plan moves it again (`record_fact`); a
relation found undone is redone by `repair_plan` when there is no replanner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from robot_llm.execution.events import (
    Event,
    EventLog,
)
from robot_llm.execution.recorder import VideoRecorder
from robot_llm.execution.result import RunTimings, SubgoalResult
from robot_llm.execution.verify import (
    referenced_ids,
)
from robot_llm.types import (
    Plan,
    Subgoal,
)


class StopRequested(Exception):
    """Raised inside the run loop when stop() was called or the robot reports it is holding."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RunFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Fact:
    """A relation a successful place achieved, expected to hold until the plan moves it."""

    subgoal: Subgoal
    plan: int
    index: int


@dataclass
class Run:
    """State of one run()."""

    t0: float
    plan: Plan
    plan_no: int = 0
    replans: int = 0
    results: list[SubgoalResult] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    log: EventLog | None = None
    log_path: Path | None = None
    recorder: VideoRecorder | None = None
    caption: str = ""
    index: int | None = None
    repairs: int = 0  # the first `repairs` subgoals of the current plan restore undone ones
    timings: RunTimings = field(default_factory=RunTimings)


def record_fact(run: Run, index: int, subgoal: Subgoal) -> None:
    """Note what a successful subgoal achieved (a place), and forget what it undid."""
    touched = set(referenced_ids(subgoal)) if subgoal.skill in ("pick", "push") else set()
    if subgoal.object is not None and subgoal.skill == "place":
        touched.add(subgoal.object)
    run.facts = [
        f
        for f in run.facts
        if f.subgoal.object not in touched and not touched.intersection(f.subgoal.targets)
    ]
    if subgoal.skill == "place":
        run.facts.append(Fact(subgoal, run.plan_no, index))


def repair_plan(run: Run, undone: list[Fact], index: int) -> tuple[Plan, int]:
    """Redo each undone relation (pick + place, in the order they were achieved), then the rest
    of the plan from `index`; the plan and how many subgoals the repair adds."""
    repair: list[Subgoal] = []
    for f in undone:
        assert f.subgoal.object is not None
        repair += [Subgoal("pick", object=f.subgoal.object), f.subgoal]
        run.facts.remove(f)
    rest = run.plan.subgoals[index:]
    return Plan(tuple(repair) + tuple(rest), run.plan.command, run.plan.planner), len(repair)


def relation_text(subgoal: Subgoal) -> str:
    if subgoal.at is not None:
        return f"{subgoal.object} at [{subgoal.at[0]:.3f}, {subgoal.at[1]:.3f}]"
    if subgoal.across is not None:
        return f"{subgoal.object} across {subgoal.across[0]} and {subgoal.across[1]}"
    return f"{subgoal.object} {'on' if subgoal.on is not None else 'in'} {subgoal.target}"
