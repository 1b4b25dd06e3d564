"""Slots: where several blocks go in one bowl, zone or tray, so that they do not land on each
other, and how the hand turns (`hand_yaw`) so the opening fingers miss the blocks already there.
Task families lay out their goals with them and the skills place by them."""

from __future__ import annotations

import math
from typing import Final

# Distance of each slot from a bowl's center when it holds two or three blocks, meters.
BOWL_SLOT_RADIUS: Final = 0.032
# Half the distance between two blocks sharing a zone, meters.
ZONE_SLOT_OFFSET: Final = 0.03
# Distance between neighbouring blocks in a tray's single column, meters.
TRAY_SLOT_SPACING: Final = 0.055


def slot_offsets(kind: str, n: int) -> list[tuple[float, float, float | None]]:
    """Where n blocks go in a container of this kind: (x, y, hand_yaw) in its own frame.

    A line of blocks along direction angle a needs the fingers to open across it: the Oracle's
    fingers open along (-sin, cos) of the hand yaw, so hand_yaw = a. None: any hand yaw.
    """
    if n <= 1:
        return [(0.0, 0.0, None)]
    if kind == "bowl":
        angles = [2 * math.pi * i / n for i in range(n)]
        return [(BOWL_SLOT_RADIUS * math.cos(a), BOWL_SLOT_RADIUS * math.sin(a), a) for a in angles]
    if kind == "zone":
        if n > 2:
            raise ValueError(f"a zone holds at most 2 blocks side by side, not {n}")
        return [(-ZONE_SLOT_OFFSET, 0.0, 0.0), (ZONE_SLOT_OFFSET, 0.0, 0.0)]
    if kind == "tray":
        # One column along the tray's long (local y) axis; fingers open across the tray.
        return [(0.0, (i - (n - 1) / 2) * TRAY_SLOT_SPACING, math.pi / 2) for i in range(n)]
    raise ValueError(f"no slots in a {kind}")
