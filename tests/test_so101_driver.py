"""The SO-101 driver on an emulated servo bus (a real pseudo-terminal, the real packets):
kinematics, calibration, start-up, faults (each leads to a hold or a fault, never to motion that
was not commanded), the command line's one-line errors, and the whole stack through the bridge."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from bridge_support import serving, wait_for
from so101_support import BASE, START, TIMEOUT_MS, start_steps, write_camera, write_urdf

from robot_llm.bridge.camera_driver import CameraDriver
from robot_llm.bridge.client import RemoteRobot
from robot_llm.bridge.driver import DriverError, load_driver
from robot_llm.cameras import open_table_camera
from robot_llm.cli import main
from robot_llm.drivers.so101 import protocol as p
from robot_llm.drivers.so101.calibrate import ScriptedPrompter, positive_hints, run
from robot_llm.drivers.so101.calibration import Calibration, CalibrationError, default_calibration
from robot_llm.drivers.so101.driver import So101Driver
from robot_llm.drivers.so101.emulator import EmulatedBus
from robot_llm.drivers.so101.kinematics import So101Kinematics
from robot_llm.robots.kinematics import Chain

pytestmark = pytest.mark.timeout(60)
STEP_RAD = 2 * np.pi / 4096


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    folder = tmp_path_factory.mktemp("so101")
    urdf = write_urdf(folder)
    calibration = default_calibration()
    calibration.save(folder / "calibration.json")
    return SimpleNamespace(
        folder=folder,
        urdf=urdf,  # the helper's chain, for hand-computed kinematics
        calibration=folder / "calibration.json",
        cal=calibration,
        start_steps=start_steps(calibration),  # the robot description's arm at START
    )


@pytest.fixture
def emulator(files: SimpleNamespace) -> Iterator[EmulatedBus]:
    with EmulatedBus(positions=files.start_steps) as bus:
        yield bus


def make_driver(files: SimpleNamespace, emulator: EmulatedBus, **options: str) -> So101Driver:
    return So101Driver(
        port=emulator.path,
        calibration=str(files.calibration),
        base=BASE,
        timeout_ms=TIMEOUT_MS,
        **options,
    )


@pytest.fixture
def driver(files: SimpleNamespace, emulator: EmulatedBus) -> Iterator[So101Driver]:
    d = make_driver(files, emulator)
    yield d
    d.close()


def settle(emulator: EmulatedBus, seconds: float = 0.3) -> dict[int, int]:
    time.sleep(seconds)
    return emulator.positions()


def still(emulator: EmulatedBus, before: dict[int, int], tolerance: int = 2) -> None:
    after = emulator.positions()
    moved = {i: after[i] - before[i] for i in before if abs(after[i] - before[i]) > tolerance}
    assert not moved, f"servos moved without a command (steps): {moved}"


# -- kinematics -----------------------------------------------------------------------------------
def test_chain_of_the_urdf_gives_the_hand_computed_zero_pose(files: SimpleNamespace) -> None:
    chain = Chain(
        files.urdf,
        "gripper_tcp",
        ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll"),
    )
    # zero pose: up 0.0624 + 0.0542 + 0.1126, forward 0.0304 + 0.1349 + 0.0611 + 0.09
    assert np.allclose(chain.position(np.zeros(5)), [0.3164, 0.0, 0.2292], atol=1e-9)
    # shoulder lift by +90 degrees lays the upper arm forward: the elbow is then 0.1126 ahead
    q = np.array([0.0, np.pi / 2, 0.0, 0.0, 0.0])
    assert np.allclose(chain.position(q), [0.0304 + 0.1126, 0, 0.1166 - 0.2860], atol=1e-9)


def test_inverse_kinematics_reaches_tool_down_targets_with_their_yaw(files) -> None:
    kin = So101Kinematics.load(files.urdf, (0.0, 0.0, 0.0))
    rng = np.random.default_rng(0)
    q = np.zeros(5)
    for _ in range(30):
        # inside the tool-down reach: 0.15 .. 0.23 m out, 2 .. 8 cm above the table
        r, azimuth = rng.uniform(0.15, 0.23), rng.uniform(-0.5, 0.5)
        target = np.array([r * np.cos(azimuth), r * np.sin(azimuth), rng.uniform(0.02, 0.08)])
        yaw = rng.uniform(-1.0, 1.0)
        q = kin.ik(target, yaw, q, iterations=100)
        pose = kin.pose(q)
        assert np.linalg.norm(pose[:3, 3] - target) < 1e-3, target
        assert np.allclose(pose[:3, :3], kin.down(yaw), atol=5e-3), (target, yaw)
        assert abs(kin.yaw(pose[:3, :3]) - yaw) < 5e-3
        assert np.all(q >= kin.lower) and np.all(q <= kin.upper)


def test_inverse_kinematics_out_of_reach_stays_inside_the_limits(files) -> None:
    kin = So101Kinematics.load(files.urdf, (0.0, 0.0, 0.0))
    q = kin.ik(np.array([0.9, 0.0, 0.1]), 0.0, np.zeros(5))
    assert np.all(q >= kin.lower - 1e-12) and np.all(q <= kin.upper + 1e-12)
    assert kin.fk(q)[0] > 0.3  # as far toward it as the arm goes


def test_kinematics_agree_with_the_simulators_chain_and_home_is_tool_down() -> None:
    from robot_llm.robots.kinematics import robot_chain

    kin = So101Kinematics.load()  # the simulator's description: URDF, base, home, ee_down
    chain = robot_chain("so101")
    rng = np.random.default_rng(1)
    for _ in range(10):
        q = rng.uniform(kin.lower, kin.upper)
        assert np.allclose(kin.pose(q), chain.pose(q), atol=1e-12)
    pose = kin.pose(kin.home())
    assert np.allclose(pose[:3, :3], kin.down(kin.yaw(pose[:3, :3])), atol=2e-2)
    base = np.array(chain.base[:3, 3])
    target = np.array(START) + base
    q = kin.ik(target, 0.5, kin.home(), iterations=300)
    assert np.linalg.norm(kin.fk(q) - target) < 1e-3


# -- calibration files ----------------------------------------------------------------------------
def test_a_calibration_file_round_trips(files: SimpleNamespace, tmp_path: Path) -> None:
    again = Calibration.load(files.cal.save(tmp_path / "c.json"))
    assert again == files.cal
    joint = again.joints[1]
    assert joint.angle(joint.steps(0.5)) == pytest.approx(0.5, abs=STEP_RAD)
    assert again.gripper.opening_steps(1.0) == 3200 and again.gripper.opening(2000) == 0.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a calibration file (not JSON"),
        ('{"joints": {"shoulder_pan": {}}}', "incomplete: no entry for shoulder_lift"),
        ("EDIT", "joint elbow_flex: no range_max"),
        ("DIRECTION", "joint wrist_flex: direction must be 1 or -1"),
    ],
)
def test_a_corrupt_calibration_is_one_line(
    files: SimpleNamespace, tmp_path: Path, content: str, message: str
) -> None:
    data = files.cal.to_dict()
    if content == "EDIT":
        del data["joints"]["elbow_flex"]["range_max"]
        content = json.dumps(data)
    elif content == "DIRECTION":
        data["joints"]["wrist_flex"]["direction"] = 2
        content = json.dumps(data)
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(CalibrationError) as err:
        Calibration.load(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    assert "\n" not in str(err.value)


# -- the driver on the emulated bus ---------------------------------------------------------------
def test_start_holds_the_arm_where_it_is(files: SimpleNamespace, emulator: EmulatedBus) -> None:
    for servo in emulator.servos.values():  # stale goals from an earlier session
        servo.set_goal(servo.position + 300)
    before = emulator.positions()
    driver = make_driver(files, emulator)
    try:
        wait_for(lambda: all(s.torque for s in emulator.servos.values()), 2.0, "torque on")
        assert emulator.goals() == before
        settle(emulator)
        still(emulator, before)
        d = driver.describe()
        assert d.name == "so101" and d.joints[0].name == "shoulder_pan"
        assert d.cameras == () and d.max_gripper_width > 0
        state = driver.read_state()
        assert np.allclose(state.ee_position, driver.forward_kinematics(state.joint_positions))
        with pytest.raises(DriverError, match="no camera of its own"):
            driver.capture("main")
    finally:
        driver.close()


def test_joint_and_end_effector_targets_reach_the_servos(
    driver: So101Driver, emulator: EmulatedBus, files: SimpleNamespace
) -> None:
    q = np.array(driver.read_state().joint_positions)
    goal = q + np.array([0.3, -0.1, 0.1, 0.05, 0.4])
    for k in range(1, 26):  # small steps, as the supervisor sends them
        driver.write_joints(q + (goal - q) * k / 25, 0.0)
        time.sleep(0.01)
    settle(emulator)
    driver.hold()
    reached = np.array(driver.read_state().joint_positions)
    assert np.allclose(reached, goal, atol=2 * STEP_RAD), reached - goal
    assert emulator.positions()[6] == files.cal.gripper.closed
    assert driver.read_state().gripper_width == pytest.approx(0.0, abs=1e-3)
    target, yaw = np.array([0.22, -0.05, 0.06]), 0.4
    start, start_yaw = driver.ee_target()
    for k in range(1, 31):
        driver.write_ee(
            start + (target - start) * k / 30, start_yaw + (yaw - start_yaw) * k / 30, 1
        )
        time.sleep(0.01)
    settle(emulator)
    driver.hold()
    state = driver.read_state()
    assert np.linalg.norm(np.array(state.ee_position) - target) < 0.003, state.ee_position
    position, target_yaw = driver.ee_target()
    assert np.allclose(position, target) and target_yaw == pytest.approx(yaw)


def test_stop_holds_the_measured_pose_with_torque_on(
    driver: So101Driver, emulator: EmulatedBus
) -> None:
    q = np.array(driver.read_state().joint_positions)
    driver.write_joints(q + np.array([0.8, 0, 0, 0, 0]), 1.0)  # far: still moving when stopped
    time.sleep(0.05)
    driver.stop()
    time.sleep(0.05)  # the sync writes have no answer: let the emulator take them
    measured = emulator.positions()
    assert all(s.torque for s in emulator.servos.values())
    assert all(abs(emulator.goals()[i] - measured[i]) <= 60 for i in range(1, 6))
    stopped = settle(emulator)
    still(emulator, stopped)
    position, _ = driver.ee_target()
    assert np.allclose(position, driver.read_state().ee_position, atol=0.01)


@pytest.mark.parametrize("fault", ["corrupt", "drop", "delay"])
def test_a_glitch_on_the_bus_is_retried_without_motion(
    driver: So101Driver, emulator: EmulatedBus, fault: str
) -> None:
    before = emulator.positions()
    getattr(emulator, f"{fault}_answers")(*((1, 0.5) if fault == "delay" else (1,)), servo_id=4)
    for _ in range(10):
        driver.hold()
    still(emulator, before)
    assert driver.read_state().joint_positions == pytest.approx(
        files_angles(driver, before), abs=1e-9
    )


def files_angles(driver: So101Driver, steps: dict[int, int]) -> tuple[float, ...]:
    return tuple(driver.calibration.angles({i: float(s) for i, s in steps.items()}))


@pytest.mark.parametrize(
    ("inject", "message"),
    [
        (lambda e: e.silence(3), "servo id 3 (elbow_flex) stopped answering on"),
        (lambda e: e.set_errors(2, p.ERR_OVERLOAD), "servo id 2 (shoulder_lift): overload"),
        (lambda e: e.set_errors(5, p.ERR_OVERHEAT), "servo id 5 (wrist_roll): overheat"),
        (lambda e: e.corrupt_answers(10_000, servo_id=1), "servo id 1 (shoulder_pan) stopped"),
    ],
    ids=["silent", "overload", "overheat", "corrupt"],
)
def test_a_servo_fault_faults_the_arm_and_holds_the_rest(
    files: SimpleNamespace, emulator: EmulatedBus, inject, message: str
) -> None:
    driver = make_driver(files, emulator, retries="1")  # a silent servo costs 2 timeouts a read
    q = np.array(driver.read_state().joint_positions)
    target = q + np.array([0.4, 0.2, 0.2, 0.2, 0.4])
    driver.write_joints(q + (target - q) * 0.1, 1.0)
    inject(emulator)
    with pytest.raises(DriverError, match=re.escape(message)):
        for k in range(2, 11):  # the fault shows on the next period's read
            driver.write_joints(q + (target - q) * k / 10, 1.0)
    # what the server does next: stop, then hold each period
    driver.stop()
    measured = settle(emulator, 0.2)  # the goals' sync write has no answer: let it land
    held = emulator.goals()
    assert all(
        abs(held[i] - measured[i]) <= 2 for i in range(1, 7) if not emulator.servos[i].silent
    )
    with pytest.raises(DriverError, match="send reset"):
        driver.write_joints(target, 1.0)
    with pytest.raises(DriverError):
        driver.write_ee(np.array([0.2, 0.0, 0.1]), 0.0, 1.0)
    for _ in range(5):
        driver.hold()
    settled = settle(emulator, 0.2)
    still(emulator, settled)
    assert emulator.goals() == held, "a goal changed while the arm was faulted"
    with pytest.raises(DriverError):
        driver.recover()  # the fault is still there: reset keeps the arm in fault
    emulator.clear_faults()
    driver.recover()
    before = settle(emulator, 0.1)
    still(emulator, before)
    driver.write_joints(np.array(driver.read_state().joint_positions), 1.0)
    driver.close()


# -- the command line -----------------------------------------------------------------------------
def serve_argv(port: str, calibration: Path) -> list[str]:
    return [
        "bridge",
        "serve",
        "--driver",
        "so101",
        "--bind",
        "tcp://127.0.0.1:0",
        "--driver-option",
        f"port={port}",
        "--driver-option",
        f"calibration={calibration}",
        "--driver-option",
        f"base={BASE}",
    ]


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    return err[0]


def test_serve_with_a_missing_port_is_one_line_and_exit_2(files, tmp_path, capsys) -> None:
    port = str(tmp_path / "ttyACM0")
    assert main(serve_argv(port, files.calibration)) == 2
    line = one_line(capsys)
    assert f"serial port {port}: no such port" in line


def test_serve_with_a_silent_servo_is_one_line_and_exit_2(files, emulator, capsys) -> None:
    emulator.silence(4)
    assert main(serve_argv(emulator.path, files.calibration)) == 2
    assert f"no servo answers at id 4 (wrist_flex) on {emulator.path}" in one_line(capsys)


def test_serve_with_an_overheated_servo_is_one_line_and_exit_2(files, emulator, capsys) -> None:
    emulator.set_errors(2, p.ERR_OVERHEAT)
    assert main(serve_argv(emulator.path, files.calibration)) == 2
    line = one_line(capsys)
    assert f"servo id 2 (shoulder_lift): overheat on {emulator.path}" in line
    assert not any(s.torque for s in emulator.servos.values())


def test_serve_with_a_corrupt_calibration_is_one_line_and_exit_2(files, emulator, tmp_path, capsys):
    broken = tmp_path / "so101.json"
    broken.write_text('{"joints": [1, 2]}')
    assert main(serve_argv(emulator.path, broken)) == 2
    assert f"{broken}: not a calibration file" in one_line(capsys)
    assert main([*serve_argv(emulator.path, files.calibration)[:6]]) == 2
    assert "needs --driver-option calibration=FILE" in one_line(capsys)


def test_calibrate_with_a_missing_port_is_one_line_and_exit_2(tmp_path, capsys) -> None:
    port = str(tmp_path / "nope")
    argv = ["calibrate", "so101", "--port", port, "--out", str(tmp_path / "c.json")]
    assert main([*argv, "--urdf", str(write_urdf(tmp_path))]) == 2
    assert f"serial port {port}: no such port" in one_line(capsys)


def test_guided_calibration_measures_offsets_directions_and_ranges(files, tmp_path) -> None:
    hints = positive_hints(str(files.urdf))
    assert hints["shoulder_pan"] == "so that the gripper moves to the robot's left"
    assert hints["shoulder_lift"] == "so that the gripper moves down"
    hints = positive_hints(None)  # the robot description's own URDF: its pan turns right
    assert hints["shoulder_pan"] == "so that the gripper moves to the robot's right"
    raw = {1: 700, 2: 3500, 3: 100, 4: 2048, 5: 4000, 6: 1500}  # horn angles of the middle pose
    with EmulatedBus(positions={i: (v + 900) % 4096 for i, v in raw.items()}) as bus:

        def to_middle() -> None:
            for i, v in raw.items():
                bus.move_by_hand(i, (v - bus.servo(i).offset) % 4096)

        def hand(servo_id: int, *offsets: int) -> list:
            return [lambda o=o: bus.move_by_hand(servo_id, 2048 + o) for o in offsets]

        script = [to_middle, ""]
        script += [*hand(1, 300, 900, -800, 0), ""]  # positive first: direction +1
        script += [*hand(2, -400, -1100, 1000, 0), ""]  # negative first: direction -1
        for servo_id in (3, 4, 5):
            script += [*hand(servo_id, 500, -500, 0), ""]
        script += [*hand(6, 10), "", *hand(6, 1200), ""]
        ui = ScriptedPrompter(script)
        args = SimpleNamespace(port=bus.path, urdf=str(files.urdf), ids=(1, 2, 3, 4, 5, 6))
        cal = run(args, ui)
        assert all(
            bus.servo(i).offset == p.to_signed(p.from_signed(v - 2048, 11), 11)
            for i, v in raw.items()
        )
        assert all(s.regs[p.LOCK[0]] == 1 for s in bus.servos.values())
    assert [j.offset for j in cal.joints] == [2048] * 5
    assert [j.direction for j in cal.joints] == [1, -1, 1, 1, 1]
    assert (cal.joints[0].range_min, cal.joints[0].range_max) == (2048 - 800, 2048 + 900)
    assert (cal.joints[1].range_min, cal.joints[1].range_max) == (2048 - 1100, 2048 + 1000)
    assert (cal.gripper.closed, cal.gripper.open) == (2058, 3248)
    assert "Move shoulder_pan first so that the gripper moves to the robot's left" in ui.said[1]
    assert Calibration.load(cal.save(tmp_path / "measured.json")) == cal


def test_calibrate_command_reads_enter_from_its_input(files, tmp_path) -> None:
    """`robot-llm calibrate so101` in a subprocess: its prompts on stderr, Enter on stdin; a hand
    (this test) moves the emulated joints between prompts."""
    out = tmp_path / "so101.json"
    with EmulatedBus() as bus:
        argv = [sys.executable, "-m", "robot_llm.cli", "calibrate", "so101", "--port", bus.path]
        proc = subprocess.Popen(
            [*argv, "--out", str(out), "--urdf", str(files.urdf)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None and proc.stderr is not None
        prompts = []
        for _ in range(8):  # middle pose, five joints, gripper closed, gripper open
            prompts.append(proc.stderr.readline())
            servo_id = 1 + len(prompts) - 2 if len(prompts) <= 6 else 6
            if 2 <= len(prompts) <= 6:
                for steps in (2048 + 400, 2048 - 400, 2048):
                    bus.move_by_hand(servo_id, steps)
                    time.sleep(0.3)  # the steps read the servo every 20 ms
            elif len(prompts) == 8:
                bus.move_by_hand(6, 2048 + 900)
            proc.stdin.write("\n")
            proc.stdin.flush()
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, "".join(prompts) + stderr
    assert stdout.strip() == str(out)
    assert prompts[0].startswith("Torque is off") and "Move wrist_roll" in prompts[5]
    cal = Calibration.load(out)
    assert [(j.range_min, j.range_max) for j in cal.joints] == [(1648, 2448)] * 5
    assert (cal.gripper.closed, cal.gripper.open) == (2048, 2948)


def test_guided_calibration_names_a_silent_servo(files) -> None:
    with EmulatedBus() as bus:
        bus.silence(6)
        args = SimpleNamespace(port=bus.path, urdf=str(files.urdf), ids=(1, 2, 3, 4, 5, 6))
        with pytest.raises(
            CalibrationError, match=f"no servo answers at id 6 .gripper. on {bus.path}"
        ):
            run(args, ScriptedPrompter([]))


# -- the whole stack ------------------------------------------------------------------------------
def test_remote_robot_moves_the_emulated_arm_through_the_bridge(files, emulator) -> None:
    driver = load_driver(
        "so101",
        {
            "port": emulator.path,
            "calibration": str(files.calibration),
            "base": BASE,
            "timeout_ms": TIMEOUT_MS,
        },
    )
    camera = open_table_camera(f"folder:{write_camera(files.folder / 'stack')}")
    with serving(CameraDriver(driver, camera)) as server, RemoteRobot(server.address) as robot:
        assert robot.info.name == "so101" and robot.info.cameras == ("main",)
        frame = robot.capture("main")
        assert frame.rgb.shape == (480, 640, 3)
        q0 = np.array(robot.state().joint_positions)
        goal = q0 + np.array([0.25, 0.1, -0.1, 0.0, 0.3])
        for _ in range(120):
            robot.command_joints(goal, 0.5)
            if np.allclose(robot.state().joint_positions, goal, atol=3 * STEP_RAD):
                break
        assert np.allclose(robot.state().joint_positions, goal, atol=3 * STEP_RAD)
        expected = driver.calibration.steps_for(goal, 0.0)
        del expected[6]  # the gripper: its width, below
        wait_for(
            lambda: all(abs(emulator.positions()[i] - s) <= 3 for i, s in expected.items()),
            3.0,
            "the emulated servos at the commanded pose",
        )
        width = robot.info.max_gripper_width * 0.5
        wait_for(lambda: abs(robot.state().gripper_width - width) < 0.002, 2.0, "half open")
        target, yaw = np.array([0.2, 0.06, 0.05]), -0.3
        for _ in range(150):
            robot.command_ee(target, yaw, 1.0)
            if np.linalg.norm(np.array(robot.state().ee_position) - target) < 0.002:
                break
        steps = emulator.positions()
        q = driver.calibration.angles({i: float(s) for i, s in steps.items()})
        reached = driver.forward_kinematics(q)
        assert np.linalg.norm(reached - target) < 0.004, reached
        assert abs(driver.kinematics.yaw(driver.kinematics.pose(q)[:3, :3]) - yaw) < 0.01
        assert robot.state().mode == "ok"


def test_a_silent_servo_through_the_bridge_is_a_fault_until_reset(files, emulator) -> None:
    driver = make_driver(files, emulator, retries="1")
    with serving(driver) as server, RemoteRobot(server.address, rpc_timeout=5.0) as robot:
        robot.hold()
        emulator.silence(2)
        wait_for(lambda: robot.state().mode == "fault", 3.0, "mode fault")
        assert "servo id 2 (shoulder_lift) stopped answering" in robot.state().last_error
        held = emulator.goals()
        robot.reset()  # the servo is still silent: the arm stays in fault
        assert server.control.mode()[0] == "fault"
        assert server.control.last_error.startswith("reset could not recover the driver")
        emulator.silence(2, False)
        robot.reset()
        assert server.control.mode()[0] != "fault"
        wait_for(lambda: robot.state().mode != "fault", 3.0, "the fault cleared")
        assert all(abs(emulator.goals()[i] - held[i]) <= 2 for i in held if i != 2)
