"""The console's core: one session behind every page, the driver role, the stop paths.

Threads, not the web server's event loop, do the work: a command worker runs the session's turns
one at a time, the camera threads capture and encode frames, and a watchdog holds the arm when
the driving page goes quiet. Everything a page should see goes out through `Hub.publish` (JSON)
and `Hub.offer_frame` (JPEG); the web layer (app.py) turns those into WebSocket messages, so the
hub can be driven and tested without a browser. Message shapes are in docs/console.md.
"""

from __future__ import annotations

import itertools
import logging
import queue
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from robot_llm.console.turn_messages import MessageMapper
from robot_llm.session import Session, scene_objects
from robot_llm.types import Scene

log = logging.getLogger("robot_llm.console")

HEARTBEAT_S: Final = 0.1  # how often a page pings
HOLD_AFTER_S: Final = 0.3  # a driving page silent this long while the arm works: hold
LOG_LINES: Final = 200  # lines a page gets on connecting
STATE_PERIOD_S: Final = 0.2  # the state message's period while a page is connected
WATCH_TICK_S: Final = 0.02  # how often the watchdog looks at the page and the arm's mode
# The web server's event loop says it is alive every LOOP_TICK_S. When it has not for
# LOOP_LATE_S (the process starved of CPU, the GIL held elsewhere), a page's pings may be waiting
# unread in our socket: the page is not judged silent for time the console itself was not
# listening, up to MAX_DEAF_S, after which the arm is held whatever the reason.
LOOP_TICK_S: Final = 0.05
LOOP_LATE_S: Final = 0.1
MAX_DEAF_S: Final = 1.0

Publish = Callable[[dict[str, Any]], None]


class ConsoleRefused(Exception):
    """A request the console refuses as things stand (a watcher's command, a reset while a page
    drives); the message says why in one line."""


@dataclass
class Client:
    """One connected page: its role, when it was last heard, and where its messages go."""

    id: int
    role: str  # "driver" | "watcher"
    send: Publish  # JSON messages for this page (thread-safe)
    send_frame: Callable[[str, bytes], None]  # the newest frame of a camera (thread-safe)
    last_seen: float = field(default_factory=time.monotonic)
    # names this page in HTTP requests (push-to-talk), given to it alone in its welcome
    key: str = field(default_factory=lambda: secrets.token_urlsafe(16))


class Hub:
    """The session, the pages connected to it, and what they may do.

    `stop_robot` latches the e-stop (the bridge's, for a remote arm) and `reset_robot` clears it;
    `hold_robot` holds the arm without an e-stop (the page went away). `robot_mode()` gives the
    arm's (mode, hold_reason).
    """

    def __init__(
        self,
        session: Session,
        *,
        robot_name: str,
        source: str,
        cameras: tuple[str, ...],
        estop: Callable[[], None],
        reset: Callable[[], None],
        robot_mode: Callable[[], tuple[str, str]],
        link: Callable[[], str] = lambda: "up",
        hold_after_s: float = HOLD_AFTER_S,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.session = session
        self.robot_name, self.source, self.cameras = robot_name, source, cameras
        self._estop, self._reset, self._robot_mode, self._link = estop, reset, robot_mode, link
        self.hold_after_s = hold_after_s
        self._loop_seen = time.monotonic()  # the event loop's latest tick
        self._listening_since = 0.0  # when the event loop last came back from a stall
        self._on_event = on_event  # the episode recording
        self._clients: dict[int, Client] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._commands: queue.Queue[str | None] = queue.Queue()
        self._busy = threading.Event()  # a command is being planned or run
        self._log: deque[str] = deque(maxlen=LOG_LINES)
        self._fps: dict[str, float] = {}
        self._closed = threading.Event()
        self._mapper = MessageMapper(self.publish)
        self.last_scene: Scene | None = None  # the scene after the latest turn (session ids)
        session.on_event = self.say
        session.on_run_event = self._on_run_event
        self._threads = [
            threading.Thread(target=self._work, name="console-commands", daemon=True),
            threading.Thread(target=self._watch, name="console-watchdog", daemon=True),
        ]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def close(self) -> None:
        """Stop the arm if it works, end the threads; the session is the caller's to close."""
        if self._busy.is_set():
            self.session.stop()
        self._closed.set()
        self._commands.put(None)
        for t in self._threads:
            t.join(timeout=5)

    # -- pages ----------------------------------------------------------------------------------
    def connect(
        self, send: Publish, send_frame: Callable[[str, bytes], None], wants_drive: bool
    ) -> Client:
        """Register a page; it drives if it asks to and no other page does."""
        with self._lock:
            role = "driver" if wants_drive and self.driver is None else "watcher"
            client = Client(next(self._ids), role, send, send_frame)
            self._clients[client.id] = client
        client.send(self.welcome(client))
        return client

    def disconnect(self, client: Client) -> None:
        """A page went away; if it drove while the arm worked, the arm holds."""
        with self._lock:
            gone = self._clients.pop(client.id, None)
        if gone is not None and gone.role == "driver":
            self.say(f"the driving page (#{client.id}) closed")
            if self._busy.is_set():
                self.hold("the driving page closed")

    @property
    def driver(self) -> Client | None:
        with self._lock:
            return next((c for c in self._clients.values() if c.role == "driver"), None)

    def may_command(self, page_key: str | None) -> bool:
        """Whether an HTTP request may run a command: no page drives, or it names the driver."""
        driver = self.driver
        return driver is None or (page_key is not None and page_key == driver.key)

    @property
    def page_count(self) -> int:
        with self._lock:
            return len(self._clients)

    def welcome(self, client: Client) -> dict[str, Any]:
        return {
            "type": "welcome",
            "role": client.role,
            "robot": self.robot_name,
            "source": self.source,
            "cameras": list(self.cameras),
            "heartbeat_ms": round(HEARTBEAT_S * 1000),
            "hold_after_ms": round(self.hold_after_s * 1000),
            "log": self.recent_log,
            "page_key": client.key,
        }

    @property
    def recent_log(self) -> list[str]:
        """The latest progress lines, oldest first (what a page gets on connecting)."""
        return list(self._log)

    def loop_tick(self, now: float | None = None) -> None:
        """The web server's event loop is running (called every `LOOP_TICK_S` from it)."""
        now = time.monotonic() if now is None else now
        if now - self._loop_seen > LOOP_LATE_S:
            self._listening_since = now  # back from a stall: pings from then on count
        self._loop_seen = now

    def page_silence(self, client: Client, now: float) -> float | None:
        """How long the page has been silent while the console was listening (None: the
        console is not listening now, and has not been for less than `MAX_DEAF_S`)."""
        deaf = now - self._loop_seen
        if LOOP_LATE_S < deaf < MAX_DEAF_S:
            return None
        if deaf >= MAX_DEAF_S:
            return now - client.last_seen
        return now - max(client.last_seen, self._listening_since)

    def handle(self, client: Client, message: dict[str, Any]) -> None:
        """One message from a page (docs/console.md); a refused one is answered with an error."""
        client.last_seen = time.monotonic()
        kind = message.get("type")
        try:
            if kind == "ping":
                return
            if kind == "stop":
                self.estop(f"STOP pressed on page #{client.id}")
            elif kind == "command":
                self._require_driver(client, "send commands")
                self.submit(str(message.get("text", "")))
            elif kind == "reset":
                self._require_driver(client, "reset the e-stop")
                self.reset()
            elif kind == "take":
                self._take(client)
            else:
                raise ConsoleRefused(f"unknown message type {kind!r}")
        except ConsoleRefused as err:
            client.send({"type": "error", "text": str(err)})

    def _require_driver(self, client: Client, what: str) -> None:
        if client.role != "driver":
            raise ConsoleRefused(f"only the driving page may {what}; this page watches")

    def _take(self, client: Client) -> None:
        with self._lock:
            if client.role == "driver":
                return
            if self.driver is not None:
                raise ConsoleRefused("another page drives; it must close first")
            client.role = "driver"
        client.send({"type": "role", "role": "driver"})
        self.say(f"page #{client.id} drives")

    # -- what pages see -------------------------------------------------------------------------
    def publish(self, message: dict[str, Any]) -> None:
        """Send a JSON message to every page (and to the episode's log)."""
        with self._lock:
            clients = list(self._clients.values())
        for c in clients:
            c.send(message)
        if self._on_event is not None and message.get("type") not in ("state",):
            self._on_event(message)

    def say(self, text: str) -> None:
        """A progress line for every page."""
        self._log.append(text)
        self.publish({"type": "log", "text": text})

    def offer_frame(self, camera: str, jpeg: bytes, fps: float) -> None:
        """The newest JPEG of a camera, for every page (each keeps only the newest)."""
        self._fps[camera] = round(fps, 1)
        with self._lock:
            clients = list(self._clients.values())
        for c in clients:
            c.send_frame(camera, jpeg)

    def state(self) -> dict[str, Any]:
        """The state message: the arm's mode, the link, whether a command runs, the pages."""
        mode, reason = self._robot_mode()
        try:
            gripper = float(self.session.robot.state().gripper_width)
        except Exception:  # a lost link: the mode and link fields say so
            gripper = None
        with self._lock:
            driver = any(c.role == "driver" for c in self._clients.values())
            watchers = sum(c.role == "watcher" for c in self._clients.values())
        return {
            "type": "state",
            "mode": mode,
            "hold_reason": reason,
            "link": self._link(),
            "busy": self._busy.is_set(),
            "gripper": gripper,
            "fps": dict(self._fps),
            "driver": driver,
            "watchers": watchers,
            "queued": self._commands.qsize(),
        }

    # -- commands and stops ---------------------------------------------------------------------
    def submit(self, text: str) -> None:
        """Queue a command; refused while the arm is stopped (the operator resets first)."""
        text = text.strip()
        if not text:
            raise ConsoleRefused("empty command")
        if len(text) > 500:
            raise ConsoleRefused(f"command too long ({len(text)} characters; at most 500)")
        mode, _ = self._robot_mode()
        if mode in ("estopped", "fault") or self.session.stopped:
            raise ConsoleRefused(f"the arm is {mode}: press Reset before a new command")
        with self._lock:
            if self._busy.is_set():
                self.say(f"queued: {text!r} runs when the arm is free")
            self._busy.set()
            self._commands.put(text)

    def estop(self, why: str) -> None:
        """Latch the e-stop now: the arm stops, the plan ends "stopped", the queue empties."""
        self._drain()
        self._estop()
        self.session.stop()
        self.say(f"e-stop: {why}")

    def hold(self, why: str) -> None:
        """Hold the arm where it is (no e-stop): the plan ends "stopped", the queue empties."""
        self._drain()
        self.session.stop()
        self.say(f"holding: {why}")

    def reset(self) -> None:
        """Clear an e-stop, a hold or a fault (the operator confirmed it on the page)."""
        if self._busy.is_set() and not self.session.stopped:
            raise ConsoleRefused("a command is running; stop it before a reset")
        self._reset()
        self.session.resume()
        self.say("reset: the arm takes commands again")

    def _drain(self) -> None:
        while True:
            try:
                self._commands.get_nowait()
            except queue.Empty:
                return

    def _work(self) -> None:
        while (command := self._commands.get()) is not None:
            try:
                self._mapper.begin(command)
                turn = self.session.turn(command)
                self.last_scene = turn.scene_after or turn.scene
                self._mapper.finish(turn, scene_objects(turn.scene_after or turn.scene))
            except Exception as err:  # one bad turn must not end the console
                log.exception("turn failed")
                self.publish(
                    {"type": "done", "command": command, "status": "failed", "reason": str(err)}
                )
            finally:
                with self._lock:
                    if self._commands.empty():
                        self._busy.clear()

    def _on_run_event(self, event: Any) -> None:
        self._mapper.run_event(event)

    def _watch(self) -> None:
        """Send the state every `STATE_PERIOD_S`, and at once when the arm's mode or the busy
        flag changes (a STOP shows on every page within a tick); hold the arm when the driving
        page has been silent for `hold_after_s` while the arm works (a frozen tab, a pulled
        cable; closing the page is caught at once by `disconnect`)."""
        next_state, shown = 0.0, None
        while not self._closed.wait(WATCH_TICK_S):
            if self.page_count:
                try:
                    now_shown = (*self._robot_mode(), self._busy.is_set())
                except Exception:  # a lost link: the full state says so
                    now_shown = None
                if now_shown != shown or time.monotonic() >= next_state:
                    shown, next_state = now_shown, time.monotonic() + STATE_PERIOD_S
                    self._publish_state()
            driver = self.driver
            if driver is None or not self._busy.is_set() or self.session.stopped:
                continue
            silent = self.page_silence(driver, time.monotonic())
            if silent is not None and silent > self.hold_after_s:
                self.hold(f"the driving page went quiet ({silent * 1000:.0f} ms)")

    def _publish_state(self) -> None:
        try:
            state = self.state()
        except Exception as err:  # the robot's link: reported, and tried again next period
            log.warning("no state: %s", err)
            return
        self.publish(state)

    @property
    def busy(self) -> bool:
        return self._busy.is_set()
