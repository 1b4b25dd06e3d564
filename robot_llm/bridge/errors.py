"""Errors a bridge client raises; both are RobotErrors, so the executor reports them as such."""

from __future__ import annotations

from robot_llm.robots.base import RobotError


class LinkDown(RobotError):
    """The bridge server cannot be reached (now); the link reconnects by itself."""


class RemoteError(RobotError):
    """The server answered a request with an error; `code` says which kind."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
