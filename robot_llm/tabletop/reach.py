"""The reach box: where the end effector may go, in the table frame (meters).

One fact for every layer that bounds the hand: the in-process robot's limits, the bridge
supervisor's defaults, the skills' motion limits and the gym env's action bounds.
"""

from __future__ import annotations

from typing import Final

REACH_MIN: Final = (0.15, -0.45, 0.0)
REACH_MAX: Final = (0.80, 0.45, 0.60)
