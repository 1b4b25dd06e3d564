"""Pose of a scene object at one instant: what tasks, predicates and verification read."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from robot_llm.tabletop.scene import ObjectSpec


class ObjectState(NamedTuple):
    """Pose of one scene object; `position` is the body origin (the center of its bounding box).

    A NamedTuple rather than a dataclass: the env builds one per object per control step.
    """

    spec: ObjectSpec
    position: np.ndarray  # (3,) meters, table frame
    orientation: np.ndarray  # (4,) quaternion x, y, z, w

    @property
    def yaw(self) -> float:
        x, y, z, w = self.orientation.tolist()
        return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))

    @property
    def tilt(self) -> float:
        """Angle between the object's z axis and the table normal, radians."""
        x, y, _, _ = self.orientation.tolist()
        return math.acos(min(max(1.0 - 2.0 * (x * x + y * y), -1.0), 1.0))

    @property
    def face_tilt(self) -> float:
        """Angle between the table normal and the nearest of the object's six face normals.

        For a cube every face is alike: a block lying on its side is flat on the table.
        """
        x, y, z, w = self.orientation.tolist()
        # The world z components of the object's x, y and z axes (third row of its rotation).
        zx = 2.0 * (x * z - w * y)
        zy = 2.0 * (y * z + w * x)
        zz = 1.0 - 2.0 * (x * x + y * y)
        best = max(abs(zx), abs(zy), abs(zz))
        return math.acos(min(best, 1.0))
