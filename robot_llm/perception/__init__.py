"""Perception: one RGB-D frame of the table to a Scene of blocks, bowls, zones and trays.

`CameraPerceiver` works on rendered (or real) pixels with OpenCV and is the stack's perception.
`ColourOnlyPerceiver` does the same for a camera without depth, from known object sizes.
`TruthPerceiver` reads simulator ground truth, for tests and ablations only. `associate` gives
perceived objects the ids of a reference scene (a scene file, or the previous perception).
"""

from robot_llm.perception.association import associate
from robot_llm.perception.camera_perceiver import CameraPerceiver
from robot_llm.perception.colour_only import ColourOnlyPerceiver
from robot_llm.perception.truth import TruthPerceiver
from robot_llm.tabletop.spec_scene import scene_from_spec

__all__ = [
    "CameraPerceiver",
    "ColourOnlyPerceiver",
    "TruthPerceiver",
    "associate",
    "scene_from_spec",
]
