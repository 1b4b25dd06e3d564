"""`robot-llm listen`: a spoken command from an audio file, to a plan or to motion.

    robot-llm listen --audio FILE [--scene FILE | --task ID --seed N] [--asr NAME]
                     [--asr-model PATH] [--min-confidence X] [--run] [--json]

The recognizer is biased toward the scene (its objects' colors and kinds). What was heard
decides what happens (`listen.interpret`): a stop word is planned (or run) at once; silence or
noise gives status `no_speech`; an unclear transcript gives status `repeat` (say it again);
anything else is planned like `robot-llm plan`, or run like `robot-llm run` with `--run`.
Without a scene, only the transcript is printed (status `heard`).

Exit codes (as `robot-llm plan/run`): 0 planned / done / heard, 1 failed or stopped, 2 bad input
(a missing or non-audio file, a missing model; also `no_speech`: the audio holds no command),
3 clarify or `repeat` (the operator must speak again), 4 refused.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from typing import Any

from robot_llm.cli_language import add_perception_argument, add_planner_arguments
from robot_llm.errors import (
    BAD_INPUT,
    FAILED,
    INTERRUPTED,
    PATH_ERRORS,
    REPEAT,
    InputError,
    first_line,
)
from robot_llm.speech.base import DEFAULT_RECOGNIZER, SpeechError, SpeechInputError
from robot_llm.speech.listen import MIN_CONFIDENCE, REPEAT_QUESTION


def add_listen_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--audio", metavar="FILE", required=True, help="WAV or FLAC, any sample rate")
    p.add_argument("--scene", metavar="FILE", help="scene file (.yaml or .json)")
    p.add_argument("--task", metavar="ID", help="a task id (with --seed)")
    p.add_argument("--seed", type=int, default=0, help="task seed (with --task)")
    add_planner_arguments(p)
    add_perception_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_asr_arguments(p)
    p.add_argument(
        "--min-confidence",
        type=float,
        default=MIN_CONFIDENCE,
        metavar="X",
        help=f"ask to repeat below this transcript confidence (default {MIN_CONFIDENCE})",
    )
    p.add_argument("--run", action="store_true", help="execute the plan in simulation")


def add_asr_arguments(p: argparse.ArgumentParser) -> None:
    """--asr and --asr-model, shared by `listen` and the REPL."""
    p.add_argument(
        "--asr",
        default=DEFAULT_RECOGNIZER,
        help=f"speech recognizer: whisper, pocketsphinx or whisper-transformers "
        f"(default {DEFAULT_RECOGNIZER})",
    )
    p.add_argument(
        "--asr-model",
        metavar="PATH",
        help="local model folder (whisper: a CTranslate2 Whisper folder, default the shipped "
        "tiny.en; whisper-transformers: required; pocketsphinx: another acoustic model)",
    )


def add_listen_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `listen` subcommand to an argparse subparsers object; its handler is
    `cmd_listen`."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "listen",
        help="a spoken command from an audio file: transcript and plan (or run it)",
        description="Recognize a spoken command (offline) and plan it, or run it with --run.",
    )
    add_listen_arguments(p)
    p.set_defaults(handler=cmd_listen)
    return p


def cmd_listen(args: argparse.Namespace) -> int:
    try:
        return _listen(args)
    except SpeechInputError:
        raise
    except SpeechError as err:  # a backend failed on good input: one line, not a traceback
        print(f"robot-llm: error: {err}", file=sys.stderr)
        return FAILED


def _listen(args: argparse.Namespace) -> int:
    from robot_llm.cli_language import exit_code
    from robot_llm.planning import get_planner
    from robot_llm.speech import get_recognizer, interpret, load_audio, understood_by

    options = {"model": args.asr_model} if args.asr_model else {}
    recognizer = get_recognizer(args.asr, **options)
    audio = load_audio(args.audio)
    session = None
    if args.scene or args.task:
        from robot_llm.cli_language import open_from_args

        session = open_from_args(args, on_event=None if args.quiet else _progress)
    line = ""
    try:
        scene = session.perceive() if session is not None else None
        recognizer.set_scene(scene)
        transcript = recognizer.transcribe(audio)
        understood = None
        if session is not None and scene is not None:  # prefer a reading the planner grounds
            understood = understood_by(get_planner("rule"), scene, session.history)
        heard = interpret(transcript, args.min_confidence, understood)
        if heard.command is None:
            out: dict[str, Any] = {"status": heard.status, "message": heard.message}
            if heard.status == "repeat":
                out["question"] = REPEAT_QUESTION
        elif session is None:
            out = {"status": "heard", "command": heard.command}
        else:
            out, line = _turn(session, heard.command, args.run)
    finally:
        if session is not None:
            session.close()
    out["heard"] = heard.status
    out.update(transcript.to_dict())
    if args.json:
        print(json.dumps(out))
    else:
        if not args.quiet:
            print(f"heard: {transcript.text or '(nothing)'} ({transcript.confidence:.2f})")
        if heard.command is None:
            print(heard.message, file=sys.stderr)
        elif line:
            print(line)
    if heard.status == "no_speech":
        return BAD_INPUT
    if heard.status == "repeat":
        return REPEAT
    return 0 if out["status"] == "heard" else exit_code(out["status"])


def _turn(session: Any, command: str, run: bool) -> tuple[dict[str, Any], str]:
    """Plan (or run) one command in the session: its JSON fields and the line to print."""
    from robot_llm.session import describe
    from robot_llm.turn import TurnResult

    if not run:
        result, scene, timings = session.plan(command)
        planned = TurnResult.planned(command, session.source, result, scene, timings)
        return planned.to_dict(), describe(result)
    previous = signal.signal(signal.SIGINT, lambda *_: session.stop())
    try:
        turn: TurnResult = session.turn(command)
    finally:
        signal.signal(signal.SIGINT, previous)
    tail = f": {turn.reason}" if turn.reason else ""
    return turn.to_dict(), f"{turn.status}{tail}"


def _progress(message: str) -> None:
    print(message, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m robot_llm.speech [listen] --audio FILE ...`: the listen command alone."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["listen"]:
        args_list = args_list[1:]
    parser = argparse.ArgumentParser(prog="robot-llm listen", description=__doc__.splitlines()[0])
    add_listen_arguments(parser)
    args = parser.parse_args(args_list)
    try:
        return cmd_listen(args)
    except (InputError, *PATH_ERRORS) as err:
        print(f"robot-llm: error: {first_line(err)}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print("robot-llm: interrupted", file=sys.stderr)
        return INTERRUPTED
