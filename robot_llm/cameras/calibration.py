"""The camera calibration file: intrinsics, distortion and the camera's pose in the table frame.

YAML (or JSON, by the file's suffix), versioned, documented in docs/cameras.md::

    format: robot-llm/camera-calibration
    version: 1
    image_size: [640, 480]            # width, height in pixels
    camera_matrix: [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]
    distortion: [k1, k2, p1, p2, k3]  # OpenCV's model; frames are undistorted with it
    intrinsics: {method: "charuco:...", rms_px: 0.21, views: 18, date: "..."}
    table_from_camera: [[...4 x 4...]]  # optional: camera pose (x right, y down, z forward)
    extrinsics: {method: "board charuco:...", rms_px: 0.3, date: "..."}

`calibrate-intrinsics` writes the first part; `calibrate-extrinsics` adds the pose to the same
file. A source loads it to give its frames intrinsics and extrinsics.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from robot_llm.errors import InputError, read_user_file

FORMAT = "robot-llm/camera-calibration"
VERSION = 1
KEYS = {
    "format",
    "version",
    "image_size",
    "camera_matrix",
    "distortion",
    "intrinsics",
    "table_from_camera",
    "extrinsics",
}


class CalibrationError(InputError):
    """A calibration file that cannot be used, or a calibration that was refused; one line."""


@dataclass(frozen=True)
class CameraCalibration:
    """What one camera's calibration file holds (see the module docstring)."""

    image_size: tuple[int, int]  # width, height
    camera_matrix: np.ndarray  # 3 x 3
    distortion: np.ndarray = field(default_factory=lambda: np.zeros(5))
    intrinsics_info: Mapping[str, Any] = field(default_factory=dict)
    table_from_camera: np.ndarray | None = None  # 4 x 4, or None before calibrate-extrinsics
    extrinsics_info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def has_pose(self) -> bool:
        return self.table_from_camera is not None

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(np.abs(self.distortion) > 1e-12))

    def with_pose(
        self, table_from_camera: np.ndarray, info: Mapping[str, Any]
    ) -> CameraCalibration:
        return replace(
            self, table_from_camera=np.asarray(table_from_camera, float), extrinsics_info=info
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "image_size": [int(v) for v in self.image_size],
            "camera_matrix": _rows(self.camera_matrix),
            "distortion": [float(v) for v in np.ravel(self.distortion)],
            "intrinsics": _plain(self.intrinsics_info),
        }
        if self.table_from_camera is not None:
            out["table_from_camera"] = _rows(self.table_from_camera)
            out["extrinsics"] = _plain(self.extrinsics_info)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "calibration") -> CameraCalibration:
        """Parse and check a calibration mapping; `CalibrationError` naming `source` and the
        field when something is wrong."""
        if not isinstance(d, Mapping):
            raise CalibrationError(f"{source}: expected a mapping of calibration fields")
        if d.get("format") != FORMAT:
            raise CalibrationError(f"{source}: not a camera calibration (format: {FORMAT})")
        if d.get("version") != VERSION:
            raise CalibrationError(
                f"{source}: calibration version {d.get('version')!r}; "
                f"this robot-llm reads version {VERSION}"
            )
        unknown = sorted(set(d) - KEYS)
        if unknown:
            raise CalibrationError(f"{source}: unknown field {unknown[0]!r}")
        size = _array(d, "image_size", (2,), source)
        if (size < 1).any() or (size != np.round(size)).any():
            raise CalibrationError(f"{source}: image_size must be two positive whole numbers")
        k = _array(d, "camera_matrix", (3, 3), source)
        if k[0, 0] <= 0 or k[1, 1] <= 0 or not np.allclose(k[2], [0, 0, 1]):
            raise CalibrationError(f"{source}: camera_matrix is not a pinhole matrix")
        dist = np.asarray(d.get("distortion", [0.0] * 5), dtype=float).ravel()
        if dist.size not in (4, 5, 8, 12, 14) or not np.isfinite(dist).all():
            raise CalibrationError(f"{source}: distortion must hold 4, 5, 8, 12 or 14 numbers")
        pose = None
        if d.get("table_from_camera") is not None:
            pose = _array(d, "table_from_camera", (4, 4), source)
            rot = pose[:3, :3]
            if not np.allclose(rot @ rot.T, np.eye(3), atol=1e-4) or np.linalg.det(rot) < 0:
                raise CalibrationError(f"{source}: table_from_camera is not a rigid pose")
        info = {}
        for key in ("intrinsics", "extrinsics"):
            value = d.get(key) or {}
            if not isinstance(value, Mapping):
                raise CalibrationError(f"{source}: {key} must be a mapping")
            info[key] = dict(value)
        return cls(
            (int(size[0]), int(size[1])), k, dist, info["intrinsics"], pose, info["extrinsics"]
        )


def load_calibration(path: str | Path) -> CameraCalibration:
    """Read a calibration file (YAML, or JSON for a .json suffix)."""
    path = Path(path)
    text = read_user_file(path, CalibrationError)
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise CalibrationError(f"{path}: not valid {_kind(path)}: {_first(err)}") from None
    return CameraCalibration.from_dict(data, str(path))


def save_calibration(calibration: CameraCalibration, path: str | Path) -> Path:
    """Write a calibration file (YAML, or JSON for a .json suffix); the path written."""
    path = Path(path)
    data = calibration.to_dict()
    if path.suffix.lower() == ".json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = "# robot-llm camera calibration (docs/cameras.md)\n" + "".join(
            _yaml_entry(key, value) for key, value in data.items()
        )
    path.write_text(text, encoding="utf-8")
    return path


def _yaml_entry(key: str, value: Any) -> str:
    """One top-level entry: a matrix one row a line, a vector on one line, the rest as YAML
    blocks (JSON's number lists are YAML flow sequences)."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return f"{key}:\n" + "".join(f"- {json.dumps(row)}\n" for row in value)
    if isinstance(value, list):
        return f"{key}: {json.dumps(value)}\n"
    return yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False, width=1000)


def _array(d: Mapping[str, Any], key: str, shape: tuple[int, ...], source: str) -> np.ndarray:
    if d.get(key) is None:
        raise CalibrationError(f"{source}: missing {key}")
    try:
        a = np.asarray(d[key], dtype=float)
    except (TypeError, ValueError):
        a = np.zeros(0)
    if a.shape != shape or not np.isfinite(a).all():
        dims = " x ".join(str(n) for n in shape)
        raise CalibrationError(f"{source}: {key} must be {dims} numbers")
    return a


def _rows(a: np.ndarray) -> list[list[float]]:
    return [[float(v) for v in row] for row in np.asarray(a, float)]


def _plain(info: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping with numpy scalars turned into Python numbers (YAML and JSON safe)."""
    return {str(k): (v.item() if hasattr(v, "item") else v) for k, v in info.items()}


def _kind(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "YAML"


def _first(err: Exception) -> str:
    return " ".join(str(err).split())
