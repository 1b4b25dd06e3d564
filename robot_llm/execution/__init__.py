"""Execution: run a plan's subgoals on a robot, verify each from perception, retry, replan.

    executor = Executor(robot, CameraPerceiver(), log_path="run.jsonl")
    result = executor.run(plan, reference_scene=scene)   # result.status: done | failed | stopped

See docs/execution.md for events, the log format, the retry and replan policy and stop.
"""

from robot_llm.execution.events import (
    Event,
    EventLog,
    PlanFinished,
    PlanStarted,
    Replanned,
    Stopped,
    SubgoalFailed,
    SubgoalRetried,
    SubgoalStarted,
    SubgoalSucceeded,
    event_from_dict,
    read_log,
)
from robot_llm.execution.executor import Executor
from robot_llm.execution.result import ExecutionResult, SubgoalResult

__all__ = [
    "Event",
    "EventLog",
    "ExecutionResult",
    "Executor",
    "PlanFinished",
    "PlanStarted",
    "Replanned",
    "Stopped",
    "SubgoalFailed",
    "SubgoalResult",
    "SubgoalRetried",
    "SubgoalStarted",
    "SubgoalSucceeded",
    "event_from_dict",
    "read_log",
]
