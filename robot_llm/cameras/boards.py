"""Calibration boards: chessboards, ChArUco and ArUco grids, named by one spec string.

A board spec says what is printed and how big it is, in meters:

- `chessboard:COLSxROWS:SQUARE`: COLS x ROWS inner corners (OpenCV's pattern size, e.g. 9x6),
  squares SQUARE meters wide. Intrinsics only: a chessboard looks the same turned half around,
  so its pose is ambiguous.
- `charuco:COLSxROWS:SQUARE:MARKER[:DICT]`: COLS x ROWS squares, ArUco markers MARKER meters wide
  inside the white squares. Every corner is identified, so views may show part of the board;
  good for both intrinsics and extrinsics.
- `aruco:COLSxROWS:MARKER:GAP[:DICT]`: a grid of COLS x ROWS markers with GAP meters between
  them (`aruco:1x1:0.05:0` is one marker); extrinsics and hand-eye.

DICT is an OpenCV dictionary name such as `DICT_5X5_100` (the default) or `DICT_4X4_50`.
Board frame (OpenCV's): origin at the board's top-left corner as printed, x to the right,
y down the printed page, z into the board; meters.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import cv2
import numpy as np

from robot_llm.errors import InputError

KINDS = ("chessboard", "charuco", "aruco")
DEFAULT_DICTIONARY = "DICT_5X5_100"
USAGE = (
    "chessboard:COLSxROWS:SQUARE, charuco:COLSxROWS:SQUARE:MARKER[:DICT] "
    "or aruco:COLSxROWS:MARKER:GAP[:DICT] (sizes in meters)"
)


class BoardError(InputError):
    """A board spec that cannot be used; one line."""


@dataclass(frozen=True)
class BoardView:
    """A board found in one image: matching board-frame points (N x 3) and pixels (N x 2)."""

    object_points: np.ndarray  # N x 3 float32, meters in the board frame
    image_points: np.ndarray  # N x 2 float32, pixels

    def __len__(self) -> int:
        return len(self.object_points)


@dataclass(frozen=True)
class Board:
    """A printed calibration target (see the module docstring for the spec strings)."""

    kind: str
    cols: int
    rows: int
    square: float  # chessboard / ChArUco square, or the ArUco marker size
    marker: float = 0.0  # ChArUco marker size, or the gap between ArUco grid markers
    dictionary: str = DEFAULT_DICTIONARY

    @property
    def spec(self) -> str:
        """The board's spec string (parses back to an equal board)."""
        size = f"{self.cols}x{self.rows}:{self.square:g}"
        if self.kind == "chessboard":
            return f"chessboard:{size}"
        return f"{self.kind}:{size}:{self.marker:g}:{self.dictionary}"

    @property
    def size_m(self) -> tuple[float, float]:
        """Width and height of the printed pattern (without any white margin), meters."""
        if self.kind == "chessboard":
            return ((self.cols + 1) * self.square, (self.rows + 1) * self.square)
        if self.kind == "charuco":
            return (self.cols * self.square, self.rows * self.square)
        step = self.square + self.marker
        return (self.cols * step - self.marker, self.rows * step - self.marker)

    @property
    def identifies_corners(self) -> bool:
        """Whether each detected point is known by id (any part of the board is a usable view,
        and the board's pose is unambiguous)."""
        return self.kind != "chessboard"

    @cached_property
    def _aruco(self) -> Any:
        d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        if self.kind == "charuco":
            return cv2.aruco.CharucoBoard((self.cols, self.rows), self.square, self.marker, d)
        return cv2.aruco.GridBoard((self.cols, self.rows), self.square, self.marker, d)

    @cached_property
    def _detector(self) -> Any:
        params = cv2.aruco.DetectorParameters()
        params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
        if self.kind == "charuco":
            return cv2.aruco.CharucoDetector(self._aruco, detectorParams=params)
        return cv2.aruco.ArucoDetector(self._aruco.getDictionary(), params)

    def image(self, pixels_per_square: int = 100, margin_squares: float = 0.5) -> np.ndarray:
        """A grayscale picture of the board to print or render, with a white margin
        `margin_squares` squares (markers, for ArUco grids) wide on every side."""
        ppm = pixels_per_square / self.square
        w, h = (round(s * ppm) for s in self.size_m)
        margin = round(margin_squares * pixels_per_square)
        if self.kind == "chessboard":
            y, x = np.mgrid[0:h, 0:w]
            cells = (x * (self.cols + 1) // w + y * (self.rows + 1) // h) % 2
            pattern = np.where(cells == 0, 0, 255).astype(np.uint8)
        else:
            pattern = self._aruco.generateImage((w, h), marginSize=0, borderBits=1)
        return cv2.copyMakeBorder(pattern, *(margin,) * 4, cv2.BORDER_CONSTANT, value=255)

    def object_points(self) -> np.ndarray:
        """Every detectable point of the board in the board frame (N x 3, float32)."""
        if self.kind == "chessboard":
            j, i = np.mgrid[0 : self.rows, 0 : self.cols]
            pts = np.stack([(i.ravel() + 1), (j.ravel() + 1), np.zeros(i.size)], 1) * self.square
            return pts.astype(np.float32)
        if self.kind == "charuco":
            return np.asarray(self._aruco.getChessboardCorners(), np.float32)
        return np.concatenate([np.asarray(c, np.float32) for c in self._aruco.getObjPoints()])

    def detect(self, image: np.ndarray) -> BoardView | None:
        """The board's points found in an RGB or grayscale image, or None when too few are
        (fewer than six, or a chessboard not seen whole)."""
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        gray = np.ascontiguousarray(gray, dtype=np.uint8)
        if self.kind == "chessboard":
            return self._detect_chessboard(gray)
        if self.kind == "charuco":
            corners, ids, _, _ = self._detector.detectBoard(gray)
            if ids is None or len(ids) < 6:
                return None
            obj, img = self._aruco.matchImagePoints(corners, ids)
        else:
            corners, ids, _ = self._detector.detectMarkers(gray)
            if ids is None or len(ids) == 0:
                return None
            obj, img = self._aruco.matchImagePoints(corners, ids)
        if obj is None or len(obj) < 6:
            return None
        return BoardView(
            obj.reshape(-1, 3).astype(np.float32), img.reshape(-1, 2).astype(np.float32)
        )

    def _detect_chessboard(self, gray: np.ndarray) -> BoardView | None:
        flags = cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_EXHAUSTIVE | cv2.CALIB_CB_ACCURACY
        found, corners = cv2.findChessboardCornersSB(gray, (self.cols, self.rows), flags=flags)
        if not found:
            return None
        return BoardView(self.object_points(), corners.reshape(-1, 2).astype(np.float32))


def parse_board(spec: str) -> Board:
    """The board named by a spec string; `BoardError` (one line, with the usage) when bad."""
    parts = spec.strip().split(":")
    kind = parts[0].lower()
    if kind not in KINDS:
        raise BoardError(f"board {spec!r}: unknown kind {parts[0]!r}; boards are {USAGE}")
    counts = {"chessboard": (3, 3), "charuco": (4, 5), "aruco": (4, 5)}[kind]
    if not counts[0] <= len(parts) <= counts[1]:
        raise BoardError(f"board {spec!r}: expected {USAGE}")
    try:
        cols, rows = (int(n) for n in parts[1].lower().split("x"))
        sizes = [float(v) for v in parts[2 : counts[0]]]
    except ValueError:
        raise BoardError(f"board {spec!r}: expected {USAGE}") from None
    dictionary = parts[4].upper() if len(parts) == 5 else DEFAULT_DICTIONARY
    if not dictionary.startswith("DICT_") or not hasattr(cv2.aruco, dictionary):
        raise BoardError(f"board {spec!r}: unknown ArUco dictionary {dictionary!r}")
    least = {"chessboard": 2, "charuco": 2, "aruco": 1}[kind]
    if cols < least or rows < least:
        raise BoardError(f"board {spec!r}: at least {least}x{least} needed")
    if sizes[0] <= 0 or (len(sizes) > 1 and sizes[1] < 0):
        raise BoardError(f"board {spec!r}: sizes must be positive meters")
    if kind == "charuco" and not 0 < sizes[1] < sizes[0]:
        raise BoardError(f"board {spec!r}: the marker must be smaller than the square")
    board = Board(kind, cols, rows, sizes[0], sizes[1] if len(sizes) > 1 else 0.0, dictionary)
    if kind != "chessboard":
        markers = (cols * rows) // 2 if kind == "charuco" else cols * rows
        available = _dictionary_size(dictionary)
        if markers > available:
            raise BoardError(
                f"board {spec!r}: needs {markers} markers, {dictionary} has {available}"
            )
    return board


def _dictionary_size(name: str) -> int:
    d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))
    return int(d.bytesList.shape[0])
