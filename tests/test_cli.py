"""The `robot-llm` command line: help, version, JSON output, exit codes and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from robot_llm import __version__
from robot_llm.errors import BAD_INPUT, OK

pytestmark = pytest.mark.timeout(240)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "robot_llm.cli", *args],
        capture_output=True,
        text=True,
        timeout=200,
    )


def test_help_lists_subcommands_without_loading_heavy_modules() -> None:
    code = (
        "import sys; from robot_llm.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'pybullet', 'cv2', 'gymnasium') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "episode" in out.stdout and "scene" in out.stdout and "envs" in out.stdout
    assert "HEAVY []" in out.stdout


def test_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"robot-llm {__version__}"


def test_envs_json_lists_every_id() -> None:
    from robot_llm.envs import ENV_IDS

    out = run_cli("envs", "--json")
    assert out.returncode == OK
    data = json.loads(out.stdout)
    assert [row["id"] for row in data["envs"]] == list(ENV_IDS)


def test_episode_json_is_one_object_and_video_is_written(tmp_path: Path) -> None:
    import cv2

    video = tmp_path / "ep.mp4"
    out = run_cli(
        "episode",
        "--task",
        "robot_llm/PickPlace-v0",
        "--seed",
        "3",
        "--json",
        "--video",
        str(video),
    )
    assert out.returncode == OK, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["status"] == "done" and data["success"] is True
    assert data["evaluation"]["success"] is True
    assert data["instruction"] and data["steps"] > 10
    cap = cv2.VideoCapture(str(video))
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = cap.read()
    assert ok and frame.shape == (480, 640, 3)
    assert frames == data["steps"] + 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("episode", "--task", "robot_llm/Nope-v0"), "unknown task 'robot_llm/Nope-v0'"),
        (("scene", "check", "/nonexistent/scene.yaml"), "file not found"),
        (("episode", "--task", "PickPlace", "--video", "/nonexistent/dir/x.mp4"), "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], needle: str) -> None:
    out = run_cli(*args)
    assert out.returncode == BAD_INPUT
    err = [line for line in out.stderr.splitlines() if line.startswith("robot-llm:")]
    assert len(err) == 1 and needle in err[0], out.stderr
    assert "Traceback" not in out.stderr


def test_scene_check_reports_the_bad_object(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {id: a, kind: block, color: mauve, position: [0.5, 0.0]}\n")
    out = run_cli("scene", "check", str(bad))
    assert out.returncode == BAD_INPUT
    assert "object 0 ('a')" in out.stderr and "'color'" in out.stderr and "mauve" in out.stderr
    assert "Traceback" not in out.stderr


def test_bundled_scenes_are_valid_and_listed() -> None:
    out = run_cli("scene", "list", "--json")
    assert out.returncode == OK
    scenes = json.loads(out.stdout)["scenes"]
    assert {"blocks_and_bowls", "stacked", "clear_table"} <= set(scenes)
    for path in scenes.values():
        checked = run_cli("scene", "check", path, "--json")
        assert checked.returncode == OK, checked.stderr
        assert json.loads(checked.stdout)["valid"] is True
