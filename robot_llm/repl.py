"""`robot-llm repl`: an interactive operator session.

Each line is a command for the planner, with the dialogue carried across turns: "it" and "them"
refer to what the previous command moved, and a line that follows a question answers it. Plans
run in a worker thread, so the operator can keep typing while the arm moves:

- "stop", "halt", "freeze" (or Ctrl-C) halt the arm at once, end the running plan as "stopped"
  and drop any queued commands; the next command resumes the arm;
- other commands typed while a plan runs are queued and run in order after it;
- lines starting with ":" are session commands (`:help`).

On a terminal, lines are edited with readline (arrow keys, Ctrl-R search, Tab completion of the
planner's words and the scene's colors) and kept in a history file across sessions. With
`--mic` (the `mic` extra) commands can also be spoken; they are handled like typed lines, and
a spoken stop word halts the arm while the sentence is still being said (docs/speech.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from robot_llm.session import Session, scene_objects
from robot_llm.turn import TurnResult

DEFAULT_HISTORY_FILE = "~/.robot_llm_history"
YES = ("y", "yes")
NO = ("n", "no")
HISTORY_LENGTH = 1000
HELP = """\
Type a command in plain English, e.g. "put the red block in the green bowl, then go home".
  stop | halt | freeze   halt the arm now (also Ctrl-C while a plan runs)
  :scene                 what the camera sees now (ids, colors, positions)
  :state                 the arm: mode, hand position, gripper opening
  :history               the commands of this session
  :wait                  wait until the running and queued commands are done
  :help                  this text
  :quit                  leave (also Ctrl-D)"""


class Repl:
    """The read-eval loop around a `Session`; `out` gets the operator-facing text."""

    def __init__(
        self,
        session: Session,
        out: TextIO = sys.stdout,
        json_lines: bool = False,
        prompt: str = "robot> ",
        progress: bool = True,
    ) -> None:
        self.session = session
        self.out = out
        self.json_lines = json_lines
        self.prompt = prompt
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._busy = threading.Event()
        self._idle = threading.Condition()
        self._running: str | None = None
        self._print_lock = threading.Lock()
        self._worker = threading.Thread(target=self._work, name="repl-executor", daemon=True)
        self._answers: queue.Queue[bool] = queue.Queue()
        self._asking = threading.Event()  # a plan waits for the operator's y/N
        self._input_closed = threading.Event()
        self.progress = progress
        session.on_event = self._say if progress else None

    # -- output ---------------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        """Operator-facing text: to `out`, or to stderr when `out` carries JSON lines."""
        with self._print_lock:
            print(text, file=sys.stderr if self.json_lines else self.out, flush=True)

    def _emit_json(self, data: dict[str, Any]) -> None:
        with self._print_lock:
            print(json.dumps(data), file=self.out, flush=True)

    def _report(self, turn: TurnResult) -> None:
        if self.json_lines:
            self._emit_json(turn.to_dict())
            return
        status = turn.status
        if not self.progress:  # with progress on, the plan and its notes are already out
            for note in getattr(turn.plan, "notes", ()):
                self._say(f"note: {note}")
        if status in ("clarify", "refused"):
            if not self.progress:  # with progress on, the planner's answer is already out
                self._say(turn.question or f"refused: {turn.reason}")
        elif status == "done":
            self._say("done")
        else:
            self._say(f"{status}: {turn.reason or ''}".rstrip(": "))

    # -- worker ---------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            command = self._queue.get()
            if command is None:
                return
            self._running = command
            try:
                if self.session.stopped:
                    self._say("resuming the arm")
                    self.session.resume()
                self._report(self.session.turn(command))
            except Exception as err:  # one bad turn must not end the session
                self._say(f"error: {type(err).__name__}: {err}")
            finally:
                self._running = None
                with self._idle:
                    if self._queue.empty():
                        self._busy.clear()
                    self._idle.notify_all()

    def submit(self, command: str) -> None:
        """Queue a command for the worker (runs after the current one)."""
        with self._idle:
            if self._busy.is_set():
                self._say(f"queued: {command!r} runs when the arm is free")
            self._busy.set()
            self._queue.put(command)

    def stop(self) -> None:
        """Halt the arm now and drop the queued commands."""
        dropped = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            dropped += 1
        self.session.stop()
        tail = f"; dropped {dropped} queued command(s)" if dropped else ""
        self._say(f"stopping{tail}")
        with self._idle:
            if self._running is None and self._queue.empty():
                self._busy.clear()
            self._idle.notify_all()

    def ask_confirmation(self, plan: object) -> bool:
        """Session.confirm for the REPL: the worker waits for the operator's next line. A y/n
        line typed ahead (a script) and queued next answers at once; at the end of the input
        nobody can answer, and the plan does not run."""
        question = "run this plan on the robot? [y/N]"
        with self._queue.mutex:
            ahead = self._queue.queue[0] if self._queue.queue else None
            if isinstance(ahead, str) and ahead.strip().lower() in YES + NO:
                self._queue.queue.popleft()
            else:
                ahead = None
        if ahead is not None:
            self._say(f"{question} {ahead.strip()}")
            return ahead.strip().lower() in YES
        with self._idle:
            if self._input_closed.is_set():
                self._say(f"{question} (no answer: end of input; not running it)")
                return False
            self._asking.set()
        self._say(question)
        try:
            return self._answers.get()
        finally:
            self._asking.clear()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no command runs or waits; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy.is_set(), timeout)

    # -- input ----------------------------------------------------------------------------------
    def handle(self, line: str) -> bool:
        """One input line; False when the session should end."""
        from robot_llm.planning.text import is_stop, tokenize

        text = line.strip()
        if self._asking.is_set():  # the line answers "run this plan?"
            yes = text.lower() in YES
            if not yes and is_stop(tokenize(text)):
                self.stop()
            self._answers.put(yes)
            return True
        if not text:
            return True
        if text.startswith(":") or text.lower() in ("quit", "exit"):
            return self._meta(text.lstrip(":").strip().lower())
        if is_stop(tokenize(text)):
            if self._busy.is_set():
                self.stop()
            else:
                self.session.stop()
                self._say("stopped (the arm was not moving)")
            return True
        self.submit(text)
        return True

    def _meta(self, name: str) -> bool:
        if name in ("quit", "exit", "q"):
            return False
        if name in ("help", "h", "?"):
            self._say(HELP)
        elif name == "wait":
            self.wait()
        elif name == "state":
            st = self.session.robot.state()
            x, y, z = st.ee_position
            mode = "stopped" if self.session.stopped else st.mode
            if self.json_lines:
                self._emit_json({"state": {**st.to_dict(), "mode": mode}})
            else:
                self._say(
                    f"{mode}: hand at {x:.3f} {y:.3f} {z:.3f}, gripper {st.gripper_width:.3f} m"
                )
        elif name == "history":
            for i, command in enumerate(self.session.history.commands, 1):
                self._say(f"{i:3d}  {command}")
        elif name == "scene":
            if self._busy.is_set():
                self._say("the arm is busy; :scene works between commands (:wait first)")
            else:
                objects = scene_objects(self.session.perceive())
                if self.json_lines:
                    self._emit_json({"scene": objects})
                else:
                    for o in objects:
                        x, y, z = o["position"]
                        size = f"{o['size']} " if o["size"] else ""
                        where = f"{x:.3f} {y:.3f} {z:.3f}"
                        self._say(f"{o['id']:16s} {size}{o['color']} {o['kind']} at {where}")
        else:
            self._say(f"unknown session command :{name} (:help lists them)")
        return True

    def listen(self, lines: Iterable[str]) -> threading.Thread:
        """Handle spoken `lines` (planner text, "stop" for a stop word) like typed ones, from a
        background thread, beside the typed input; session commands are not taken from
        speech. Returns the thread; it ends when `lines` ends or speech input fails."""

        def run() -> None:
            try:
                for line in lines:
                    text = line.strip()
                    if text and not text.startswith(":") and text.lower() not in ("quit", "exit"):
                        self.handle(text)
            except Exception as err:  # a sound card unplugged, a decoder error: typing goes on
                self._say(f"speech input ended: {err}")

        thread = threading.Thread(target=run, name="repl-speech", daemon=True)
        thread.start()
        return thread

    def loop(self, read: Callable[[str], str]) -> None:
        """Read lines until quit or end of input; Ctrl-C stops the arm (or clears the line)."""
        self._worker.start()
        try:
            while True:
                try:
                    line = read(self.prompt)
                except EOFError:
                    break
                except KeyboardInterrupt:
                    if self._asking.is_set():
                        self._answers.put(False)
                    if self._busy.is_set():
                        self.stop()
                    else:
                        self._say("(Ctrl-D or :quit leaves)")
                    continue
                if not self.handle(line):
                    break
            # End of input: let queued commands finish (a script of commands), Ctrl-C stops;
            # a plan that still waits for a y/N gets no answer and does not run.
            with self._idle:
                self._input_closed.set()
            if self._asking.is_set():
                self._answers.put(False)
            try:
                self.wait()
            except KeyboardInterrupt:
                self.stop()
        finally:
            self._queue.put(None)
            if self._busy.is_set():
                self.session.stop()
            self._worker.join(timeout=30)


def _setup_readline(history_file: str | None, session: Session) -> None:
    try:
        import readline
    except ImportError:  # no line editing on this platform; plain input() still works
        return
    from robot_llm.planning.verb_words import completion_words

    words = set(completion_words())  # the planner's verbs, nouns and directions
    for o in session.reference.objects if session.reference is not None else ():
        words.update((o.color, o.kind))

    def complete(text: str, state: int) -> str | None:
        matches = sorted(w for w in words if w.startswith(text.lower()))
        return matches[state] if state < len(matches) else None

    readline.set_completer(complete)
    readline.parse_and_bind("tab: complete")
    if history_file:
        path = Path(os.path.expanduser(history_file))
        with contextlib.suppress(OSError):
            readline.read_history_file(path)
        readline.set_history_length(HISTORY_LENGTH)
        import atexit

        atexit.register(_save_history, readline, path)


def _save_history(readline: Any, path: Path) -> None:
    with contextlib.suppress(OSError):
        readline.write_history_file(path)


def cmd_repl(args: argparse.Namespace) -> int:
    from robot_llm.cli_language import open_from_args, wants_confirmation

    session = open_from_args(args, video=None, log=args.log)
    interactive = sys.stdin.isatty() and not args.json
    repl = Repl(
        session,
        json_lines=args.json,
        prompt="robot> " if interactive else "",
        progress=not args.quiet,
    )
    if wants_confirmation(args):
        session.confirm = repl.ask_confirmation
    try:
        spoken = _spoken_lines(args, session, repl)
        if interactive:
            _setup_readline(args.history_file, session)
            repl._say(f"robot-llm repl on {session.source}; :help for help, Ctrl-D to leave")
            read: Callable[[str], str] = input
        else:
            read = _line_reader(sys.stdin)
        if spoken is not None:
            listener = repl.listen(spoken)
            if not interactive:  # typed input ends first: go on until the speech does
                read = _then_wait(read, listener)
        repl.loop(read)
    finally:
        session.close()
    return 0


def _spoken_lines(args: argparse.Namespace, session: Session, repl: Repl) -> Iterator[str] | None:
    """With --mic or --speech-file: the spoken commands, else None. The sound card or the file
    is opened here, so a missing mic extra or a bad file is bad input before the session runs."""
    if not (args.mic or args.speech_file):
        return None
    from robot_llm.cli_language import CommandInputError
    from robot_llm.speech import SpeechError, get_recognizer, microphone_lines
    from robot_llm.speech.mic import microphone_frames, recording_frames

    options = {"model": args.asr_model} if args.asr_model else {}
    device = int(args.mic_device) if (args.mic_device or "").isdigit() else args.mic_device
    try:
        recognizer = get_recognizer(args.asr, **options)
        if args.speech_file:
            frames = recording_frames(args.speech_file)
        else:
            frames = microphone_frames(device)
    except SpeechError as err:  # no mic extra, no sound card, a bad file or model path
        raise CommandInputError(str(err)) from None
    repl._say("listening: speak a command (a stop word halts the arm at once)")
    return microphone_lines(
        recognizer,
        scene=lambda: session.reference,
        say=repl._say,
        frames=frames,
        understood=lambda: _understood(session),
    )


def _understood(session: Session) -> Callable[[str], bool] | None:
    """Whether the rule planner (fast, deterministic: the reference of what a command means)
    grounds a spoken command in the scene the session knows."""
    from robot_llm.planning import get_planner
    from robot_llm.speech import understood_by

    scene = session.reference
    if scene is None:
        return None
    return understood_by(get_planner("rule"), scene, session.history)


def _then_wait(read: Callable[[str], str], listener: threading.Thread) -> Callable[[str], str]:
    """`read`, but at the end of the typed input wait for the speech to end (Ctrl-C: leave)."""

    def wrapped(prompt: str) -> str:
        try:
            return read(prompt)
        except EOFError:
            with contextlib.suppress(KeyboardInterrupt):
                listener.join()
            raise

    return wrapped


def _line_reader(stream: TextIO) -> Callable[[str], str]:
    """Non-interactive input (a pipe or a file): one line per call, EOFError at the end."""

    def read(_prompt: str) -> str:
        line = stream.readline()
        if not line:
            raise EOFError
        return line

    return read


def add_repl_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log", metavar="FILE", help="write each run's events to this JSON-lines file")
    p.add_argument(
        "--mic",
        action="store_true",
        help="also take spoken commands from the microphone (needs the mic extra)",
    )
    p.add_argument("--mic-device", metavar="NAME|INDEX", help="sound card (default: the system's)")
    p.add_argument(
        "--speech-file",
        metavar="FILE",
        help="play a WAV or FLAC file as spoken input, in real time (instead of the microphone)",
    )
    from robot_llm.speech.cli import add_asr_arguments

    add_asr_arguments(p)
    p.add_argument(
        "--history-file",
        default=os.environ.get("ROBOT_LLM_HISTORY", DEFAULT_HISTORY_FILE),
        metavar="FILE",
        help=f"line history kept across sessions (default {DEFAULT_HISTORY_FILE}; '' for none)",
    )
