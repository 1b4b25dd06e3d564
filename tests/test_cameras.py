"""Camera sources: recorded folders and videos round-trip frames and calibration, colour-only
frames carry the table plane's depth, bad specs and missing devices or packages are one-line
errors, and `robot-llm camera list/check/record` work on a rendered scene."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pybullet as p
import pytest

from robot_llm.cameras import (
    CameraCalibration,
    CameraError,
    CameraSource,
    EndOfRecording,
    open_source,
    parse_source,
    save_calibration,
    table_plane_depth,
)
from robot_llm.cameras.frames import FrameBuilder
from robot_llm.cameras.geometry import board_on_table
from robot_llm.cameras.recorded import FolderSource, FolderWriter, VideoSource
from robot_llm.cli import main
from robot_llm.envs.camera import Intrinsics, backproject, look_at
from robot_llm.envs.world import TabletopWorld
from robot_llm.tabletop.scene import load_scene
from robot_llm.types import CameraFrame

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "sim_assets" / "scenes" / "blocks_and_bowls.yaml"


@pytest.fixture(scope="module")
def rendered() -> list[CameraFrame]:
    """Two main-camera frames of a scene: as built, and with the red block moved."""
    world = TabletopWorld()
    try:
        world.build(load_scene(SCENE))
        frames = [world.render_main().to_camera_frame("main", 0.0)]
        world.build(load_scene(SCENE))
        body = world.bodies["red_block"]
        p.resetBasePositionAndOrientation(
            body, [0.45, 0.0, 0.02], [0, 0, 0, 1], physicsClientId=world.client
        )
        frames.append(world.render_main().to_camera_frame("main", 1.0))
    finally:
        world.close()
    return frames


def calibration_of(frame: CameraFrame) -> CameraCalibration:
    cal = CameraCalibration((frame.width, frame.height), frame.intrinsics)
    return cal.with_pose(frame.extrinsics, {"method": "simulator"})


def write_recording(folder: Path, frames: list[CameraFrame], depth: bool = True) -> Path:
    writer = FolderWriter(folder, depth=depth)
    for frame in frames:
        writer.write(frame)
    writer.write_calibration(calibration_of(frames[0]))
    return folder


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


# -- recorded sources ---------------------------------------------------------------------------
def test_folder_source_round_trips_frames_depth_and_calibration(
    rendered: list[CameraFrame], tmp_path: Path
) -> None:
    source = open_source(f"folder:{write_recording(tmp_path / 'rec', rendered)}")
    assert isinstance(source, CameraSource) and isinstance(source, FolderSource)
    assert not source.depth_from_table_plane and len(source) == 2
    for i, original in enumerate(rendered):
        frame = source.capture("main")
        assert np.array_equal(frame.rgb, original.rgb)
        assert np.abs(frame.depth - original.depth).max() <= 0.0005 + 1e-6  # millimetre PNG
        assert np.allclose(frame.intrinsics, original.intrinsics)
        assert np.allclose(frame.extrinsics, original.extrinsics)
        assert frame.camera == "main" and frame.timestamp == pytest.approx(i / 30)
    with pytest.raises(EndOfRecording, match="no more frames \\(2 read\\)"):
        source.capture()
    looping = FolderSource(tmp_path / "rec", loop=True)
    stamps = [looping.capture().timestamp for _ in range(3)]
    assert stamps == pytest.approx([0, 1 / 30, 0])


def test_a_colour_only_recording_carries_the_table_plane_and_says_so(
    rendered: list[CameraFrame], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_recording(tmp_path / "rgb", rendered[:1], depth=False)
    with caplog.at_level(logging.INFO, logger="robot_llm.cameras"):
        source = open_source(f"folder:{folder}")
    assert source.depth_from_table_plane
    assert "measures no depth" in caplog.text and "table plane" in caplog.text
    frame = source.capture()
    truth = rendered[0]
    expected = table_plane_depth(truth.intrinsics, truth.extrinsics, (truth.width, truth.height))
    assert np.array_equal(frame.depth, expected)
    # Where the camera sees the bare table, the plane's depth is the rendered depth.
    table = np.abs(truth.depth - expected) < 0.002
    assert table.mean() > 0.5


def test_table_plane_depth_back_projects_onto_the_table() -> None:
    k = Intrinsics(320, 240, 300.0, 310.0, 160.5, 119.0)
    rng = np.random.default_rng(3)
    for _ in range(5):
        eye = np.array([rng.uniform(-0.2, 0.3), rng.uniform(-0.3, 0.3), rng.uniform(0.4, 1.5)])
        pose = look_at(
            eye, np.array([0.5, 0.0, 0.0]) + rng.uniform(-0.1, 0.1, 3), np.array([0, 0, 1.0])
        )
        depth = table_plane_depth(k.matrix, pose, (k.width, k.height))
        v, u = np.mgrid[0 : k.height, 0 : k.width]
        seen = depth > 0
        points = backproject(u[seen], v[seen], depth[seen], k, pose)
        assert np.abs(points[:, 2]).max() < 1e-6
        assert seen.mean() > 0.5
    # A camera looking at the horizon: the rows above it never meet the table, and say "none".
    level = look_at(np.array([0.0, 0.0, 0.5]), np.array([1.0, 0.0, 0.5]), np.array([0, 0, 1.0]))
    depth = table_plane_depth(k.matrix, level, (k.width, k.height))
    assert (depth[: int(k.cy)] == 0).all() and (depth[int(k.cy) + 2 :] > 0).all()
    raised = table_plane_depth(k.matrix, level, (k.width, k.height), plane_z=0.1)
    assert (raised[int(k.cy) + 2 :] < depth[int(k.cy) + 2 :]).all()


def test_video_source_replays_a_video_file(rendered: list[CameraFrame], tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    for frame in [*rendered, rendered[0]]:
        writer.write(np.ascontiguousarray(frame.rgb[:, :, ::-1]))
    writer.release()
    cal_file = tmp_path / "cam.yaml"
    save_calibration(calibration_of(rendered[0]), cal_file)
    source = open_source(f"video:{path}", cal_file)
    assert isinstance(source, VideoSource) and source.depth_from_table_plane
    frames = [source.capture("main") for _ in range(3)]
    assert [f.timestamp for f in frames] == pytest.approx([0.0, 0.1, 0.2])
    assert np.abs(frames[1].rgb.astype(int) - rendered[1].rgb).mean() < 4  # JPEG frames
    assert np.allclose(frames[0].extrinsics, rendered[0].extrinsics)
    assert frames[0].depth.max() > 1.0  # the table plane, not zeros
    with pytest.raises(EndOfRecording):
        source.capture()
    source.close()


def test_frames_are_undistorted_with_the_calibration() -> None:
    k = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    dist = np.array([-0.3, 0.1, 0.0, 0.0, 0.0])
    cal = CameraCalibration((640, 480), k, dist)
    point = np.array([[0.4, -0.3, 1.0]])  # a point off-axis, where distortion is large
    distorted = cv2.projectPoints(point, np.zeros(3), np.zeros(3), k, dist)[0].ravel()
    ideal = cv2.projectPoints(point, np.zeros(3), np.zeros(3), k, None)[0].ravel()
    assert np.linalg.norm(distorted - ideal) > 10
    image = np.zeros((480, 640, 3), np.uint8)
    cv2.circle(image, tuple(round(float(c)) for c in distorted), 4, (255, 255, 255), -1)
    frame = FrameBuilder("test", cal, measures_depth=True).build(
        image, np.ones((480, 640), np.float32), 0.0, "main"
    )
    ys, xs = np.nonzero(frame.rgb[:, :, 0] > 128)
    assert np.linalg.norm([xs.mean() - ideal[0], ys.mean() - ideal[1]]) < 1.5


def test_frames_of_another_size_than_the_calibration_are_refused(
    rendered: list[CameraFrame], tmp_path: Path
) -> None:
    folder = write_recording(tmp_path / "rec", rendered[:1])
    k = np.array([[300.0, 0, 160], [0, 300.0, 120], [0, 0, 1]])
    small = CameraCalibration((320, 240), k)
    source = open_source(f"folder:{folder}", small)
    with pytest.raises(CameraError, match="frames are 640x480 but the calibration is for 320x240"):
        source.capture()


# -- bad specs, paths and devices -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("webcam:0", "unknown kind; sources are uvc:INDEX"),
        ("uvc", "expected uvc:INDEX or uvc:/dev/videoN"),
        ("folder:", "expected folder:PATH"),
        ("uvc:/dev/no-such-camera", "uvc:/dev/no-such-camera: no camera there"),
        ("folder:/no/such/folder", "no such folder"),
        ("video:/no/such/clip.mp4", "no such file"),
    ],
)
def test_bad_sources_are_one_line_errors(spec: str, message: str) -> None:
    with pytest.raises(CameraError, match=message) as info:
        open_source(spec)
    assert "\n" not in str(info.value)


def test_folders_and_videos_that_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CameraError, match="no images"):
        open_source(f"folder:{tmp_path / 'empty'}")
    (tmp_path / "notvideo.mp4").write_text("hello")
    with pytest.raises(CameraError, match="cannot read this video"):
        open_source(f"video:{tmp_path / 'notvideo.mp4'}")
    half = tmp_path / "half"
    half.mkdir()
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(half / name), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(half / "a.depth.png"), np.zeros((8, 8), np.uint16))
    with pytest.raises(CameraError, match=r"b\.png has no \.depth\.png beside it"):
        open_source(f"folder:{half}")


def test_realsense_without_its_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyrealsense2", None)  # as if not installed
    with pytest.raises(CameraError, match=r"pip install 'robot-llm\[realsense\]'") as info:
        open_source("realsense:123456")
    assert "\n" not in str(info.value)
    assert parse_source("realsense:123456").target == "123456"


# -- the command line ---------------------------------------------------------------------------
def test_camera_list_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["camera", "list", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out["uvc"], list) and set(out["realsense"]) == {"installed", "devices"}


def test_camera_check_perceives_a_recorded_scene_and_draws_it(
    rendered: list[CameraFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_recording(tmp_path / "rec", rendered[:1])
    out = tmp_path / "view.png"
    assert (
        main(["camera", "check", "--source", f"folder:{folder}", "--out", str(out), "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    found = sorted((o["color"], o["kind"]) for o in result["objects"])
    truth = sorted((o.color, o.kind) for o in load_scene(SCENE).objects)
    assert found == truth and result["depth_from_table_plane"] is False
    drawn = cv2.imread(str(out))[:, :, ::-1]
    assert drawn.shape == rendered[0].rgb.shape
    assert (np.abs(drawn.astype(int) - rendered[0].rgb).sum(axis=2) > 60).mean() > 0.005
    # A separate calibration file takes the folder's place; without a pose there is nothing
    # to perceive with.
    no_pose = tmp_path / "no_pose.yaml"
    save_calibration(CameraCalibration((640, 480), rendered[0].intrinsics), no_pose)
    argv = ["camera", "check", "--source", f"folder:{folder}", "--calibration", str(no_pose)]
    assert main(argv) == 2
    assert "no camera pose in the table frame" in one_error_line(capsys)


def test_camera_record_copies_a_source_to_a_folder(
    rendered: list[CameraFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_recording(tmp_path / "rec", rendered)
    argv = ["camera", "record", "--source", f"folder:{folder}", "--out", str(tmp_path / "copy")]
    assert main([*argv, "--frames", "5"]) == 0
    assert "wrote 2 frames" in capsys.readouterr().out
    copy = FolderSource(tmp_path / "copy")
    assert copy.calibration is None  # recorded raw: no calibration given
    assert np.array_equal(copy.capture().rgb, rendered[0].rgb)
    assert main([*argv, "--frames", "0"]) == 2
    assert "--frames must be at least 1" in one_error_line(capsys)
    # Recorded through a calibration with lens distortion: the frames are written undistorted,
    # so the recording's own calibration has none left.
    lens = calibration_of(rendered[0])
    lens = CameraCalibration(lens.image_size, lens.camera_matrix, np.array([-0.2, 0.05, 0, 0, 0]))
    save_calibration(lens, tmp_path / "lens.yaml")
    argv = ["camera", "record", "--source", f"folder:{folder}", "--calibration"]
    argv += [str(tmp_path / "lens.yaml"), "--out", str(tmp_path / "flat")]
    assert main(argv) == 0
    flat = FolderSource(tmp_path / "flat")
    assert flat.calibration is not None and not flat.calibration.has_distortion
    expected = open_source(f"folder:{folder}", lens).capture()
    assert np.array_equal(flat.capture().rgb, expected.rgb)
    assert not np.array_equal(expected.rgb, rendered[0].rgb)


def test_camera_help_and_bad_size(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["camera", "check", "--source", "folder:x", "--size", "big"]) == 2
    assert "--size 'big': expected WIDTHxHEIGHT" in one_error_line(capsys)
    cal = tmp_path / "c.yaml"
    cal.write_text("format: nope\n")
    assert main(["camera", "check", "--source", "folder:x", "--calibration", str(cal)]) == 2
    assert "not a camera calibration" in one_error_line(capsys)


def test_board_on_table_is_a_face_up_pose() -> None:
    pose = board_on_table(0.4, 0.1, 0.0)
    assert np.allclose(pose[:3, :3], np.diag([1.0, -1.0, -1.0]))
    assert np.allclose(pose[:3, 3], [0.4, 0.1, 0.0])


def test_camera_robot_takes_main_frames_from_the_source_and_the_rest_from_the_arm(
    rendered: list[CameraFrame], tmp_path: Path, make_world: Callable[..., TabletopWorld]
) -> None:
    from robot_llm.cameras.robot import CameraRobot
    from robot_llm.robots.base import Robot
    from robot_llm.robots.sim import SimRobot

    world = make_world(load_scene(SCENE))
    arm = SimRobot(world)
    source = open_source(f"folder:{write_recording(tmp_path / 'rec', rendered)}")
    robot = CameraRobot(arm, source)
    assert isinstance(robot, Robot) and robot.info == arm.info
    assert np.array_equal(robot.capture("main").rgb, rendered[0].rgb)
    assert np.array_equal(robot.capture().rgb, rendered[1].rgb)
    assert robot.capture("wrist").rgb.shape == (240, 320, 3)  # the arm's own wrist camera
    before = robot.state().ee_position
    applied = robot.command_ee(np.add(before, (0.0, 0.0, 0.01)), 0.0, 1.0)
    assert applied.position[2] > before[2]
    assert robot.world is world  # what only a sim robot has still reaches it
    robot.close()
    with pytest.raises(EndOfRecording):
        source.capture()


class FakeCapture:
    """Stands in for cv2.VideoCapture: `count` numbered images (each filled with its number),
    then a failed read, as an unplugged camera gives."""

    def __init__(self, count: int) -> None:
        self.count, self.read_count, self.settings = count, 0, {}

    def isOpened(self) -> bool:  # OpenCV's name
        return True

    def set(self, prop: int, value: float) -> bool:
        self.settings[prop] = value
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        time.sleep(0.002)
        if self.read_count >= self.count:
            return False, None
        self.read_count += 1
        return True, np.full((6, 8, 3), self.read_count, np.uint8)

    def release(self) -> None:
        pass


def test_uvc_source_serves_fresh_images_after_the_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from robot_llm.cameras import CameraFault, uvc

    fake = FakeCapture(40)
    monkeypatch.setattr(uvc, "open_video_capture", lambda device: fake)
    source = uvc.UvcSource(2, size=(8, 6), fps=15)
    assert source.name == "uvc:2" and source.depth_from_table_plane
    assert fake.settings[cv2.CAP_PROP_FRAME_WIDTH] == 8 and fake.settings[cv2.CAP_PROP_FPS] == 15
    first = int(source.capture().rgb[0, 0, 0])
    second = int(source.capture().rgb[0, 0, 0])
    assert first > uvc.WARMUP_FRAMES and second > first  # never the same image twice
    with pytest.raises(CameraFault, match="uvc:2: the camera stopped delivering images"):
        for _ in range(50):
            source.capture()
    source.close()
