"""What a validated launch file says: processes, readiness, restart policy, shutdown."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Ready:
    """When a process counts as ready: a log line, an open TCP port, or a delay."""

    kind: str  # "log" | "port" | "delay"
    timeout: float
    pattern: str = ""
    stream: str = "both"
    host: str = "127.0.0.1"
    port: int = 0
    delay: float = 0.0

    def describe(self) -> str:
        if self.kind == "log":
            where = "stdout or stderr" if self.stream == "both" else self.stream
            return f"a line matching /{self.pattern}/ on {where}"
        if self.kind == "port":
            return f"a TCP connection to {self.host}:{self.port}"
        return f"a delay of {self.delay:g} s"


@dataclass(frozen=True)
class Restart:
    policy: str = "never"
    max_restarts: int | None = 3  # None: no limit
    backoff: float = 1.0  # seconds before the first restart, doubling after each
    max_backoff: float = 30.0


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]  # argv[0] resolved to a path
    env: Mapping[str, str]
    cwd: str | None
    ready: Ready | None
    depends_on: tuple[str, ...]
    restart: Restart
    interactive: bool
    required: bool
    stop_signal: signal.Signals
    line: int


@dataclass(frozen=True)
class ShutdownSpec:
    argv: tuple[str, ...] | None  # the hold command, run before any child is signalled
    timeout: float = 10.0
    needs: tuple[str, ...] = ()  # run it only while all of these are running
    grace: float = 5.0  # seconds each child gets after its stop signal before SIGKILL


@dataclass(frozen=True)
class LaunchSpec:
    path: str
    description: str
    variables: Mapping[str, tuple[str, str]]  # name -> (value, source)
    processes: tuple[ProcessSpec, ...]  # in start order
    shutdown: ShutdownSpec
