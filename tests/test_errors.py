"""One base error, bad input kept apart from faults, and exit codes that mean one thing."""

from __future__ import annotations

import pytest

from robot_llm import cli, errors
from robot_llm.errors import BAD_INPUT, FAILED, Fault, InputError, RobotLLMError


def test_exit_codes_are_defined_once_and_distinct() -> None:
    codes = [errors.OK, FAILED, BAD_INPUT, errors.CLARIFY, errors.REFUSED, errors.REPEAT]
    assert len(set(codes)) == len(codes) and errors.INTERRUPTED == 130


def test_the_project_errors_are_input_errors_or_faults() -> None:
    from robot_llm.bridge.driver import DriverError, UnknownDriver
    from robot_llm.bridge.protocol import ProtocolError
    from robot_llm.execution.plans import PlanError
    from robot_llm.launcher.nodes import LaunchFileError
    from robot_llm.media import MediaError
    from robot_llm.planning.suite import SuiteError
    from robot_llm.robots.base import RobotError
    from robot_llm.speech.base import SpeechError, SpeechInputError
    from robot_llm.tabletop.scene import SceneError
    from robot_llm.types import SchemaError

    for bad_input in (SceneError, SchemaError, ProtocolError, PlanError, LaunchFileError,
                      SuiteError, UnknownDriver, SpeechInputError):  # fmt: skip
        assert issubclass(bad_input, InputError) and issubclass(bad_input, ValueError)
    for fault in (RobotError, DriverError, SpeechError, MediaError):
        assert issubclass(fault, Fault) and not issubclass(fault, InputError)
    assert issubclass(InputError, RobotLLMError) and issubclass(Fault, RobotLLMError)


def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scene", "check", "/no/such/scene.yaml"]) == BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("robot-llm: error:") and "scene.yaml" in err[0]


def boom(*_: object) -> int:
    raise ValueError("a bug, not the user's input")


def test_a_fault_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain ValueError from inside is a bug: the CLI no longer passes it off as bad input."""
    monkeypatch.setattr(cli, "_cmd_scene_list", boom)
    with pytest.raises(ValueError, match="a bug"):
        cli.main(["scene", "list"])


def test_no_traceback_makes_a_fault_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_cmd_scene_list", boom)
    assert cli.main(["--no-traceback", "scene", "list"]) == FAILED
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["robot-llm: fault: ValueError: a bug, not the user's input"]
