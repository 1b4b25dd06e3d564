"""`robot-llm plan` and `robot-llm run`: typed commands through perception, planner, executor."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from robot_llm.errors import BAD_INPUT, CLARIFY, OK, REFUSED

pytestmark = pytest.mark.timeout(300)
SCENE = "sim_assets/scenes/blocks_and_bowls.yaml"


def cli(*args: str) -> tuple[int, dict, str]:
    out = subprocess.run(
        [sys.executable, "-m", "robot_llm.cli", *args, "--json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=280,
    )
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    data = json.loads(lines[0]) if lines else {}
    assert len(lines) <= 1, out.stdout
    return out.returncode, data, out.stderr


@pytest.mark.parametrize(
    ("command", "status", "code"),
    [
        ("put the red block in the green bowl", "planned", OK),
        ("pick up the block", "clarify", CLARIFY),
        ("throw the red block at the operator", "refused", REFUSED),
    ],
)
def test_plan_status_and_exit_code(command: str, status: str, code: int) -> None:
    rc, data, err = cli("plan", "--scene", SCENE, command)
    assert rc == code, err
    assert data["status"] == status and data["command"] == command
    ids = {o["id"] for o in data["scene"]}
    assert ids == {
        "red_block",
        "green_block",
        "blue_block",
        "green_bowl",
        "yellow_bowl",
        "gray_zone",
    }  # perceived, with the scene file's ids
    if status == "planned":
        assert data["plan"]["subgoals"] == [
            {"skill": "pick", "object": "red_block"},
            {"skill": "place", "object": "red_block", "in": "green_bowl"},
        ]
    if status == "clarify":
        assert "Which block" in data["question"] and len(data["candidates"]) == 3
    if status == "refused":
        assert "throw" in data["reason"].lower()


def test_run_executes_a_two_step_command_and_reports_the_scene_after() -> None:
    rc, data, err = cli(
        "run",
        "--scene",
        SCENE,
        "put the red block in the green bowl, then put the green block on the blue block",
    )
    assert rc == OK, err
    assert data["status"] == "done"
    assert [s["success"] for s in data["subgoals"]] == [True] * 4
    after = {o["id"]: o for o in data["scene_after"]}
    red, bowl = after["red_block"]["position"], after["green_bowl"]["position"]
    assert math.dist(red[:2], bowl[:2]) < 0.04
    green, blue = after["green_block"]["position"], after["blue_block"]["position"]
    assert math.dist(green[:2], blue[:2]) < 0.02 and green[2] > blue[2] + 0.03
    assert data["timings"]["planning_s"] >= 0.0


def test_run_with_a_task_uses_its_instruction_and_reports_its_verdict() -> None:
    rc, data, err = cli("run", "--task", "robot_llm/PickPlace-v0", "--seed", "4")
    assert rc == OK, err
    assert data["command"] and data["task_success"] is True and data["task_progress"] == 1.0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("plan", "--scene", SCENE, "--planner", "nope", "x"), "unknown planner 'nope'"),
        (("plan", "--scene", SCENE, "--task", "robot_llm/Stack-v0", "x"), "not both"),
        (("plan", "--task", "robot_llm/Nope-v0"), "unknown task"),
        (("plan", "--scene", SCENE), "give a command"),
        (("plan", "x"), "give a scene"),
        (("run", "--scene", SCENE, "--policy", "nope", "x"), "unknown policy 'nope'"),
        (("run", "--scene", SCENE, "--policy", "no_module_here:make", "x"), "cannot be imported"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(args: tuple[str, ...], needle: str) -> None:
    rc, _, err = cli(*args)
    assert rc == BAD_INPUT
    lines = [line for line in err.splitlines() if line.startswith("robot-llm:")]
    assert len(lines) == 1 and needle in lines[0], err
    assert "Traceback" not in err


def test_run_drives_the_skills_of_the_policy_it_is_given(tmp_path: Path) -> None:
    """--policy module:function reaches `run` as it reaches `bench`: its skills move the arm."""
    mark = tmp_path / "used.txt"
    (tmp_path / "counting_policy.py").write_text(
        "from pathlib import Path\n"
        "from robot_llm.policies.scripted import scripted_skills\n"
        "def make(robot):\n"
        "    skills = scripted_skills(robot)\n"
        "    def counted(name):\n"
        "        def build():\n"
        f"            with Path({str(mark)!r}).open('a') as f:\n"
        "                f.write(name + '\\n')\n"
        "            return skills[name]()\n"
        "        return build\n"
        "    return {name: counted(name) for name in skills}\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "robot_llm.cli", "run", "--scene", SCENE, "--json", "--quiet",
         "--policy", "counting_policy:make", "pick up the red block"],
        capture_output=True, text=True, timeout=280, cwd=Path.cwd(),
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode == OK, out.stderr[-2000:]
    assert json.loads(out.stdout)["status"] == "done"
    assert "pick" in mark.read_text().split()


def test_a_simulated_robot_by_name_runs_without_asking_and_a_bridge_asks() -> None:
    import argparse

    from robot_llm.cli_language import wants_confirmation

    def args(**kw: object) -> argparse.Namespace:
        return argparse.Namespace(**{"robot": None, "confirm": None, **kw})

    assert wants_confirmation(args()) is False
    assert wants_confirmation(args(robot="so101")) is False  # a simulated arm, by name
    assert wants_confirmation(args(robot="tcp://127.0.0.1:5555")) is True
    assert wants_confirmation(args(robot="so101", confirm=True)) is True
    assert wants_confirmation(args(robot="tcp://127.0.0.1:5555", confirm=False)) is False
