"""`robot-llm console`: serve the operator page and run one session behind it.

The arm is always reached through a bridge: the one at `--robot tcp://HOST:PORT`, or a sim
bridge started in this process for `--scene` / `--task` (sim_bridge.py). The web server runs in
the main thread; the hub's threads run the session, the cameras and the watchdog.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from robot_llm.console.security import DEFAULT_BIND, TOKEN_ENV, Access


def add_console_parser(subparsers: Any) -> argparse.ArgumentParser:
    from robot_llm.cli_language import (
        add_perception_argument,
        add_planner_arguments,
        add_randomize_arguments,
        add_robot_arguments,
    )
    from robot_llm.speech.cli import add_asr_arguments

    p: argparse.ArgumentParser = subparsers.add_parser(
        "console",
        help="serve the operator console: a web page to watch, command and stop the arm",
        description="Serve the operator console (docs/console.md) and run one session behind it.",
    )
    add_robot_arguments(p, "a task id (a simulated arm on its seeded scene)")
    p.add_argument(
        "--bind",
        default=DEFAULT_BIND,
        metavar="HOST:PORT",
        help=f"where the page is served (default {DEFAULT_BIND}; any other host needs a token)",
    )
    p.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV),
        help=f"the access token (default ${TOKEN_ENV}; generated and printed for a "
        "non-loopback bind)",
    )
    p.add_argument(
        "--record",
        metavar="DIR",
        help="keep the episode's video and event log in DIR (default: a temporary folder)",
    )
    add_planner_arguments(p)
    add_perception_argument(p)
    add_randomize_arguments(p)
    add_asr_arguments(p)
    p.set_defaults(handler=cmd_console)
    return p


def cmd_console(args: argparse.Namespace) -> int:
    from robot_llm.cli_language import CommandInputError, stack_from_args

    access = Access.for_bind(args.bind, args.token or None)
    if args.perception != "camera":
        raise CommandInputError("the console perceives by camera; --perception truth is for run")
    config = stack_from_args(args)
    record = Path(args.record) if args.record else None
    if record is not None and not record.is_dir():
        raise CommandInputError(f"--record {args.record}: no such folder")
    from robot_llm.console.stack import ConsoleStack

    listener = _listen(access)  # a port in use is bad input before anything starts
    folder = record or Path(tempfile.mkdtemp(prefix="robot-llm-console-episode-"))
    try:
        asr_options = {"model": args.asr_model} if args.asr_model else {}
        stack = ConsoleStack.open(config, access, folder, args.asr, asr_options)
        try:
            _serve(stack, access, listener)
        finally:
            stack.close()
    finally:
        listener.close()
        if record is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def _listen(access: Access) -> socket.socket:
    """The listening socket of the page, bound now so that a busy port is one clear line."""
    from robot_llm.cli_language import CommandInputError

    family = socket.AF_INET6 if ":" in access.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((access.host, access.port))
    except OSError as err:
        sock.close()
        raise CommandInputError(
            f"--bind {access.host}:{access.port}: {err.strerror or err}"
        ) from None
    sock.listen(64)
    return sock


def _serve(stack: Any, access: Access, listener: socket.socket) -> None:
    import uvicorn

    config = uvicorn.Config(stack.app, log_level="warning", ws="websockets-sansio")
    server = uvicorn.Server(config)
    host = f"[{access.host}]" if ":" in access.host else access.host
    url = f"http://{host}:{access.port}/"
    if access.token is not None:
        url += f"#token={access.token}"
    print(
        f"console for {stack.hub.robot_name} ({stack.hub.source}) on {url}",
        file=sys.stderr,
        flush=True,
    )
    server.run(sockets=[listener])


def with_address(config: Any, address: str) -> Any:
    """`config` with its robot behind `address` (a scene file still names the objects)."""
    return replace(config, robot=replace(config.robot, robot=address, task=None))
