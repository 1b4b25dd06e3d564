"""The console's episode recording: an event log and a main-camera video, for download.

`EpisodeRecorder` owns three kinds of file in its folder:

- `episode.jsonl`: one JSON object per event, each with a Unix `time`, flushed as it comes, so
  the log can be downloaded at any moment;
- `clip-NNN.mp4`: the frames of one clip (the console records while a command runs), written
  as they come, so memory stays bounded however long the episode;
- `episode.mp4`: all clips one after another, built by `video_path()` on request. An mp4 is
  readable only once its writer is released, so asking for the video closes the open clip; a
  later frame of the same recording starts the next clip.

The video plays at `fps`; frames arriving faster are dropped, and a slower feed plays faster
than real time. Files of these names already in the folder are replaced.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np

from robot_llm.errors import InputError
from robot_llm.media import MediaError

LOG_NAME: Final = "episode.jsonl"
VIDEO_NAME: Final = "episode.mp4"
FOURCC: Final = "mp4v"


class RecordingError(InputError):
    """The episode cannot be recorded in the folder given (not a folder, not writable)."""


class EpisodeRecorder:
    """An episode's event log and video, written to disk as they come; thread-safe.

    Frames count only between `start_clip()` and `end_clip()`; the first frame fixes the video
    size and later frames of another size are resized to it.
    """

    def __init__(
        self, folder: str | Path, fps: float = 10.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.folder = Path(folder)
        self.fps = float(fps)
        self._clock = clock  # seconds, for the frame rate limit
        if self.folder.exists() and not self.folder.is_dir():
            raise RecordingError(f"{self.folder}: cannot record the episode here: not a folder")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for old in [*self.folder.glob("clip-*.mp4"), self.folder / VIDEO_NAME]:
                old.unlink(missing_ok=True)
            self._log = (self.folder / LOG_NAME).open("w", encoding="utf-8")
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise RecordingError(
                f"{self.folder}: cannot record the episode here: {reason}"
            ) from None
        self._lock = threading.Lock()  # the log, the clip being written and the clip list
        self._build_lock = threading.Lock()  # one episode.mp4 build at a time
        self._closed = False
        self._recording = False
        self._writer: Any = None  # cv2.VideoWriter of the open clip
        self._writing: Path | None = None  # the open clip's file
        self._size: tuple[int, int] | None = None  # (width, height) of every frame
        self._clips: list[Path] = []  # finished clips, in order
        self._frames = 0  # frames written to clips, open one included
        self._next_due = -float("inf")  # clock time from which the next frame may be written
        self._built: tuple[Path, ...] = ()  # the clips episode.mp4 was last built from

    # -- the event log ------------------------------------------------------------------------
    def log_path(self) -> Path:
        """The JSON-lines event log (exists from construction on)."""
        return self.folder / LOG_NAME

    def add_event(self, event: Mapping[str, Any]) -> None:
        """Append one event as a JSON line, with `time` (Unix seconds) unless it has one.

        Values JSON cannot hold are written as their `to_dict()` (the stack's types), a list
        (numpy arrays) or their text.
        """
        record = {"time": time.time(), **event}
        line = json.dumps(record, ensure_ascii=False, default=_plain)
        with self._lock:
            if self._closed:
                raise RuntimeError("the episode recorder is closed")
            self._log.write(line + "\n")
            self._log.flush()

    # -- the video ----------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """Whether frames are being recorded (inside a clip)."""
        with self._lock:
            return self._recording

    @property
    def frames(self) -> int:
        """How many frames were recorded so far."""
        with self._lock:
            return self._frames

    def start_clip(self) -> None:
        """Record the frames that come from now on (no-op while recording)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the episode recorder is closed")
            self._recording = True

    def end_clip(self) -> None:
        """Stop recording and finish the clip's file (no-op when not recording)."""
        with self._lock:
            self._recording = False
            self._finish_clip()

    def add_frame(self, rgb: np.ndarray) -> bool:
        """Record an RGB uint8 frame (H x W x 3) if inside a clip and not too soon after the
        last one; whether it was written."""
        frame = np.asarray(rgb)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"a frame must be H x W x 3 uint8, got {frame.shape} {frame.dtype}")
        now = self._clock()
        with self._lock:
            if not self._recording or not self._due(now):
                return False
            if self._size is None:
                self._size = (frame.shape[1], frame.shape[0])
            if (frame.shape[1], frame.shape[0]) != self._size:
                frame = cv2.resize(frame, self._size, interpolation=cv2.INTER_AREA)
            if self._writer is None:
                self._writing = self.folder / f"clip-{len(self._clips) + 1:03d}.mp4"
                self._writer = self._open(self._writing)
            self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            self._frames += 1
            return True

    def video_path(self) -> Path | None:
        """`episode.mp4` with every frame recorded so far (None when there is none).

        Finishes the open clip first; rebuilds the file only when clips were added since the
        last build, writing it aside and moving it in place, so a download in progress of the
        previous version is never cut.
        """
        with self._lock:
            self._finish_clip()
            clips = tuple(self._clips)
        if not clips:
            return None
        out = self.folder / VIDEO_NAME
        with self._build_lock:
            if clips != self._built:
                partial = self.folder / f".partial-{VIDEO_NAME}"
                self._concatenate(clips, partial)
                os.replace(partial, out)
                self._built = clips
        return out

    def close(self) -> None:
        """Finish the open clip and close the log (safe to call more than once); the video
        stays available through `video_path()`."""
        with self._lock:
            self._recording = False
            self._finish_clip()
            if not self._closed:
                self._closed = True
                self._log.close()

    # -- helpers (called with the lock held) ---------------------------------------------------
    def _due(self, now: float) -> bool:
        """Whether a frame at `now` keeps the video within `fps`. Frames are due on a grid one
        period apart, with a quarter period of slack for jitter; a frame more than a period
        late (after a pause, or from a slower feed) starts the grid again from itself."""
        period = 1.0 / self.fps
        if now < self._next_due - period / 4:
            return False
        on_grid = now - self._next_due < period
        self._next_due = self._next_due + period if on_grid else now + period
        return True

    def _open(self, path: Path) -> Any:
        assert self._size is not None
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*FOURCC), self.fps, self._size)
        if not writer.isOpened():
            raise MediaError(f"{path}: OpenCV cannot open an mp4 writer")
        return writer

    def _finish_clip(self) -> None:
        if self._writer is not None and self._writing is not None:
            self._writer.release()
            self._clips.append(self._writing)
            self._writer = self._writing = None

    def _concatenate(self, clips: tuple[Path, ...], out: Path) -> None:
        """Write the frames of `clips`, in order, to one mp4 (frames already BGR, one size)."""
        assert self._size is not None
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*FOURCC), self.fps, self._size)
        if not writer.isOpened():
            raise MediaError(f"{out}: OpenCV cannot open an mp4 writer")
        try:
            for clip in clips:
                capture = cv2.VideoCapture(str(clip))
                try:
                    ok, frame = capture.read()
                    while ok:
                        writer.write(frame)
                        ok, frame = capture.read()
                finally:
                    capture.release()
        finally:
            writer.release()


def _plain(value: Any) -> Any:
    """A JSON-ready stand-in for a value `json` cannot write."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return str(value)
