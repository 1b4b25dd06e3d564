"""A step budget: a robot wrapper that stops the executor after so many control periods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class StepBudget:
    """A robot that counts control periods and stops the executor after `limit` of them.

    Every other attribute is the wrapped robot's. A session builds one when its executor
    settings give `max_steps` (bench suites do).
    """

    def __init__(self, robot: Any, limit: int) -> None:
        self._robot = robot
        self.limit = limit
        self.used = 0
        self.on_exhausted: Callable[[], None] | None = None

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit

    def _count(self) -> None:
        self.used += 1
        if self.used == self.limit and self.on_exhausted is not None:
            self.on_exhausted()

    def command_ee(self, *args: Any, **kwargs: Any) -> Any:
        applied = self._robot.command_ee(*args, **kwargs)
        self._count()
        return applied

    def command_joints(self, *args: Any, **kwargs: Any) -> Any:
        applied = self._robot.command_joints(*args, **kwargs)
        self._count()
        return applied

    def hold(self) -> Any:
        applied = self._robot.hold()
        self._count()
        return applied

    def __getattr__(self, name: str) -> Any:
        return getattr(self._robot, name)
