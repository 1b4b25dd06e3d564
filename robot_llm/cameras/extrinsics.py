"""Extrinsic calibration: the camera's pose in the table frame from a board lying on the table.

The board (ChArUco or an ArUco grid: every corner identified, so the pose is unambiguous) lies
at one or more poses the user measured, `table_from_board`. Its corners, put in the table frame
through those poses, and their pixels give the table's pose in the camera (`cv2.solvePnP`,
refined by Levenberg-Marquardt), and so the camera's pose in the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from robot_llm.cameras.boards import Board, BoardView
from robot_llm.cameras.calibration import CalibrationError, CameraCalibration
from robot_llm.cameras.geometry import board_on_table, invert_pose, pose_matrix
from robot_llm.cameras.intrinsics import CalibrationRefused
from robot_llm.errors import read_user_file

MAX_RMS_PX = 1.0
MIN_POINTS = 8


@dataclass(frozen=True)
class BoardPose:
    """A board's pose in a camera (camera_from_board, 4 x 4) and its RMS reprojection error."""

    camera_from_board: np.ndarray
    rms_px: float
    points: int


@dataclass(frozen=True)
class Placement:
    """One place the board was put on the table, at a measured pose, and the frames the camera
    took of it there (None: the board was not found in that frame)."""

    table_from_board: np.ndarray
    views: Sequence[BoardView | None]


def solve_pose(
    object_points: np.ndarray, image_points: np.ndarray, calibration: CameraCalibration
) -> BoardPose:
    """The pose in the camera of the frame `object_points` (N x 3) are given in, from their
    pixels: OpenCV's IPPE for planar points (iterative otherwise), refined by
    Levenberg-Marquardt; with the RMS reprojection error."""
    obj = np.asarray(object_points, np.float64).reshape(-1, 3)
    img = np.asarray(image_points, np.float64).reshape(-1, 2)
    k, dist = np.asarray(calibration.camera_matrix, float), np.asarray(calibration.distortion)
    planar = np.ptp(obj[:, 2]) < 1e-9
    flags = cv2.SOLVEPNP_IPPE if planar else cv2.SOLVEPNP_ITERATIVE
    ok, rvec, tvec = cv2.solvePnP(obj, img, k, dist, flags=flags)
    if not ok and planar:
        ok, rvec, tvec = cv2.solvePnP(obj, img, k, dist, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        raise CalibrationRefused("refused: OpenCV found no pose fitting these corners")
    criteria = (cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 100, 1e-12)
    rvec, tvec = cv2.solvePnPRefineLM(obj, img, k, dist, rvec, tvec, criteria=criteria)
    projected, _ = cv2.projectPoints(obj, rvec, tvec, k, dist)
    rms = float(np.sqrt(np.mean(np.sum((projected.reshape(-1, 2) - img) ** 2, axis=1))))
    return BoardPose(pose_matrix(rvec, tvec), rms, len(obj))


def board_pose(views: Sequence[BoardView], calibration: CameraCalibration) -> BoardPose:
    """The pose of a static board seen in one or more frames of a fixed camera (all views'
    points solved together), with the RMS reprojection error over them."""
    obj = np.concatenate([v.object_points for v in views])
    img = np.concatenate([v.image_points for v in views])
    return solve_pose(obj, img, calibration)


def calibrate_extrinsics(
    placements: Sequence[Placement],
    calibration: CameraCalibration,
    board: Board,
    max_rms_px: float = MAX_RMS_PX,
) -> tuple[CameraCalibration, BoardPose]:
    """The calibration with the camera's pose in the table frame added, from frames of `board`
    lying on the table at one or more measured placements.

    Every corner seen is put in the table frame through its placement's pose and one pose is
    solved for all of them: boards at several places spread the points over the workspace,
    which pins the camera's rotation down far better than one board does. The returned
    BoardPose is the table's pose in the camera. `CalibrationRefused` when too few corners were
    seen or the reprojection error exceeds `max_rms_px`.
    """
    if not board.identifies_corners:
        raise CalibrationError(
            f"board {board.spec}: a chessboard's pose is ambiguous; use a charuco or aruco board"
        )
    obj, img, frames, seen = [], [], 0, 0
    for placement in placements:
        pose = np.asarray(placement.table_from_board, float)
        for view in placement.views:
            frames += 1
            if view is None:
                continue
            seen += 1
            obj.append(view.object_points.astype(np.float64) @ pose[:3, :3].T + pose[:3, 3])
            img.append(view.image_points)
    points = sum(len(o) for o in obj)
    if points < MIN_POINTS:
        raise CalibrationRefused(
            f"refused: the board was found in {seen} of {frames} frames "
            f"({points} corners; at least {MIN_POINTS} needed)"
        )
    fit = solve_pose(np.concatenate(obj), np.concatenate(img), calibration)
    if not fit.rms_px <= max_rms_px:
        raise CalibrationRefused(
            f"refused: RMS reprojection error {fit.rms_px:.2f} px is over {max_rms_px:g} px; "
            "check the board spec, its printed size, the board poses and the intrinsics"
        )
    info = {
        "method": f"board {board.spec}",
        "rms_px": round(fit.rms_px, 4),
        "placements": [describe_placement(p.table_from_board) for p in placements],
        "frames": seen,
        "points": fit.points,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return calibration.with_pose(invert_pose(fit.camera_from_board), info), fit


def describe_placement(table_from_board: np.ndarray) -> dict[str, Any]:
    """A board pose as a pose file writes it: x, y, z, yaw_deg for a board lying face up, else
    the 4 x 4 `table_from_board`."""
    pose = np.asarray(table_from_board, float)
    yaw = float(np.degrees(np.arctan2(pose[1, 0], pose[0, 0])))
    x, y, z = (round(float(v), 6) for v in pose[:3, 3])
    if np.allclose(pose, board_on_table(x, y, yaw, z), atol=1e-6):
        return {"x": x, "y": y, "z": z, "yaw_deg": round(yaw, 4)}
    return {"table_from_board": [[float(v) for v in row] for row in pose]}


@dataclass(frozen=True)
class PlacementSpec:
    """A board placement as a pose file gives it: the pose, and the folder of frames taken
    there (None: frames come from the camera named on the command line)."""

    table_from_board: np.ndarray
    images: Path | None = None


def load_placements(path: str | Path) -> list[PlacementSpec]:
    """A board pose file (YAML): one placement, or `placements:`, a list of them, each with an
    `images` folder (relative to the file). A placement is `x`, `y`, optional `z` and `yaw_deg`
    of a board lying face up (`geometry.board_on_table`), or `table_from_board`, 4 x 4."""
    path = Path(path)
    try:
        data = yaml.safe_load(read_user_file(path, CalibrationError))
    except yaml.YAMLError as err:
        raise CalibrationError(f"{path}: not valid YAML: {' '.join(str(err).split())}") from None
    if isinstance(data, Mapping) and "placements" in data:
        items = data["placements"]
        if set(data) != {"placements"} or not isinstance(items, list) or not items:
            raise CalibrationError(f"{path}: placements must be a non-empty list, alone")
        out = []
        for i, item in enumerate(items):
            where = f"{path}: placement {i + 1}"
            if not isinstance(item, Mapping) or not item.get("images"):
                raise CalibrationError(f"{where}: needs an images folder")
            pose = board_pose_from_mapping({k: v for k, v in item.items() if k != "images"}, where)
            out.append(PlacementSpec(pose, path.parent / str(item["images"])))
        return out
    return [PlacementSpec(board_pose_from_mapping(data, str(path)))]


def board_pose_from_mapping(data: Any, source: str) -> np.ndarray:
    """A board pose from `x`, `y`, `z`, `yaw_deg` or `table_from_board`; one-line errors."""
    if not isinstance(data, Mapping):
        raise CalibrationError(f"{source}: expected x, y, yaw_deg or table_from_board")
    if "table_from_board" in data:
        pose = np.asarray(data["table_from_board"], dtype=float)
        rigid = pose.shape == (4, 4) and np.allclose(
            pose[:3, :3] @ pose[:3, :3].T, np.eye(3), 0, 1e-4
        )
        if set(data) != {"table_from_board"} or not rigid:
            raise CalibrationError(f"{source}: table_from_board must be a rigid 4 x 4 pose, alone")
        return pose
    unknown = sorted(set(data) - {"x", "y", "z", "yaw_deg"})
    if unknown or not {"x", "y"} <= set(data):
        raise CalibrationError(f"{source}: expected x, y, optional z and yaw_deg (meters, degrees)")
    try:
        x, y = float(data["x"]), float(data["y"])
        z, yaw = float(data.get("z", 0.0)), float(data.get("yaw_deg", 0.0))
    except (TypeError, ValueError):
        raise CalibrationError(f"{source}: x, y, z and yaw_deg must be numbers") from None
    return board_on_table(x, y, yaw, z)
