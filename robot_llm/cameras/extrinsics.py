"""Extrinsic calibration: the camera's pose in the table frame from a board lying on the table.

The board (ChArUco or an ArUco grid: every corner identified, so the pose is unambiguous) lies
at one or more poses the user measured, `table_from_board`. Its corners, put in the table frame
through those poses, and their pixels give the table's pose in the camera (`cv2.solvePnP`,
refined by Levenberg-Marquardt), and so the camera's pose in the table.

The pose is solved with the intrinsics as calibrated. The focal length is what sets the
camera's distance (a focal length e% off moves the camera e% of its distance along its axis),
and the reprojection error hardly shows an error there, so the placements' corners are also
used to check it (`focal_check`): they lie on one plane seen obliquely, which fixes a common
focal scale together with the pose, only far more loosely than intrinsic calibration does: one
standard deviation of 0.25-1.1% for three A3 placements 1.25 m away (0.5-1.6% for one), and
it strays up to 3.4 of them, against about 0.1% from 20 views of a hand-held board. Solving
the pose with that scale put the camera up to 19 mm off where the calibrated focal length gave
2.5 mm (benchmarks/calibration.py, tune split, three placements), and weighting the two by
their standard deviations moved the worst trial by 0.1 mm. So the scale is reported, and a
focal length it contradicts grossly (FOCAL_WARN_FRACTION) is warned about, but the pose never
uses it.
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
# focal_check: a scale is only reported when the placements pin it to this (one standard
# deviation), and warned about when it is further from 1 than both FOCAL_WARN_SIGMAS standard
# deviations and FOCAL_WARN_FRACTION.
# The implied scale strays further than its standard deviation says: on held-out trials of
# benchmarks/calibration.py it was up to 1.5% from the true focal length with three placements
# and 3.5% with one, so a 1% limit warned falsely in 2 of 20 trials; hence 5% (about 6 cm of
# camera distance at 1.25 m: a gross error, such as intrinsics for another image size or zoom).
FOCAL_CHECK_MAX_SD = 0.02
FOCAL_WARN_SIGMAS = 4.0
FOCAL_WARN_FRACTION = 0.05


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


@dataclass(frozen=True)
class FocalCheck:
    """The common focal scale (fx and fy both times `scale`, principal point and distortion as
    calibrated) that best fits the placements' corners together with the pose, its standard
    deviation, and the RMS reprojection error with it."""

    scale: float
    sd: float
    rms_px: float

    @property
    def disagrees(self) -> bool:
        """Whether the placements contradict the calibrated focal length (FOCAL_WARN_*)."""
        off = abs(self.scale - 1.0)
        return off > FOCAL_WARN_SIGMAS * self.sd and off > FOCAL_WARN_FRACTION

    def describe(self) -> dict[str, float]:
        return {
            "scale": round(self.scale, 5),
            "sd": round(self.sd, 5),
            "rms_px": round(self.rms_px, 4),
        }


def focal_check(
    object_points: np.ndarray,
    image_points: np.ndarray,
    calibration: CameraCalibration,
    camera_from_points: np.ndarray,
    iterations: int = 50,
) -> FocalCheck | None:
    """The focal scale the points imply, fitted with their pose by Levenberg-Marquardt from
    `camera_from_points` (the fixed-intrinsics pose); None when they do not pin it down to
    FOCAL_CHECK_MAX_SD (a small board seen nearly face-on, points close to a line)."""
    obj = np.asarray(object_points, np.float64).reshape(-1, 3)
    img = np.asarray(image_points, np.float64).reshape(-1, 2)
    if len(obj) < MIN_POINTS:
        return None
    k0 = np.asarray(calibration.camera_matrix, float)
    dist = np.asarray(calibration.distortion, float)
    rvec = cv2.Rodrigues(np.asarray(camera_from_points, float)[:3, :3])[0].ravel()
    x = np.concatenate([rvec, np.asarray(camera_from_points, float)[:3, 3], [0.0]])

    def residuals(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = k0.copy()
        k[0, 0] *= np.exp(x[6])
        k[1, 1] *= np.exp(x[6])
        projected, jac = cv2.projectPoints(obj, x[:3], x[3:6], k, dist)
        jacobian = np.empty((2 * len(obj), 7))
        jacobian[:, :6] = jac[:, :6]
        jacobian[:, 6] = jac[:, 6] * k[0, 0] + jac[:, 7] * k[1, 1]  # d / d log(scale)
        return (projected.reshape(-1, 2) - img).ravel(), jacobian

    r, jac = residuals(x)
    cost, damping = float(r @ r), 1e-3
    for _ in range(iterations):
        normal = jac.T @ jac
        step = np.linalg.solve(normal + damping * np.diag(np.diag(normal)), -jac.T @ r)
        r_new, jac_new = residuals(x + step)
        if float(r_new @ r_new) < cost:
            x, r, jac, cost = x + step, r_new, jac_new, float(r_new @ r_new)
            damping *= 0.3
            if np.max(np.abs(step)) < 1e-10:
                break
        else:
            damping *= 10.0
            if damping > 1e8:
                break
    dof = len(r) - 7
    try:
        covariance = np.linalg.inv(jac.T @ jac) * (cost / dof)
    except np.linalg.LinAlgError:
        return None
    scale = float(np.exp(x[6]))
    sd = scale * float(np.sqrt(max(covariance[6, 6], 0.0)))
    if not sd <= FOCAL_CHECK_MAX_SD:
        return None
    return FocalCheck(scale, sd, float(np.sqrt(cost / len(obj))))


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
    seen or the reprojection error exceeds `max_rms_px`. The extrinsics info holds the focal
    check (`focal_check`; `focal_from_placements`, absent when the placements do not pin the
    focal length down); the pose always uses the calibration's intrinsics.
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
    all_obj, all_img = np.concatenate(obj), np.concatenate(img)
    fit = solve_pose(all_obj, all_img, calibration)
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
    check = focal_check(all_obj, all_img, calibration, fit.camera_from_board)
    if check is not None:
        info["focal_from_placements"] = check.describe()
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
