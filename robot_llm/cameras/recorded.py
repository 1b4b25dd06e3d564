"""Recorded cameras: an image folder or a video file, replayed frame by frame.

Folder layout (what `FolderWriter` and `robot-llm camera record` write)::

    frames/
        calibration.yaml          # optional: loaded when no other calibration is given
        000000.png                # colour frames, replayed in name order (.png .jpg .jpeg .bmp)
        000000.depth.png          # optional: depth beside its frame, 16-bit millimetres, 0 = none
        000001.png
        ...

A folder either has a depth image beside every frame or none at all. A video file (anything
OpenCV's VideoCapture reads) has no depth. After the last frame a recording raises
`EndOfRecording`, or starts again with `loop=True`.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from robot_llm.cameras.base import CameraError, EndOfRecording
from robot_llm.cameras.calibration import CameraCalibration, load_calibration, save_calibration
from robot_llm.cameras.frames import BuiltSource, FrameBuilder
from robot_llm.types import CameraFrame

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
DEPTH_SUFFIX = ".depth.png"
CALIBRATION_NAMES = ("calibration.yaml", "calibration.yml", "calibration.json")
MM = 1000.0


def folder_images(folder: Path) -> list[Path]:
    """The colour frames of a folder, in name order (depth images left out)."""
    return sorted(
        f
        for f in folder.iterdir()
        if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.lower().endswith(DEPTH_SUFFIX)
    )


def depth_path(image: Path) -> Path:
    return image.with_name(image.name[: -len(image.suffix)] + DEPTH_SUFFIX)


def read_rgb(path: Path) -> np.ndarray:
    """An image file as RGB uint8; `CameraError` when it cannot be read."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise CameraError(f"{path}: not an image OpenCV can read")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def read_depth_mm(path: Path) -> np.ndarray:
    """A 16-bit millimetre depth PNG as metric float32 depth (0 stays 0: no depth)."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16 or raw.ndim != 2:
        raise CameraError(f"{path}: expected a single-channel 16-bit PNG of millimetres")
    return raw.astype(np.float32) / MM


def folder_calibration(folder: Path) -> CameraCalibration | None:
    """The calibration file kept in a recording's folder, if any."""
    for name in CALIBRATION_NAMES:
        if (folder / name).is_file():
            return load_calibration(folder / name)
    return None


class FolderSource(BuiltSource):
    """Frames from an image folder (see the module docstring), `fps` apart in time; calibrated
    by `calibration`, else by the folder's own calibration file when `own_calibration`."""

    def __init__(
        self,
        folder: str | Path,
        calibration: CameraCalibration | None = None,
        loop: bool = False,
        fps: float = 30.0,
        own_calibration: bool = True,
    ) -> None:
        self.folder = Path(folder)
        self._name = f"folder:{self.folder}"
        if not self.folder.is_dir():
            raise CameraError(f"{self._name}: no such folder")
        self.images = folder_images(self.folder)
        if not self.images:
            raise CameraError(f"{self._name}: no images ({', '.join(IMAGE_SUFFIXES)}) in it")
        with_depth = [depth_path(f).is_file() for f in self.images]
        if any(with_depth) and not all(with_depth):
            missing = self.images[with_depth.index(False)]
            raise CameraError(f"{self._name}: {missing.name} has no {DEPTH_SUFFIX} beside it")
        cal = calibration
        if cal is None and own_calibration:
            cal = folder_calibration(self.folder)
        self.builder = FrameBuilder(self._name, cal, measures_depth=all(with_depth))
        self.loop = loop
        self.fps = fps
        self.index = 0

    def __len__(self) -> int:
        return len(self.images)

    def capture(self, camera: str = "main") -> CameraFrame:
        if self.index >= len(self.images):
            if not self.loop:
                raise EndOfRecording(f"{self._name}: no more frames ({len(self.images)} read)")
            self.index = 0
        image = self.images[self.index]
        depth = read_depth_mm(depth_path(image)) if self.builder.measures_depth else None
        frame = self.builder.build(read_rgb(image), depth, self.index / self.fps, camera)
        self.index += 1
        return frame

    def close(self) -> None:
        self.index = len(self.images)


class VideoSource(BuiltSource):
    """Frames from a video file, through OpenCV's VideoCapture; no depth."""

    def __init__(
        self, path: str | Path, calibration: CameraCalibration | None = None, loop: bool = False
    ) -> None:
        self.path = Path(path)
        self._name = f"video:{self.path}"
        if not self.path.is_file():
            raise CameraError(f"{self._name}: no such file")
        self.capture_device = cv2.VideoCapture(str(self.path))
        if not self.capture_device.isOpened():
            raise CameraError(f"{self._name}: OpenCV cannot read this video")
        fps = float(self.capture_device.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if fps > 0 else 30.0
        self.builder = FrameBuilder(self._name, calibration, measures_depth=False)
        self.loop = loop
        self.index = 0

    def capture(self, camera: str = "main") -> CameraFrame:
        ok, bgr = self.capture_device.read()
        if not ok and self.loop and self.index > 0:
            self.capture_device.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self.index = 0
            ok, bgr = self.capture_device.read()
        if not ok:
            raise EndOfRecording(f"{self._name}: no more frames ({self.index} read)")
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        frame = self.builder.build(rgb, None, self.index / self.fps, camera)
        self.index += 1
        return frame

    def close(self) -> None:
        self.capture_device.release()


class FolderWriter:
    """Writes frames as a recording folder that `FolderSource` replays (the module docstring's
    layout), with depth beside each frame when `depth` is set."""

    def __init__(self, folder: str | Path, depth: bool = True) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.depth = depth
        self.count = 0

    def write(self, frame: CameraFrame) -> Path:
        """Write one frame; the colour image's path."""
        path = self.folder / f"{self.count:06d}.png"
        if not cv2.imwrite(str(path), np.ascontiguousarray(frame.rgb[:, :, ::-1])):
            raise CameraError(f"{path}: cannot write an image there")
        if self.depth:
            mm = np.clip(np.round(np.nan_to_num(frame.depth) * MM), 0, 65535).astype(np.uint16)
            cv2.imwrite(str(depth_path(path)), mm)
        self.count += 1
        return path

    def write_calibration(self, calibration: CameraCalibration) -> Path:
        return save_calibration(calibration, self.folder / CALIBRATION_NAMES[0])
