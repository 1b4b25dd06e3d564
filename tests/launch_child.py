"""A small scripted process for the launcher tests; its arguments are steps, run in order.

say:TEXT       print TEXT on stdout          err:TEXT     print TEXT on stderr
sleep:S        sleep S seconds               exit:CODE    exit with CODE
listen:PORT    accept TCP connections on 127.0.0.1:PORT (in the background)
append:FILE:T  append the line T to FILE     pid:FILE     append this process's pid to FILE
on-stop:FILE:T on SIGTERM or SIGINT, append "T SIGNAME" to FILE and exit 0
ignore-stop    ignore SIGTERM and SIGINT (to be killed)
spawn:FILE     start a grandchild that sleeps, and append its pid to FILE
fail-until:FILE:N  exit 1 while FILE holds fewer than N lines (count with append: first)
stdin          echo stdin lines as "got LINE" until a line "quit", then print "bye"
forever        sleep until stopped
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType


def append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(text + "\n")


def listen(port: int) -> None:
    server = socket.create_server(("127.0.0.1", port))

    def serve() -> None:
        while True:
            conn, _ = server.accept()
            conn.close()

    threading.Thread(target=serve, daemon=True).start()


def on_stop(path: str, text: str) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        append(path, f"{text} {signal.Signals(signum).name}")
        os._exit(0)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def main(steps: list[str]) -> int:
    for step in steps:
        op, _, arg = step.partition(":")
        if op == "say":
            print(arg, flush=True)
        elif op == "err":
            print(arg, file=sys.stderr, flush=True)
        elif op == "sleep":
            time.sleep(float(arg))
        elif op == "exit":
            return int(arg)
        elif op == "listen":
            listen(int(arg))
        elif op == "append":
            append(*arg.split(":", 1))
        elif op == "pid":
            append(arg, str(os.getpid()))
        elif op == "on-stop":
            on_stop(*arg.split(":", 1))
        elif op == "ignore-stop":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        elif op == "spawn":
            code = "import time; time.sleep(60)"
            grandchild = subprocess.Popen([sys.executable, "-c", code])
            append(arg, str(grandchild.pid))
        elif op == "fail-until":
            path, count = arg.split(":")
            if len(Path(path).read_text().splitlines()) < int(count):
                return 1
        elif op == "stdin":
            for line in sys.stdin:
                if line.strip() == "quit":
                    break
                print(f"got {line.strip()}", flush=True)
            print("bye", flush=True)
        elif op == "forever":
            while True:
                time.sleep(1)
        else:
            raise SystemExit(f"launch_child: unknown step {step!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
