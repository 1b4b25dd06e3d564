"""A bridge server with the sim driver inside the console's process, for --scene and --task.

The console always drives the arm through the bridge, so simulation and hardware take the same
path: the same e-stop, hold and watchdog. The sim driver keeps PyBullet in its worker processes
(physics, one renderer per camera), so the console's web server and executor are not stalled by
the renderer holding Python's GIL. The server listens on an ipc:// socket in a private folder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from robot_llm.bridge.driver import load_driver
from robot_llm.bridge.server import BridgeServer, ServerConfig
from robot_llm.config import RobotConfig

# The live view's budget on a two-core computer: the arm drawn with its collision shapes
# (about a sixth less CPU per image) and the wrist camera at 12 Hz leave the main camera its
# 15 Hz while the arm moves (docs/benchmarks.md, the operator console).
RENDER_DETAIL = "light"
CAMERA_RATES = {"wrist": 12.0}


class SimBridge:
    """A started in-process bridge server over a simulated arm; `close()` holds and stops it."""

    def __init__(self, robot: RobotConfig, camera_hz: float = 15.0) -> None:
        options: dict[str, object] = {"robot": robot.sim_robot, "render_detail": RENDER_DETAIL}
        if robot.scene:
            options["scene"] = robot.scene
        if robot.task:
            options["task"], options["seed"] = robot.task, robot.seed
        if robot.randomize is not None:
            options["randomize"] = robot.randomize
            options["randomize_strength"] = robot.randomize_strength
        self._folder = Path(tempfile.mkdtemp(prefix="robot-llm-console-"))
        driver = load_driver("sim", options)
        config = ServerConfig(
            bind=f"ipc://{self._folder / 'bridge'}",
            camera_hz=camera_hz,
            camera_rates=CAMERA_RATES,
            camera_encoding="raw",
        )
        self.server = BridgeServer(driver, config)
        try:
            self.server.start()
        except Exception:
            driver.close()
            shutil.rmtree(self._folder, ignore_errors=True)
            raise

    @property
    def address(self) -> str:
        return self.server.address

    def close(self) -> None:
        try:
            self.server.control.request_hold("shutdown")
            self.server.stop()
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)
