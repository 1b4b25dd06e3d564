"""Children's output, one line at a time, prefixed with the process name (colored on a terminal).

A child's stdout lines go to the launcher's stdout and its stderr lines to the launcher's stderr;
the launcher's own messages go to stderr under the name `launch`. One lock keeps lines whole.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import IO, TextIO

LAUNCHER = "launch"
_COLORS = ("36", "33", "35", "32", "34", "91", "96", "93")  # ANSI: cyan, yellow, magenta, ...


def _use_color(stream: TextIO) -> bool:
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Output:
    """Writes prefixed lines for the processes of one launch."""

    def __init__(self, names: Iterable[str], stdout: TextIO, stderr: TextIO) -> None:
        self.streams = {"stdout": stdout, "stderr": stderr}
        self.color = {key: _use_color(stream) for key, stream in self.streams.items()}
        known = [LAUNCHER, *names]
        self.width = max(len(n) for n in known)
        self.palette = {name: _COLORS[i % len(_COLORS)] for i, name in enumerate(known[1:])}
        self.palette[LAUNCHER] = "1"  # bold
        self.lock = threading.Lock()

    def line(self, name: str, text: str, stream: str = "stdout") -> None:
        out = self.streams[stream]
        label = f"{name:<{self.width}}"
        if self.color[stream]:
            label = f"\x1b[{self.palette.get(name, '0')}m{label}\x1b[0m"
        with self.lock:
            try:
                out.write(f"{label} | {text}\n")
                out.flush()
            except (OSError, ValueError):  # a closed or broken terminal must not stop a launch
                pass

    def note(self, text: str) -> None:
        """A message from the launcher itself."""
        self.line(LAUNCHER, text, "stderr")


def pump(
    pipe: IO[bytes],
    name: str,
    stream: str,
    output: Output,
    pattern: re.Pattern[str] | None,
    on_match: Callable[[], None],
) -> threading.Thread:
    """Start a daemon thread that copies `pipe` to `output` line by line until it closes.

    `on_match` is called once, for the first line that `pattern` matches.
    """

    def run() -> None:
        matched = pattern is None
        with pipe:
            for raw in iter(pipe.readline, b""):
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                output.line(name, text, stream)
                if not matched and pattern is not None and pattern.search(text):
                    matched = True
                    on_match()

    thread = threading.Thread(target=run, name=f"launch-{name}-{stream}", daemon=True)
    thread.start()
    return thread
