"""The ZeroMQ hardware bridge: run plans on an arm in another process or on another machine.

    server = BridgeServer(load_driver("sim", {"scene": "scene.yaml"}), ServerConfig())
    server.start()
    robot = RemoteRobot(server.address)      # a Robot, like SimRobot

The wire protocol (versioned msgpack, no pickle) is docs/bridge-protocol.md; writing a driver
for a real arm is docs/drivers.md. Importing this package never loads PyBullet.
"""

from robot_llm.bridge.client import RemoteRobot
from robot_llm.bridge.curve import keygen
from robot_llm.bridge.description import CameraModel, JointSpec, RobotDescription
from robot_llm.bridge.driver import Driver, DriverError, driver_names, load_driver
from robot_llm.bridge.errors import LinkDown, RemoteError
from robot_llm.bridge.limits import SafetyLimits
from robot_llm.bridge.protocol import PROTOCOL_VERSION, ProtocolError, VersionMismatch
from robot_llm.bridge.server import BridgeServer, ServerConfig

__all__ = [
    "PROTOCOL_VERSION",
    "BridgeServer",
    "CameraModel",
    "Driver",
    "DriverError",
    "JointSpec",
    "LinkDown",
    "ProtocolError",
    "RemoteError",
    "RemoteRobot",
    "RobotDescription",
    "SafetyLimits",
    "ServerConfig",
    "VersionMismatch",
    "driver_names",
    "keygen",
    "load_driver",
]
