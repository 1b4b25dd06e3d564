"""Shared types: every one survives a JSON round trip unchanged."""

from __future__ import annotations

import json

import numpy as np

from robot_llm.types import CameraFrame, RobotState, Scene, SceneObject


def through_json(d: dict) -> dict:
    return json.loads(json.dumps(d))


def test_camera_frame_round_trip_keeps_arrays_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    frame = CameraFrame(
        rgb=rng.integers(0, 255, (4, 6, 3), dtype=np.uint8),
        depth=rng.random((4, 6)).astype(np.float32),
        intrinsics=np.array([[500.0, 0, 2.5], [0, 500.0, 1.5], [0, 0, 1]]),
        extrinsics=np.eye(4),
        timestamp=1.25,
        camera="wrist",
    )
    back = CameraFrame.from_dict(through_json(frame.to_dict()))
    assert back.rgb.dtype == np.uint8 and np.array_equal(back.rgb, frame.rgb)
    assert back.depth.dtype == np.float32 and np.array_equal(back.depth, frame.depth)
    assert np.array_equal(back.intrinsics, frame.intrinsics)
    assert (back.camera, back.timestamp, back.width, back.height) == ("wrist", 1.25, 6, 4)


def test_scene_round_trip() -> None:
    scene = Scene(
        (
            SceneObject(
                "red_block",
                "block",
                "red",
                "small",
                (0.4, 0.1, 0.015),
                0.3,
                ((0.38, 0.08), (0.42, 0.08), (0.42, 0.12)),
                0.9,
            ),
            SceneObject("green_bowl", "bowl", "green", "medium", (0.6, -0.1, 0.0225)),
        ),
        timestamp=2.0,
        source="camera",
    )
    assert Scene.from_dict(through_json(scene.to_dict())) == scene


def test_robot_state_round_trip() -> None:
    state = RobotState(
        (0.0, -1.5, 0.0, -2.9, 0.0, 1.4, 0.785),
        (0.0,) * 7,
        (0.14, 0.0, 0.37),
        (1.0, 0.0, 0.0, 0.0),
        0.08,
        3.5,
        "holding",
        "watchdog",
    )
    assert RobotState.from_dict(through_json(state.to_dict())) == state
