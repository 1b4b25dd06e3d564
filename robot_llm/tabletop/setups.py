"""Each robot's table: where objects may stand, where the hand may go, how fast and how high the
skills move, and where the hand waits while the camera looks; looked up by robot name.

The defaults are the Panda's (the tabletop's original numbers: `scene.WORKSPACE`,
`reach.REACH_MIN` / `REACH_MAX`); a robot without an entry of its own gets them. Plain data, no
simulator, so that skills, the simulated robot and tools read the same facts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

from robot_llm.tabletop.reach import REACH_MAX, REACH_MIN
from robot_llm.tabletop.scene import WORKSPACE, Workspace

Vector3 = tuple[float, float, float]


@dataclass(frozen=True)
class RobotSetup:
    """One robot's table and skill numbers (table frame, meters, seconds)."""

    workspace: Workspace = field(default=WORKSPACE)
    reach_min: Vector3 = REACH_MIN
    reach_max: Vector3 = REACH_MAX
    max_ee_speed: float = 0.25  # m/s, robot_llm.robots.base.DEFAULT_MAX_EE_SPEED
    # The hand travels this high above the tallest object near its path.
    travel_clearance: float = 0.07
    # The fingers open this much wider than a block before a grasp.
    grasp_margin: float = 0.035
    # Lowest end-effector height for a grasp.
    min_grasp_z: float = 0.013
    # A gripper with one fixed jaw: its face lies this far from the tool centre, opposite the
    # moving jaw, which is on the hand's +x side ((cos yaw, sin yaw) in the table frame);
    # 0: fingers that close symmetrically on the tool centre.
    fixed_jaw_offset: float = 0.0
    # Where the hand waits while the camera looks (x, y, z, yaw); None: the executor's own
    # (`robot_llm.execution.looking.DEFAULT_VIEW_POSE`, the Panda's).
    view_pose: tuple[float, float, float, float] | None = None
    # How the task families (envs/tasks) size their scenes for it. `object_size`: the one size
    # every block and container gets on a small table of its own (None: each family's sizes);
    # `max_stack`: how many blocks high it can pile (None: as high as any family builds);
    # `hand_reach`: the tool centre's distance from the base (`workspace.base`) with the tool
    # down, min and max (None: the reach box alone); `push_behind`: how far behind a pushed
    # block's face the hand comes down (the push skill's back-off plus what leads the push).
    object_size: str | None = None
    max_stack: int | None = None
    hand_reach: tuple[float, float] | None = None
    push_behind: float = 0.03

    def hand_reaches(self, x: float, y: float) -> bool:
        """Whether the hand, tool down, reaches over the point (x, y) of the table."""
        if not (
            self.reach_min[0] <= x <= self.reach_max[0]
            and self.reach_min[1] <= y <= self.reach_max[1]
        ):
            return False
        if self.hand_reach is None:
            return True
        bx, by = self.workspace.base
        return self.hand_reach[0] <= math.hypot(x - bx, y - by) <= self.hand_reach[1]


DEFAULT_SETUP: Final = RobotSetup()

# The SO-101 stands at x = 0.20 on the table's center line, so that what it reaches lies inside
# the shared table workspace (x >= 0.30) and its base stays out of the camera's search there.
# With the tool pointing down its wrist flex (95 degrees either way from straight) keeps the
# forearm level or lower: the tool centre reaches 10-24 cm from the base, at most 6.5-8.5 cm
# above the table; objects' centers stand 11-21 cm from the base.
SO101_BASE: Final = (0.20, 0.0)
SO101_SETUP: Final = RobotSetup(
    workspace=Workspace(x=(0.30, 0.50), y=(-0.22, 0.22), reach=(0.11, 0.21), base=SO101_BASE),
    reach_min=(0.0, -0.23, 0.0),
    reach_max=(0.45, 0.23, 0.085),
    max_ee_speed=0.15,
    travel_clearance=0.015,
    grasp_margin=0.016,
    min_grasp_z=0.013,
    fixed_jaw_offset=0.020,
    # The home pose: turned back over the left shoulder, behind the workspace.
    view_pose=(0.16, 0.145, 0.06, 0.0),
    # Its jaws take blocks up to 5 cm; the small table fits small (3 cm) blocks, small bowls and
    # zones. With the tool down the hand stays below 6.5-8.5 cm: it carries a block over one
    # block, not over two.
    object_size="small",
    max_stack=2,
    hand_reach=(0.10, 0.24),
    # The push skill's back-off (3.5 cm) plus the fixed jaw's face and thickness (2 + 0.8 cm).
    push_behind=0.063,
)

SETUPS: Final[dict[str, RobotSetup]] = {"so101": SO101_SETUP}


def robot_setup(name: str) -> RobotSetup:
    """The setup of the robot called `name`; the default (the Panda's) for any other."""
    return SETUPS.get(name, DEFAULT_SETUP)
