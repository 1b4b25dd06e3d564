"""CURVE: only allowed client keys reach the server; others get no control and no state."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
import zmq
from bridge_support import serving

from robot_llm.bridge.client import RemoteRobot
from robot_llm.bridge.curve import CurveKeyError, keygen
from robot_llm.bridge.errors import LinkDown

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not zmq.has("curve"), reason="libzmq without CURVE"),
]


def test_keygen_writes_a_server_pair_and_allowed_clients(tmp_path: Path) -> None:
    written = {p.relative_to(tmp_path).as_posix() for p in keygen(tmp_path, ("alice", "bob"))}
    assert written == {
        "server.key",
        "server.key_secret",
        "alice.key",
        "alice.key_secret",
        "bob.key",
        "bob.key_secret",
        "clients/alice.key",
        "clients/bob.key",
    }
    assert stat.S_IMODE((tmp_path / "alice.key_secret").stat().st_mode) == 0o600
    assert "secret-key" not in (tmp_path / "clients" / "alice.key").read_text()
    with pytest.raises(CurveKeyError, match="never overwritten"):
        keygen(tmp_path)


def test_only_an_allowed_key_gets_control(tmp_path: Path) -> None:
    trusted, stranger = tmp_path / "trusted", tmp_path / "stranger"
    keygen(trusted)
    keygen(stranger)  # a key pair the server does not list
    shutil.copy(trusted / "server.key", stranger / "server.key")  # it even knows the server
    with serving("mock", curve_keys=trusted) as server:
        before = np.asarray(server.driver.read_state().ee_position)
        with pytest.raises(LinkDown):
            RemoteRobot(server.address, curve_keys=stranger, connect_timeout=1.0)
        with pytest.raises(LinkDown):
            RemoteRobot(server.address, connect_timeout=1.0)  # no CURVE at all
        assert server.control.mode() == ("holding", "idle")  # nobody got control
        assert np.array_equal(server.driver.read_state().ee_position, before)
        with RemoteRobot(server.address, curve_keys=trusted) as robot:
            p, yaw = robot.ee_target()
            for _ in range(5):
                applied = robot.command_ee(p + np.array([0.0, 0.02, 0.0]), yaw, 1.0)
            assert applied.mode == "ok"
            assert robot.state().ee_position[1] > before[1] + 0.01
