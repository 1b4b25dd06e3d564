"""The console's camera views: projection, drawn outlines and labels, the overlay of perceived
objects with the session's ids, and the live camera threads (on a real simulated arm)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
import pytest

from robot_llm.config import RobotConfig, StackConfig
from robot_llm.console.views import (
    LABEL_BACKGROUND,
    LiveCamera,
    SceneOverlay,
    draw_objects,
    encode_jpeg,
    project_points,
)
from robot_llm.envs.camera import Intrinsics, backproject, look_at
from robot_llm.robots.base import RobotError
from robot_llm.session import Session, open_session
from robot_llm.types import CameraFrame, Scene, SceneObject

SCENE = "sim_assets/scenes/blocks_and_bowls.yaml"
INTRINSICS = Intrinsics.from_fov(640, 480, 45.0)
# A camera above and behind the robot base, looking down at the middle of the table.
POSE = look_at(np.array([-0.1, 0.0, 0.9]), np.array([0.5, 0.0, 0.0]), np.array([0.0, 0.0, 1.0]))


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    s = open_session(StackConfig(robot=RobotConfig(scene=SCENE)))
    yield s
    s.close()


def block(oid: str = "red_block", x: float = 0.5, y: float = 0.0, **kw: Any) -> SceneObject:
    edge = 0.04
    footprint = (
        (x - edge / 2, y - edge / 2),
        (x + edge / 2, y - edge / 2),
        (x + edge / 2, y + edge / 2),
        (x - edge / 2, y + edge / 2),
    )
    fields: dict[str, Any] = {"footprint": footprint, **kw}
    return SceneObject(oid, "block", "red", "medium", (x, y, edge / 2), **fields)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# -- projection -----------------------------------------------------------------------------------
def test_project_points_inverts_backprojection() -> None:
    rng = np.random.default_rng(7)
    u = rng.uniform(0, 639, 200)
    v = rng.uniform(0, 479, 200)
    depth = rng.uniform(0.1, 3.0, 200)
    points = backproject(u, v, depth, INTRINSICS, POSE)

    uv, in_front = project_points(points, INTRINSICS.matrix, POSE)

    assert uv.shape == (200, 2) and in_front.all()
    np.testing.assert_allclose(uv, np.column_stack([u, v]), atol=1e-6)


def test_points_behind_the_camera_are_masked() -> None:
    eye, forward = POSE[:3, 3], POSE[:3, 2]
    points = np.array([eye + forward * 0.5, eye - forward * 0.5, eye])

    uv, in_front = project_points(points, INTRINSICS.matrix, POSE)

    assert in_front.tolist() == [True, False, False]
    np.testing.assert_allclose(uv[0], [INTRINSICS.cx, INTRINSICS.cy], atol=1e-9)
    assert np.isnan(uv[1:]).all()


# -- drawing ------------------------------------------------------------------------------------
def blank() -> np.ndarray:
    return np.full((480, 640, 3), 200, np.uint8)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(np.any(a != b, axis=2))


def test_draw_objects_outlines_the_top_of_the_footprint_and_leaves_far_pixels() -> None:
    image = blank()
    obj = block()

    out = draw_objects(image, [obj], INTRINSICS.matrix, POSE)

    assert (image == 200).all()  # the input is not drawn on
    diff = changed(image, out)
    corners, _ = project_points([(x, y, 0.04) for x, y in obj.footprint], INTRINSICS.matrix, POSE)
    for u, v in np.round(corners).astype(int):
        assert diff[v - 2 : v + 3, u - 2 : u + 3].any(), (u, v)
    # the bottom of the block is not outlined: the outline is at its top (z = 0.04)
    bottom, _ = project_points([(*obj.footprint[0], 0.0)], INTRINSICS.matrix, POSE)
    bu, bv = np.round(bottom[0]).astype(int)
    assert not diff[bv - 1 : bv + 2, bu - 1 : bu + 2].any()
    # nothing far from the object and its label changes
    ((cu, cv),), _ = project_points(obj.position, INTRINSICS.matrix, POSE)
    far = np.ones_like(diff)
    far[int(cv) - 80 : int(cv) + 40, int(cu) - 90 : int(cu) + 90] = False
    assert not diff[far].any()


def test_draw_objects_labels_the_id_on_a_dark_box_above_the_object() -> None:
    obj = block()
    out = draw_objects(blank(), [obj], INTRINSICS.matrix, POSE)

    top, _ = project_points([(0.5, 0.0, 0.04)], INTRINSICS.matrix, POSE)
    u, v = np.round(top[0]).astype(int)
    above = out[v - 30 : v - 5, u - 40 : u + 40]
    dark = np.all(above == LABEL_BACKGROUND, axis=2)
    white = np.all(above > 230, axis=2)  # brighter than the gray image: only the text is
    assert dark.sum() > 300  # the box
    assert white.sum() > 10  # the text on it
    # a longer id gives a wider box
    wide = draw_objects(blank(), [replace(obj, id="a_much_longer_id")], INTRINSICS.matrix, POSE)
    assert (
        np.all(wide == LABEL_BACKGROUND, axis=2).sum()
        > np.all(out == LABEL_BACKGROUND, axis=2).sum()
    )


def test_outlines_sit_on_the_objects_top_wherever_it_is() -> None:
    held = replace(block(), position=(0.5, 0.0, 0.3))  # a medium block lifted 30 cm
    stray = replace(block(), kind="cone", position=(0.5, 0.0, 0.05))  # a kind of unknown height
    for obj, top in ((held, 0.32), (stray, 0.10)):
        diff = changed(blank(), draw_objects(blank(), [obj], INTRINSICS.matrix, POSE))
        corners, _ = project_points(
            [(x, y, top) for x, y in obj.footprint], INTRINSICS.matrix, POSE
        )
        for u, v in np.round(corners).astype(int):
            assert diff[v - 2 : v + 3, u - 2 : u + 3].any(), (obj.kind, u, v)


def test_objects_without_footprint_get_a_small_square() -> None:
    obj = replace(block(), footprint=())
    out = draw_objects(blank(), [obj], INTRINSICS.matrix, POSE)
    diff = changed(blank(), out)
    corners, _ = project_points([(0.48, -0.02, 0.04), (0.52, 0.02, 0.04)], INTRINSICS.matrix, POSE)
    for u, v in np.round(corners).astype(int):
        assert diff[v - 2 : v + 3, u - 2 : u + 3].any(), (u, v)


def test_objects_behind_the_camera_are_skipped() -> None:
    # a camera low over the table looking along +x, as the wrist camera may
    level = look_at(np.array([0.3, 0.0, 0.1]), np.array([1.0, 0.0, 0.1]), np.array([0, 0, 1.0]))
    ahead, behind = block(x=0.6), block(x=0.1)
    assert (draw_objects(blank(), [behind], INTRINSICS.matrix, level) == blank()).all()
    assert (draw_objects(blank(), [ahead], INTRINSICS.matrix, level) != blank()).any()


def test_jpeg_encoding_keeps_rgb_order() -> None:
    image = np.zeros((48, 64, 3), np.uint8)
    image[..., 0] = 220  # red
    decoded = cv2.imdecode(np.frombuffer(encode_jpeg(image, 90), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (48, 64, 3)
    b, g, r = decoded[24, 32]
    assert r > 200 and g < 30 and b < 30


# -- the overlay on a rendered frame ---------------------------------------------------------
def test_overlay_names_the_perceived_objects_with_the_scene_files_ids(session: Session) -> None:
    assert session.reference is not None
    overlay = SceneOverlay(session.perceiver, known=lambda: session.reference)
    frame = session.robot.capture("main")

    assert overlay.objects() == ()
    assert overlay.update(frame)
    assert sorted(o.id for o in overlay.objects()) == sorted(session.reference.ids)
    assert not overlay.update(frame)  # too soon: perception runs at most every 0.3 s

    red = next(o for o in overlay.objects() if o.id == "red_block")
    ((u, v),), _ = project_points(red.position, frame.intrinsics, frame.extrinsics)
    r, g, b = (int(c) for c in frame.rgb[round(v), round(u)])
    assert r > 120 and r > 2 * g and r > 2 * b  # the projected center lies on the red block

    drawn = draw_objects(frame.rgb, overlay.objects(), frame.intrinsics, frame.extrinsics)
    near = drawn[round(v) - 45 : round(v), round(u) - 50 : round(u) + 50]
    assert np.all(near == LABEL_BACKGROUND, axis=2).sum() > 200  # its label is just above


def test_overlay_takes_the_known_ids_or_keeps_its_own(session: Session) -> None:
    assert session.reference is not None
    renamed = Scene(
        tuple(
            replace(o, id="the_brick") if o.id == "red_block" else o
            for o in session.reference.objects
        )
    )
    frame = session.robot.capture("main")
    known: list[Scene | None] = [renamed]
    overlay = SceneOverlay(session.perceiver, known=lambda: known[0], min_interval_s=0.0)

    assert overlay.update(frame)
    assert "the_brick" in {o.id for o in overlay.objects()}
    known[0] = None
    assert overlay.update(frame)
    assert "red_block" in {o.id for o in overlay.objects()}  # perception's own name
    wrist = session.robot.capture("wrist")
    assert not overlay.update(wrist)  # only main-camera frames are perceived


def test_overlay_counts_failures_and_keeps_the_last_objects(session: Session) -> None:
    calls = {"n": 0}

    class Flaky:
        def perceive(self, frame: CameraFrame) -> Scene:
            calls["n"] += 1
            if calls["n"] > 1:
                raise RuntimeError("no depth in this frame")
            return session.perceiver.perceive(frame)

    overlay = SceneOverlay(Flaky(), min_interval_s=0.0)
    frame = session.robot.capture("main")
    assert overlay.update(frame)
    before = overlay.objects()

    assert not overlay.update(frame)
    assert overlay.failures == 1
    assert "no depth in this frame" in overlay.last_error
    assert overlay.objects() == before and before


# -- live cameras ---------------------------------------------------------------------------------
def test_live_cameras_deliver_annotated_jpegs_until_stopped(session: Session) -> None:
    overlay = SceneOverlay(session.perceiver, known=lambda: session.reference)
    got: dict[str, list[tuple[bytes, CameraFrame]]] = {"main": [], "wrist": []}
    lock = threading.Lock()

    def on_frame(camera: str, jpeg: bytes, frame: CameraFrame) -> None:
        with lock:
            got[camera].append((jpeg, frame))

    main = LiveCamera(
        session.robot,
        "main",
        objects=overlay.objects,
        before_draw=overlay.update,
        on_frame=on_frame,
    )
    wrist = LiveCamera(
        session.robot, "wrist", objects=overlay.objects, on_frame=on_frame, max_fps=4
    )
    assert main.fps == 0.0 and main.latest_jpeg is None
    main.start()
    wrist.start()
    try:
        assert wait_for(lambda: main.frames >= 4 and wrist.frames >= 4)
        assert main.running and wrist.running
        assert main.fps > 0 and 0 < wrist.fps <= 5.0  # the wrist view is held to max_fps
    finally:
        main.stop()
        wrist.stop()
    main.stop()  # idempotent
    assert not main.running and not wrist.running
    assert not [t for t in threading.enumerate() if t.name.startswith("console-camera-")]
    count = main.frames
    time.sleep(0.2)
    assert main.frames == count  # nothing after stop

    for camera, (h, w) in (("main", (480, 640)), ("wrist", (240, 320))):
        jpeg, frame = got[camera][-1]
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (h, w, 3) and frame.camera == camera
    assert main.latest_jpeg == got["main"][-1][0]
    assert main.last_error == "" and {o.id for o in overlay.objects()} >= {"red_block"}
    # the delivered main view carries the labels: dark label boxes the raw frame does not have
    jpeg, frame = got["main"][-1]
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert (np.abs(image.astype(int) - 25).max(axis=2) < 12).sum() > 1000
    assert (np.abs(frame.rgb.astype(int) - 25).max(axis=2) < 12).sum() < 100


class FlakyRobot:
    """A camera that fails a few times before it delivers small synthetic frames."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def capture(self, camera: str = "main") -> CameraFrame:
        self.calls += 1
        if camera != "main":
            raise ValueError(f"unknown camera {camera!r}")
        if self.calls <= self.failures:
            raise RobotError("link down")
        rgb = np.full((48, 64, 3), 90, np.uint8)
        return CameraFrame(rgb, np.ones((48, 64), np.float32), INTRINSICS.matrix, POSE)


def test_live_camera_keeps_going_after_capture_errors() -> None:
    robot = FlakyRobot(failures=2)
    errors: list[str] = []
    camera = LiveCamera(robot, "main", max_fps=50)  # type: ignore[arg-type]
    camera.start()
    try:
        assert wait_for(lambda: bool(camera.last_error) or camera.frames > 0)
        errors.append(camera.last_error)
        assert wait_for(lambda: camera.frames >= 2)
    finally:
        camera.stop()
    assert robot.calls >= 4
    assert errors[0] == "RobotError: link down"
    assert camera.last_error == ""
    assert camera.latest_jpeg is not None


def test_live_camera_reports_an_unknown_camera_and_stops_cleanly() -> None:
    camera = LiveCamera(FlakyRobot(failures=0), "ceiling")  # type: ignore[arg-type]
    camera.stop()  # before start: nothing to do
    camera.start()
    try:
        assert wait_for(lambda: "unknown camera" in camera.last_error)
        assert camera.running  # failing, not dead
    finally:
        camera.stop()
    assert not camera.running and camera.frames == 0 and camera.fps == 0.0


def test_live_camera_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="max_fps"):
        LiveCamera(FlakyRobot(0), max_fps=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="quality"):
        LiveCamera(FlakyRobot(0), quality=0)  # type: ignore[arg-type]
