"""TruthPerceiver: a Scene from the simulator's object poses, FOR TESTS AND ABLATIONS ONLY.

It reads ground truth (`TabletopWorld.object_states()`), which a real robot never has, so no
user-facing default path may use it. It reports objects the way CameraPerceiver does (bounding
box centers, yaw folded by each kind's symmetry, footprints on the table), so the two can be
compared and swapped in ablations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from robot_llm.tabletop.geometry import footprint
from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.spec_scene import folded_yaw
from robot_llm.types import CameraFrame, Scene, SceneObject

if TYPE_CHECKING:
    from robot_llm.envs.world import TabletopWorld


def object_from_state(object_id: str, state: ObjectState) -> SceneObject:
    spec = state.spec
    x, y, z = (float(v) for v in state.position)
    yaw = state.yaw
    poly = footprint(spec.kind, spec.size, (x, y), yaw)
    return SceneObject(
        id=object_id,
        kind=spec.kind,
        color=spec.color,
        size=spec.size,
        position=(x, y, z),
        yaw=folded_yaw(spec.kind, yaw),
        footprint=tuple((float(px), float(py)) for px, py in poly),
        confidence=1.0,
    )


class TruthPerceiver:
    """Ground-truth "perception" from a TabletopWorld's object states: tests and ablations only.

    Never use it on a user-facing default path; `CameraPerceiver` is the perception of the stack.
    """

    def __init__(self, world: TabletopWorld) -> None:
        self.world = world

    def perceive(self, frame: CameraFrame | None = None) -> Scene:
        """The world's objects by their scene ids; `frame` is accepted and ignored."""
        states = self.world.object_states()
        objects = tuple(object_from_state(i, s) for i, s in states.items())
        return Scene(objects, timestamp=frame.timestamp if frame else 0.0, source="sim")
