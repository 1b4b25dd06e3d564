"""Running a launch: start in dependency order, wait for readiness, restart, stop cleanly.

Every child runs in its own session (process group), so a Ctrl-C on the terminal reaches the
launcher and not the robot-side processes: the launcher runs the shutdown (hold) command first,
then stops the children in reverse start order. The one exception is an interactive process on
a terminal: it stays in the launcher's foreground group so that it can read the terminal.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TextIO

from robot_llm.errors import FAILED, OK
from robot_llm.launcher.model import LaunchSpec
from robot_llm.launcher.output import Output, pump
from robot_llm.launcher.procs import (
    Child,
    describe_exit,
    port_open,
    send_signal,
    stdin_is_terminal,
)

TICK = 0.05  # seconds between checks of the children
HOLD = "shutdown"  # the output label of the shutdown command


class Launcher:
    """Runs one launch spec until a signal, the interactive process's exit or a failure."""

    def __init__(
        self, spec: LaunchSpec, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.spec = spec
        self.children = [Child(p) for p in spec.processes]
        self.by_name = {c.spec.name: c for c in self.children}
        names = [*self.by_name, HOLD]
        self.output = Output(names, stdout or sys.stdout, stderr or sys.stderr)
        self.note = self.output.note
        self.wake = threading.Event()
        self.started: list[Child] = []  # in first-start order; stopped in reverse
        self.reason: str | None = None
        self.exit_code = OK
        self.signal_name: str | None = None
        self.hurry = False  # a second signal: no grace periods

    def run(self) -> int:
        """Start the stack, supervise it, stop it; returns the exit code."""
        handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        try:
            self._supervise()
        finally:
            try:
                self._shutdown()
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        return self.exit_code

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only flags here: printing could deadlock on the output lock held by this thread.
        if self.signal_name is not None or self.reason is not None:
            self.hurry = True
        self.signal_name = self.signal_name or signal.Signals(signum).name
        self.wake.set()

    def _finish(self, code: int, reason: str) -> None:
        if self.reason is None:
            self.reason, self.exit_code = reason, code

    def _supervise(self) -> None:
        while self.reason is None:
            if self.signal_name is not None:
                self._finish(OK, f"{self.signal_name} received")
                break
            now = time.monotonic()
            for child in self.children:
                self._step(child, now)
                if self.reason is not None:
                    break
            else:
                if all(c.state == "done" for c in self.children):
                    self._finish(OK, "every process has ended")
            self.wake.wait(TICK)
            self.wake.clear()

    def _step(self, child: Child, now: float) -> None:
        if child.state == "pending":
            if all(self.by_name[d].was_ready for d in child.spec.depends_on):
                self._start(child, now)
        elif child.state == "backoff":
            if now >= child.restart_at:
                self._start(child, now)
        elif child.state in ("starting", "ready") and child.popen is not None:
            code = child.popen.poll()
            if code is not None:
                self._exited(child, code)
            elif child.state == "starting":
                self._check_ready(child, now)

    def _start(self, child: Child, now: float) -> None:
        spec = child.spec
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env}
        child.own_group = not (spec.interactive and stdin_is_terminal())
        pipe = None if spec.interactive else subprocess.PIPE
        try:
            popen = subprocess.Popen(
                spec.argv,
                env=env,
                cwd=spec.cwd,
                stdin=None if spec.interactive else subprocess.DEVNULL,
                stdout=pipe,
                stderr=pipe,
                start_new_session=child.own_group,
            )
        except OSError as err:
            child.state = "done"
            self._finish(FAILED, f"{spec.name}: cannot start {spec.argv[0]}: {err}")
            return
        child.popen, child.state, child.started_at, child.reaped = popen, "starting", now, False
        if child not in self.started:
            self.started.append(child)
        child.matched = threading.Event()
        ready = spec.ready
        pattern = re.compile(ready.pattern) if ready and ready.kind == "log" else None
        child.threads = []
        for stream, pipe_end in (("stdout", popen.stdout), ("stderr", popen.stderr)):
            if pipe_end is not None:
                wanted = pattern if ready and ready.stream in (stream, "both") else None
                child.threads.append(
                    pump(pipe_end, spec.name, stream, self.output, wanted, self._matched(child))
                )
        self.note(f"{spec.name}: started, pid {popen.pid}")
        if ready is None:
            child.state, child.was_ready = "ready", True

    def _matched(self, child: Child) -> Callable[[], None]:
        event = child.matched

        def matched() -> None:
            event.set()
            self.wake.set()

        return matched

    def _check_ready(self, child: Child, now: float) -> None:
        ready = child.spec.ready
        assert ready is not None
        elapsed = now - child.started_at
        if ready.kind == "log":
            ok = child.matched.is_set()
        elif ready.kind == "delay":
            ok = elapsed >= ready.delay
        elif now >= child.next_probe:
            child.next_probe = now + 0.1
            ok = port_open(ready.host, ready.port)
        else:
            ok = False
        if ok:
            self._ready(child, now)
        elif elapsed > ready.timeout:
            waited = f"waited {ready.timeout:g} s for {ready.describe()}"
            self._finish(FAILED, f"{child.spec.name} was not ready in time ({waited})")

    def _ready(self, child: Child, now: float) -> None:
        child.state = "ready"
        again = " again" if child.was_ready else ""
        child.was_ready = True
        self.note(f"{child.spec.name}: ready{again} ({now - child.started_at:.1f} s)")

    def _exited(self, child: Child, code: int) -> None:
        self._reap(child)  # its last lines first
        if child.state == "starting" and child.spec.ready is not None and child.matched.is_set():
            self._ready(child, time.monotonic())  # its ready line came just before the exit
        if self.signal_name is not None:
            child.state = "done"  # stopping anyway: no restart, no verdict
            return
        spec, policy = child.spec, child.spec.restart
        how = describe_exit(code)
        wants = policy.policy == "always" or (policy.policy == "on-failure" and code != 0)
        limit = policy.max_restarts
        if wants and (limit is None or child.restarts < limit):
            delay = min(policy.backoff * 2**child.restarts, policy.max_backoff)
            child.restarts += 1
            child.state, child.restart_at = "backoff", time.monotonic() + delay
            count = f"{child.restarts}/{limit}" if limit is not None else str(child.restarts)
            self.note(f"{spec.name} {how}; restart {count} in {delay:g} s")
            return
        after = f" after {child.restarts} restarts" if wants and child.restarts else ""
        needed = spec.required or any(spec.name in c.spec.depends_on for c in self.children)
        if child.state == "starting" and spec.ready is not None:
            reason = f"{spec.name} {how}{after} before it was ready (waited for "
            reason += f"{spec.ready.describe()})"
        else:
            reason = f"{spec.name} {how}{after}"
            needed = spec.required
        child.state = "done"
        if needed:
            ok = code == 0 and child.was_ready
            self._finish(OK if ok else FAILED, reason)
        else:
            self.note(reason)

    def _shutdown(self) -> None:
        if self.reason is not None:
            self.note(f"{self.reason}: stopping")
        self._hold()
        for child in reversed(self.started):
            self._stop(child)
        status = "stopped" if self.exit_code == OK else f"stopped, exit code {self.exit_code}"
        self.note(status)

    def _hold(self) -> None:
        """The shutdown command (put the arm in hold), before any child gets a signal."""
        shutdown = self.spec.shutdown
        if shutdown.argv is None or not self.started:
            return
        missing = [n for n in shutdown.needs if not self.by_name[n].running]
        if missing:
            self.note(f"no shutdown command: {', '.join(missing)} not running")
            return
        self.note(f"shutdown command: {shlex.join(shutdown.argv)}")
        try:
            popen = subprocess.Popen(
                shutdown.argv,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as err:
            self.note(f"shutdown command could not start: {err}")
            return
        assert popen.stdout is not None and popen.stderr is not None
        threads = [
            pump(popen.stdout, HOLD, "stdout", self.output, None, lambda: None),
            pump(popen.stderr, HOLD, "stderr", self.output, None, lambda: None),
        ]
        if not self._wait(popen, shutdown.timeout):
            self.note(f"shutdown command did not finish in {shutdown.timeout:g} s; killed")
        elif popen.returncode != 0:
            self.note(f"shutdown command {describe_exit(popen.returncode)}")
        send_signal(popen, True, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=1.0)

    def _stop(self, child: Child) -> None:
        popen = child.popen
        if popen is None:
            return
        if popen.poll() is None:
            sig = child.spec.stop_signal
            send_signal(popen, child.own_group, sig)
            grace = self.spec.shutdown.grace
            if not self._wait(popen, grace):
                self.note(f"{child.spec.name} did not stop in {grace:g} s after {sig.name}; killed")
            else:
                self.note(f"{child.spec.name}: stopped ({describe_exit(popen.returncode)})")
        self._reap(child)

    def _wait(self, popen: subprocess.Popen[bytes], seconds: float) -> bool:
        """Wait for an exit; False (and the process killed) if it takes longer or we hurry."""
        deadline = time.monotonic() + seconds
        while popen.poll() is None and time.monotonic() < deadline and not self.hurry:
            time.sleep(0.02)
        if popen.poll() is not None:
            return True
        popen.kill()
        popen.wait()
        return False

    def _reap(self, child: Child) -> None:
        # Right after its exit, the group still holds whatever the child left behind; later
        # the number could belong to another group, so this happens once per run.
        if child.popen is not None and not child.reaped:
            send_signal(child.popen, child.own_group, signal.SIGKILL)
            child.reaped = True
        for thread in child.threads:
            thread.join(timeout=1.0)


def run_launch(spec: LaunchSpec, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run a validated launch spec in the foreground (from the main thread); the exit code."""
    return Launcher(spec, stdout, stderr).run()
