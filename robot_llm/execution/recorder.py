"""Video of an execution: the main camera every N control periods, captioned with the subgoal."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robot_llm.robots.base import Robot


class VideoRecorder:
    """Collects captioned camera frames while the executor drives the robot."""

    def __init__(self, robot: Robot, camera: str = "main", every: int = 4) -> None:
        self.robot = robot
        self.camera = camera
        self.every = every
        self.frames: list[np.ndarray] = []
        self._periods = 0

    @property
    def fps(self) -> float:
        """Frames per second that play the recording back in real time."""
        return self.robot.info.control_hz / self.every

    def tick(self, caption: str) -> None:
        """Call once per control period; captures a frame every `every` periods."""
        if self._periods % self.every == 0:
            self.add(caption)
        self._periods += 1

    def add(self, caption: str) -> None:
        from robot_llm.media import caption as draw_caption

        rgb = self.robot.capture(self.camera).rgb
        self.frames.append(draw_caption(rgb, caption) if caption else rgb)

    def write(self, path: str | Path) -> Path:
        from robot_llm.media import write_mp4

        return write_mp4(path, self.frames, fps=self.fps)
