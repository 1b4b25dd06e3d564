"""Cartesian motion for scripted skills: speed-capped straight lines, gripper actions, clearance.

Everything here produces robot commands and reads only observations, so it runs the same on the
simulated and a real arm. Trajectories start at the target the robot is tracking
(`Observation.target`), follow a straight line with a trapezoidal speed profile (smooth
acceleration, speed capped at `MotionLimits.max_speed`) sampled at the control rate, turn the hand
about +z along the way, then keep streaming the goal until the observed end effector is there.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np

from robot_llm.policies.base import Command, EECommand, JointCommand, Observation
from robot_llm.policies.scene_geometry import Vector
from robot_llm.robots.base import DEFAULT_MAX_EE_SPEED, RobotInfo
from robot_llm.tabletop.palette import BLOCK_EDGE
from robot_llm.tabletop.reach import REACH_MAX, REACH_MIN
from robot_llm.tabletop.rotations import tool_yaw

# A tool pointing straight down with yaw 0 (rotation by pi about x), for observed yaw.
TOOL_DOWN: Final = np.array([1.0, 0.0, 0.0, 0.0])
# Planned speeds stay this fraction below the cap so rounding never trips the robot's clip.
SPEED_MARGIN: Final = 0.999
# Joint moves bound the hand's speed by the joint step (summed) times a lever arm, meters per
# radian: at most MAX_LEVER_ARM, else the largest recently observed times LEVER_MARGIN.
MAX_LEVER_ARM: Final = 1.0
MIN_LEVER_ARM: Final = 0.1
LEVER_MARGIN: Final = 1.3
# The fingers hold a block with their target this far inside its edge, meters (see `grip`).
GRIP_SQUEEZE: Final = 0.002
# Fingers that close freely settle within this of their target; on a block they stay wider.
FREE_FINGER_SLACK: Final = 0.0002
# A finger gap in this range (meters) is taken to hold a block; below it the gripper is empty.
HELD_WIDTH: Final = (0.01, 0.06)


@dataclass(frozen=True)
class MotionLimits:
    """How fast and how precisely skills move; `from_robot` fills them from a RobotInfo."""

    max_speed: float = DEFAULT_MAX_EE_SPEED  # m/s of the end-effector target
    max_accel: float = 1.0  # m/s^2
    max_yaw_rate: float = 1.5  # rad/s
    max_yaw_accel: float = 6.0  # rad/s^2
    # Gentler while holding a block: simulated fingers hold it at two points only.
    held_accel: float = 0.5  # m/s^2
    held_yaw_rate: float = 0.8  # rad/s
    held_yaw_accel: float = 2.0  # rad/s^2
    control_hz: float = 24.0
    workspace_min: tuple[float, float, float] = REACH_MIN
    workspace_max: tuple[float, float, float] = REACH_MAX
    max_gripper_width: float = 0.08  # meters between the fingers when fully open
    reach_tolerance: float = 0.004  # meters: a goal is reached this close
    yaw_tolerance: float = 0.03  # radians
    settle_steps: int = 72  # control periods to wait for the arm to reach a goal
    gripper_steps: int = 30  # control periods to wait for the fingers to settle
    home_joints: tuple[float, ...] | None = None  # RobotInfo.home
    home_pose: tuple[float, float, float, float] | None = None  # x, y, z, yaw of the hand at home
    # The robot's skill numbers (robot_llm.tabletop.setups; these defaults are the Panda's).
    travel_clearance: float = 0.07  # the hand travels this high above what is near its path
    grasp_margin: float = 0.035  # fingers open this much wider than a block before a grasp
    min_grasp_z: float = 0.013  # lowest end-effector height for a grasp
    fixed_jaw_offset: float = 0.0  # a fixed jaw's face from the tool centre (0: symmetric)
    # Where pick, place and push leave the hand, out of the camera's view (x, y, z, yaw), for a
    # robot that cannot reach the executor's viewing pose; None: they leave it where they end.
    view_pose: tuple[float, float, float, float] | None = None

    @classmethod
    def from_robot(cls, info: RobotInfo, **overrides: object) -> MotionLimits:
        """Limits that respect a robot's own: its speed cap, workspace, rate and home."""
        from robot_llm.tabletop.setups import robot_setup

        lim = info.limits
        setup = robot_setup(info.name)
        base = cls(
            max_speed=lim.max_ee_speed,
            max_yaw_rate=min(cls.max_yaw_rate, lim.max_yaw_rate),
            control_hz=info.control_hz,
            workspace_min=lim.workspace_min,
            workspace_max=lim.workspace_max,
            max_gripper_width=info.max_gripper_width or cls.max_gripper_width,
            home_joints=tuple(info.home),
            travel_clearance=setup.travel_clearance,
            grasp_margin=setup.grasp_margin,
            min_grasp_z=setup.min_grasp_z,
            fixed_jaw_offset=setup.fixed_jaw_offset,
            view_pose=setup.view_pose,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    def holding(self) -> MotionLimits:
        """These limits for carrying a block: lower accelerations and turning rate."""
        return replace(
            self,
            max_accel=min(self.max_accel, self.held_accel),
            max_yaw_rate=min(self.max_yaw_rate, self.held_yaw_rate),
            max_yaw_accel=min(self.max_yaw_accel, self.held_yaw_accel),
        )

    @property
    def dt(self) -> float:
        return 1.0 / self.control_hz

    def clamp(self, position: Vector) -> np.ndarray:
        """A position moved into the workspace box."""
        return np.clip(np.asarray(position, dtype=float), self.workspace_min, self.workspace_max)

    def contains(self, position: Vector, margin: float = 0.0) -> bool:
        p = np.asarray(position, dtype=float)
        lo = np.asarray(self.workspace_min) - margin
        hi = np.asarray(self.workspace_max) + margin
        return bool(((p >= lo) & (p <= hi)).all())

    def jaw_shift(self, edge: float, yaw: float, clearance: float = 0.0) -> np.ndarray:
        """Where a block of this edge sits from the tool centre when the moving jaw has pressed
        it on a fixed jaw (zero for symmetric fingers); with `clearance`, where the tool centre
        goes relative to the block's center so the fixed jaw comes down that far clear of it."""
        f = self.fixed_jaw_offset
        if f <= 0.0:
            return np.zeros(2)
        shift = f - edge / 2 - clearance
        return np.array([math.cos(yaw), math.sin(yaw)]) * shift

    def opening(self, width: float) -> float:
        """The gripper command (0 closed .. 1 open) for a finger gap in meters."""
        return min(max(width / self.max_gripper_width, 0.0), 1.0)


# -- pure trajectory math -------------------------------------------------------------------------
def trapezoid(distance: float, v_max: float, a_max: float, dt: float) -> np.ndarray:
    """Progress along a move of `distance`, sampled every `dt` from the first step to the end.

    Speed ramps up at `a_max`, cruises at `v_max` and ramps down (a triangle for short moves).
    The last sample is exactly `distance`; no step covers more than `v_max * dt`.
    """
    if distance <= 0.0:
        return np.zeros(0)
    t_ramp = v_max / a_max
    if distance < v_max * t_ramp:  # never reaches cruise speed
        t_ramp = math.sqrt(distance / a_max)
        v_peak = a_max * t_ramp
        total = 2 * t_ramp
    else:
        v_peak = v_max
        total = distance / v_max + t_ramp
    n = max(1, math.ceil(total / dt - 1e-9))
    t = np.arange(1, n + 1) * dt
    t = np.minimum(t, total)
    accel = 0.5 * a_max * t**2
    cruise = 0.5 * a_max * t_ramp**2 + v_peak * (t - t_ramp)
    tail = total - t
    decel = distance - 0.5 * a_max * tail**2
    s = np.where(t < t_ramp, accel, np.where(t > total - t_ramp, decel, cruise))
    s = np.clip(s, 0.0, distance)
    s[-1] = distance
    return np.asarray(s)


def line(
    start: np.ndarray,
    start_yaw: float,
    goal: np.ndarray,
    goal_yaw: float,
    limits: MotionLimits,
    speed: float | None = None,
) -> list[tuple[np.ndarray, float]]:
    """Poses every control period along a straight line with yaw turned on the way.

    One progress profile drives both translation and yaw, scaled so that neither the linear nor
    the yaw speed and acceleration limits are exceeded. `speed` lowers the cap for this move.
    """
    start = np.asarray(start, dtype=float)
    goal = np.asarray(goal, dtype=float)
    length = float(np.linalg.norm(goal - start))
    dyaw = math.remainder(goal_yaw - start_yaw, 2 * math.pi)
    if length < 1e-9 and abs(dyaw) < 1e-9:
        return []
    v = SPEED_MARGIN * min(speed or limits.max_speed, limits.max_speed)
    # Progress u in [0, 1]: rates and accelerations per unit of progress.
    rate = min(v / length if length > 0 else math.inf, _per(limits.max_yaw_rate, dyaw))
    accel = min(
        limits.max_accel / length if length > 0 else math.inf, _per(limits.max_yaw_accel, dyaw)
    )
    u = trapezoid(1.0, rate, accel, limits.dt)
    return [(start + (goal - start) * k, start_yaw + dyaw * k) for k in u]


def _per(limit: float, amount: float) -> float:
    return limit / abs(amount) if abs(amount) > 1e-9 else math.inf


def nearest_equivalent(angle: float, reference: float, period: float) -> float:
    """The angle equal to `angle` modulo `period` that is closest to `reference`."""
    return reference + math.remainder(angle - reference, period)


def grasp_yaw(object_yaw: float, hand_yaw: float) -> float:
    """Hand yaw for a cube: the least turn from `hand_yaw` (within 45 degrees), kept away from
    the wrist's ends by preferring the equivalent nearest zero when the hand is already turned."""
    yaw = nearest_equivalent(object_yaw, hand_yaw, math.pi / 2)
    # Stay within 90 degrees of the hand but drift back toward the neutral wrist.
    if abs(yaw) > 3 * math.pi / 4:
        yaw -= math.copysign(math.pi / 2, yaw)
    return yaw


# -- observation helpers --------------------------------------------------------------------------
def hand_pose(obs: Observation) -> tuple[np.ndarray, float]:
    """The pose the robot is tracking, else the observed end-effector pose."""
    if obs.target is not None:
        pos, yaw = obs.target
        return np.asarray(pos, dtype=float).copy(), float(yaw)
    return observed_pose(obs)


def observed_pose(obs: Observation) -> tuple[np.ndarray, float]:
    s = obs.state
    return np.asarray(s.ee_position, dtype=float), tool_yaw(np.asarray(s.ee_orientation), TOOL_DOWN)


def current_opening(obs: Observation, limits: MotionLimits) -> float:
    """A gripper command that keeps the fingers as they are.

    Fully open stays open; closed stays closed; a gap the size of a block keeps holding it the
    way `grip` does; a wide partial opening (after a release) stays as it is.
    """
    width = obs.state.gripper_width
    if width >= limits.max_gripper_width - 0.005:
        return 1.0
    if width < HELD_WIDTH[0]:
        return 0.0
    if width < HELD_WIDTH[1]:
        return limits.opening(held_edge(width) - GRIP_SQUEEZE)
    return limits.opening(width)


def holds_something(width: float) -> bool:
    """Whether fingers at this gap, commanded the way `grip` and `current_opening` do, stop on
    something: a gripping target is `held_edge - GRIP_SQUEEZE`, and fingers that close on nothing
    settle on their target (that a block fell out reads this way too)."""
    if not HELD_WIDTH[0] <= width < HELD_WIDTH[1]:
        return False
    return width > held_edge(width) - GRIP_SQUEEZE + FREE_FINGER_SLACK


def held_edge(width: float) -> float:
    """The block size (edge, meters) that a finger gap of `width` holds."""
    return min(BLOCK_EDGE.values(), key=lambda e: abs(e - width - GRIP_SQUEEZE / 2))


# -- streaming generators -------------------------------------------------------------------------
@dataclass
class Motion:
    """The running state of a skill's motion: latest observation and what was last commanded."""

    obs: Observation
    limits: MotionLimits
    gripper: float = 1.0
    steps: int = 0
    position: np.ndarray = field(init=False)
    yaw: float = field(init=False)

    def __post_init__(self) -> None:
        self.position, self.yaw = hand_pose(self.obs)

    def command(self, position: np.ndarray, yaw: float) -> EECommand:
        self.position = self.limits.clamp(position)
        self.yaw = float(yaw)
        return EECommand(self.position.copy(), self.yaw, self.gripper)

    @property
    def time(self) -> float:
        return float(self.obs.state.timestamp)


MoveRun = Generator[Command, Observation, bool]


def move(
    m: Motion,
    goal: Vector,
    yaw: float | None = None,
    speed: float | None = None,
    tolerance: float | None = None,
    settle: bool = True,
) -> MoveRun:
    """Stream a straight-line move to `goal` (hand yaw `yaw`, default unchanged), then keep
    commanding the goal until the observed hand is within `tolerance` or the settle time is up.

    Returns True when reached. With `settle=False` it returns as soon as the line is streamed
    (for waypoints the hand passes through without stopping).
    """
    lim = m.limits
    goal_pos = lim.clamp(goal)
    start, start_yaw = hand_pose(m.obs)
    start = lim.clamp(start)  # the hand may start outside the box (a Panda's home is)
    goal_yaw = start_yaw if yaw is None else nearest_equivalent(yaw, start_yaw, 2 * math.pi)
    for pos, y in line(start, start_yaw, goal_pos, goal_yaw, lim, speed):
        m.obs = yield m.command(pos, y)
        m.steps += 1
    if not settle:
        return True
    tol = lim.reach_tolerance if tolerance is None else tolerance
    for _ in range(lim.settle_steps):
        pos, observed_yaw = observed_pose(m.obs)
        yaw_err = abs(math.remainder(observed_yaw - goal_yaw, 2 * math.pi))
        if np.linalg.norm(pos - goal_pos) <= tol and yaw_err <= lim.yaw_tolerance:
            return True
        m.obs = yield m.command(goal_pos, goal_yaw)
        m.steps += 1
    pos, _ = observed_pose(m.obs)
    return bool(np.linalg.norm(pos - goal_pos) <= tol)


def move_path(
    m: Motion,
    waypoints: Sequence[Vector],
    yaw: float | None = None,
    speed: float | None = None,
    tolerance: float | None = None,
) -> MoveRun:
    """Move through waypoints without stopping at the intermediate ones; settle at the last."""
    for i, w in enumerate(waypoints):
        last = i == len(waypoints) - 1
        ok = yield from move(m, w, yaw, speed, tolerance, settle=last)
        if last:
            return ok
    return True


def actuate(
    m: Motion, opening: float, min_steps: int = 4, still: float = 2e-4
) -> Generator[Command, Observation, float]:
    """Drive the gripper to `opening` (0 closed .. 1 open) holding the hand still, until the
    fingers stop moving (less than `still` meters per period, twice, after `min_steps`);
    returns the final finger gap in meters."""
    m.gripper = min(max(float(opening), 0.0), 1.0)
    lim = m.limits
    previous = m.obs.state.gripper_width
    quiet = 0
    for i in range(max(lim.gripper_steps, min_steps)):
        m.obs = yield m.command(m.position, m.yaw)
        m.steps += 1
        width = m.obs.state.gripper_width
        quiet = quiet + 1 if abs(width - previous) < still else 0
        previous = width
        if i + 1 >= min_steps and quiet >= 2:
            break
    return float(m.obs.state.gripper_width)


def grip(
    m: Motion, edge: float, squeeze: float = GRIP_SQUEEZE
) -> Generator[Command, Observation, float]:
    """Close the fingers on a block of about `edge` meters and hold it with a gentle squeeze.

    The finger target goes to `edge - squeeze`: simulated fingers position-controlled far inside
    an object push at full force from both sides and let it slide between them, while a target
    just inside it centers the block. When the fingers reach that target freely the block is
    smaller than expected or missing: they close fully, then settle just inside what they found.
    Returns the final finger gap in meters.
    """
    lim = m.limits
    target = max(edge - squeeze, 0.0)
    width = yield from actuate(m, lim.opening(target), min_steps=8, still=5e-5)
    if width > target + FREE_FINGER_SLACK:
        return width
    width = yield from actuate(m, 0.0)
    if width < 0.005:
        return width
    return (yield from actuate(m, lim.opening(max(width - squeeze, 0.0))))


def hold(m: Motion, steps: int) -> Generator[Command, Observation, None]:
    """Keep the hand and gripper where they are for a number of control periods."""
    for _ in range(steps):
        m.obs = yield m.command(m.position, m.yaw)
        m.steps += 1


def wait_for_scene(m: Motion, since: float, steps: int) -> Generator[Command, Observation, bool]:
    """Hold until the observation carries a scene perceived at or after `since` (sim seconds).

    Returns False when none arrives within `steps` control periods; the caller then goes on
    without a fresh view (an executor that perceives only between subgoals never sends one).
    """
    for _ in range(steps):
        if m.obs.scene.timestamp >= since - 1e-9:
            return True
        m.obs = yield m.command(m.position, m.yaw)
        m.steps += 1
    return m.obs.scene.timestamp >= since - 1e-9


def joint_move(
    m: Motion, joints: Sequence[float], max_steps: int = 1200
) -> Generator[Command, Observation, bool]:
    """Move the arm joints along a straight line in joint space to `joints`, then wait to
    arrive. Returns True when every joint is within 0.02 rad.

    No Jacobian is needed to keep the end effector under the speed cap: the ratio of observed
    hand motion to joint motion (meters per radian, summed over joints) is measured step by
    step and the joint step sized from the largest recent ratio with a margin; until the arm
    has moved it is taken as MAX_LEVER_ARM. Acceleration is limited the same way.
    """
    lim = m.limits
    goal = np.asarray(joints, dtype=float)
    n = len(goal)

    def observed() -> tuple[np.ndarray, np.ndarray]:
        s = m.obs.state
        return np.asarray(s.joint_positions[:n], dtype=float), np.asarray(s.ee_position)

    q_cmd, _ = observed()
    total = float(np.abs(goal - q_cmd).sum())
    direction = (goal - q_cmd) / total if total > 1e-9 else np.zeros(n)
    done = 0.0  # progress along the line, radians summed over joints
    h = 0.0  # joint step of the last period
    ratios: list[float] = []
    q_prev, ee_prev = observed()
    v_step = SPEED_MARGIN * lim.max_speed * lim.dt
    a_step = lim.max_accel * lim.dt * lim.dt
    for _ in range(max_steps):
        if done >= total:
            break
        k = max(max(ratios[-8:], default=MAX_LEVER_ARM) * LEVER_MARGIN, MIN_LEVER_ARM)
        if len(ratios) < 3:
            k = MAX_LEVER_ARM
        remaining = total - done
        h = min(h + a_step / k, v_step / k, math.sqrt(2.0 * remaining * a_step / k) + 1e-6)
        done = min(done + max(h, 1e-5), total)
        m.obs = yield JointCommand(q_cmd + direction * done, m.gripper)
        m.steps += 1
        q_now, ee_now = observed()
        dq = float(np.abs(q_now - q_prev).sum())
        if dq > 1e-4:
            ratios.append(float(np.linalg.norm(ee_now - ee_prev)) / dq)
        q_prev, ee_prev = q_now, ee_now
    for _ in range(lim.settle_steps):
        if np.abs(observed()[0] - goal).max() < 0.01:
            break
        m.obs = yield JointCommand(goal, m.gripper)
        m.steps += 1
    m.position, m.yaw = hand_pose(m.obs)
    return bool(np.abs(observed()[0] - goal).max() < 0.02)
