"""The typed stack configuration: strict parsing, and one robot option for names and addresses."""

from __future__ import annotations

import pytest

from robot_llm.config import (
    ConfigError,
    ExecutorSettings,
    PlannerConfig,
    RobotConfig,
    StackConfig,
)
from robot_llm.errors import BAD_INPUT
from robot_llm.session import open_session

SCENE = "sim_assets/scenes/blocks_and_bowls.yaml"


def test_a_stack_round_trips_through_plain_data() -> None:
    stack = StackConfig(
        robot=RobotConfig(task="robot_llm/Stack-v0", seed=3, robot="xarm6"),
        perception="truth",
        planner=PlannerConfig("hybrid", {"model": "m"}),
        executor=ExecutorSettings(policy="scripted", max_retries=1, skill_timeout=30.0),
    )
    assert StackConfig.from_dict(stack.to_dict()) == stack
    assert StackConfig.from_dict({}) == StackConfig()


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"planer": {}}, "stack: unknown key 'planer'"),
        ({"robot": {"sede": 1}}, "stack.robot: unknown key 'sede'"),
        ({"robot": {"seed": "3"}}, "stack.robot.seed must be int"),
        ({"robot": {"seed": True}}, "stack.robot.seed must be int"),
        ({"executor": {"max_retries": 1.5}}, "stack.executor.max_retries must be int | None"),
        ({"perception": "lidar"}, "perception 'lidar' is not one of camera, truth"),
        ({"planner": []}, "stack.planner must be a map"),
    ],
)
def test_a_bad_key_or_value_is_one_line_naming_it(data: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        StackConfig.from_dict(data)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_the_robot_option_takes_a_name_or_an_address() -> None:
    assert RobotConfig().sim_robot == "panda" and RobotConfig().address is None
    assert RobotConfig(robot="xarm6").sim_robot == "xarm6"
    remote = RobotConfig(robot="tcp://127.0.0.1:5555")
    assert remote.address == "tcp://127.0.0.1:5555" and remote.sim_robot == "panda"


def test_a_session_builds_the_simulated_robot_it_names() -> None:
    session = open_session(StackConfig(robot=RobotConfig(scene=SCENE, robot="kuka_iiwa")))
    try:
        assert session.robot.info.name == "kuka_iiwa"
    finally:
        session.close()


def test_an_unknown_robot_name_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    from robot_llm import cli

    assert cli.main(["plan", "--scene", SCENE, "--robot", "ur5", "pick up the red block"]) == (
        BAD_INPUT
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown robot 'ur5'" in err[0], err
