"""Camera geometry the sources and calibration share: table-plane depth, undistortion, poses.

Conventions are CameraFrame's: OpenCV intrinsics (pixel centers at whole numbers), camera axes
x right, y down, z forward, poses as 4 x 4 matrices in the table frame, depth as metric z along
the optical axis with 0 meaning "no depth".
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import ArrayLike


def table_plane_depth(
    intrinsics: np.ndarray,
    table_from_camera: np.ndarray,
    size: tuple[int, int],
    plane_z: float = 0.0,
) -> np.ndarray:
    """Depth image (H x W float32, meters) of the horizontal plane z = `plane_z` of the table
    frame as the camera sees it: each pixel's ray meets the plane at that depth.

    This is what a colour-only camera's frames carry: back-projecting any pixel with it lands
    on the table. Pixels whose rays miss the plane (at or above the horizon) get 0, "no depth",
    as a depth camera's holes do. The image is cached per camera model, so this is cheap.
    """
    k = np.ascontiguousarray(intrinsics, dtype=np.float64)
    pose = np.ascontiguousarray(table_from_camera, dtype=np.float64)
    depth = _plane_depth(k.tobytes(), pose.tobytes(), (int(size[0]), int(size[1])), plane_z)
    return depth.copy()


@lru_cache(maxsize=4)
def _plane_depth(
    k_bytes: bytes, pose_bytes: bytes, size: tuple[int, int], plane_z: float
) -> np.ndarray:
    k = np.frombuffer(k_bytes).reshape(3, 3)
    pose = np.frombuffer(pose_bytes).reshape(4, 4)
    width, height = size
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    # A pixel's camera-frame ray with z = 1, so the distance along it is the depth itself.
    ray_z = pose[2, 0] * (u - k[0, 2]) / k[0, 0] + pose[2, 1] * (v - k[1, 2]) / k[1, 1] + pose[2, 2]
    drop = plane_z - pose[2, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = drop / ray_z
    depth[~np.isfinite(depth) | (depth <= 0)] = 0.0
    return depth.astype(np.float32)


class Undistorter:
    """Removes lens distortion from a camera's images, keeping the same camera matrix, so the
    frames fit the pinhole model that perception assumes. The remap tables are built once."""

    def __init__(self, camera_matrix: np.ndarray, distortion: np.ndarray, size: tuple[int, int]):
        k = np.asarray(camera_matrix, float)
        self.size = (int(size[0]), int(size[1]))
        self.maps = cv2.initUndistortRectifyMap(
            k, np.asarray(distortion, float), None, k, self.size, cv2.CV_32FC1
        )

    def rgb(self, image: np.ndarray) -> np.ndarray:
        return cv2.remap(image, *self.maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def depth(self, depth: np.ndarray) -> np.ndarray:
        """Depth is remapped to the nearest pixel: blending across an edge would invent
        surfaces between a block and the table."""
        return cv2.remap(depth, *self.maps, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)


def pose_matrix(rotation: ArrayLike, translation: ArrayLike) -> np.ndarray:
    """A 4 x 4 pose from a rotation (3 x 3 matrix or Rodrigues vector) and a translation."""
    rot = np.asarray(rotation, float)
    if rot.size == 3:
        rot = cv2.Rodrigues(rot.reshape(3, 1))[0]
    out = np.eye(4)
    out[:3, :3] = rot
    out[:3, 3] = np.asarray(translation, float).ravel()
    return out


def invert_pose(pose: np.ndarray) -> np.ndarray:
    """The inverse of a rigid 4 x 4 pose."""
    rot, t = pose[:3, :3], pose[:3, 3]
    out = np.eye(4)
    out[:3, :3] = rot.T
    out[:3, 3] = -rot.T @ t
    return out


def rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """The angle of the rotation between two rotations (or poses), degrees."""
    ra, rb = np.asarray(a)[:3, :3], np.asarray(b)[:3, :3]
    cos = (np.trace(ra.T @ rb) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def board_on_table(x: float, y: float, yaw_deg: float, z: float = 0.0) -> np.ndarray:
    """Pose in the table frame of a board lying face up on the table: its origin (the printed
    pattern's top-left corner) at (x, y, z), its x axis (along the printed rows) `yaw_deg`
    counterclockwise from the table's +x; its z axis, into the board, points down."""
    yaw = np.radians(yaw_deg)
    x_axis = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    z_axis = np.array([0.0, 0.0, -1.0])
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x_axis, np.cross(z_axis, x_axis), z_axis], axis=1)
    pose[:3, 3] = [x, y, z]
    return pose


def nominal_intrinsics(size: tuple[int, int], fov_x_deg: float = 60.0) -> np.ndarray:
    """A guess at an uncalibrated camera's matrix: square pixels, the principal point in the
    middle, a horizontal field of view typical of webcams. Good enough to look, not to measure."""
    width, height = size
    f = width / (2.0 * np.tan(np.radians(fov_x_deg) / 2.0))
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
