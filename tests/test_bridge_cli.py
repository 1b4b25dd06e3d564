"""Bridge command line and driver discovery: parsers, one-shots, bad input, entry points."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest
import tomllib
from bridge_support import ROOT, serving

from robot_llm.bridge.cli import BridgeInputError, add_bridge_parser, main
from robot_llm.bridge.driver import ENTRY_POINT_GROUP, UnknownDriver, driver_names, load_driver
from robot_llm.bridge.mock_driver import MockDriver

pytestmark = pytest.mark.timeout(60)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="robot-llm")
    add_bridge_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["bridge", *argv])


def test_serve_options_and_defaults() -> None:
    args = parse("serve", "--scene", "s.yaml", "--camera-encoding", "jpeg", "--watchdog-ms", "150")
    assert args.driver == "sim" and args.bind == "tcp://127.0.0.1:5555"
    assert args.camera_encoding == "jpeg" and args.watchdog_ms == 150.0 and args.state_hz == 100.0
    assert callable(args.handler)
    for action in ("status", "hold", "estop", "reset"):
        assert parse(action, "--connect", "tcp://10.0.0.2:6000").connect == "tcp://10.0.0.2:6000"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--driver", "mock", "--bind", "udp://x:1"], "not a bridge address"),
        (["serve", "--driver", "mock", "--driver-option", "oops"], "expected KEY=VALUE"),
        (["serve", "--driver", "mock", "--seed", "3"], "--seed goes with --task"),
        (["serve", "--driver", "mock", "--state-hz", "0"], "rates must be > 0"),
        (["serve", "--driver", "mock", "--camera-rate", "wrist"], "expected CAMERA=HZ"),
        (["serve", "--driver", "mock", "--camera-rate", "wrist=fast"], "expected CAMERA=HZ"),
        (["serve", "--driver", "mock", "--camera-rate", "wrist=0"], "'wrist': rate must be > 0"),
        (["serve", "--driver", "sim", "--driver-option", "render_detail=low"], "render_detail"),
        (["serve", "--driver", "nope"], "unknown driver 'nope'; known: "),
        (["serve", "--driver", "mock", "--driver-option", "colour=red"], "does not take"),
        (["status", "--connect", "localhost"], "not a bridge address"),
        (["hold", "--timeout", "0"], "--timeout must be > 0"),
    ],
)
def test_bad_input_is_one_line_value_error(argv: list[str], message: str) -> None:
    args = parse(*argv)
    with pytest.raises(ValueError, match=message) as err:
        args.handler(args)
    assert "\n" not in str(err.value)


def test_bad_input_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--driver", "mock", "--driver-option", "oops"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("robot-llm: error: --driver-option")


def test_status_prints_one_state_message(capsys: pytest.CaptureFixture[str]) -> None:
    with serving("mock") as server:
        assert main(["status", "--connect", server.address, "--json"]) == 0
        out = capsys.readouterr().out
        state = json.loads(out)
        assert out.count("\n") == 1
        assert state["type"] == "state" and state["mode"] == "holding"
        assert state["hold_reason"] == "idle" and len(state["joint_positions"]) == 7
        assert isinstance(state["seq"], int) and isinstance(state["t"], float)
        assert main(["status", "--connect", server.address]) == 0
        assert capsys.readouterr().out.startswith("mode holding (idle)  ee [0.350 0.000 0.300]")
    assert main(["status", "--connect", server.address, "--timeout", "0.3"]) == 1
    assert "no bridge server answers" in capsys.readouterr().err


def test_keygen_prints_the_files_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keygen", str(tmp_path / "keys")]) == 0
    names = {Path(line).name for line in capsys.readouterr().out.split()}
    assert names == {"server.key", "server.key_secret", "client.key", "client.key_secret"}
    args = parse("keygen", str(tmp_path / "keys"))
    with pytest.raises(BridgeInputError, match="never overwritten"):
        args.handler(args)


# -- drivers --------------------------------------------------------------------------------------
def test_pyproject_registers_the_built_in_drivers() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["entry-points"][ENTRY_POINT_GROUP] == {
        "sim": "robot_llm.bridge.sim_driver:SimDriver",
        "mock": "robot_llm.bridge.mock_driver:MockDriver",
    }
    assert "robot_llm.bridge" in meta["tool"]["setuptools"]["packages"]


def test_drivers_are_found_through_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A separately installed package's driver, found by its entry point alone."""
    (tmp_path / "my_arm_driver.py").write_text(
        "from robot_llm.bridge.mock_driver import MockDriver\n"
        "def make(*, rate='25'):\n    return MockDriver(control_hz=rate)\n"
        "class Old(MockDriver):\n    forward_kinematics = None\n"
        "def old():\n    return Old()\n",
        encoding="utf-8",
    )
    info = tmp_path / "my_arm_driver-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-arm-driver\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nmyarm = my_arm_driver:make\nold = my_arm_driver:old\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert {"sim", "mock", "myarm"} <= set(driver_names())
    driver = load_driver("myarm", {"rate": "25"})
    assert isinstance(driver, MockDriver) and driver.describe().control_hz == 25.0
    with pytest.raises(UnknownDriver, match="does not take"):
        load_driver("myarm", {"speed": "1"})
    # a driver written before forward kinematics joined the interface: named, not guessed
    with pytest.raises(UnknownDriver, match=r"lacks forward_kinematics$"):
        load_driver("old")
    monkeypatch.delitem(sys.modules, "my_arm_driver", raising=False)


def test_the_sim_driver_needs_a_scene() -> None:
    with pytest.raises(ValueError, match="needs a scene"):
        load_driver("sim")
    with pytest.raises(ValueError, match="unknown task"):
        load_driver("sim", {"task": "NoSuchTask"})
