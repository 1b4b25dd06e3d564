"""`robot-llm camera ...`: list, check, record and calibrate cameras (docs/cameras.md).

Heavy work (OpenCV, perception) loads inside the handlers. Bad input, a camera that is not
there and a refused calibration are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from robot_llm.errors import OK, InputError

DEFAULT_VIEWS = 40  # held out: 20 views left the camera up to 5.5 mm off, 40 views 3.6 mm
SOURCE_HELP = (
    "camera: uvc:INDEX, uvc:/dev/videoN, realsense, realsense:SERIAL, folder:PATH, video:PATH"
)


class CameraInputError(InputError):
    """A camera command's argument that cannot be used; one line, exit code 2."""


def add_camera_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `camera` and its actions on the top-level subparsers."""
    camera: argparse.ArgumentParser = subparsers.add_parser(
        "camera",
        help="list, check, record and calibrate real cameras",
        description="Cameras for a real arm: connect, calibrate, check (docs/cameras.md).",
    )
    sub = camera.add_subparsers(dest="camera_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="the cameras OpenCV opens at indices 0-9, and RealSense")
    _json(p)
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser(
        "check", help="grab a frame, perceive it, and draw what was perceived over it"
    )
    _source(p, required=True)
    p.add_argument("--calibration", metavar="FILE", help="calibration file (docs/cameras.md)")
    p.add_argument("--out", metavar="PNG", help="write the frame with the objects drawn")
    _json(p)
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("record", help="save a camera's frames as a folder that folder:PATH replays")
    _source(p, required=True)
    p.add_argument("--calibration", metavar="FILE", help="calibrate the frames with this file")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write (created)")
    p.add_argument("--frames", type=int, default=1, help="how many frames (default 1)")
    p.add_argument("--interval", type=float, default=0.0, help="seconds between frames")
    p.set_defaults(handler=cmd_record)

    p = sub.add_parser("board", help="write a calibration board's picture to print")
    _board(p)
    p.add_argument("--out", required=True, metavar="PNG", help="image file to write")
    p.add_argument("--dpi", type=int, default=300, help="printer resolution (default 300)")
    p.set_defaults(handler=cmd_board)

    p = sub.add_parser(
        "calibrate-intrinsics",
        help="camera matrix and lens distortion from views of a chessboard or ChArUco board",
    )
    _source(p, required=False)
    p.add_argument("--images", metavar="DIR", help="calibrate from the images in a folder")
    _board(p)
    p.add_argument("--out", required=True, metavar="FILE", help="calibration file to write")
    p.add_argument(
        "--views",
        type=int,
        default=DEFAULT_VIEWS,
        help=f"views to collect from a live camera (default {DEFAULT_VIEWS})",
    )
    p.add_argument(
        "--interval", type=float, default=1.0, help="seconds between live views (default 1)"
    )
    p.add_argument(
        "--max-error", type=float, default=1.0, help="refuse above this RMS error, px (1.0)"
    )
    p.add_argument("--min-views", type=int, default=8, help="refuse with fewer views (8)")
    p.add_argument("--tangential", action="store_true", help="fit tangential distortion too")
    _json(p)
    p.set_defaults(handler=cmd_calibrate_intrinsics)

    p = sub.add_parser(
        "calibrate-extrinsics",
        help="the camera's pose in the table frame from a board lying on the table",
    )
    _source(p, required=False)
    p.add_argument("--images", metavar="DIR", help="frames of the board from a folder")
    _board(p)
    p.add_argument(
        "--calibration",
        required=True,
        metavar="FILE",
        help="the camera's intrinsics file, which gets the pose (a RealSense's may not exist yet)",
    )
    p.add_argument(
        "--board-pose", metavar="YAML", help="board pose file, or several placements (docs)"
    )
    p.add_argument(
        "--board-at",
        metavar="X,Y[,Z]",
        help="the board pattern's top-left corner on the table, meters",
    )
    p.add_argument(
        "--board-yaw",
        type=float,
        default=0.0,
        metavar="DEG",
        help="angle of the board's rows from the table's +x, counterclockwise (default 0)",
    )
    p.add_argument("--frames", type=int, default=5, help="live frames to use (default 5)")
    p.add_argument("--out", metavar="FILE", help="file to write (default: --calibration)")
    p.add_argument(
        "--max-error", type=float, default=1.0, help="refuse above this RMS error, px (1.0)"
    )
    _json(p)
    p.set_defaults(handler=cmd_calibrate_extrinsics)
    return camera


def _source(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--source", required=required, metavar="SPEC", help=SOURCE_HELP)
    p.add_argument("--size", metavar="WxH", help="ask a live camera for this image size")
    p.add_argument("--fps", type=float, help="ask a live camera for this frame rate")


def _board(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--board",
        required=True,
        metavar="SPEC",
        help="chessboard:9x6:0.025, charuco:8x6:0.03:0.022[:DICT] or aruco:4x3:0.05:0.01[:DICT]"
        " (sizes in meters)",
    )


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _progress(message: str) -> None:
    print(message, file=sys.stderr)


def _emit(args: argparse.Namespace, out: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        print(json.dumps(out))
    else:
        for line in lines:
            print(line)


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise CameraInputError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 640x480") from None
    if w < 1 or h < 1:
        raise CameraInputError(f"--size {text!r}: sizes must be positive")
    return (w, h)


def _output_path(path: str, flag: str) -> Path:
    out = Path(path)
    if not out.resolve().parent.is_dir():
        raise CameraInputError(f"{flag} {path}: folder {out.resolve().parent} does not exist")
    return out


def _open(args: argparse.Namespace, calibration: Any = None, raw: bool = False) -> Any:
    from robot_llm.cameras.spec import open_source

    spec = args.source
    if getattr(args, "images", None):
        if spec:
            raise CameraInputError("give --source or --images, not both")
        spec = f"folder:{args.images}"
    if not spec:
        raise CameraInputError("give a camera: --source SPEC or --images DIR")
    return open_source(spec, calibration, _parse_size(args.size), args.fps, raw=raw)


# -- list ---------------------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    import importlib.util

    from robot_llm.cameras.realsense import list_devices
    from robot_llm.cameras.uvc import probe_indices

    uvc = probe_indices()
    installed = importlib.util.find_spec("pyrealsense2") is not None
    realsense = list_devices() if installed else []
    out = {"uvc": uvc, "realsense": {"installed": installed, "devices": realsense}}
    lines = [f"{c['spec']:16s} {c['size'][0]}x{c['size'][1]}" for c in uvc]  # type: ignore[index]
    if not uvc:
        lines.append("no USB camera at indices 0-9")
    if not installed:
        lines.append("realsense: pyrealsense2 not installed (pip install 'robot-llm[realsense]')")
    lines += [f"{d['spec']:16s} {d['name']}" for d in realsense]
    if installed and not realsense:
        lines.append("realsense: no device connected")
    _emit(args, out, lines)
    return OK


# -- check --------------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    from robot_llm.cameras.check import check_frame

    out_path = _output_path(args.out, "--out") if args.out else None
    source = _open(args, args.calibration)
    try:
        if source.calibration is None or not source.calibration.has_pose:
            raise CameraInputError(
                f"{source.name}: no camera pose in the table frame to perceive with; give "
                "--calibration FILE with one (robot-llm camera calibrate-extrinsics)"
            )
        if source.depth_from_table_plane:
            _progress(
                f"note: {source.name} measures no depth; objects are placed from their known "
                "sizes, as standing on the table (stacks are not resolved; docs/cameras.md)"
            )
        frame = source.capture("main")
    finally:
        source.close()
    result = check_frame(frame, out_path, depth=not source.depth_from_table_plane)
    out = {
        "source": source.name,
        "depth_from_table_plane": source.depth_from_table_plane,
        "size": [frame.width, frame.height],
        "perceive_ms": round(result.seconds * 1000, 1),
        "objects": [o.to_dict() for o in result.scene.objects],
        "out": str(out_path) if out_path else None,
    }
    lines = [
        f"{o.id:18s} {o.kind:6s} {o.color:8s} {o.size:7s} at "
        f"({o.position[0]:.3f}, {o.position[1]:.3f}, {o.position[2]:.3f})"
        for o in result.scene.objects
    ]
    lines.append(f"{len(result.scene.objects)} objects in {result.seconds * 1000:.0f} ms")
    if out_path:
        lines.append(f"wrote {out_path}")
    _emit(args, out, lines)
    return OK


# -- record -------------------------------------------------------------------------------------
def cmd_record(args: argparse.Namespace) -> int:
    from dataclasses import replace

    import numpy as np

    from robot_llm.cameras.base import EndOfRecording
    from robot_llm.cameras.recorded import FolderWriter

    if args.frames < 1:
        raise CameraInputError(f"--frames must be at least 1, got {args.frames}")
    _output_path(args.out, "--out")
    source = _open(args, args.calibration, raw=not args.calibration)
    try:
        writer = FolderWriter(args.out, depth=not source.depth_from_table_plane)
        if source.calibration is not None:
            # The frames are written undistorted: their calibration has no distortion left.
            cal = source.calibration
            writer.write_calibration(replace(cal, distortion=np.zeros_like(cal.distortion)))
        for i in range(args.frames):
            if i and args.interval > 0:
                time.sleep(args.interval)
            try:
                writer.write(source.capture("main"))
            except EndOfRecording:
                break
    finally:
        source.close()
    print(f"wrote {writer.count} frames to {args.out}")
    return OK


# -- board --------------------------------------------------------------------------------------
def cmd_board(args: argparse.Namespace) -> int:
    import cv2

    from robot_llm.cameras.boards import parse_board

    board = parse_board(args.board)
    out = _output_path(args.out, "--out")
    if args.dpi < 50:
        raise CameraInputError(f"--dpi {args.dpi}: too coarse to print a board")
    pixels_per_square = round(board.square / 0.0254 * args.dpi)
    image = board.image(pixels_per_square)
    if not cv2.imwrite(str(out), image, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise CameraInputError(f"{out}: cannot write an image there")
    w_mm, h_mm = (1000 * s for s in board.size_m)
    print(
        f"wrote {out}: print at {args.dpi} dpi, unscaled; the pattern is {w_mm:.0f} x {h_mm:.0f} mm"
    )
    print("measure a square after printing: calibration is only as true as the board's size")
    return OK


# -- calibrate ----------------------------------------------------------------------------------
def _collect(
    source: Any, board: Any, want: int, interval: float, live: bool
) -> tuple[list[Any], tuple[int, int] | None]:
    """Board views from a source: every frame of a recording, or frames of a live camera until
    `want` show the board (or 10 x `want` frames were taken)."""
    from robot_llm.cameras.base import EndOfRecording

    views: list[Any] = []
    size = None
    taken = 0
    while not live or (sum(v is not None for v in views) < want and taken < 10 * want):
        try:
            frame = source.capture("main")
        except EndOfRecording:
            break
        taken += 1
        frame_size = (frame.width, frame.height)
        if size is not None and frame_size != size:
            raise CameraInputError(
                f"{source.name}: frame {taken} is {frame_size[0]}x{frame_size[1]}, "
                f"the first was {size[0]}x{size[1]}"
            )
        size = frame_size
        view = board.detect(frame.rgb)
        views.append(view)
        if live:
            seen = sum(v is not None for v in views)
            _progress(f"frame {taken}: {'board found' if view else 'no board'} ({seen}/{want})")
            time.sleep(interval)
    return views, size


def _is_live(source: Any) -> bool:
    return not source.name.startswith(("folder:", "video:"))


def cmd_calibrate_intrinsics(args: argparse.Namespace) -> int:
    from robot_llm.cameras.boards import parse_board
    from robot_llm.cameras.calibration import save_calibration
    from robot_llm.cameras.intrinsics import calibrate_intrinsics

    board = parse_board(args.board)
    out_path = _output_path(args.out, "--out")
    source = _open(args, raw=True)
    live = _is_live(source)
    try:
        if live:
            _progress(f"hold the board in front of {source.name} at varied distances and tilts")
        views, size = _collect(source, board, args.views, args.interval, live)
    finally:
        source.close()
    if size is None:
        raise CameraInputError(f"{source.name}: no frames")
    result = calibrate_intrinsics(
        views, size, board, args.max_error, args.min_views, tangential=args.tangential
    )
    save_calibration(result.calibration, out_path)
    k = result.calibration.camera_matrix
    out = {
        "out": str(out_path),
        "image_size": list(size),
        "rms_px": round(result.rms_px, 4),
        "views": len(result.used),
        "images": len(views),
        "dropped": list(result.dropped),
        "camera_matrix": k.tolist(),
        "distortion": result.calibration.distortion.tolist(),
    }
    lines = [
        f"RMS reprojection error {result.rms_px:.3f} px over {len(result.used)} views "
        f"(of {len(views)} images; {len(result.dropped)} dropped as outliers)",
        f"fx {k[0, 0]:.1f}  fy {k[1, 1]:.1f}  cx {k[0, 2]:.1f}  cy {k[1, 2]:.1f} px",
        f"wrote {out_path}",
    ]
    _emit(args, out, lines)
    return OK


def cmd_calibrate_extrinsics(args: argparse.Namespace) -> int:
    from robot_llm.cameras.boards import parse_board
    from robot_llm.cameras.calibration import load_calibration, save_calibration
    from robot_llm.cameras.extrinsics import (
        FocalCheck,
        Placement,
        calibrate_extrinsics,
        load_placements,
    )
    from robot_llm.cameras.geometry import board_on_table
    from robot_llm.cameras.spec import open_source

    board = parse_board(args.board)
    # A RealSense brings its own intrinsics: its calibration file may not exist yet.
    calibration = load_calibration(args.calibration) if Path(args.calibration).exists() else None
    out_path = _output_path(args.out or args.calibration, "--out")
    if bool(args.board_pose) == bool(args.board_at):
        raise CameraInputError("give the board's pose: --board-pose YAML or --board-at X,Y")
    if args.board_pose:
        specs = load_placements(args.board_pose)
    else:
        from robot_llm.cameras.extrinsics import PlacementSpec

        xyz = _parse_xyz(args.board_at)
        specs = [PlacementSpec(board_on_table(xyz[0], xyz[1], args.board_yaw, xyz[2]))]
    placements = []
    for spec in specs:
        if spec.images is not None:
            if args.source or args.images:
                raise CameraInputError(
                    "the board pose file names each placement's images; drop --source/--images"
                )
            source = open_source(f"folder:{spec.images}", raw=True)
        else:
            source = _open(args, raw=True)
        try:
            if calibration is None:
                calibration = getattr(source, "factory_calibration", None)
            if calibration is None:
                raise CameraInputError(
                    f"{args.calibration}: file not found; run calibrate-intrinsics first "
                    "(only a RealSense brings its own intrinsics)"
                )
            views, size = _collect(source, board, args.frames, 0.1, _is_live(source))
        finally:
            source.close()
        if size is not None and size != tuple(calibration.image_size):
            w, h = calibration.image_size
            raise CameraInputError(
                f"{source.name}: frames are {size[0]}x{size[1]}, the calibration is for {w}x{h}"
            )
        placements.append(Placement(spec.table_from_board, views))
    assert calibration is not None
    result, fit = calibrate_extrinsics(placements, calibration, board, args.max_error)
    save_calibration(result, out_path)
    pose = result.table_from_camera
    assert pose is not None
    out = {
        "out": str(out_path),
        "rms_px": round(fit.rms_px, 4),
        "points": fit.points,
        "placements": len(placements),
        "table_from_camera": pose.tolist(),
    }
    x, y, z = pose[:3, 3]
    lines = [
        f"RMS reprojection error {fit.rms_px:.3f} px over {fit.points} corners "
        f"({len(placements)} placement{'s' * (len(placements) > 1)})",
        f"camera at ({x:.3f}, {y:.3f}, {z:.3f}) m in the table frame",
    ]
    focal = result.extrinsics_info.get("focal_from_placements")
    warning = None
    if focal is not None:
        out["focal_from_placements"] = focal
        check = FocalCheck(focal["scale"], focal["sd"], focal["rms_px"])
        off = 100 * (check.scale - 1)
        lines.append(
            f"focal length check: the placements fit best with it {off:+.2f}% "
            f"+- {100 * check.sd:.2f}% (the pose uses the calibrated one)"
        )
        if check.disagrees:
            warning = (
                f"warning: the board placements put the focal length {off:+.1f}% from the "
                "intrinsics'; the camera's distance may be off by about as much: check the "
                "intrinsics and the placements' measured poses"
            )
    lines.append(f"wrote {out_path}")
    _emit(args, out, lines)
    if warning is not None:
        _progress(warning)
    return OK


def _parse_xyz(text: str) -> tuple[float, float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (2, 3):
        raise CameraInputError(f"--board-at {text!r}: expected X,Y or X,Y,Z in meters")
    return (values[0], values[1], values[2] if len(values) == 3 else 0.0)
