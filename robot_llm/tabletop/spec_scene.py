"""The Scene a scene file describes, as perception reports one: the reference a run's perceived
objects are matched against, and the scene the distillation data gives the planner.

Ids, kinds, colors and sizes are the file's; positions are box centers, with z from what each
object stands on; yaws are folded as perception folds them (a square's four faces look alike).
"""

from __future__ import annotations

import math

from robot_llm.tabletop.geometry import footprint, height, rest_height
from robot_llm.tabletop.rotations import yaw_mod
from robot_llm.tabletop.scene import SceneSpec
from robot_llm.types import Scene, SceneObject


def folded_yaw(kind: str, yaw: float) -> float:
    """Yaw as perception reports it: blocks and zones mod 90 degrees, trays mod 180, bowls 0."""
    if kind in ("block", "zone"):
        return yaw_mod(yaw, math.pi / 2)
    if kind == "tray":
        return yaw_mod(yaw, math.pi)
    return 0.0


def scene_from_spec(spec: SceneSpec, source: str = "file") -> Scene:
    """A reference Scene from a scene file: its ids and positions, heights from the geometry."""
    base: dict[str, float] = {}

    def base_of(object_id: str) -> float:
        if object_id not in base:
            o = spec.get(object_id)
            base[object_id] = 0.0
            if o.on is not None:
                sup = spec.get(o.on)
                base[object_id] = base_of(sup.id) + rest_height(sup.kind, sup.size)
        return base[object_id]

    objects = []
    for o in spec.objects:
        z = base_of(o.id) + height(o.kind, o.size) / 2
        poly = footprint(o.kind, o.size, o.position, o.yaw)
        objects.append(
            SceneObject(
                id=o.id,
                kind=o.kind,
                color=o.color,
                size=o.size,
                position=(float(o.position[0]), float(o.position[1]), z),
                yaw=folded_yaw(o.kind, o.yaw),
                footprint=tuple((float(px), float(py)) for px, py in poly),
            )
        )
    return Scene(tuple(objects), source=source)
