"""Each robot's table: where objects may stand, where the hand may go, how fast and how high the
skills move, and where the hand waits while the camera looks; looked up by robot name.

The defaults are the Panda's (the tabletop's original numbers: `scene.WORKSPACE`,
`reach.REACH_MIN` / `REACH_MAX`); a robot without an entry of its own gets them. Plain data, no
simulator, so that skills, the simulated robot and tools read the same facts.
"""

from __future__ import annotations

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
    # Where the hand waits while the camera looks (x, y, z, yaw); None: the executor's own.
    view_pose: tuple[float, float, float, float] | None = None


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
)

SETUPS: Final[dict[str, RobotSetup]] = {"so101": SO101_SETUP}


def robot_setup(name: str) -> RobotSetup:
    """The setup of the robot called `name`; the default (the Panda's) for any other."""
    return SETUPS.get(name, DEFAULT_SETUP)
