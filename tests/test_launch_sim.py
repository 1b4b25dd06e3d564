"""The whole simulated stack from one command: `robot-llm launch sim` starts the bridge server
with the sim driver and an operator REPL connected to it; a typed command, confirmed, moves the
arm on the server; quitting the REPL holds the arm and stops everything."""

from __future__ import annotations

import random
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(300)


def _free_base_port() -> int:
    """A port P with P..P+3 free on loopback (the bridge's four channels)."""
    for _ in range(50):
        base = random.randrange(20000, 40000)
        sockets = []
        try:
            for port in range(base, base + 4):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise AssertionError("no four free consecutive ports")


def test_launch_sim_runs_a_confirmed_command_and_holds_the_arm_on_the_way_out() -> None:
    address = f"tcp://127.0.0.1:{_free_base_port()}"
    script = "put the red block in the green bowl\ny\n:quit\n"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "robot_llm.cli",
            "launch",
            "sim",
            "--set",
            f"BRIDGE_ADDRESS={address}",
        ],
        input=script,
        capture_output=True,
        text=True,
        timeout=280,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "plan (2 steps): pick red_block; place red_block in green_bowl" in out
    assert "run this plan on the robot? [y/N] y" in out
    assert "place red_block in green_bowl: ok" in out
    # The operator quit: the hold command ran before the bridge stopped, and it stopped cleanly.
    hold = out.index("hold: mode holding")
    assert hold < out.index("bridge stopped; the arm was put in hold")
    assert "bridge: stopped (exited with code 0)" in out
