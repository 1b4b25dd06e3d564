"""Execution events: what the executor reports while it runs a plan.

Each event is a frozen dataclass with a JSON form (`to_dict`, `event_from_dict`). The executor
hands every event to its `on_event` callbacks (CLI progress, a UI) and writes it as one JSON
line to the run's log file, flushed at once, so a crashed run still leaves its log up to the
last event. Field meanings are documented in docs/execution.md.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

LOG_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Event:
    """Base of every event: `t` is seconds since the run started, `time` the Unix time."""

    type: ClassVar[str] = "event"
    t: float
    time: float = field(default_factory=time.time, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.type}
        for f in dataclasses.fields(self):
            out[f.name] = _jsonable(getattr(self, f.name))
        return out

    def summary(self) -> str:
        """One human-readable line (CLI progress)."""
        return self.type


@dataclass(frozen=True)
class PlanStarted(Event):
    type: ClassVar[str] = "plan_started"
    command: str
    planner: str
    subgoals: tuple[dict[str, Any], ...]
    plan: int = 0  # 0 for the plan given to run(), n after the n-th replan or repair
    notes: tuple[str, ...] = ()  # the plan's notes (a block set aside first, ...)

    def summary(self) -> str:
        n = len(self.subgoals)
        return f"plan {self.plan}: {n} subgoal{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class SubgoalStarted(Event):
    type: ClassVar[str] = "subgoal_started"
    index: int  # position in the current plan
    subgoal: dict[str, Any]
    attempt: int  # 1 for the first try
    plan: int = 0

    def summary(self) -> str:
        return f"[{self.index}] {describe(self.subgoal)} (attempt {self.attempt})"


@dataclass(frozen=True)
class SubgoalSucceeded(Event):
    type: ClassVar[str] = "subgoal_succeeded"
    index: int
    subgoal: dict[str, Any]
    attempt: int
    duration: float  # seconds this subgoal took, all attempts included
    plan: int = 0

    def summary(self) -> str:
        return f"[{self.index}] {describe(self.subgoal)}: ok in {self.duration:.1f} s"


@dataclass(frozen=True)
class SubgoalFailed(Event):
    type: ClassVar[str] = "subgoal_failed"
    index: int
    subgoal: dict[str, Any]
    attempt: int
    reason: str
    final: bool  # True when no retry follows
    plan: int = 0

    def summary(self) -> str:
        return f"[{self.index}] {describe(self.subgoal)}: failed: {self.reason}"


@dataclass(frozen=True)
class SubgoalRetried(Event):
    type: ClassVar[str] = "subgoal_retried"
    index: int
    subgoal: dict[str, Any]
    attempt: int  # the attempt about to start
    reason: str  # why the previous attempt failed
    repick: bool = False  # a place retried as pick + place
    plan: int = 0

    def summary(self) -> str:
        how = " as pick + place" if self.repick else ""
        return f"[{self.index}] retrying {describe(self.subgoal)}{how} (attempt {self.attempt})"


@dataclass(frozen=True)
class Replanned(Event):
    type: ClassVar[str] = "replanned"
    reason: str  # what no longer matched
    source: str  # "replanner" or "repair"
    subgoals: tuple[dict[str, Any], ...]  # the new plan
    plan: int  # number of the new plan

    def summary(self) -> str:
        n = len(self.subgoals)
        return f"replanned ({self.source}, {n} subgoal{'' if n == 1 else 's'}): {self.reason}"


@dataclass(frozen=True)
class Stopped(Event):
    type: ClassVar[str] = "stopped"
    index: int | None  # the subgoal that was running, if any
    reason: str = "stop requested"
    plan: int = 0

    def summary(self) -> str:
        return f"stopped: {self.reason}"


@dataclass(frozen=True)
class PlanFinished(Event):
    type: ClassVar[str] = "plan_finished"
    status: str  # done | failed | stopped
    reason: str
    duration: float
    succeeded: int  # subgoals that succeeded, repairs included
    failed: int

    def summary(self) -> str:
        tail = f": {self.reason}" if self.reason else ""
        return f"{self.status} in {self.duration:.1f} s{tail}"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        PlanStarted,
        SubgoalStarted,
        SubgoalSucceeded,
        SubgoalFailed,
        SubgoalRetried,
        Replanned,
        Stopped,
        PlanFinished,
    )
}


def event_from_dict(d: Mapping[str, Any]) -> Event:
    """Rebuild an event from its JSON form (a log line); ValueError names what is wrong."""
    name = d.get("event")
    cls = EVENT_TYPES.get(str(name))
    if cls is None:
        raise ValueError(f"unknown event {name!r}; events are {', '.join(EVENT_TYPES)}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in d:
            value = d[f.name]
            kwargs[f.name] = tuple(value) if f.name in ("subgoals", "notes") else value
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ValueError(f"event {name!r}: {err}") from None


def describe(subgoal: Mapping[str, Any]) -> str:
    """A subgoal in a few words: "pick red_block", "place red_block in green_bowl"."""
    skill = str(subgoal.get("skill", "?"))
    parts = [skill]
    if "object" in subgoal:
        parts.append(str(subgoal["object"]))
    for key in ("on", "in", "at", "to", "direction", "pose"):
        if key in subgoal:
            value = subgoal[key]
            if isinstance(value, list | tuple):
                value = "[" + ", ".join(f"{float(v):.2f}" for v in value) + "]"
            parts.append(value if key in ("direction", "pose") else f"{key} {value}")
    return " ".join(str(p) for p in parts)


class EventLog:
    """A JSON-lines file of one run's events, flushed after every line."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8")

    def write(self, event: Event) -> None:
        if self._file is None:
            raise ValueError(f"{self.path}: log is closed")
        self._file.write(json.dumps(event.to_dict()) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_log(path: str | Path) -> list[Event]:
    """The events of a JSON-lines log, in order."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [event_from_dict(json.loads(line)) for line in lines if line.strip()]


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v
