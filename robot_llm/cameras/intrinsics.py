"""Intrinsic calibration: camera matrix and lens distortion from views of a board (OpenCV).

Views come from images of a chessboard or ChArUco board held at varied distances and tilts.
`calibrate_intrinsics` runs `cv2.calibrateCamera`, drops views that disagree with the rest
(a blurred or misdetected image), calibrates again, and refuses, with one line saying why,
when too few views were usable or the RMS reprojection error is too large.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from robot_llm.cameras.boards import Board, BoardView
from robot_llm.cameras.calibration import CalibrationError, CameraCalibration

MAX_RMS_PX = 1.0  # refuse a calibration whose RMS reprojection error is larger (pixels)
MIN_VIEWS = 8
# A view is dropped when its own error is this many times the median view's (and over 0.5 px).
OUTLIER_RATIO = 3.0
# Two radial terms (k1, k2); k3 and the tangential terms p1, p2 stay 0 unless asked for. k3
# overfits when the views do not reach the image corners, and p1, p2 trade off against the
# principal point: on rendered boards, fitting them moved it by up to 4 px, against 1 px without
# (tune split of benchmarks/calibration.py). Modern lenses have next to no tangential distortion.
FLAGS = cv2.CALIB_FIX_K3 | cv2.CALIB_ZERO_TANGENT_DIST


class CalibrationRefused(CalibrationError):
    """A calibration that ran but is not good enough to use; one line with the numbers."""


@dataclass(frozen=True)
class IntrinsicsResult:
    """A calibration and how well it fits: RMS over all points, each view's RMS, and which of
    the views given were used."""

    calibration: CameraCalibration
    rms_px: float
    view_errors_px: tuple[float, ...]  # per used view
    used: tuple[int, ...]  # indices into the views given
    dropped: tuple[int, ...]  # views left out as outliers


def calibrate_intrinsics(
    views: Sequence[BoardView | None],
    image_size: tuple[int, int],
    board: Board,
    max_rms_px: float = MAX_RMS_PX,
    min_views: int = MIN_VIEWS,
    tangential: bool = False,
) -> IntrinsicsResult:
    """Calibrate from the board's views (None: the board was not found in that image);
    `tangential` fits the tangential distortion terms too (see FLAGS).

    Raises `CalibrationRefused` when fewer than `min_views` views are usable or the RMS
    reprojection error exceeds `max_rms_px`.
    """
    flags = FLAGS & ~cv2.CALIB_ZERO_TANGENT_DIST if tangential else FLAGS
    found = {i: v for i, v in enumerate(views) if v is not None and len(v) >= 6}
    usable = list(found)
    if len(usable) < min_views:
        raise CalibrationRefused(
            f"refused: the board was found in {len(usable)} of {len(views)} images; "
            f"at least {min_views} needed (vary distance and tilt, keep the board sharp)"
        )
    rms, k, dist, errors = _calibrate([found[i] for i in usable], image_size, flags)
    median = float(np.median(errors))
    keep = [j for j, e in enumerate(errors) if e <= max(OUTLIER_RATIO * median, 0.5)]
    dropped = tuple(usable[j] for j in range(len(usable)) if j not in keep)
    if dropped and len(keep) >= min_views:
        usable = [usable[j] for j in keep]
        rms, k, dist, errors = _calibrate([found[i] for i in usable], image_size, flags)
    else:
        dropped = ()
    if not rms <= max_rms_px:
        raise CalibrationRefused(
            f"refused: RMS reprojection error {rms:.2f} px is over {max_rms_px:g} px "
            f"({len(usable)} views); check the board spec and its printed size, or retake "
            "blurred views"
        )
    info = {
        "method": board.spec,
        "rms_px": round(float(rms), 4),
        "views": len(usable),
        "distortion_model": "k1 k2 p1 p2" if tangential else "k1 k2",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    calibration = CameraCalibration(image_size, k, dist.ravel(), info)
    return IntrinsicsResult(calibration, float(rms), tuple(errors), tuple(usable), dropped)


def _calibrate(
    views: Sequence[BoardView], image_size: tuple[int, int], flags: int
) -> tuple[float, np.ndarray, np.ndarray, list[float]]:
    obj = [v.object_points.reshape(-1, 1, 3) for v in views]
    img = [v.image_points.reshape(-1, 1, 2) for v in views]
    criteria = (cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 100, 1e-9)
    rms, k, dist, rvecs, tvecs = cv2.calibrateCamera(
        obj, img, image_size, None, None, flags=flags, criteria=criteria
    )
    errors = []
    for o, i, r, t in zip(obj, img, rvecs, tvecs, strict=True):
        projected, _ = cv2.projectPoints(o, r, t, k, dist)
        errors.append(float(np.sqrt(np.mean(np.sum((projected - i) ** 2, axis=2)))))
    return float(rms), k, dist, errors
