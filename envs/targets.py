"""Flat textured targets (calibration boards, markers) in a PyBullet client, at exact poses.

Rendering a board with known pose and camera gives calibration images with ground truth: the
tests and benchmarks/calibration.py check camera calibration against it. A target is a
two-triangle mesh carrying the image as its texture, so the image fills it exactly.

A target's frame follows OpenCV's board convention: origin at the image's top-left corner,
x along the image's rows (to the right), y down the image, z into the target; its printed side
faces -z.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pybullet as p

from robot_llm.envs.camera import CameraSpec, look_at, render

BACKDROP_COLOR = (0.55, 0.55, 0.55, 1.0)


def add_textured_target(
    client: int, image: np.ndarray, width: float, height: float, pose: np.ndarray
) -> int:
    """A static body showing `image` (H x W gray or RGB uint8) on a `width` x `height` meter
    rectangle whose top-left corner frame is `pose` (4 x 4, in the world); its body id."""
    w, h = float(width), float(height)
    vertices = [[0.0, 0.0, 0.0], [w, 0.0, 0.0], [w, h, 0.0], [0.0, h, 0.0]]
    # PyBullet's texture v runs up the image, so the image's top row is v = 1.
    uvs = [[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]]
    visual = p.createVisualShape(
        p.GEOM_MESH,
        vertices=vertices,
        indices=[0, 2, 1, 0, 3, 2],
        uvs=uvs,
        normals=[[0.0, 0.0, -1.0]] * 4,
        physicsClientId=client,
    )
    rot = np.asarray(pose, float)[:3, :3]
    quat = _quaternion(rot)
    body = p.createMultiBody(
        0.0,
        -1,
        visual,
        basePosition=np.asarray(pose, float)[:3, 3].tolist(),
        baseOrientation=quat,
        physicsClientId=client,
    )
    texture = _load_texture(client, image)
    p.changeVisualShape(
        body, -1, textureUniqueId=texture, rgbaColor=[1, 1, 1, 1], physicsClientId=client
    )
    return int(body)


def add_board(
    client: int,
    image: np.ndarray,
    pattern_size: tuple[float, float],
    margin: float,
    pose: np.ndarray,
) -> int:
    """A board picture whose printed pattern is `pattern_size` meters and has a white margin
    `margin` meters wide all round, with the pattern's top-left corner frame at `pose`."""
    width, height = pattern_size[0] + 2 * margin, pattern_size[1] + 2 * margin
    return add_textured_target(client, image, width, height, _margin_corner(pose, margin))


def move_board(client: int, body: int, margin: float, pose: np.ndarray) -> None:
    """Put a board made by `add_board` at a new pose of its pattern's top-left corner."""
    quad = _margin_corner(pose, margin)
    p.resetBasePositionAndOrientation(
        body, quad[:3, 3].tolist(), _quaternion(quad[:3, :3]), physicsClientId=client
    )


def _margin_corner(pose: np.ndarray, margin: float) -> np.ndarray:
    quad = np.array(pose, dtype=float)
    quad[:3, 3] = quad[:3, 3] - margin * (quad[:3, 0] + quad[:3, 1])
    return quad


def add_backdrop(client: int, z: float = -0.002, half_size: float = 2.0) -> int:
    """A plain gray horizontal plate just below z = 0 (a table for the target to lie on)."""
    half = [half_size, half_size, 0.001]
    visual = p.createVisualShape(
        p.GEOM_BOX, halfExtents=half, rgbaColor=BACKDROP_COLOR, physicsClientId=client
    )
    return int(p.createMultiBody(0.0, -1, visual, basePosition=[0, 0, z], physicsClientId=client))


def _load_texture(client: int, image: np.ndarray) -> int:
    rgb = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    with tempfile.TemporaryDirectory(prefix="robot-llm-target-") as folder:
        path = Path(folder) / "texture.png"
        if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1])):
            raise RuntimeError(f"could not write a texture to {path}")
        return int(p.loadTexture(str(path), physicsClientId=client))


def _quaternion(rot: np.ndarray) -> list[float]:
    """x, y, z, w quaternion of a rotation matrix (PyBullet's order)."""
    m = rot
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, s / 4]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [s / 4, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 1] + m[1, 0]) / s, s / 4, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, s / 4, (m[1, 0] - m[0, 1]) / s]
    return [float(v) for v in q]


# -- rendering calibration images with ground truth -------------------------------------------
def tiny_renderer_intrinsics(spec: CameraSpec) -> np.ndarray:
    """The camera matrix TinyRenderer's images actually follow, measured against board corners.

    TinyRenderer rasterizes each pixel at its corner rather than its center, so its images sit
    half a pixel off `spec.intrinsics` (which assumes centers): cx = W / 2, cy = H / 2 - 1
    (rows count down while OpenGL's count up). Ground truth for calibration uses this.
    """
    k = spec.intrinsics.matrix.copy()
    k[0, 2] = spec.width / 2.0
    k[1, 2] = spec.height / 2.0 - 1.0
    return k


def render_supersampled(
    client: int, spec: CameraSpec, extrinsics: np.ndarray, factor: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """An RGB image rendered at `factor` times the size and averaged down, with its true
    camera matrix. Averaging stands in for a real sensor's pixel area and optics: TinyRenderer
    samples one point per pixel, and its aliased edges double a board corner's noise."""
    big = replace(spec, width=spec.width * factor, height=spec.height * factor)
    frame = render(client, big, extrinsics, p.ER_TINY_RENDERER)
    k = tiny_renderer_intrinsics(big)
    if factor == 1:
        return frame.rgb, k
    rgb = cv2.resize(frame.rgb, (spec.width, spec.height), interpolation=cv2.INTER_AREA)
    # Small pixel i covers big pixels factor*i ... factor*i + factor - 1.
    k[:2, :2] /= factor
    k[:2, 2] = (k[:2, 2] - (factor - 1) / 2.0) / factor
    return np.ascontiguousarray(rgb), k


def board_on_table_pose(rng: np.random.Generator, size: tuple[float, float]) -> np.ndarray:
    """A random face-up pose (board frame, module docstring) of a `size` board lying in the
    workspace in front of the robot, any yaw."""
    yaw = rng.uniform(-np.pi, np.pi)
    x_axis = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    z_axis = np.array([0.0, 0.0, -1.0])
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x_axis, np.cross(z_axis, x_axis), z_axis], axis=1)
    center = np.array([rng.uniform(0.38, 0.58), rng.uniform(-0.12, 0.12), 0.0])
    pose[:3, 3] = center - pose[:3, :3] @ np.array([size[0] / 2, size[1] / 2, 0.0])
    return pose


def calibration_view(
    rng: np.random.Generator,
    spec: CameraSpec,
    board_pose: np.ndarray,
    size: tuple[float, float],
    tilt_deg: tuple[float, float] = (10.0, 45.0),
    fill: tuple[float, float] = (0.45, 0.8),
) -> np.ndarray:
    """A random camera pose seeing the whole board, as a person calibrating would take it:
    the board filling `fill` of the image height, tilted `tilt_deg` from face-on in any
    direction, anywhere in the image, the camera rolled up to 30 degrees."""
    k = spec.intrinsics.matrix
    rot, origin = board_pose[:3, :3], board_pose[:3, 3]
    corners = (
        origin
        + np.array([[0, 0, 0], [size[0], 0, 0], [0, size[1], 0], [size[0], size[1], 0]]) @ rot.T
    )
    center = corners.mean(axis=0)
    front = -rot[:, 2]  # the printed side faces -z
    for _ in range(200):
        tilt = np.radians(rng.uniform(*tilt_deg))
        heading = rng.uniform(0, 2 * np.pi)
        side = np.cos(heading) * rot[:, 0] + np.sin(heading) * rot[:, 1]
        direction = np.cos(tilt) * front + np.sin(tilt) * side
        distance = k[1, 1] * max(size) / (rng.uniform(*fill) * spec.height)
        eye = center + distance * direction
        reach = 0.25 * distance * spec.width / k[0, 0]
        target = (
            center + rng.uniform(-reach, reach) * rot[:, 0] + rng.uniform(-reach, reach) * rot[:, 1]
        )
        roll = rng.uniform(-np.pi / 6, np.pi / 6)
        up = np.cos(roll) * (-rot[:, 1]) + np.sin(roll) * rot[:, 0]
        pose = look_at(eye, target, up)
        cam = (corners - pose[:3, 3]) @ pose[:3, :3]
        uv = cam[:, :2] / cam[:, 2:] * [k[0, 0], k[1, 1]] + k[:2, 2]
        margin = 0.04 * spec.height
        if (
            (cam[:, 2] > 0).all()
            and (uv >= margin).all()
            and (uv[:, 0] <= spec.width - margin).all()
            and (uv[:, 1] <= spec.height - margin).all()
        ):
            return pose
    raise RuntimeError("no camera pose found that sees the whole board")
