"""One child process of a launch, and the small system calls the runner makes on children."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading

from robot_llm.launcher.model import ProcessSpec


class Child:
    """One declared process and its current run (it may be restarted)."""

    def __init__(self, spec: ProcessSpec) -> None:
        self.spec = spec
        self.popen: subprocess.Popen[bytes] | None = None
        self.state = "pending"  # pending | starting | ready | backoff | done
        self.was_ready = False
        self.restarts = 0
        self.started_at = 0.0
        self.restart_at = 0.0
        self.next_probe = 0.0
        self.matched = threading.Event()
        self.threads: list[threading.Thread] = []
        self.own_group = True
        self.reaped = False  # its exit handled and its process group cleared

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


def send_signal(popen: subprocess.Popen[bytes], own_group: bool, sig: int) -> None:
    """Signal a child's whole process group, or only the child when it shares ours."""
    if own_group:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, sig)
    elif popen.poll() is None:
        popen.send_signal(sig)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def stdin_is_terminal() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False
