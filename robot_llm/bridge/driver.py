"""The Driver interface between the bridge server and an arm, and how drivers are found.

A driver is what the server runs the arm through: a simulated world, or a real arm's SDK.
Drivers are found by name in the entry point group `robot_llm.drivers`, so a real arm's driver
ships as its own package:

    [project.entry-points."robot_llm.drivers"]
    myarm = "myarm_bridge:MyArmDriver"

The entry point names a factory called with keyword options (strings from the command line, as
given by `robot-llm bridge serve --driver myarm --driver-option host=10.0.0.2`). docs/drivers.md
explains how to write one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Final, Protocol, runtime_checkable

import numpy as np

from robot_llm.bridge.description import RobotDescription
from robot_llm.errors import Fault, InputError
from robot_llm.registry import Registry
from robot_llm.types import CameraFrame, RobotState

ENTRY_POINT_GROUP: Final = "robot_llm.drivers"
# Built in and registered under the same names in pyproject.toml; listed here too so that they
# load even from a source tree whose installed metadata is older than the code.
BUILTIN_DRIVERS: Final = {
    "sim": "robot_llm.bridge.sim_driver:SimDriver",
    "mock": "robot_llm.bridge.mock_driver:MockDriver",
    "so101": "robot_llm.drivers.so101.driver:So101Driver",
}


class DriverError(Fault):
    """A driver failed (hardware fault, lost connection, simulator error)."""


class UnknownDriver(InputError):
    """No driver of that name is installed."""


@runtime_checkable
class Driver(Protocol):
    """An arm with a parallel gripper and cameras, as the bridge server drives it.

    The server calls exactly one of `write_ee`, `write_joints` or `hold` once per control period
    (1 / describe().control_hz), from its control thread, after its safety supervisor has
    checked the target; each call must return well within a period. `capture` is called from
    other threads and must be safe alongside the control calls. `stop` may come from any thread.
    """

    def describe(self) -> RobotDescription:
        """Joints with limits, control rate, home, gripper and cameras; fixed for a driver."""
        ...

    def read_state(self) -> RobotState:
        """Proprioception now; `timestamp` on the driver's clock (the one frames use too)."""
        ...

    def ee_target(self) -> tuple[np.ndarray, float]:
        """The end-effector target the arm tracks now (position, yaw)."""
        ...

    def forward_kinematics(self, positions: np.ndarray) -> np.ndarray:
        """The end-effector position (as `read_state` reports it) for these joint positions,
        without moving; pure, thread-safe and fast: the supervisor checks joint targets with it."""
        ...

    def write_ee(self, position: np.ndarray, yaw: float, gripper: float) -> None:
        """Track this end-effector target (tool down, yaw about +z) and gripper opening (0..1)
        for the coming period."""
        ...

    def write_joints(self, positions: np.ndarray, gripper: float) -> None:
        """Track these joint positions and gripper opening for the coming period."""
        ...

    def hold(self) -> None:
        """Keep tracking the current target for the coming period."""
        ...

    def stop(self) -> None:
        """Halt now: the target becomes the measured pose (the gripper keeps its grip)."""
        ...

    def capture(self, camera: str) -> CameraFrame:
        """A fresh RGB-D frame from a camera named in describe()."""
        ...

    def close(self) -> None:
        """Release the arm and its resources; the server has stopped the arm before."""
        ...


DriverFactory = Callable[..., Driver]
DRIVER_METHODS: Final = tuple(
    m for m in vars(Driver) if not m.startswith("_") and callable(getattr(Driver, m))
)


DRIVERS: Final[Registry[DriverFactory]] = Registry(
    "driver", UnknownDriver, entry_points=ENTRY_POINT_GROUP
)
for _name, _target in BUILTIN_DRIVERS.items():
    DRIVERS.register_path(_name, _target)


def driver_names() -> list[str]:
    """Names of the installed drivers."""
    return list(DRIVERS.names())


def load_driver(name: str, options: Mapping[str, object] | None = None) -> Driver:
    """Create the driver registered as `name` with keyword options."""
    factory = DRIVERS.find(name)
    kwargs = dict(options or {})
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as err:
        raise UnknownDriver(f"driver {name!r} does not take these options: {err}") from None
    driver = factory(**kwargs)
    if not isinstance(driver, Driver):
        missing = [m for m in DRIVER_METHODS if not callable(getattr(driver, m, None))]
        raise UnknownDriver(
            f"driver {name!r} does not implement the Driver interface: it lacks "
            + ", ".join(missing)
        )
    return driver
