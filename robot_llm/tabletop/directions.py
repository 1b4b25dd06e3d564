"""Push directions in the table frame, and how far a push goes when a plan does not say.

One fact each for the planner (which writes pushes), the safety gate (which checks where they
end), the skills (which carry them out) and the executor (which verifies them).
"""

from __future__ import annotations

from typing import Final

from robot_llm.types import DIRECTIONS

# Unit vectors of the plan schema's push directions (x away from the robot, y to its left).
DIRECTION_VECTORS: Final[dict[str, tuple[float, float]]] = {
    "left": (0.0, 1.0),
    "right": (0.0, -1.0),
    "forward": (1.0, 0.0),
    "back": (-1.0, 0.0),
}
assert set(DIRECTION_VECTORS) == set(DIRECTIONS)

DEFAULT_PUSH_DISTANCE: Final = 0.10  # meters: the plan schema's default for a push
