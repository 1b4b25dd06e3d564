"""Pinhole camera models and rendering from a PyBullet client.

Conventions: intrinsics follow OpenCV (pixel centers at integer coordinates, x right, y down,
z forward along the optical axis); `extrinsics` is the 4 x 4 pose of that camera frame in the
table frame. Depth images are metric z along the optical axis, so a pixel (u, v) with depth z
back-projects to the table frame with `backproject`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pybullet as p

from robot_llm.envs.appearance import NEUTRAL, Appearance
from robot_llm.envs.camera_effects import (
    apply_depth_effects,
    apply_rgb_effects,
    frame_rng,
    light_gain,
)
from robot_llm.types import CameraFrame

# OpenCV camera axes (x right, y down, z forward) to OpenGL camera axes (x right, y up, z back).
_CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of a width x height image (OpenCV convention)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    @classmethod
    def from_fov(cls, width: int, height: int, fov_y_deg: float) -> Intrinsics:
        fy = height / (2.0 * math.tan(math.radians(fov_y_deg) / 2.0))
        return cls(width, height, fy, fy, (width - 1) / 2.0, (height - 1) / 2.0)

    @property
    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def fov_y_deg(self) -> float:
        return math.degrees(2.0 * math.atan(self.height / (2.0 * self.fy)))


@dataclass(frozen=True)
class CameraSpec:
    """A camera's image size, field of view and clipping planes."""

    name: str
    width: int = 640
    height: int = 480
    fov_y_deg: float = 45.0
    near: float = 0.05
    far: float = 3.0

    @property
    def intrinsics(self) -> Intrinsics:
        return Intrinsics.from_fov(self.width, self.height, self.fov_y_deg)


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Camera pose (OpenCV axes) in the table frame for a camera at `eye` looking at `target`."""
    eye = np.asarray(eye, dtype=float)
    z = np.asarray(target, dtype=float) - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, dtype=float))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, y, z, eye
    return pose


def pose_from_link(position: np.ndarray, quaternion: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Camera pose for a camera rigidly mounted on a link with a 4 x 4 link-to-camera offset."""
    link = np.eye(4)
    link[:3, :3] = np.asarray(p.getMatrixFromQuaternion(quaternion.tolist())).reshape(3, 3)
    link[:3, 3] = position
    return link @ offset


def view_matrix(extrinsics: np.ndarray) -> list[float]:
    """PyBullet's (OpenGL, column-major) view matrix for a camera pose."""
    world_from_gl = extrinsics @ _CV_TO_GL
    view = np.linalg.inv(world_from_gl)
    return view.T.reshape(-1).tolist()


def projection_matrix(spec: CameraSpec) -> list[float]:
    return list(
        p.computeProjectionMatrixFOV(spec.fov_y_deg, spec.width / spec.height, spec.near, spec.far)
    )


@dataclass(frozen=True)
class RenderedFrame:
    """One rendered view: RGB, metric depth and segmentation (body ids; -1 is background)."""

    rgb: np.ndarray  # H x W x 3 uint8
    depth: np.ndarray  # H x W float32, meters along the optical axis
    segmentation: np.ndarray | None  # H x W int32 body unique ids, or None when not requested
    intrinsics: Intrinsics
    extrinsics: np.ndarray  # 4 x 4 camera pose in the table frame

    def to_camera_frame(self, camera: str = "main", timestamp: float = 0.0) -> CameraFrame:
        """The shared CameraFrame of this render (what perception takes; no segmentation)."""
        return CameraFrame(
            self.rgb, self.depth, self.intrinsics.matrix, self.extrinsics, timestamp, camera
        )


def render(
    client: int,
    spec: CameraSpec,
    extrinsics: np.ndarray,
    renderer: int,
    segmentation: bool = False,
    appearance: Appearance = NEUTRAL,
) -> RenderedFrame:
    """Render RGB, depth and optionally segmentation from a camera pose, in `appearance`'s light
    and through its camera effects (the neutral appearance adds none: today's exact pixels)."""
    flags = 0 if segmentation else p.ER_NO_SEGMENTATION_MASK
    a = appearance
    _, _, rgba, depth_buffer, seg = p.getCameraImage(
        spec.width,
        spec.height,
        viewMatrix=view_matrix(extrinsics),
        projectionMatrix=projection_matrix(spec),
        renderer=renderer,
        flags=flags,
        shadow=0,
        lightDirection=list(a.light_direction),
        # TinyRenderer's lighting; the OpenGL renderer ignores these (see the gain below).
        lightColor=list(a.light_color),
        lightAmbientCoeff=a.ambient,
        lightDiffuseCoeff=a.diffuse,
        lightSpecularCoeff=a.specular,
        physicsClientId=client,
    )
    rgb = np.asarray(rgba, dtype=np.uint8).reshape(spec.height, spec.width, 4)[:, :, :3]
    d = np.asarray(depth_buffer, dtype=np.float64).reshape(spec.height, spec.width)
    depth = (spec.far * spec.near / (spec.far - (spec.far - spec.near) * d)).astype(np.float32)
    mask = (
        np.asarray(seg, dtype=np.int32).reshape(spec.height, spec.width) & ((1 << 24) - 1)
        if segmentation
        else None
    )
    if mask is not None:
        mask[np.asarray(seg).reshape(spec.height, spec.width) < 0] = -1
    rgb = np.ascontiguousarray(rgb)
    gain = None if renderer == p.ER_TINY_RENDERER or a.neutral_light else light_gain(a)
    if gain is not None or not a.neutral_camera:
        rng = frame_rng(a, spec.name, rgb)
        rgb = apply_rgb_effects(rgb, a, rng, gain)
        depth = apply_depth_effects(depth, a, rng)
    return RenderedFrame(rgb, depth, mask, spec.intrinsics, extrinsics)


def backproject(
    u: float | np.ndarray,
    v: float | np.ndarray,
    depth: float | np.ndarray,
    intrinsics: Intrinsics,
    extrinsics: np.ndarray,
) -> np.ndarray:
    """Table-frame points of pixels (u, v) with metric depth; shape (..., 3)."""
    u, v, z = np.asarray(u, float), np.asarray(v, float), np.asarray(depth, float)
    x = (u - intrinsics.cx) * z / intrinsics.fx
    y = (v - intrinsics.cy) * z / intrinsics.fy
    cam = np.stack([x, y, z], axis=-1)
    return np.asarray(cam @ extrinsics[:3, :3].T + extrinsics[:3, 3])


def depth_to_points(
    depth: np.ndarray, intrinsics: Intrinsics, extrinsics: np.ndarray
) -> np.ndarray:
    """Back-project a whole depth image to an H x W x 3 array of table-frame points."""
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w]
    return backproject(u, v, depth, intrinsics, extrinsics)


def project(
    points: np.ndarray, intrinsics: Intrinsics, extrinsics: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (N x 2) and depths (N,) of table-frame points."""
    pts = np.atleast_2d(points)
    rot, t = extrinsics[:3, :3], extrinsics[:3, 3]
    cam = (pts - t) @ rot
    z = cam[:, 2]
    uv = np.stack(
        [
            intrinsics.fx * cam[:, 0] / z + intrinsics.cx,
            intrinsics.fy * cam[:, 1] / z + intrinsics.cy,
        ],
        axis=1,
    )
    return uv, z
