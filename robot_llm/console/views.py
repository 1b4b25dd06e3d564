"""Live camera views for the console: frames with the perceived objects outlined and labelled.

Pieces:

- `project_points` maps table-frame points to pixels (the inverse of back-projecting a pixel
  with its depth); `draw_objects` outlines each object's top face and labels it with its id.
- `SceneOverlay` keeps the objects to draw: it perceives a main-camera frame now and then (not
  every frame: perception costs tens of milliseconds) and gives the objects the ids the session
  uses, so the page's labels are the names an operator can say in a command.
- `LiveCamera` runs one camera in a background thread: capture, draw, encode JPEG, deliver.

The console wires them per camera, with one overlay shared by all cameras (objects are in the
table frame, so the wrist camera draws them too)::

    overlay = SceneOverlay(session.perceiver, known=lambda: last_scene or session.reference)
    main = LiveCamera(robot, "main", objects=overlay.objects, before_draw=overlay.update,
                      on_frame=send)
    wrist = LiveCamera(robot, "wrist", objects=overlay.objects, on_frame=send)

`before_draw` runs on each captured frame before the objects are read, so the main camera's
labels come from perception of that very frame whenever the overlay perceived it. The overlay
ignores frames of other cameras, so passing `before_draw=overlay.update` to any camera is safe.
Only the console imports this module; it never imports the simulator, so it serves an arm
behind a bridge as well as a simulated one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Final

import cv2
import numpy as np

from robot_llm.errors import first_line
from robot_llm.perception import associate
from robot_llm.perception.pixels import project_points
from robot_llm.robots.base import Robot, RobotError
from robot_llm.session import ScenePerceiver
from robot_llm.tabletop.geometry import height
from robot_llm.tabletop.palette import PALETTE
from robot_llm.types import CameraFrame, Scene, SceneObject

log = logging.getLogger(__name__)

# The table frame's origin is on the table surface (docs: DESIGN.md, "Frames").
TABLE_TOP_Z: Final = 0.0
DEFAULT_HALF_SIDE: Final = 0.02  # meters: the square drawn for an object without a footprint
FALLBACK_RGB: Final = (255, 220, 0)  # outline color of an object whose color is not in the palette
LABEL_BACKGROUND: Final = (25, 25, 25)
LABEL_TEXT: Final = (255, 255, 255)
FAR_OFF_IMAGE: Final = 8  # image sizes: an outline reaching farther out is not drawn
ERROR_BACKOFF_S: Final = 0.2

FrameCallback = Callable[[str, bytes, CameraFrame], None]
ObjectsSource = Callable[[], Sequence[SceneObject]]


# -- projection and drawing -----------------------------------------------------------------------
def top_height(obj: SceneObject) -> float:
    """Height of the object's top: its center plus half the height its kind and size have, so
    stacked and held blocks are right too; for a kind or size the tabletop model does not
    know, as if it rested on the table (the center halfway up)."""
    z = obj.position[2]
    try:
        return z + height(obj.kind, obj.size) / 2
    except KeyError:
        return z + (z - TABLE_TOP_Z)


def outline_points(obj: SceneObject) -> np.ndarray:
    """The object's top outline in the table frame (K x 3): its footprint, or a small square
    around its position when it has none, at the height of its top."""
    x, y, _ = obj.position
    if obj.footprint:
        xy = np.asarray(obj.footprint, dtype=float)
    else:
        h = DEFAULT_HALF_SIDE
        xy = np.array([[x - h, y - h], [x + h, y - h], [x + h, y + h], [x - h, y + h]])
    return np.column_stack([xy, np.full(len(xy), top_height(obj))])


def outline_color(color: str) -> tuple[int, int, int]:
    """RGB 0-255 of a palette color name; yellow for a color the palette does not know."""
    rgb = PALETTE.get(color)
    if rgb is None:
        return FALLBACK_RGB
    r, g, b = (round(255 * c) for c in rgb)
    return (r, g, b)


def draw_objects(
    rgb: np.ndarray,
    objects: Sequence[SceneObject],
    intrinsics: np.ndarray,
    extrinsics: np.ndarray,
) -> np.ndarray:
    """A copy of an RGB image with each object's top outlined in its color and its id written
    on a dark box just above. Objects partly behind the camera, or whose outline reaches far off
    the image (a camera almost touching them), are skipped. Labels are drawn after all outlines,
    farthest first, so nearer labels stay readable."""
    out = np.ascontiguousarray(rgb.copy())
    h, w = out.shape[:2]
    limit = FAR_OFF_IMAGE * max(h, w)
    labels: list[tuple[float, str, tuple[int, int]]] = []
    for obj in objects:
        top = outline_points(obj)
        uv, in_front = project_points(top, intrinsics, extrinsics)
        center = np.append(obj.position[:2], top[0, 2])
        anchor, anchor_front = project_points(center, intrinsics, extrinsics)
        if not (in_front.all() and anchor_front[0]) or np.abs(uv).max() > limit:
            continue
        polygon = np.round(uv).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [polygon], True, LABEL_BACKGROUND, 4, cv2.LINE_AA)
        cv2.polylines(out, [polygon], True, outline_color(obj.color), 2, cv2.LINE_AA)
        distance = float(np.linalg.norm(center - np.asarray(extrinsics)[:3, 3]))
        u, v = (round(float(c)) for c in anchor[0])
        labels.append((distance, obj.id, (u, v)))
    for _, text, at in sorted(labels, reverse=True):
        _draw_label(out, text, at)
    return out


def _draw_label(image: np.ndarray, text: str, at: tuple[int, int]) -> None:
    """White text on a dark box, centered on `at` horizontally and ending just above it,
    moved inside the image where it would cross an edge."""
    h, w = image.shape[:2]
    scale = min(0.6, max(0.35, h / 900))
    (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    pad = 3
    box_w, box_h = tw + 2 * pad, th + baseline + 2 * pad
    x0 = min(max(at[0] - box_w // 2, 0), max(w - box_w, 0))
    y0 = min(max(at[1] - 6 - box_h, 0), max(h - box_h, 0))
    cv2.rectangle(image, (x0, y0), (x0 + box_w, y0 + box_h), LABEL_BACKGROUND, cv2.FILLED)
    origin = (x0 + pad, y0 + pad + th)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, LABEL_TEXT, 1, cv2.LINE_AA)


def encode_jpeg(rgb: np.ndarray, quality: int = 80) -> bytes:
    """JPEG bytes of an RGB uint8 image (OpenCV encodes BGR, hence the conversion)."""
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    ok, buffer = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {rgb.shape} image as JPEG")
    return buffer.tobytes()


# -- the objects to draw ----------------------------------------------------------------------
class SceneOverlay:
    """The perceived objects the camera views draw, named with the session's ids.

    `update(frame)` perceives a frame of `camera` at most every `min_interval_s` and renames
    the objects with `associate` to the ids of `known()` (the session's last perceived scene,
    or the scene file's objects); when `known()` gives None, perception's own ids stay. A
    failure (of perception or of `known`) is counted in `failures` and kept in `last_error`,
    never raised: a bad frame must not take the camera view down.
    """

    def __init__(
        self,
        perceiver: ScenePerceiver,
        known: Callable[[], Scene | None] = lambda: None,
        *,
        min_interval_s: float = 0.3,
        camera: str = "main",
    ) -> None:
        self._perceiver = perceiver
        self._known = known
        self.min_interval_s = min_interval_s
        self.camera = camera
        self._lock = threading.Lock()
        self._busy = threading.Lock()  # one perception at a time; others return at once
        self._objects: tuple[SceneObject, ...] = ()
        self._last_try = -float("inf")
        self._failures = 0
        self._last_error = ""

    def update(self, frame: CameraFrame) -> bool:
        """Perceive `frame` if it is due; whether the objects were replaced."""
        if frame.camera != self.camera or not self._busy.acquire(blocking=False):
            return False
        try:
            now = time.monotonic()
            if now - self._last_try < self.min_interval_s:
                return False
            self._last_try = now
            try:
                scene = self._perceiver.perceive(frame)
                reference = self._known()
                if reference is not None:
                    scene = associate(scene, reference)
            except Exception as err:  # any perception failure: keep the last objects
                text = _describe(err)
                with self._lock:
                    self._failures += 1
                    self._last_error = text
                log.warning("overlay perception failed: %s", text, exc_info=True)
                return False
            with self._lock:
                self._objects = scene.objects
                self._last_error = ""
            return True
        finally:
            self._busy.release()

    def objects(self) -> tuple[SceneObject, ...]:
        """The latest perceived objects (empty before the first perception)."""
        with self._lock:
            return self._objects

    @property
    def failures(self) -> int:
        with self._lock:
            return self._failures

    @property
    def last_error(self) -> str:
        """Why the latest perception failed; empty once one succeeds again."""
        with self._lock:
            return self._last_error


# -- one camera's live view -----------------------------------------------------------------------
class LiveCamera:
    """A background thread that delivers one camera's frames as annotated JPEGs.

    While started it loops: the next frame (`robot.next_frame` behind a bridge: every frame the
    server sends; else `robot.capture(camera)`), `before_draw(frame)`, draw `objects()`, encode
    JPEG at `quality`, then
    `on_frame(camera, jpeg, frame)`; at most `max_fps` times a second. Any failure (a lost
    link, an unknown camera, an error in a callback) is logged and kept in `last_error`, and
    the loop goes on after `ERROR_BACKOFF_S`: the view recovers when the camera does.
    """

    def __init__(
        self,
        robot: Robot,
        camera: str = "main",
        *,
        objects: ObjectsSource = tuple,
        on_frame: FrameCallback | None = None,
        before_draw: Callable[[CameraFrame], object] | None = None,
        max_fps: float = 15.0,
        quality: int = 80,
        fps_window_s: float = 2.0,
    ) -> None:
        if max_fps <= 0:
            raise ValueError(f"max_fps must be positive, got {max_fps}")
        if not 1 <= quality <= 100:
            raise ValueError(f"JPEG quality must be within 1..100, got {quality}")
        self.robot = robot
        self.camera = camera
        self._objects = objects
        self._on_frame = on_frame
        self._before_draw = before_draw
        self.max_fps = max_fps
        self.quality = quality
        self.fps_window_s = fps_window_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._latest: bytes | None = None
        self._delivered: deque[float] = deque()
        self._frames = 0
        self._last_error = ""
        self._last_stamp: float | None = None  # the timestamp of the frame shown last

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the thread (no-op while it runs). Each thread has its own stop event, so a
        thread still finishing a capture after `stop(timeout=0)` never runs beside a new one."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run,
                args=(self._stop,),
                name=f"console-camera-{self.camera}",
                daemon=True,
            )
            self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the thread to end and wait up to `timeout` for it (a bridge capture may take a
        while to return; 0: do not wait); safe to call more than once."""
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
        if thread is not None and timeout > 0 and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("camera %s: thread still busy after %.0f s", self.camera, timeout)

    @property
    def running(self) -> bool:
        with self._lock:
            return self._thread is not None and self._thread.is_alive()

    # -- what it delivered ------------------------------------------------------------------
    @property
    def latest_jpeg(self) -> bytes | None:
        with self._lock:
            return self._latest

    @property
    def frames(self) -> int:
        """How many frames were delivered since construction."""
        with self._lock:
            return self._frames

    @property
    def fps(self) -> float:
        """Delivered frames per second over the last `fps_window_s` (0 when fewer than two)."""
        with self._lock:
            self._forget_old(time.monotonic())
            times = self._delivered
            if len(times) < 2 or times[-1] <= times[0]:
                return 0.0
            return (len(times) - 1) / (times[-1] - times[0])

    @property
    def last_error(self) -> str:
        """Why the latest attempt failed; empty while frames are delivered."""
        with self._lock:
            return self._last_error

    # -- the loop -----------------------------------------------------------------------------
    def _run(self, stop: threading.Event) -> None:
        period = 1.0 / self.max_fps
        while not stop.is_set():
            started = time.monotonic()
            try:
                self._one_frame()
            except Exception as err:  # the view must outlive any one failure
                self._failed(err)
                stop.wait(ERROR_BACKOFF_S)
                continue
            stop.wait(max(0.0, period - (time.monotonic() - started)))

    def _one_frame(self) -> None:
        stream = getattr(self.robot, "next_frame", None)  # a robot behind a bridge has it
        if stream is not None:
            frame = stream(self.camera, self._last_stamp)
        else:
            frame = self.robot.capture(self.camera)
        self._last_stamp = frame.timestamp
        if self._before_draw is not None:
            self._before_draw(frame)
        drawn = draw_objects(frame.rgb, self._objects(), frame.intrinsics, frame.extrinsics)
        jpeg = encode_jpeg(drawn, self.quality)
        now = time.monotonic()
        with self._lock:
            self._latest = jpeg
            self._frames += 1
            self._delivered.append(now)
            self._forget_old(now)
            self._last_error = ""
        if self._on_frame is not None:
            self._on_frame(self.camera, jpeg, frame)

    def _forget_old(self, now: float) -> None:
        while self._delivered and now - self._delivered[0] > self.fps_window_s:
            self._delivered.popleft()

    def _failed(self, err: Exception) -> None:
        text = _describe(err)
        with self._lock:
            repeated = text == self._last_error
            self._last_error = text
        if not repeated:  # one log line per distinct failure, not one per retry
            expected = isinstance(err, (RobotError, ValueError))
            log.warning("camera %s: %s", self.camera, text, exc_info=not expected)


def _describe(err: BaseException) -> str:
    """An error as one line that names its type (what `last_error` shows)."""
    return f"{type(err).__name__}: {first_line(err)}"
