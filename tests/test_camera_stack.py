"""A camera joins the stack by name: `--camera SPEC` on run/plan/repl/console puts its frames in
place of the main camera, and `bridge serve --camera SPEC` puts them behind the bridge. A
recorded folder stands in for a live camera: its frames show the red block where the scene file
does not put it, so only perception of the camera's frames finds it there."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pybullet as p
import pytest

from robot_llm.bridge.camera_driver import CameraDriver
from robot_llm.bridge.client import RemoteRobot
from robot_llm.bridge.driver import load_driver
from robot_llm.cameras import CameraCalibration, CameraError, open_source, open_table_camera
from robot_llm.cameras.recorded import FolderWriter
from robot_llm.cli import main
from robot_llm.config import ConfigError, RobotConfig, StackConfig
from robot_llm.envs.world import TabletopWorld
from robot_llm.session import SessionInputError, open_session
from robot_llm.tabletop.scene import load_scene
from robot_llm.types import CameraFrame
from tests.bridge_support import serving

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "sim_assets" / "scenes" / "blocks_and_bowls.yaml"
MOVED_TO = (0.45, 0.0)  # where the recording shows the red block; the scene file puts it elsewhere
FRAMES = 6


@pytest.fixture(scope="module")
def moved_frame() -> CameraFrame:
    world = TabletopWorld()
    try:
        world.build(load_scene(SCENE))
        p.resetBasePositionAndOrientation(
            world.bodies["red_block"], [*MOVED_TO, 0.02], [0, 0, 0, 1], physicsClientId=world.client
        )
        return world.render_main().to_camera_frame("main", 0.0)
    finally:
        world.close()


def record(folder: Path, frame: CameraFrame, pose: bool = True) -> Path:
    writer = FolderWriter(folder, depth=True)
    for _ in range(FRAMES):
        writer.write(frame)
    cal = CameraCalibration((frame.width, frame.height), frame.intrinsics)
    writer.write_calibration(
        cal.with_pose(frame.extrinsics, {"method": "simulator"}) if pose else cal
    )
    return folder


def red_block_xy(objects: list[dict[str, object]]) -> np.ndarray:
    (red,) = [o for o in objects if o["color"] == "red" and o["kind"] == "block"]
    return np.asarray(red["position"], dtype=float)[:2]


def test_the_scene_file_puts_the_red_block_elsewhere() -> None:
    (red,) = [o for o in load_scene(SCENE).objects if o.id == "red_block"]
    assert np.linalg.norm(np.asarray(red.position[:2]) - MOVED_TO) > 0.05


def test_a_session_perceives_the_cameras_frames(moved_frame: CameraFrame, tmp_path: Path) -> None:
    folder = record(tmp_path / "rec", moved_frame)
    config = StackConfig(robot=RobotConfig(scene=str(SCENE), camera=f"folder:{folder}"))
    session = open_session(config)
    try:
        _, scene, _ = session.plan("put the red block in the green bowl")
        (red,) = [o for o in scene.objects if o.color == "red" and o.kind == "block"]
        assert np.linalg.norm(np.asarray(red.position[:2]) - MOVED_TO) < 0.005
        assert session.robot.capture("wrist").rgb.shape == (240, 320, 3)  # the arm's own
    finally:
        session.close()


def test_plan_on_the_command_line_takes_a_camera(
    moved_frame: CameraFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = record(tmp_path / "rec", moved_frame)
    argv = ["plan", "--scene", str(SCENE), "--camera", f"folder:{folder}", "--json"]
    assert main([*argv, "put the red block in the green bowl"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "planned"
    assert np.linalg.norm(red_block_xy(result["scene"]) - MOVED_TO) < 0.005


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--camera", "folder:{nopose}"], "the calibration has no pose; give --camera-calibration"),
        (["--camera", "uvc"], "expected uvc:INDEX or uvc:/dev/videoN"),
        (["--camera", "folder:{missing}"], "missing"),
        (["--camera-calibration", "cam.yaml"], "camera_calibration needs a camera"),
        (["--camera", "folder:{rec}", "--perception", "truth"], "a --camera is seen by camera"),
    ],
)
def test_a_camera_that_cannot_be_used_is_one_line(
    moved_frame: CameraFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    folders = {
        "rec": record(tmp_path / "rec", moved_frame),
        "nopose": record(tmp_path / "nopose", moved_frame, pose=False),
        "missing": tmp_path / "missing",
    }
    argv = ["plan", "--scene", str(SCENE), *[a.format(**folders) for a in extra], "pick red"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_open_table_camera_needs_a_pose(moved_frame: CameraFrame, tmp_path: Path) -> None:
    folder = record(tmp_path / "nopose", moved_frame, pose=False)
    assert open_source(f"folder:{folder}").calibration is not None  # opens as a plain source
    with pytest.raises(CameraError, match="has no pose"):
        open_table_camera(f"folder:{folder}")
    with pytest.raises(ConfigError):
        RobotConfig(camera_calibration="cam.yaml")
    with pytest.raises(SessionInputError, match="seen by camera"):
        config = RobotConfig(scene=str(SCENE), camera=f"folder:{folder}")
        open_session(StackConfig(robot=config, perception="truth"))


def test_the_bridge_serves_the_cameras_frames_in_place_of_the_drivers(
    moved_frame: CameraFrame, tmp_path: Path
) -> None:
    folder = record(tmp_path / "rec", moved_frame)
    driver = CameraDriver(load_driver("mock"), open_table_camera(f"folder:{folder}"))
    described = driver.describe().camera("main")
    assert (described.width, described.height) == (640, 480) and described.depth
    assert np.allclose(described.intrinsics, moved_frame.intrinsics)
    assert described.extrinsics is not None
    assert np.allclose(described.extrinsics, moved_frame.extrinsics)
    with serving(driver) as server:
        robot = RemoteRobot(server.address)
        try:
            main_frame = robot.capture("main")
            assert np.array_equal(main_frame.rgb, moved_frame.rgb)
            assert np.allclose(main_frame.extrinsics, moved_frame.extrinsics)
            # stamped on the arm's clock, not the recording's
            assert abs(main_frame.timestamp - robot.state().timestamp) < 1.0
            wrist = robot.capture("wrist")  # still the mock arm's synthetic wrist camera
            assert wrist.rgb.shape == (240, 320, 3)
        finally:
            robot.close()


def test_a_colour_only_camera_says_so_in_the_description(
    moved_frame: CameraFrame, tmp_path: Path
) -> None:
    writer = FolderWriter(tmp_path / "rgb", depth=False)
    writer.write(moved_frame)
    cal = CameraCalibration((640, 480), moved_frame.intrinsics)
    writer.write_calibration(cal.with_pose(moved_frame.extrinsics, {"method": "simulator"}))
    driver = CameraDriver(load_driver("mock"), open_table_camera(f"folder:{tmp_path / 'rgb'}"))
    try:
        assert driver.describe().camera("main").depth is False
    finally:
        driver.close()


def test_bridge_serve_refuses_a_camera_without_a_pose_before_the_arm(
    moved_frame: CameraFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = record(tmp_path / "nopose", moved_frame, pose=False)
    argv = ["bridge", "serve", "--driver", "nope", "--camera", f"folder:{folder}"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    # the camera is checked first: the unknown driver is never reached
    assert len(err) == 1 and "has no pose" in err[0], err
    assert main(["bridge", "serve", "--driver", "mock", "--camera-calibration", "c.yaml"]) == 2
    assert "--camera-calibration goes with --camera" in capsys.readouterr().err


def test_a_live_view_streams_the_cameras_frames_and_the_arms_other_cameras(
    moved_frame: CameraFrame, tmp_path: Path
) -> None:
    """The console's views call `next_frame`: the camera's frames for main, the bridge's
    stream for the wrist."""
    from robot_llm.cameras.robot import attach_camera

    folder = record(tmp_path / "rec", moved_frame)
    with serving("mock") as server:
        robot = attach_camera(RemoteRobot(server.address), f"folder:{folder}")
        try:
            assert np.array_equal(robot.next_frame("main").rgb, moved_frame.rgb)
            first = robot.next_frame("wrist")
            second = robot.next_frame("wrist", first.timestamp)
            assert first.rgb.shape == (240, 320, 3) and second.timestamp > first.timestamp
        finally:
            robot.close()


def colour_only_recording(folder: Path, frame: CameraFrame) -> Path:
    writer = FolderWriter(folder, depth=False)
    for _ in range(FRAMES):
        writer.write(frame)
    cal = CameraCalibration((frame.width, frame.height), frame.intrinsics)
    writer.write_calibration(cal.with_pose(frame.extrinsics, {"method": "simulator"}))
    return folder


def test_a_colour_only_camera_is_perceived_from_known_sizes(
    moved_frame: CameraFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from robot_llm.perception import ColourOnlyPerceiver

    folder = colour_only_recording(tmp_path / "rgb", moved_frame)
    config = StackConfig(robot=RobotConfig(scene=str(SCENE), camera=f"folder:{folder}"))
    session = open_session(config)
    try:
        assert isinstance(session.perceiver, ColourOnlyPerceiver)
        _, scene, _ = session.plan("put the red block in the green bowl")
        assert scene.source == "camera:colour-only"
        (red,) = [o for o in scene.objects if o.color == "red" and o.kind == "block"]
        assert np.linalg.norm(np.asarray(red.position[:2]) - MOVED_TO) < 0.006
    finally:
        session.close()
    argv = ["camera", "check", "--source", f"folder:{folder}", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    found = sorted((o["color"], o["kind"]) for o in json.loads(captured.out)["objects"])
    assert found == sorted((o.color, o.kind) for o in load_scene(SCENE).objects)
    assert "objects are placed from their known sizes" in captured.err


def test_a_colour_only_camera_behind_the_bridge_picks_the_colour_only_perceiver(
    moved_frame: CameraFrame, tmp_path: Path
) -> None:
    from robot_llm.perception import CameraPerceiver, ColourOnlyPerceiver
    from robot_llm.session import perceiver_for

    folder = colour_only_recording(tmp_path / "rgb", moved_frame)
    driver = CameraDriver(load_driver("mock"), open_table_camera(f"folder:{folder}"))
    with serving(driver) as server, RemoteRobot(server.address) as robot:
        assert robot.camera_depth("main") is False and robot.camera_depth("wrist") is True
        assert isinstance(perceiver_for(robot), ColourOnlyPerceiver)
        assert isinstance(perceiver_for(robot, "wrist"), CameraPerceiver)
