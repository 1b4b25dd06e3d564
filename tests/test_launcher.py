"""The launcher: launch-file validation with file+line+field, and real stacks of child processes.

The children are `tests/launch_child.py` runs (see its docstring for the steps they take), so
these tests need neither the bridge nor the REPL.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import re
import signal
import socket
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from robot_llm.launcher import (
    LaunchFileError,
    add_launch_parser,
    find_launch_file,
    load_launch_file,
)
from robot_llm.launcher.cli import main

CHILD = str(Path(__file__).with_name("launch_child.py"))
LAUNCHER = [sys.executable, "-m", "robot_llm.launcher"]


def child(*steps: str) -> list[str]:
    return [sys.executable, CHILD, *steps]


def write_launch(tmp_path: Path, data: dict[str, Any], name: str = "stack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def launch(path: Path, *args: str, timeout: float = 30, **kw: Any) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*LAUNCHER, str(path), *args], capture_output=True, text=True, timeout=timeout, **kw
    )


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (which nobody may ever reap here)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- validation: one line naming file, line and field -------------------------------------

OK_PROCESS = "  - name: a\n    command: true\n"

BAD_FILES = {
    "unknown top key": ("processes:\n" + OK_PROCESS + "extra: 1\n", 4, "extra", "unknown key"),
    "unknown process key": (
        "processes:\n" + OK_PROCESS + "    restarts: 2\n",
        4,
        "processes.a.restarts",
        "unknown key",
    ),
    "flag not a boolean": (
        "processes:\n" + OK_PROCESS + "    interactive: maybe\n",
        4,
        "processes.a.interactive",
        "expected true or false",
    ),
    "env not a mapping": (
        "processes:\n" + OK_PROCESS + "    env: [X]\n",
        4,
        "processes.a.env",
        "expected a mapping",
    ),
    "port not a number": (
        "processes:\n" + OK_PROCESS + "    ready:\n      port: http\n",
        5,
        "processes.a.ready.port",
        "expected an integer",
    ),
    "missing command": (
        "processes:\n  - name: a\n  - name: b\n    command: true\n",
        2,
        "processes.a.command",
        "missing",
    ),
    "depends_on unknown": (
        "processes:\n" + OK_PROCESS + "    depends_on:\n      - bridge\n",
        5,
        "processes.a.depends_on",
        "unknown process 'bridge'",
    ),
    "depends_on cycle": (
        "processes:\n"
        "  - name: a\n    command: true\n    depends_on: c\n"
        "  - name: b\n    command: true\n    depends_on: a\n"
        "  - name: c\n    command: true\n    depends_on: b\n",
        7,
        "processes.b.depends_on",
        "forms a cycle: a -> c -> b -> a",
    ),
    "two interactive": (
        "processes:\n"
        "  - name: a\n    command: true\n    interactive: true\n"
        "  - name: b\n    command: true\n    interactive: true\n",
        7,
        "processes.b.interactive",
        "only one process may be interactive, and 'a' already is",
    ),
    "unknown restart policy": (
        "processes:\n" + OK_PROCESS + "    restart:\n      policy: sometimes\n",
        5,
        "processes.a.restart.policy",
        "unknown policy 'sometimes'",
    ),
    "undefined variable": (
        "vars:\n  A: 1\nprocesses:\n  - name: a\n    command: echo ${NOPE}\n",
        5,
        "processes.a.command",
        "undefined variable ${NOPE}",
    ),
    "program not found": (
        "processes:\n  - name: a\n    command: [no-such-program-here]\n",
        3,
        "processes.a.command",
        "program 'no-such-program-here' not found",
    ),
    "shutdown needs unknown": (
        "processes:\n" + OK_PROCESS + "shutdown:\n  command: true\n  needs: b\n",
        6,
        "shutdown.needs",
        "unknown process 'b'",
    ),
    "no processes": ("vars:\n  A: 1\n", 1, "processes", "missing"),
    "readiness field of another kind": (
        "processes:\n" + OK_PROCESS + "    ready:\n      port: 80\n      stream: stderr\n",
        6,
        "processes.a.ready.stream",
        "goes with log, not port",
    ),
    "variables in a cycle": (
        "vars:\n  A: ${B}\n  B: x${A}\nprocesses:\n  - name: a\n    command: echo ${A}\n",
        3,
        "vars.B",
        "variables refer to each other: A -> B -> A",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_launch_file_names_file_line_and_field(tmp_path: Path, case: str) -> None:
    text, line, field, message = BAD_FILES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LaunchFileError) as info:
        load_launch_file(path)
    error = str(info.value)
    assert "\n" not in error
    assert error.startswith(f"{path}:{line}: {field}: "), error
    assert message in error


def test_bad_yaml_and_bad_set_fail_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "started"
    path = tmp_path / "stack.yaml"
    path.write_text(
        f"processes:\n  - name: a\n    command: [touch, {marker}]\n  - [unclosed\n",
        encoding="utf-8",
    )
    assert main([str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert re.fullmatch(
        rf"robot-llm launch: error: {re.escape(str(path))}:\d+: not valid YAML: .*", err
    )
    write_launch(
        tmp_path,
        {"vars": {"A": "1"}, "processes": [{"name": "a", "command": ["touch", str(marker)]}]},
    )
    assert main([str(path), "--set", "B=2"]) == 2
    assert "--set B: not a variable of this file (declared: A)" in capsys.readouterr().err
    assert not marker.exists()


def test_variables_come_from_set_then_environment_then_defaults(tmp_path: Path) -> None:
    path = write_launch(
        tmp_path,
        {
            "vars": {"HOST": "localhost", "ADDR": "tcp://${HOST}:${PORT}", "PORT": "5555"},
            "processes": [
                {
                    "name": "a",
                    "command": "${python} -c pass ${ADDR} $${HOST}",
                    "env": {"P": "${PORT}"},
                }
            ],
        },
    )
    spec = load_launch_file(path, {"PORT": "6000"}, environ={"HOST": "arm", "PATH": os.defpath})
    (process,) = spec.processes
    assert process.argv == (sys.executable, "-c", "pass", "tcp://arm:6000", "${HOST}")
    assert process.env == {"P": "6000"}
    assert spec.variables["HOST"] == ("arm", "environment")
    assert spec.variables["PORT"] == ("6000", "set")
    assert spec.variables["ADDR"] == ("tcp://arm:6000", "default")


# --- the command line ------------------------------------------------------------------------


def test_list_and_check_the_bundled_launch_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    listed = capsys.readouterr().out
    for name in ("sim", "sim-headless", "hardware", "console"):
        assert re.search(rf"^{name}\s+\S", listed, re.M), listed
    assert main(["sim", "--check"]) == 0
    plan = capsys.readouterr().out
    assert plan.index("1. bridge") < plan.index("2. repl  (interactive)")
    assert "bridge serve --driver sim --bind tcp://127.0.0.1:5555 --scene " in plan
    assert "sim_assets/scenes/blocks_and_bowls.yaml" in plan
    assert "bridge hold --connect tcp://127.0.0.1:5555" in plan
    assert main(["hardware", "--check", "--json", "--set", "ROBOT_ADDRESS=tcp://arm:7000"]) == 0
    data = json.loads(capsys.readouterr().out)
    (repl,) = data["processes"]
    assert repl["command"][1:] == ["repl", "--robot", "tcp://arm:7000"] and repl["interactive"]
    assert data["shutdown"]["command"][1:] == ["bridge", "hold", "--connect", "tcp://arm:7000"]
    hardware = find_launch_file("hardware")
    spec = load_launch_file(hardware, environ={"ROBOT_ADDRESS": "tcp://arm:7001", "PATH": ""})
    assert spec.processes[0].argv[-1] == "tcp://arm:7001"
    assert main(["console", "--check", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    _bridge, console = data["processes"]
    assert console["command"][1:4] == ["console", "--robot", "tcp://127.0.0.1:5555"]
    assert console["depends_on"] == ["bridge"] and not console["interactive"]
    assert main(["no-such-stack"]) == 2
    assert "no bundled launch file of that name" in capsys.readouterr().err


def test_add_launch_parser_plugs_into_a_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="robot-llm")
    add_launch_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["launch", "sim-headless", "--check", "--set", "BRIDGE_ADDRESS=tcp://127.0.0.1:6001"]
    )
    assert args.handler(args) == 0
    assert "--bind tcp://127.0.0.1:6001" in capsys.readouterr().out


# --- running stacks ----------------------------------------------------------------------------


def test_dependency_order_readiness_and_prefixed_output(tmp_path: Path) -> None:
    log, port = tmp_path / "starts", free_port()
    path = write_launch(
        tmp_path,
        {
            "vars": {"CHILD": CHILD, "PORT": str(port)},
            "processes": [
                {
                    "name": "client",
                    "command": child(f"append:{log}:client", "say:hello from client", "exit:0"),
                    "depends_on": ["worker"],
                },
                {
                    "name": "worker",
                    "command": child(
                        f"append:{log}:worker",
                        "sleep:0.3",
                        f"append:{log}:worker up",
                        "err:worker up",
                        "forever",
                    ),
                    "depends_on": "server",
                    "ready": {"log": "^worker up$", "stream": "stderr", "timeout": 10},
                },
                {
                    "name": "server",
                    "command": "${python} ${CHILD} sleep:0.3 append:"
                    + f"{log}:server listen:${{PORT}} forever",
                    "ready": {"port": "${PORT}", "timeout": 10},
                },
            ],
        },
    )
    result = launch(path)
    assert result.returncode == 0, result.stderr
    assert lines(log) == ["server", "worker", "worker up", "client"]
    assert re.search(r"^client +\| hello from client$", result.stdout, re.M), result.stdout
    assert re.search(r"^worker +\| worker up$", result.stderr, re.M), result.stderr
    assert re.search(r"^launch +\| server: ready", result.stderr, re.M)
    assert "client exited with code 0: stopping" in result.stderr


def test_readiness_timeout_and_early_exit_fail_with_the_process_name(tmp_path: Path) -> None:
    never = tmp_path / "never"
    path = write_launch(
        tmp_path,
        {
            "processes": [
                {
                    "name": "slow",
                    "command": child("forever"),
                    "ready": {"log": "ready", "timeout": 0.5},
                },
                {"name": "after", "command": child(f"append:{never}:x"), "depends_on": "slow"},
            ]
        },
    )
    result = launch(path)
    assert result.returncode == 1
    assert (
        "slow was not ready in time (waited 0.5 s for a line matching /ready/ on stdout or stderr)"
        in result.stderr
    )
    path = write_launch(
        tmp_path,
        {
            "processes": [
                {"name": "crash", "command": child("exit:3"), "ready": {"delay": 5}},
                {"name": "after", "command": child(f"append:{never}:x"), "depends_on": "crash"},
            ]
        },
    )
    result = launch(path)
    assert result.returncode == 1
    assert (
        "crash exited with code 3 before it was ready (waited for a delay of 5 s)" in result.stderr
    )
    assert not never.exists()


def test_restart_on_failure_up_to_the_limit(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    path = write_launch(
        tmp_path,
        {
            "processes": [
                {
                    "name": "flaky",
                    "command": child(f"append:{starts}:start", "err:oops", "exit:1"),
                    "restart": {"policy": "on-failure", "max_restarts": 2, "backoff": 0.1},
                }
            ]
        },
    )
    result = launch(path)
    assert result.returncode == 1
    assert lines(starts) == ["start"] * 3
    assert "flaky exited with code 1; restart 1/2 in 0.1 s" in result.stderr
    assert "flaky exited with code 1; restart 2/2 in 0.2 s" in result.stderr
    assert "flaky exited with code 1 after 2 restarts: stopping" in result.stderr
    assert len(re.findall(r"^flaky +\| oops$", result.stderr, re.M)) == 3


def test_restart_recovers_a_process_that_fails_at_first(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    path = write_launch(
        tmp_path,
        {
            "processes": [
                {
                    "name": "flaky",
                    "command": child(
                        f"append:{starts}:start", f"fail-until:{starts}:2", "say:up", "exit:0"
                    ),
                    "ready": {"log": "up"},
                    "restart": {"policy": "on-failure", "max_restarts": 3, "backoff": 0.1},
                }
            ]
        },
    )
    result = launch(path)
    assert result.returncode == 0, result.stderr
    assert lines(starts) == ["start"] * 2


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_runs_the_hold_command_first_and_leaves_no_process(
    tmp_path: Path, sig: signal.Signals
) -> None:
    marks, pids = tmp_path / "marks", tmp_path / "pids"
    path = write_launch(
        tmp_path,
        {
            "processes": [
                {
                    "name": "bridge",
                    "command": child(
                        f"pid:{pids}",
                        f"spawn:{pids}",
                        f"on-stop:{marks}:bridge",
                        "err:bridge ready",
                        "forever",
                    ),
                    "ready": {"log": "bridge ready"},
                },
                {
                    "name": "stubborn",
                    "command": child(f"pid:{pids}", "ignore-stop", "forever"),
                    "depends_on": "bridge",
                },
                {
                    "name": "app",
                    "command": child(f"on-stop:{marks}:app", f"pid:{pids}", "forever"),
                    "depends_on": "bridge",
                },
            ],
            "shutdown": {"command": child(f"append:{marks}:hold"), "needs": "bridge", "grace": 0.5},
        },
    )
    proc = subprocess.Popen(
        [*LAUNCHER, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: len(lines(pids)) == 4)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert lines(marks) == ["hold", "app SIGTERM", "bridge SIGTERM"]
    assert f"{sig.name} received: stopping" in err
    assert "stubborn did not stop in 0.5 s after SIGTERM; killed" in err
    for pid in map(int, lines(pids)):
        assert not alive(pid), f"pid {pid} outlived the launcher"


def test_interactive_process_gets_stdin_and_its_exit_stops_the_stack(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    path = write_launch(
        tmp_path,
        {
            "processes": [
                {
                    "name": "bridge",
                    "command": child(
                        f"on-stop:{marks}:bridge", "sleep:0.2", "say:listening", "forever"
                    ),
                    "ready": {"log": "listening"},
                },
                {
                    "name": "operator",
                    "command": child("stdin"),
                    "depends_on": "bridge",
                    "interactive": True,
                },
            ],
            "shutdown": {"command": child(f"append:{marks}:hold")},
        },
    )
    result = launch(path, input="pick up the red block\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "got pick up the red block\nbye\n" in result.stdout  # the terminal's: not prefixed
    assert "operator exited with code 0: stopping" in result.stderr
    assert lines(marks) == ["hold", "bridge SIGTERM"]


def test_ctrl_c_on_a_terminal_holds_the_arm_then_stops_the_stack(tmp_path: Path) -> None:
    marks, pids = tmp_path / "marks", tmp_path / "pids"
    path = write_launch(
        tmp_path,
        {
            "processes": [
                {
                    "name": "bridge",
                    "command": child(f"pid:{pids}", f"on-stop:{marks}:bridge", "err:up", "forever"),
                    "ready": {"log": "up"},
                },
                {
                    "name": "operator",
                    "command": child(f"on-stop:{marks}:operator", f"pid:{pids}", "stdin"),
                    "depends_on": "bridge",
                    "interactive": True,
                },
            ],
            "shutdown": {"command": child(f"append:{marks}:hold"), "needs": "bridge"},
        },
    )
    master, terminal = pty.openpty()

    def on_the_terminal() -> None:  # a session whose controlling terminal is the pty
        os.setsid()
        fcntl.ioctl(terminal, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [*LAUNCHER, str(path)],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=on_the_terminal,
    )
    os.close(terminal)
    try:
        wait_for(lambda: len(lines(pids)) == 2)
        os.write(master, b"\x03")  # Ctrl-C: SIGINT to the terminal's foreground process group
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 0, err
    # The operator's process reads the terminal, so it gets the Ctrl-C itself; the bridge, in
    # its own process group, does not: it is stopped by the launcher, after the hold.
    assert "operator SIGINT" in lines(marks)
    assert lines(marks)[-2:] == ["hold", "bridge SIGTERM"], lines(marks)
    for pid in map(int, lines(pids)):
        assert not alive(pid)
