"""`robot-llm calibrate so101 --port PORT --out FILE` (the guided steps are calibrate.py).

Exit codes: 0 the file is written (its path on stdout); 2 bad input, a port that cannot be
used, a servo that does not answer, or input that ended early (one line on stderr).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from robot_llm.errors import OK, InputError

MAX_ID = 0xFC


class CalibrateInputError(InputError):
    """Bad arguments for `robot-llm calibrate`; one line."""


def add_calibrate_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "calibrate", help="calibrate a real arm with guided steps (so101)"
    )
    parser.add_argument("robot", choices=("so101",), help="the arm")
    parser.add_argument("--port", required=True, help="the arm's serial port, e.g. /dev/ttyACM0")
    parser.add_argument("--out", required=True, metavar="FILE", help="calibration file to write")
    parser.add_argument("--urdf", metavar="FILE", help="the arm's URDF (default: the bundled one)")
    parser.add_argument(
        "--ids",
        type=_ids,
        default=(1, 2, 3, 4, 5, 6),
        help="servo ids in joint order, shoulder pan to gripper (default 1,2,3,4,5,6)",
    )
    parser.set_defaults(handler=cmd_calibrate)
    return parser


def _ids(text: str) -> tuple[int, ...]:
    try:
        ids = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected six comma-separated ids") from None
    if len(ids) != 6 or len(set(ids)) != 6 or not all(0 <= i <= MAX_ID for i in ids):
        raise argparse.ArgumentTypeError(f"{text!r}: expected six different ids 0..{MAX_ID}")
    return ids


def cmd_calibrate(args: argparse.Namespace, ui: Any = None) -> int:
    from robot_llm.drivers.so101.calibrate import run

    out = Path(args.out)
    if not out.resolve().parent.is_dir():
        raise CalibrateInputError(f"{out}: folder {out.resolve().parent} does not exist")
    calibration = run(args, ui)
    calibration.save(out)
    print(out)
    return OK
