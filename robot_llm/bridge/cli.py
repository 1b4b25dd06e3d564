"""`robot-llm bridge ...`: serve an arm, make CURVE keys, and one-shot requests.

    bridge serve --driver sim --scene FILE [--bind tcp://127.0.0.1:5555] ...
    bridge keygen DIR
    bridge status | hold | estop | reset  --connect ADDRESS

`serve` prints "bridge ready on ADDRESS" on stderr once it listens, and on SIGINT or SIGTERM
holds the arm and exits 0. Exit codes: 0 done, 1 the server could not be reached or refused,
2 bad input (BridgeInputError, one line).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import threading
from typing import Any

from robot_llm.bridge.endpoints import DEFAULT_ADDRESS
from robot_llm.errors import BAD_INPUT, FAILED, OK, InputError, first_line

SWITCH_INTERVAL_S = 0.0005  # let socket threads in quickly while physics runs (see serve)
DEFAULT_REALTIME_PRIORITY = 50


class BridgeInputError(InputError):
    """Bad command-line input for a bridge command; the message is one line."""


def add_bridge_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `bridge` and its actions to an argparse subparsers object; handlers in `handler`."""
    bridge: argparse.ArgumentParser = subparsers.add_parser(
        "bridge", help="the ZeroMQ hardware bridge: serve an arm, keys, status, hold, e-stop"
    )
    sub = bridge.add_subparsers(dest="bridge_command", metavar="ACTION", required=True)
    p = sub.add_parser("serve", help="serve an arm through a driver (sim, mock or installed)")
    p.add_argument("--driver", default="sim", help="driver name (default: sim)")
    p.add_argument(
        "--bind",
        default=DEFAULT_ADDRESS,
        metavar="ADDRESS",
        help=f"base address; port 0 picks free ports (default: {DEFAULT_ADDRESS})",
    )
    p.add_argument("--scene", metavar="FILE", help="scene file for the sim driver")
    p.add_argument("--task", metavar="ID", help="task whose seeded scene the sim driver builds")
    p.add_argument("--seed", type=int, default=None, help="task seed (with --task; default 0)")
    p.add_argument(
        "--driver-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option for the driver (repeatable)",
    )
    p.add_argument(
        "--camera",
        metavar="SPEC",
        help="a camera over the table in place of the driver's main camera: uvc:0, realsense, "
        "folder:PATH, video:PATH (docs/cameras.md)",
    )
    p.add_argument(
        "--camera-calibration",
        metavar="FILE",
        help="the --camera's calibration file, with its pose (camera calibrate-extrinsics)",
    )
    p.add_argument("--state-hz", type=float, default=100.0, help="state rate (default 100)")
    p.add_argument("--camera-hz", type=float, default=15.0, help="camera rate (default 15)")
    p.add_argument(
        "--camera-rate",
        action="append",
        default=[],
        metavar="CAMERA=HZ",
        help="a camera's own rate, e.g. wrist=12 (repeatable; others use --camera-hz)",
    )
    p.add_argument(
        "--camera-encoding",
        choices=("raw", "jpeg", "png"),
        default="raw",
        help="color image encoding; depth is raw or 16-bit png (default raw)",
    )
    p.add_argument("--jpeg-quality", type=int, default=90, help="JPEG quality 1..100")
    p.add_argument(
        "--watchdog-ms",
        type=float,
        default=200.0,
        help="hold the arm after this long without commands (default 200)",
    )
    p.add_argument(
        "--max-ee-speed",
        type=float,
        default=None,
        metavar="M_PER_S",
        help="end-effector speed limit (default: the robot's own, 0.25 for the Panda)",
    )
    p.add_argument("--curve-keys", metavar="DIR", help="require CURVE: key folder (bridge keygen)")
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback bind without CURVE (anyone who reaches it can drive the arm)",
    )
    p.add_argument(
        "--realtime",
        type=int,
        nargs="?",
        const=DEFAULT_REALTIME_PRIORITY,
        default=None,
        metavar="PRIORITY",
        help="run the control thread under SCHED_FIFO at this priority "
        f"(1..99, default {DEFAULT_REALTIME_PRIORITY})",
    )
    p.set_defaults(handler=cmd_serve)
    p = sub.add_parser("keygen", help="write CURVE keys: a server pair and an allowed client")
    p.add_argument("dir", metavar="DIR")
    p.add_argument(
        "--client",
        action="append",
        default=None,
        metavar="NAME",
        help="client key pair name (repeatable; default: client)",
    )
    p.set_defaults(handler=cmd_keygen)
    for action, text in (
        ("status", "print the arm's state message"),
        ("hold", "latch a hold: the arm stays where it is until resume or reset"),
        ("estop", "latch an e-stop: nothing moves until reset"),
        ("reset", "clear an e-stop, a fault or a hold"),
    ):
        p = sub.add_parser(action, help=text)
        p.add_argument(
            "--connect",
            default=DEFAULT_ADDRESS,
            metavar="ADDRESS",
            help=f"the server's base address (default: {DEFAULT_ADDRESS})",
        )
        p.add_argument("--curve-keys", metavar="DIR", help="CURVE key folder of this client")
        p.add_argument("--timeout", type=float, default=2.0, help="seconds to wait (default 2)")
        if action == "status":
            p.add_argument("--json", action="store_true", help="print one JSON object")
        p.set_defaults(handler=cmd_request, bridge_request=action)
    return bridge


# -- serve ----------------------------------------------------------------------------------------
def _driver_options(args: argparse.Namespace) -> dict[str, object]:
    options: dict[str, object] = {}
    for item in args.driver_option:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise BridgeInputError(f"--driver-option {item!r}: expected KEY=VALUE")
        options[key] = value
    for key in ("scene", "task", "seed"):
        value = getattr(args, key)
        if value is not None:
            options[key] = value
    if args.seed is not None and args.task is None:
        raise BridgeInputError("--seed goes with --task")
    return options


def _camera_rates(items: list[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for item in items:
        camera, sep, value = item.partition("=")
        try:
            rates[camera.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not camera.strip():
            raise BridgeInputError(f"--camera-rate {item!r}: expected CAMERA=HZ, e.g. wrist=12")
    return rates


def _load_driver(args: argparse.Namespace) -> Any:
    """The driver `--driver` names, with `--camera` in place of its main camera: the camera is
    opened first, so a camera that cannot be used is one line before the arm is touched."""
    from robot_llm.bridge.driver import load_driver

    if args.camera is None:
        if args.camera_calibration is not None:
            raise BridgeInputError("--camera-calibration goes with --camera")
        return load_driver(args.driver, _driver_options(args))
    from robot_llm.bridge.camera_driver import CameraDriver
    from robot_llm.cameras.spec import open_table_camera

    source = open_table_camera(args.camera, args.camera_calibration)
    try:
        return CameraDriver(load_driver(args.driver, _driver_options(args)), source)
    except BaseException:
        source.close()
        raise


def cmd_serve(args: argparse.Namespace) -> int:
    from robot_llm.bridge.limits import SafetyLimits, driver_limits
    from robot_llm.bridge.server import BridgeServer, ServerConfig

    try:
        overrides: dict[str, float] = {"watchdog_s": args.watchdog_ms / 1000.0}
        if args.max_ee_speed is not None:
            overrides["max_ee_speed"] = args.max_ee_speed
        limits = SafetyLimits().with_overrides(**overrides)
        config = ServerConfig(
            bind=args.bind,
            state_hz=args.state_hz,
            camera_hz=args.camera_hz,
            camera_rates=_camera_rates(args.camera_rate),
            camera_encoding=args.camera_encoding,
            jpeg_quality=args.jpeg_quality,
            limits=limits,
            curve_keys=args.curve_keys,
            insecure=args.insecure,
            realtime_priority=args.realtime,
        )
    except ValueError as err:
        raise BridgeInputError(str(err).splitlines()[0]) from None
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        driver = _load_driver(args)
        # The robot's own reach box and speed cap (robot_llm.tabletop.setups), e.g. the SO-101's.
        limits = driver_limits(driver, limits, keep_speed=args.max_ee_speed is not None)
        config = dataclasses.replace(config, limits=limits)
        server = BridgeServer(driver, config)
        # PyBullet steps hold the GIL; a short switch interval lets the socket threads answer
        # within a fraction of a millisecond meanwhile.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        try:
            server.start()
        except Exception:
            driver.close()
            raise
        print(f"bridge ready on {server.address}", file=sys.stderr, flush=True)
        if args.insecure and args.curve_keys is None:
            print(
                f"WARNING: --insecure: {server.address} takes commands from anyone who reaches "
                "it; no CURVE",
                file=sys.stderr,
                flush=True,
            )
        held = False
        try:
            while not stop.wait(0.5):
                pass
        finally:
            held = server.control.request_hold("shutdown")
            server.stop()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if not held:
        why = server.control.last_error or "the driver did not answer"
        print(f"bridge stopped; the arm could not be put in hold: {why}", file=sys.stderr)
        return FAILED
    print("bridge stopped; the arm was put in hold", file=sys.stderr, flush=True)
    return OK


# -- keygen ---------------------------------------------------------------------------------------
def cmd_keygen(args: argparse.Namespace) -> int:
    from robot_llm.bridge.curve import keygen

    try:
        written = keygen(args.dir, tuple(args.client or ("client",)))
    except (ValueError, OSError) as err:
        raise BridgeInputError(str(err).splitlines()[0]) from None
    for path in written:
        print(path)
    return OK


# -- one-shot requests ----------------------------------------------------------------------------
def cmd_request(args: argparse.Namespace) -> int:
    from robot_llm.bridge.curve import client_keys
    from robot_llm.bridge.endpoints import Endpoints
    from robot_llm.bridge.link import Link
    from robot_llm.robots.base import RobotError

    try:
        Endpoints.from_address(args.connect)
        keys = client_keys(args.curve_keys) if args.curve_keys else None
    except ValueError as err:
        raise BridgeInputError(str(err).splitlines()[0]) from None
    if args.timeout <= 0:
        raise BridgeInputError("--timeout must be > 0")
    action = args.bridge_request
    link = Link(
        args.connect,
        client=f"robot-llm bridge {action}",
        control=False,
        keys=keys,
        rpc_timeout=args.timeout,
    )
    try:
        link.connect(args.timeout)
        if action == "status":
            report = link.next_state(args.timeout)
            _print_state(report.message(), args.json)
        else:
            reply = link.rpc(action)
            print(f"{action}: mode {reply.get('mode')}", file=sys.stderr)
    except (RobotError, ValueError) as err:
        print(f"robot-llm bridge {action}: {str(err).splitlines()[0]}", file=sys.stderr)
        return FAILED
    finally:
        link.close()
    return OK


def _print_state(fields: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(fields))
        return

    def nums(key: str) -> str:
        value = fields.get(key)
        return " ".join(f"{float(v):.3f}" for v in value) if isinstance(value, list) else "?"

    reason = f" ({fields['hold_reason']})" if fields.get("hold_reason") else ""
    print(
        f"mode {fields.get('mode')}{reason}  ee [{nums('ee_position')}]  "
        f"gripper {fields.get('gripper_width', 0):.3f} m  joints [{nums('joint_positions')}]"
    )
    if fields.get("last_error"):
        print(f"last error: {fields['last_error']}")


def main(argv: list[str] | None = None) -> int:
    """`python -m robot_llm.bridge.cli ACTION ...`: the bridge commands on their own."""
    parser = argparse.ArgumentParser(prog="robot-llm")
    add_bridge_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bridge", *(sys.argv[1:] if argv is None else argv)])
    try:
        code: int = args.handler(args)
    except InputError as err:
        print(f"robot-llm: error: {first_line(err)}", file=sys.stderr)
        return BAD_INPUT
    return code


if __name__ == "__main__":
    sys.exit(main())
