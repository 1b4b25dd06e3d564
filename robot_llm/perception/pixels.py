"""Per-pixel table-frame geometry of one RGB-D frame, restricted to the workspace's image region.

A pixel (u, v) with metric depth d sits at `origin + d * ray[v, u]` in the table frame, so the
rays of a camera model are computed once and each frame costs three multiply-adds per pixel.
Only the image rectangle that can show the workspace (up to `max_height` above the table) is
processed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from robot_llm.perception.depth import prepare


@dataclass(frozen=True)
class Region:
    """Image rectangle rows [v0, v1) x columns [u0, u1)."""

    v0: int
    v1: int
    u0: int
    u1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.v0, self.v1), slice(self.u0, self.u1)


@dataclass(frozen=True)
class CameraRays:
    """Ray directions of every pixel of a workspace region, in the table frame."""

    origin: np.ndarray  # (3,) camera position
    rays: np.ndarray  # 3 x h x w float32: table-frame offset per meter of depth
    region: Region
    focal: float  # mean focal length, pixels
    # Area on a horizontal plane of a pixel at depth d is d^2 * area_factor (m^2).
    area_factor: np.ndarray  # h x w float32


def _key(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float64).tobytes()


def camera_rays(
    intrinsics: np.ndarray,
    extrinsics: np.ndarray,
    image_size: tuple[int, int],
    bounds: tuple[tuple[float, float], tuple[float, float]],
    max_height: float,
) -> CameraRays:
    """Rays of the pixels that can see the box `bounds` x [0, max_height] (cached)."""
    return _camera_rays(
        _key(intrinsics),
        _key(extrinsics),
        image_size,
        (tuple(bounds[0]), tuple(bounds[1])),
        float(max_height),
    )


@lru_cache(maxsize=8)
def _camera_rays(
    k_bytes: bytes,
    pose_bytes: bytes,
    image_size: tuple[int, int],
    bounds: tuple[tuple[float, float], tuple[float, float]],
    max_height: float,
) -> CameraRays:
    k = np.frombuffer(k_bytes).reshape(3, 3)
    pose = np.frombuffer(pose_bytes).reshape(4, 4)
    width, height = image_size
    region = _workspace_region(k, pose, width, height, bounds, max_height)
    v, u = np.mgrid[region.v0 : region.v1, region.u0 : region.u1].astype(np.float64)
    cam = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones_like(u)])
    rays = np.einsum("ij,jhw->ihw", pose[:3, :3], cam).astype(np.float32)
    # A pixel spans 1/(fx fy) of the image plane at depth 1; on a horizontal plane its area
    # grows by 1 / |ray_z| (the ray's z component with the camera-frame ray's z set to 1).
    area = 1.0 / (k[0, 0] * k[1, 1] * np.maximum(np.abs(rays[2]), 1e-6))
    focal = float((k[0, 0] + k[1, 1]) / 2)
    return CameraRays(pose[:3, 3].copy(), rays, region, focal, area.astype(np.float32))


def _workspace_region(
    k: np.ndarray,
    pose: np.ndarray,
    width: int,
    height: int,
    bounds: tuple[tuple[float, float], tuple[float, float]],
    max_height: float,
) -> Region:
    (x0, x1), (y0, y1) = bounds
    corners = np.array(
        [[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (0.0, max_height)], dtype=float
    )
    cam = (corners - pose[:3, 3]) @ pose[:3, :3]
    if (cam[:, 2] <= 1e-6).any():  # some of the box is behind the camera: use the whole image
        return Region(0, height, 0, width)
    u = k[0, 0] * cam[:, 0] / cam[:, 2] + k[0, 2]
    v = k[1, 1] * cam[:, 1] / cam[:, 2] + k[1, 2]
    u0, u1 = max(int(np.floor(u.min())) - 2, 0), min(int(np.ceil(u.max())) + 3, width)
    v0, v1 = max(int(np.floor(v.min())) - 2, 0), min(int(np.ceil(v.max())) + 3, height)
    if u1 <= u0 or v1 <= v0:
        return Region(0, 0, 0, 0)
    return Region(v0, v1, u0, u1)


@dataclass(frozen=True)
class PixelMaps:
    """Table-frame x, y and height of every pixel of a region, and the region's RGB."""

    x: np.ndarray  # h x w float32
    y: np.ndarray
    z: np.ndarray
    depth: np.ndarray
    rgb: np.ndarray  # h x w x 3 uint8
    rays: CameraRays
    noise: float = 0.0  # std of the depth's measured noise, meters (depth.py smoothed it)
    holes: int = 0  # pixels that had no depth (filled from their nearest neighbour)
    measured: np.ndarray | None = None  # h x w bool: the pixels with depth (None: all)

    def points(self, mask_or_index: np.ndarray | tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """N x 3 table-frame points of the pixels selected by a mask or (rows, cols)."""
        return np.stack([self.x[mask_or_index], self.y[mask_or_index], self.z[mask_or_index]], 1)


def pixel_maps(rgb: np.ndarray, depth: np.ndarray, rays: CameraRays) -> PixelMaps:
    """The region's table-frame maps; its depth's holes are filled and its noise smoothed
    first (depth.py)."""
    rows, cols = rays.region.slices
    prepared = prepare(depth[rows, cols])
    d = prepared.depth
    o = rays.origin.astype(np.float32)
    x = d * rays.rays[0] + o[0]
    y = d * rays.rays[1] + o[1]
    z = d * rays.rays[2] + o[2]
    return PixelMaps(
        x, y, z, d, rgb[rows, cols], rays, prepared.noise, prepared.holes, prepared.measured
    )


MIN_PROJECTED_DEPTH = 0.01  # meters: points nearer the camera plane than this count as behind it


def project_points(
    points_xyz: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (N x 2) of table-frame points (N x 3), and which are in front.

    `intrinsics` is the 3 x 3 pinhole matrix, `extrinsics` the 4 x 4 camera pose in the table
    frame (camera x right, y down, z forward), as in `CameraFrame`. Points less than
    `MIN_PROJECTED_DEPTH` in front of the camera have no image: their mask entry is False and
    their pixels NaN.
    """
    pts = np.asarray(points_xyz, dtype=float).reshape(-1, 3)
    pose = np.asarray(extrinsics, dtype=float)
    cam = (pts - pose[:3, 3]) @ pose[:3, :3]  # rotate by the pose's inverse
    in_front = cam[:, 2] > MIN_PROJECTED_DEPTH
    homogeneous = cam @ np.asarray(intrinsics, dtype=float).T
    depth = np.where(in_front, homogeneous[:, 2], 1.0)
    uv = homogeneous[:, :2] / depth[:, None]
    uv[~in_front] = np.nan
    return uv, in_front
