"""Helpers for the camera tests: boards rendered in PyBullet at known poses, with ground truth.

Images are rendered 2x and averaged down (envs.targets.render_supersampled), and the truth is
the camera matrix TinyRenderer actually follows. Seeds here are neither the benchmark's tuning
seeds (0-9) nor its held-out ones (1000 and up).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pybullet as p

from robot_llm.cameras.boards import Board
from robot_llm.envs.camera import CameraSpec, look_at
from robot_llm.envs.targets import (
    add_backdrop,
    add_board,
    board_on_table_pose,
    move_board,
    render_supersampled,
)
from robot_llm.envs.world import MAIN_CAMERA, MAIN_CAMERA_EYE, MAIN_CAMERA_TARGET

SPEC = MAIN_CAMERA
MARGIN_SQUARES = 0.5


@dataclass
class BoardStage:
    """A DIRECT PyBullet client with a gray table and one board, rendered by a camera spec."""

    board: Board
    client: int
    body: int
    pose: np.ndarray
    spec: CameraSpec = SPEC

    def move(self, pose: np.ndarray) -> None:
        move_board(self.client, self.body, MARGIN_SQUARES * self.board.square, pose)
        self.pose = pose

    def render(self, camera_pose: np.ndarray, factor: int = 2) -> tuple[np.ndarray, np.ndarray]:
        """RGB image (rendered `factor` times larger, averaged down) and its true camera
        matrix."""
        return render_supersampled(self.client, self.spec, camera_pose, factor)


@contextmanager
def board_stage(board: Board, pose: np.ndarray | None = None) -> Iterator[BoardStage]:
    client = p.connect(p.DIRECT)
    try:
        add_backdrop(client)
        pose = np.eye(4) if pose is None else pose
        image = board.image(100, MARGIN_SQUARES)
        body = add_board(client, image, board.size_m, MARGIN_SQUARES * board.square, pose)
        yield BoardStage(board, client, body, pose)
    finally:
        p.disconnect(client)


def main_camera_pose(rng: np.random.Generator) -> np.ndarray:
    """A camera near the simulator's main camera: eye moved up to 10 cm, aim up to 5 cm."""
    eye = MAIN_CAMERA_EYE + rng.uniform(-0.1, 0.1, 3)
    target = MAIN_CAMERA_TARGET + rng.uniform(-0.05, 0.05, 3) * [1, 1, 0]
    return look_at(eye, target, np.array([0.0, 0.0, 1.0]))


def random_table_pose(rng: np.random.Generator, board: Board) -> np.ndarray:
    return board_on_table_pose(rng, board.size_m)
