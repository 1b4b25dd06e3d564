"""Real cameras: sources behind one interface, their calibration, and checking what they see.

- `CameraSource` (base.py): `capture(camera) -> CameraFrame`, like the Robot protocol's, for a
  USB camera (uvc.py), a RealSense (realsense.py, the `realsense` extra) or a recording
  (recorded.py: an image folder or a video file). `open_source("uvc:0", "cam.yaml")` opens one
  by its spec string (spec.py).
- `CameraCalibration` (calibration.py): the versioned file of intrinsics, distortion and the
  camera's pose in the table frame that a source loads; written by `calibrate_intrinsics`
  (intrinsics.py), `calibrate_extrinsics` (extrinsics.py: a board on the table) and
  `calibrate_hand_eye` (handeye.py: a marker in the gripper).
- A colour-only camera's frames carry the table plane's depth (`table_plane_depth`,
  geometry.py) and its source says so (`depth_from_table_plane`).

Nothing here imports the simulator; `robot_llm.envs.targets` renders boards for the tests.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The public names, loaded on first use: `robot-llm --help` registers the camera commands
# without loading OpenCV.
_WHERE = {
    "CameraError": "base",
    "CameraFault": "base",
    "CameraSource": "base",
    "EndOfRecording": "base",
    "Board": "boards",
    "BoardView": "boards",
    "parse_board": "boards",
    "CalibrationError": "calibration",
    "CameraCalibration": "calibration",
    "load_calibration": "calibration",
    "save_calibration": "calibration",
    "table_plane_depth": "geometry",
    "open_source": "spec",
    "open_table_camera": "spec",
    "parse_source": "spec",
}

if TYPE_CHECKING:
    from robot_llm.cameras.base import CameraError, CameraFault, CameraSource, EndOfRecording
    from robot_llm.cameras.boards import Board, BoardView, parse_board
    from robot_llm.cameras.calibration import (
        CalibrationError,
        CameraCalibration,
        load_calibration,
        save_calibration,
    )
    from robot_llm.cameras.geometry import table_plane_depth
    from robot_llm.cameras.spec import open_source, open_table_camera, parse_source


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = [
    "Board",
    "BoardView",
    "CalibrationError",
    "CameraCalibration",
    "CameraError",
    "CameraFault",
    "CameraSource",
    "EndOfRecording",
    "load_calibration",
    "open_source",
    "open_table_camera",
    "parse_board",
    "parse_source",
    "save_calibration",
    "table_plane_depth",
]
