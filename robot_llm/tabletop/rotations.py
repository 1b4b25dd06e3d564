"""Small quaternion helpers (x, y, z, w) for top-down tool orientations."""

from __future__ import annotations

import math

import numpy as np


def yaw_quat(yaw: float) -> np.ndarray:
    """Rotation by `yaw` radians about +z."""
    return np.array([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)])


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ]
    )


def tool_yaw(quat: np.ndarray, down: np.ndarray) -> float:
    """Yaw about +z that turns the straight-down tool orientation `down` into `quat`."""
    inv_down = np.array([-down[0], -down[1], -down[2], down[3]])
    x, y, z, w = quat_mul(np.asarray(quat), inv_down)
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def tool_orientation(yaw: float, down: np.ndarray) -> np.ndarray:
    """The straight-down tool orientation turned by `yaw` about +z."""
    return quat_mul(yaw_quat(yaw), down)


def yaw_mod(yaw: float, period: float) -> float:
    """Yaw folded into (-period / 2, period / 2]."""
    half = period / 2
    out = (yaw + half) % period - half
    return float(half if out <= -half + 1e-12 else out)
