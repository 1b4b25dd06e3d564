"""USB / UVC cameras (webcams, industrial USB cameras) through OpenCV's VideoCapture.

A reader thread keeps only the newest image, so `capture` returns a fresh frame rather than one
that waited in the driver's queue while the arm moved. These cameras measure no depth.
"""

from __future__ import annotations

import sys
import threading
import time

import cv2
import numpy as np

from robot_llm.cameras.base import CameraError, CameraFault
from robot_llm.cameras.calibration import CameraCalibration
from robot_llm.cameras.frames import BuiltSource, FrameBuilder
from robot_llm.types import CameraFrame

FIRST_FRAME_TIMEOUT_S = 5.0
FRAME_TIMEOUT_S = 2.0
# Images skipped after opening: a webcam's first ones are dark or tinted while its automatic
# exposure and white balance settle.
WARMUP_FRAMES = 5


def open_video_capture(device: int | str) -> cv2.VideoCapture:
    """OpenCV's capture of a camera index or device path (V4L2 on Linux), quietly."""
    api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        return cv2.VideoCapture(device, api)
    finally:
        cv2.utils.logging.setLogLevel(previous)


class UvcSource(BuiltSource):
    """A USB camera by index (`uvc:0`) or device path (`uvc:/dev/video2`).

    `size` (width, height) and `fps` are asked of the camera; what it grants is checked against
    the calibration on the first frame. The first `warmup_frames` images are skipped.
    """

    def __init__(
        self,
        device: int | str,
        calibration: CameraCalibration | None = None,
        size: tuple[int, int] | None = None,
        fps: float | None = None,
        warmup_frames: int = WARMUP_FRAMES,
    ) -> None:
        self._name = f"uvc:{device}"
        self.device = device
        self.cap = open_video_capture(device)
        if not self.cap.isOpened():
            raise CameraError(f"{self._name}: no camera there (OpenCV could not open it)")
        if size is None and calibration is not None:
            size = calibration.image_size
        if size is not None:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        if fps is not None:
            self.cap.set(cv2.CAP_PROP_FPS, fps)
        self.builder = FrameBuilder(self._name, calibration, measures_depth=False)
        self._cond = threading.Condition()
        self._latest: tuple[np.ndarray, float, int] | None = None
        self._served = warmup_frames  # sequence number of the last image handed out
        self._failed: str | None = None
        self._running = True
        self._thread = threading.Thread(target=self._read, name=self._name, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        sequence = 0
        while self._running:
            ok, bgr = self.cap.read()
            stamp = time.time()
            with self._cond:
                if not ok:
                    self._failed = "the camera stopped delivering images"
                    self._cond.notify_all()
                    return
                sequence += 1
                self._latest = (bgr, stamp, sequence)
                self._cond.notify_all()

    def capture(self, camera: str = "main") -> CameraFrame:
        timeout = FRAME_TIMEOUT_S if self._latest is not None else FIRST_FRAME_TIMEOUT_S
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._latest is None or self._latest[2] <= self._served:
                if self._failed is not None:
                    raise CameraFault(f"{self._name}: {self._failed}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CameraFault(f"{self._name}: no image in {timeout:g} s")
                self._cond.wait(left)
            bgr, stamp, self._served = self._latest
        return self.builder.build(np.ascontiguousarray(bgr[:, :, ::-1]), None, stamp, camera)

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=FRAME_TIMEOUT_S)
        if not self._thread.is_alive():  # never release under a read that is still blocked
            self.cap.release()


def probe_indices(indices: range = range(10)) -> list[dict[str, object]]:
    """The cameras OpenCV opens at these indices, with the image size each gives first."""
    found: list[dict[str, object]] = []
    for index in indices:
        if sys.platform.startswith("linux"):
            from pathlib import Path

            if not Path(f"/dev/video{index}").exists():
                continue
        cap = open_video_capture(index)
        try:
            if not cap.isOpened():
                continue
            width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            found.append({"spec": f"uvc:{index}", "size": [width, height]})
        finally:
            cap.release()
    return found
