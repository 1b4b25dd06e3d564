"""The operator console in a real headless browser: camera frame rate, command latency, STOP,
and the hold when the driving page goes away.

Every trial starts a fresh stack as `launch/console.yaml` does, so each one begins with the arm
at home and the scene as its file says: `robot-llm bridge serve --driver sim` on the blocks and
bowls scene (free ports), then `robot-llm console --robot tcp://... --scene ...` on it. Debian's
chromium, driven by Playwright, opens the console's page, which takes the driver role. An
observer of our own, `RemoteRobot(address, control=False)`, a second bridge client that never
takes control, samples the arm's state (end-effector position, mode, hold reason) every
millisecond from the bridge's 100 Hz state stream. A script injected into the page before the
console's own records, on the page's clock: each `load` of the `#cam-main` / `#cam-wrist`
images (one per frame shown), each JSON message the console sends (and the state messages'
mode changes), and each message the page sends. Page times are mapped onto this process's
clock (`time.time()`) by the offset measured around a few `page.evaluate` calls.

Figures (each trial gives one value of each figure it measures):

1. Camera frames per second shown on the page, per camera: loads over 10 s with the arm idle
   (after 1 s of warm-up once both cameras showed a frame), then over a whole command ("put the
   red block in the green bowl", from Enter until the page gets `done`). Target: >= 10 fps.
2. Command to first motion: t0 just before `page.press("#command", "Enter")` (the text already
   filled in); t1 the first observer state whose end effector is more than 2 mm from where it
   was at t0. Split by when the page sent the command, and when the `turn` and `plan` messages
   reached the page; reported apart for the commands of figure 1 (sent after 11 s idle) and
   those of figures 3 and 4 (sent as soon as the page showed both cameras).
3. STOP to arm stopped: once the end effector has moved 2 cm into the command, t0 just before
   a mouse click on the centre of `#stop` (or the Escape key); t1 the first observer state from
   which the end effector stays within 1 mm for the rest of a 1.5 s watch (at least 100 ms; the
   JSON also has the first 100 ms still, which a pause inside the skill can fake). Also: when
   the observer first sees mode "estopped", when the page shows it, and how far the arm went
   after t0. Then the page resets the e-stop (the dialog accepted) and the observer must see
   the mode leave "estopped".
4. Page closed to hold: as 3, with t0 just before `page.close()`; also when the observer sees
   mode "holding". Target: <= 500 ms. And the page going quiet: its JavaScript frozen with CDP
   `Debugger.pause` (no more heartbeats; the socket stays open), which the console answers by
   holding after 300 ms of silence (also timed from the page's last heartbeat).

Run: `.venv/bin/python benchmarks/console.py [--repeats 5] [--quick]
[--figures fps,stop,escape,close,quiet] [--json FILE] [--logs DIR]
[--driver-option render_workers=2]`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, CDPSession, Page, sync_playwright

from robot_llm.bridge.client import RemoteRobot

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "sim_assets" / "scenes" / "blocks_and_bowls.yaml"
COMMAND = "put the red block in the green bowl"
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BRIDGE_ARGS = [  # launch/console.yaml's bridge, on a free port
    *("bridge", "serve", "--driver", "sim", "--bind", "tcp://127.0.0.1:0"),
    *("--driver-option", "render_detail=light", "--camera-rate", "wrist=12"),
]
FIGURES = ("fps", "stop", "escape", "close", "quiet")
CAMERAS = ("main", "wrist")
POLL_S = 0.001  # the observer's sampling period
MOVED_M = 0.002  # first motion: the end effector this far from where it was
INTO_SKILL_M = 0.02  # stop only once the arm has moved this far
STILL_M = 0.001  # stopped: the end effector stays this close ...
STILL_S = 0.1  # ... for this long
SETTLE_S = 1.5  # how long to watch after a stop
IDLE_S = 10.0  # the idle camera window
FPS_TARGET = 10.0
HOLD_TARGET_MS = 500.0

# Runs in the page before console.js (and in its heartbeat worker, where it does nothing).
PAGE_HOOK = """
(() => {
  if (typeof document === "undefined") return;
  const now = () => performance.timeOrigin + performance.now();
  const bench = { frames: { main: [], wrist: [] }, received: { main: [], wrist: [] },
                  messages: [], modes: [], sent: [], pings: [], fps: null };
  window.__bench = bench;
  document.addEventListener("load", (e) => {
    const id = e.target && e.target.id;
    if (id === "cam-main" || id === "cam-wrist") bench.frames[id.slice(4)].push(now());
  }, true);
  const Native = window.WebSocket;
  class Watched extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => onMessage(e.data, now()));
    }
    send(data) {
      try {
        const m = JSON.parse(data);
        if (m.type === "ping") bench.pings.push(now());
        else bench.sent.push({ t: now(), type: m.type });
      } catch {}
      return super.send(data);
    }
  }
  function onMessage(data, t) {
    if (typeof data !== "string") {
      const bytes = new Uint8Array(data);
      const name = String.fromCharCode(...bytes.subarray(0, Math.max(0, bytes.indexOf(10))));
      if (name in bench.received) bench.received[name].push(t);
      return;
    }
    let m;
    try { m = JSON.parse(data); } catch { return; }
    if (m.type === "state") {
      const last = bench.modes[bench.modes.length - 1];
      if (!last || last.mode !== m.mode) bench.modes.push({ t, mode: m.mode });
      bench.fps = m.fps;
      return;
    }
    bench.messages.push({ t, type: m.type, kind: m.kind ?? null, status: m.status ?? null,
                          text: m.type === "log" ? m.text : null });
  }
  window.WebSocket = Watched;
})();
"""


# -- the stack: bridge server and console ---------------------------------------------------------
def robot_llm() -> str:
    """The `robot-llm` beside this interpreter."""
    script = Path(sys.executable).with_name("robot-llm")
    return str(script) if script.exists() else shutil.which("robot-llm") or "robot-llm"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """A `robot-llm` subprocess with its output in a log file."""

    def __init__(self, name: str, args: list[str], logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [robot_llm(), *args], stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=ROOT
            )

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        """Wait for a line of its output to match `pattern`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log.read_text(errors="replace"))
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start:\n{self.tail()}")

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (both hold the arm and exit), then SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@dataclass(frozen=True)
class Setup:
    """What every trial shares: the browser, where the logs go, extra bridge driver options."""

    browser: Browser
    logs: Path
    driver_options: tuple[str, ...] = ()

    def bridge_args(self) -> list[str]:
        options = [a for o in self.driver_options for a in ("--driver-option", o)]
        return [*BRIDGE_ARGS, "--scene", str(SCENE), *options]


@contextmanager
def console_stack(setup: Setup, logs: Path) -> Iterator[tuple[str, str]]:
    """A sim bridge server and a console on it: (bridge address, page URL)."""
    started: list[Process] = []
    try:
        bridge = Process("bridge", setup.bridge_args(), logs)
        started.append(bridge)
        address = bridge.wait_for(r"bridge ready on (tcp://\S+)", 60).group(1)
        bind = f"127.0.0.1:{free_port()}"
        console = Process(
            "console",
            ["console", "--robot", address, "--scene", str(SCENE), "--bind", bind],
            logs,
        )
        started.append(console)
        url = console.wait_for(r"console for .* on (http://\S+)", 60).group(1)
        yield address, url
    finally:
        for process in reversed(started):
            process.stop()


# -- the observer -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    t: float  # time.time() when the observer saw it
    position: tuple[float, float, float]
    mode: str
    hold_reason: str


class Observer:
    """Samples the arm's state through a read-only bridge client; keeps each change."""

    def __init__(self, address: str) -> None:
        self.robot = RemoteRobot(address, control=False, client="bench-observer")
        self._samples: list[Sample] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="observer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last: tuple[Any, ...] = ()
        while not self._done.wait(POLL_S):
            try:
                state, reason = self.robot.state(), self.robot.hold_reason
            except Exception:  # the link: the next sample tells
                continue
            key = (state.ee_position, state.mode, reason)
            if key != last:
                last = key
                sample = Sample(time.time(), state.ee_position, state.mode, reason)
                with self._lock:
                    self._samples.append(sample)

    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def latest(self) -> Sample:
        while not self.samples():
            time.sleep(POLL_S)
        return self.samples()[-1]

    def wait_moved(self, origin: Sample, distance: float, timeout: float) -> Sample:
        """The first sample at least `distance` from `origin`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sample = self.latest()
            if math.dist(sample.position, origin.position) > distance:
                return sample
            time.sleep(POLL_S)
        raise RuntimeError(f"the arm did not move {distance * 1000:.0f} mm in {timeout:.0f} s")

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=2)
        self.robot.close()


def at(samples: list[Sample], t: float) -> Sample:
    """The sample in effect at time `t`."""
    before = [s for s in samples if s.t <= t]
    return before[-1] if before else samples[0]


def first_moved(samples: list[Sample], t0: float, distance: float = MOVED_M) -> Sample | None:
    origin = at(samples, t0)
    return next(
        (s for s in samples if s.t > t0 and math.dist(s.position, origin.position) > distance), None
    )


def first_mode(samples: list[Sample], t0: float, mode: str) -> Sample | None:
    """The first sample after t0 in `mode`; None if the arm was in it already at t0."""
    if at(samples, t0).mode == mode:
        return None
    return next((s for s in samples if s.t >= t0 and s.mode == mode), None)


def still_from(
    samples: list[Sample], t0: float, until: float, hold: float | None = None
) -> float | None:
    """The time of the first state at or after `t0` from which the end effector stays within
    STILL_M for STILL_S and, unless `hold` is given, until `until` (when the recording ended):
    stopped for good. With `hold`: for that long only."""
    start = at(samples, t0)
    candidates = [start, *(s for s in samples if s.t > t0)]
    for i, c in enumerate(candidates):
        begin = max(c.t, t0)
        if begin + STILL_S > until:
            return None
        end = until if hold is None else begin + hold
        window = (s for s in candidates[i + 1 :] if s.t <= end)
        if all(math.dist(s.position, c.position) <= STILL_M for s in window):
            return begin
    return None


# -- the page -----------------------------------------------------------------------------------
@dataclass
class Rig:
    page: Page
    observer: Observer
    offset: float  # add to a page time (s) to get time.time()


def clock_offset(page: Page) -> float:
    """time.time() minus the page's clock, from the tightest of a few round trips."""
    best: tuple[float, float] = (math.inf, 0.0)
    for _ in range(7):
        a = time.time()
        page_now = float(page.evaluate("performance.timeOrigin + performance.now()")) / 1000
        b = time.time()
        best = min(best, (b - a, (a + b) / 2 - page_now))
    return best[1]


def wait_page(page: Page, expression: str, timeout: float) -> None:
    """Poll a JavaScript expression until it is true (page.wait_for_function evaluates strings
    with eval, which the console's Content-Security-Policy refuses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {expression}")
        time.sleep(0.1)


@contextmanager
def rig(setup: Setup, logs: Path) -> Iterator[Rig]:
    """A fresh stack, the observer, and a page that drives and shows both cameras."""
    with console_stack(setup, logs) as (address, url):
        observer = Observer(address)
        context = setup.browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            page = context.new_page()
            page.add_init_script(PAGE_HOOK)
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(url)
            page.wait_for_selector("#command:enabled", timeout=30_000)
            wait_page(page, "__bench.frames.main.length > 0 && __bench.frames.wrist.length > 0", 60)
            yield Rig(page, observer, clock_offset(page))
        finally:
            context.close()
            observer.close()


def bench_data(r: Rig) -> dict[str, Any]:
    """What the page hook recorded, its times moved onto time.time() (s)."""
    data: dict[str, Any] = r.page.evaluate("window.__bench")

    def move(t: float) -> float:
        return t / 1000 + r.offset

    for key in ("frames", "received"):
        data[key] = {k: [move(t) for t in v] for k, v in data[key].items()}
    data["pings"] = [move(t) for t in data["pings"]]
    for key in ("messages", "modes", "sent"):
        for item in data[key]:
            item["t"] = move(item["t"])
    return data


def send_command(page: Page, text: str) -> float:
    """Fill the command box and press Enter; t0, taken just before the key press."""
    page.fill("#command", text)
    t0 = time.time()
    page.press("#command", "Enter")
    return t0


def first_message(
    data: dict[str, Any], key: str, t0: float, match: Callable[[dict[str, Any]], bool]
) -> float | None:
    return next((m["t"] for m in data[key] if m["t"] >= t0 and match(m)), None)


def ms(a: float | None, b: float | None) -> float | None:
    """Milliseconds from a to b (None if either is unknown)."""
    return None if a is None or b is None else round((b - a) * 1000, 1)


def frame_rate(times: list[float], start: float, end: float) -> tuple[float, float]:
    """Frames per second shown in [start, end], and the longest gap between frames (ms)."""
    inside = [t for t in times if start <= t <= end]
    edges = [start, *inside, end]
    gap = max(b - a for a, b in pairwise(edges))
    return round(len(inside) / (end - start), 2), round(gap * 1000, 1)


# -- the trials ---------------------------------------------------------------------------------
def command_latency(r: Rig, data: dict[str, Any], t0: float) -> dict[str, Any]:
    """Figure 2 from one command sent at t0."""
    moved = first_moved(r.observer.samples(), t0)
    plan = first_message(data, "messages", t0, lambda m: m["type"] == "plan")
    return {
        "enter_to_sent_ms": ms(t0, first_message(data, "sent", t0, lambda m: True)),
        "enter_to_turn_ms": ms(
            t0, first_message(data, "messages", t0, lambda m: m["type"] == "turn")
        ),
        "enter_to_plan_ms": ms(t0, plan),
        "plan_to_motion_ms": ms(plan, moved.t if moved else None),
        "enter_to_motion_ms": ms(t0, moved.t if moved else None),
    }


def fps_trial(setup: Setup, logs: Path) -> dict[str, Any]:
    """Figure 1 (idle, then over a whole command) and figure 2."""
    with rig(setup, logs) as r:
        time.sleep(1.0)
        idle_start = time.time()
        time.sleep(IDLE_S)
        idle_end = time.time()
        idle_console_fps = r.page.evaluate("__bench.fps")
        t0 = send_command(r.page, COMMAND)
        wait_page(r.page, "__bench.messages.some((m) => m.type === 'done')", 180)
        data = bench_data(r)
        done = first_message(data, "messages", t0, lambda m: m["type"] == "done")
        assert done is not None
        row: dict[str, Any] = {"figure": "fps", **command_latency(r, data, t0)}
        windows = {"idle": (idle_start, idle_end), "busy": (t0, done)}
        for camera in CAMERAS:
            for name, (start, end) in windows.items():
                shown, gap = frame_rate(data["frames"][camera], start, end)
                row[f"{name}_fps_{camera}"], row[f"{name}_gap_ms_{camera}"] = shown, gap
                row[f"{name}_received_fps_{camera}"] = frame_rate(
                    data["received"][camera], start, end
                )[0]
        row["idle_console_fps"] = idle_console_fps  # as the console's last state message said
        row["busy_console_fps"] = data["fps"]
        row["busy_s"] = round(done - t0, 2)
        row["turn_status"] = next(m["status"] for m in data["messages"] if m["type"] == "done")
        return row


def interrupt(r: Rig, how: str, cdp: CDPSession | None) -> float:
    """Stop the arm, or take the page away, the way `how` says; t0, just before."""
    page = r.page
    if how in ("stop", "escape"):
        box = page.locator("#stop").bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        t0 = time.time()
        if how == "stop":
            page.mouse.click(x, y)
        else:
            page.keyboard.press("Escape")
        return t0
    if how == "close":
        t0 = time.time()
        page.close()
        return t0
    assert cdp is not None  # "quiet": the page's JavaScript stops (resumed by the caller)
    t0 = time.time()
    cdp.send("Debugger.pause")
    return t0


def reset_through_page(r: Rig) -> float | None:
    """Press Reset (the dialog is accepted); ms until the observer sees the e-stop cleared."""
    r.page.wait_for_selector("#reset:enabled", timeout=5_000)
    t0 = time.time()
    r.page.click("#reset")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if r.observer.latest().mode != "estopped":
            return ms(t0, r.observer.latest().t)
        time.sleep(0.01)
    return None


def interrupt_trial(setup: Setup, logs: Path, how: str) -> dict[str, Any]:
    """Figures 3 and 4: a command, then STOP / Escape / page closed / page frozen mid-motion."""
    with rig(setup, logs) as r:
        cdp = None
        if how == "quiet":  # enabling the debugger stalls the page: not between t0 and the pause
            cdp = r.page.context.new_cdp_session(r.page)
            cdp.send("Debugger.enable")
        t_cmd = send_command(r.page, COMMAND)
        origin = at(r.observer.samples(), t_cmd)
        r.observer.wait_moved(origin, INTO_SKILL_M, timeout=60)
        before = bench_data(r)  # the page is gone (close) or frozen (quiet) afterwards
        t0 = interrupt(r, how, cdp)
        time.sleep(SETTLE_S)
        until = time.time()
        samples = r.observer.samples()
        if cdp is not None:
            cdp.send("Debugger.resume")
            cdp.detach()
        row: dict[str, Any] = {"figure": how, **command_latency(r, before, t_cmd)}
        row["t0"] = round(t0, 3)  # UNIX time, to find the moment in the bridge's log
        row["mode_at_t0"] = f"{at(samples, t0).mode} {at(samples, t0).hold_reason}".strip()
        row["log"] = [m["text"] for m in before["messages"] if m["type"] == "log"]
        still = still_from(samples, t0, until)
        row["to_still_ms"] = ms(t0, still)
        # the first 100 ms without motion, which a late control tick can fake on a busy machine
        row["to_still_100ms_ms"] = ms(t0, still_from(samples, t0, until, hold=STILL_S))
        row["travel_mm"] = None
        if still is not None:
            rest = at(samples, still).position
            row["travel_mm"] = round(math.dist(at(samples, t0).position, rest) * 1000, 1)
        mode = "estopped" if how in ("stop", "escape") else "holding"
        seen = first_mode(samples, t0, mode)
        row[f"to_{mode}_ms"] = ms(t0, seen.t if seen else None)
        row["hold_reason"] = seen.hold_reason if seen else None
        row["final_mode"] = samples[-1].mode
        if how == "close":
            return row
        data = bench_data(r)
        row["page_mode_ms"] = ms(t0, first_message(data, "modes", t0, lambda m: m["mode"] == mode))
        row["turn_status"] = next(
            (m["status"] for m in data["messages"] if m["type"] == "done"), None
        )
        if how == "quiet":
            last_ping = max((p for p in data["pings"] if seen and p < seen.t), default=None)
            row["last_ping_to_holding_ms"] = ms(last_ping, seen.t if seen else None)
        else:
            sent = first_message(data, "sent", t0, lambda m: m["type"] == "stop")
            row["press_to_sent_ms"] = ms(t0, sent)
            row["reset_ms"] = reset_through_page(r)
        return row


# -- summary ------------------------------------------------------------------------------------
@dataclass
class Figure:
    """One row of the table: a key of the trial rows, over the trials of some figures."""

    label: str
    key: str
    figures: tuple[str, ...]
    unit: str = "ms"
    target: Callable[[list[float]], bool] | None = None
    target_text: str = ""
    values: list[float] = field(default_factory=list)


def fps_met(values: list[float]) -> bool:
    return min(values) >= FPS_TARGET


def hold_met(values: list[float]) -> bool:
    return max(values) <= HOLD_TARGET_MS


def figure_rows() -> list[Figure]:
    rows = [
        Figure(f"{c} fps, {w}", f"{w}_fps_{c}", ("fps",), "fps", fps_met, ">= 10")
        for w in ("idle", "busy")
        for c in CAMERAS
    ]
    rows += [
        Figure(f"{c} longest gap, {w}", f"{w}_gap_ms_{c}", ("fps",))
        for w in ("idle", "busy")
        for c in CAMERAS
    ]
    for when, figures in (("after idle", ("fps",)), ("at once", FIGURES[1:])):
        rows += [
            Figure(f"Enter -> page sent command ({when})", "enter_to_sent_ms", figures),
            Figure(f"Enter -> turn msg on page ({when})", "enter_to_turn_ms", figures),
            Figure(f"Enter -> plan msg on page ({when})", "enter_to_plan_ms", figures),
            Figure(f"plan msg -> first motion ({when})", "plan_to_motion_ms", figures),
            Figure(f"Enter -> first motion ({when})", "enter_to_motion_ms", figures),
        ]
    for how, label in (("stop", "STOP click"), ("escape", "Escape")):
        rows += [
            Figure(f"{label} -> page sent stop", "press_to_sent_ms", (how,)),
            Figure(f"{label} -> mode estopped", "to_estopped_ms", (how,)),
            Figure(f"{label} -> page shows estopped", "page_mode_ms", (how,)),
            Figure(f"{label} -> arm still", "to_still_ms", (how,)),
            Figure(f"{label}: travel after press", "travel_mm", (how,), "mm"),
            Figure(f"{label}: reset -> mode cleared", "reset_ms", (how,)),
        ]
    for how, label in (("close", "page closed"), ("quiet", "page frozen")):
        rows += [
            Figure(f"{label} -> mode holding", "to_holding_ms", (how,), "ms", hold_met, "<= 500"),
            Figure(f"{label} -> arm still", "to_still_ms", (how,), "ms", hold_met, "<= 500"),
            Figure(f"{label}: travel after t0", "travel_mm", (how,), "mm"),
        ]
    rows.append(Figure("page frozen: last ping -> holding", "last_ping_to_holding_ms", ("quiet",)))
    return rows


def summarize(trials: list[dict[str, Any]]) -> list[Figure]:
    rows = figure_rows()
    for row in rows:
        row.values = [
            float(t[row.key])
            for t in trials
            if t["figure"] in row.figures and t.get(row.key) is not None
        ]
    return [row for row in rows if row.values]


def p95(values: list[float]) -> float | None:
    """Nearest-rank 95th percentile, from 10 values up."""
    if len(values) < 10:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def stats(row: Figure) -> dict[str, Any]:
    v = row.values
    out: dict[str, Any] = {"n": len(v), "median": round(statistics.median(v), 1)}
    out["p95"] = p95(v)
    out["max"], out["min"] = max(v), min(v)
    if row.target is not None:
        out["target"] = row.target_text
        out["met"] = row.target(v)
    return out


def table(rows: list[Figure]) -> str:
    def cell(x: float | None) -> str:
        return "-" if x is None else f"{x:.1f}"

    line = "{:<46} {:>4} {:>3} {:>8} {:>8} {:>8} {:>8}  {}"
    lines = [line.format("figure", "unit", "n", "median", "p95", "max", "min", "target")]
    for row in rows:
        s = stats(row)
        target = f"{s['target']}: {'met' if s['met'] else 'NOT MET'}" if "target" in s else ""
        numbers = (cell(s[k]) for k in ("median", "p95", "max", "min"))
        lines.append(line.format(row.label, row.unit, s["n"], *numbers, target))
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------------
def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_trial(setup: Setup, how: str) -> dict[str, Any]:
    """One trial; a failure is a finding too: it becomes the row's "error"."""
    folder = Path(tempfile.mkdtemp(prefix=f"{how}-", dir=setup.logs))
    try:
        if how == "fps":
            return fps_trial(setup, folder)
        return interrupt_trial(setup, folder, how)
    except Exception as err:
        return {"figure": how, "error": f"{type(err).__name__}: {err}", "logs": str(folder)}


def report(args: argparse.Namespace, header: dict[str, Any], trials: list[dict[str, Any]]) -> None:
    """The table on stdout, and everything in the --json file."""
    rows = summarize(trials)
    print()
    print(table(rows))
    failed = [t for t in trials if "error" in t]
    for t in failed:
        print(f"FAILED {t['figure']} trial {t['trial']}: {t['error']} (logs in {t['logs']})")
    print(f"\nload average at start {header['load_start']}, at end {header['load_end']}")
    if args.json:
        summary = {row.label: {"key": row.key, **stats(row)} for row in rows}
        out = {**header, "trials": trials, "summary": summary}
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="trials per figure (default 5)")
    ap.add_argument("--quick", action="store_true", help="2 trials per figure")
    ap.add_argument(
        "--figures",
        default=",".join(FIGURES),
        help=f"which trials, comma-separated (default {','.join(FIGURES)})",
    )
    ap.add_argument("--json", metavar="FILE", help="write the trials and the summary here")
    ap.add_argument("--logs", metavar="DIR", help="keep the bridge and console logs here")
    ap.add_argument(
        "--driver-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a sim driver option for the bridge, e.g. render_workers=2 (default: none, as "
        "launch/console.yaml)",
    )
    args = ap.parse_args()
    repeats = 2 if args.quick else args.repeats
    figures = [f for f in args.figures.split(",") if f]
    unknown = set(figures) - set(FIGURES)
    if unknown:
        ap.error(f"unknown figures: {', '.join(sorted(unknown))}")
    logs = Path(args.logs or tempfile.mkdtemp(prefix="console-bench-"))
    logs.mkdir(parents=True, exist_ok=True)

    header: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "load_start": load()}
    header.update(repeats=repeats, command=COMMAND, driver_options=args.driver_option)
    print(f"{header['started']}  load average {header['load_start']}  {repeats} trials each")
    trials: list[dict[str, Any]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        setup = Setup(browser, logs, tuple(args.driver_option))
        try:
            for i in range(repeats):
                for how in figures:
                    trials.append({"trial": i, **run_trial(setup, how)})
                    print(json.dumps(trials[-1]), flush=True)
        finally:
            browser.close()
    header["load_end"] = load()
    report(args, header, trials)
    failed = any("error" in t for t in trials)
    if not args.logs and not failed:
        shutil.rmtree(logs, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
