"""Hand-eye calibration for a fixed camera: a marker held in the gripper at known arm poses.

At arm pose i the gripper is at `table_from_gripper[i]` (the robot's forward kinematics) and the
camera sees the marker at `camera_from_marker[i]` (`extrinsics.board_pose`). With X the camera's
pose in the table and Y the marker's pose in the gripper, every pose satisfies

    table_from_gripper[i] @ Y = X @ camera_from_marker[i]

(OpenCV's `calibrateRobotWorldHandEye` problem). Motions between two poses i, j give
A X = X B with A = G_j G_i^-1 and B = C_j C_i^-1. X's rotation comes from the rotation axes of
those motions (Park and Martin, 1994), its translation from linear least squares; Y follows,
and both are refined together on all poses by nonlinear least squares (scipy).

This is numpy and scipy rather than OpenCV: the Python build of OpenCV 5.0 this project pins
does not export `calibrateHandEye` / `calibrateRobotWorldHandEye` (their flags are there, the
functions are not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import cv2
import numpy as np

from robot_llm.cameras.boards import BoardView
from robot_llm.cameras.calibration import CalibrationError, CameraCalibration
from robot_llm.cameras.geometry import invert_pose, pose_matrix

MIN_POSES = 3
# Weight of one radian of rotation residual against one meter of position residual in the
# refinement: 0.1 m, about a marker's distance from the wrist.
RADIAN_METERS = 0.1


@dataclass(frozen=True)
class HandEyeResult:
    """The camera's pose in the table frame, the marker's in the gripper, and how well every
    pose agrees with them: RMS position (mm) and rotation (degrees) by which each pose's
    loop, gripper then marker against camera then marker, fails to close; and, when refined on
    pixels, the marker corners' RMS reprojection error."""

    table_from_camera: np.ndarray
    gripper_from_marker: np.ndarray
    rms_position_mm: float
    rms_rotation_deg: float
    rms_px: float | None = None


def calibrate_hand_eye(
    table_from_gripper: Sequence[np.ndarray],
    camera_from_marker: Sequence[np.ndarray],
    views: Sequence[BoardView] | None = None,
    calibration: CameraCalibration | None = None,
) -> HandEyeResult:
    """Solve for a fixed camera's pose and the marker's offset on the gripper (module doc).

    With the marker's `views` (its corners in each image) and the camera's `calibration`, the
    result is refined on the corners' pixels, which weighs every measurement as the camera made
    it: a small marker's position is measured far better than its rotation. Needs at least
    three poses whose gripper rotations differ about at least two axes; `CalibrationError`
    otherwise.
    """
    gripper = [np.asarray(g, float) for g in table_from_gripper]
    marker = [np.asarray(c, float) for c in camera_from_marker]
    if len(gripper) != len(marker):
        raise CalibrationError(f"{len(gripper)} arm poses but {len(marker)} marker poses")
    if len(gripper) < MIN_POSES:
        raise CalibrationError(f"hand-eye needs at least {MIN_POSES} poses, got {len(gripper)}")
    x = _solve_ax_xb(gripper, marker)
    y = _mean_pose([invert_pose(g) @ x @ c for g, c in zip(gripper, marker, strict=True)])
    x, y = _refine(gripper, marker, x, y)
    rms_px = None
    if views is not None and calibration is not None:
        if len(views) != len(gripper):
            raise CalibrationError(f"{len(gripper)} arm poses but {len(views)} marker views")
        x, y, rms_px = _refine_on_pixels(gripper, list(views), calibration, x, y)
    pos, rot = _residuals(gripper, marker, x, y)
    return HandEyeResult(
        x,
        y,
        float(np.sqrt(np.mean(pos**2))) * 1000,
        float(np.degrees(np.sqrt(np.mean(rot**2)))),
        rms_px,
    )


def _log_rotation(rot: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.Rodrigues(np.ascontiguousarray(rot))[0]).ravel()


def _solve_ax_xb(gripper: list[np.ndarray], marker: list[np.ndarray]) -> np.ndarray:
    alphas, betas, motions = [], [], []
    for i, j in combinations(range(len(gripper)), 2):
        a = gripper[j] @ invert_pose(gripper[i])
        b = marker[j] @ invert_pose(marker[i])
        alphas.append(_log_rotation(a[:3, :3]))
        betas.append(_log_rotation(b[:3, :3]))
        motions.append((a, b))
    alpha, beta = np.array(alphas), np.array(betas)
    if np.linalg.matrix_rank(alpha, tol=1e-3) < 2:
        raise CalibrationError("hand-eye: the gripper must turn about at least two different axes")
    # Kabsch: the rotation taking each motion's axis seen by the camera to the arm's.
    u, _, vt = np.linalg.svd(beta.T @ alpha)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    lhs = np.concatenate([a[:3, :3] - np.eye(3) for a, _ in motions])
    rhs = np.concatenate([rot @ b[:3, 3] - a[:3, 3] for a, b in motions])
    t = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    return pose_matrix(rot, t)


def _mean_pose(poses: list[np.ndarray]) -> np.ndarray:
    u, _, vt = np.linalg.svd(sum(p[:3, :3] for p in poses))
    rot = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt
    return pose_matrix(rot, np.mean([p[:3, 3] for p in poses], axis=0))


def _residuals(
    gripper: list[np.ndarray], marker: list[np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    pos, rot = [], []
    for g, c in zip(gripper, marker, strict=True):
        lhs, rhs = g @ y, x @ c
        pos.append(np.linalg.norm(lhs[:3, 3] - rhs[:3, 3]))
        rot.append(np.linalg.norm(_log_rotation(lhs[:3, :3].T @ rhs[:3, :3])))
    return np.array(pos), np.array(rot)


def _refine(
    gripper: list[np.ndarray], marker: list[np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    from scipy.optimize import least_squares

    def cost(params: np.ndarray) -> np.ndarray:
        xx, yy = _unpack(params)
        out = []
        for g, c in zip(gripper, marker, strict=True):
            lhs, rhs = g @ yy, xx @ c
            out.append(lhs[:3, 3] - rhs[:3, 3])
            out.append(RADIAN_METERS * _log_rotation(lhs[:3, :3].T @ rhs[:3, :3]))
        return np.concatenate(out)

    start = _pack(x, y)
    result = least_squares(cost, start, method="lm", xtol=1e-12, ftol=1e-12)
    return _unpack(result.x)


def _refine_on_pixels(
    gripper: list[np.ndarray],
    views: list[BoardView],
    calibration: CameraCalibration,
    x: np.ndarray,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, float]:
    """X and Y minimizing the marker corners' reprojection error over all poses, and that
    error (RMS, pixels)."""
    from scipy.optimize import least_squares

    k = np.asarray(calibration.camera_matrix, float)
    dist = np.asarray(calibration.distortion, float)

    def cost(params: np.ndarray) -> np.ndarray:
        xx, yy = _unpack(params)
        camera_from_table = invert_pose(xx)
        out = []
        for g, view in zip(gripper, views, strict=True):
            pose = camera_from_table @ g @ yy
            rvec = cv2.Rodrigues(np.ascontiguousarray(pose[:3, :3]))[0]
            uv, _ = cv2.projectPoints(
                view.object_points.astype(np.float64), rvec, pose[:3, 3], k, dist
            )
            out.append((uv.reshape(-1, 2) - view.image_points).ravel())
        return np.concatenate(out)

    start = _pack(x, y)
    result = least_squares(cost, start, method="lm", xtol=1e-12, ftol=1e-12)
    x, y = _unpack(result.x)
    residual = result.fun.reshape(-1, 2)
    return x, y, float(np.sqrt(np.mean(np.sum(residual**2, axis=1))))


def _pack(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.concatenate([_log_rotation(x[:3, :3]), x[:3, 3], _log_rotation(y[:3, :3]), y[:3, 3]])


def _unpack(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return pose_matrix(params[0:3], params[3:6]), pose_matrix(params[6:9], params[9:12])
