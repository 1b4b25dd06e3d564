"""`robot-llm repl`: dialogue across turns, questions and answers, "stop" mid-motion, line editing.

Each test drives a real `robot-llm repl` process (real physics, camera perception) through its
stdin; with `--json` every finished command is one JSON line on stdout and progress goes to stderr.
"""

from __future__ import annotations

import json
import math
import os
import pty
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENE = str(ROOT / "sim_assets" / "scenes" / "blocks_and_bowls.yaml")
REPL = [sys.executable, "-m", "robot_llm.cli", "repl", "--scene", SCENE, "--history-file", ""]


def _near(objects: list[dict[str, Any]], a: str, b: str, within: float) -> bool:
    pos = {o["id"]: o["position"] for o in objects}
    return math.dist(pos[a][:2], pos[b][:2]) <= within


def test_pronouns_and_answers_carry_across_turns() -> None:
    script = "\n".join(
        [
            "pick up the red block",
            "now put it in the green bowl",
            "pick up the block",  # three blocks: a question, and nothing moves
            "the blue one",  # the answer to it
            ":quit",
        ]
    )
    proc = subprocess.run(
        [*REPL, "--json"], input=script, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    turns = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [t["status"] for t in turns] == ["done", "done", "clarify", "done"]
    held = {o["id"]: o for o in turns[0]["scene_after"]}["red_block"]  # unseen, in the hand
    assert held["position"][2] > 0.1
    assert turns[1]["plan"]["subgoals"] == [
        {"skill": "place", "object": "red_block", "in": "green_bowl"}
    ]
    assert _near(turns[1]["scene_after"], "red_block", "green_bowl", 0.04)
    assert set(turns[2]["candidates"]) == {"blue_block", "green_block", "red_block"}
    assert "blue" in turns[2]["question"] and "green" in turns[2]["question"]
    assert turns[3]["plan"]["subgoals"] == [{"skill": "pick", "object": "blue_block"}]


class _Reader:
    """Collects a stream's lines in a thread so the test can wait for one without blocking."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_for(self, predicate: Any, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    if predicate(line):
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching line in {timeout} s: {self.lines[-5:]}")
                self._cond.wait(left)


def test_stop_halts_the_arm_mid_motion_and_drops_queued_commands() -> None:
    proc = subprocess.Popen(
        [*REPL, "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    out, err = _Reader(proc.stdout), _Reader(proc.stderr)
    try:
        proc.stdin.write("put the red block in the yellow bowl\ngo home\n")
        proc.stdin.flush()
        # The arm is on its way to the red block: the pick has started. Stop at once: the
        # simulation runs faster than real time (the whole command takes about 1 s of wall
        # time here), so any pause risks stopping after the place.
        err.wait_for(lambda line: "pick red_block (attempt 1)" in line, 120)
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        first = json.loads(out.wait_for(lambda line: line.startswith("{"), 60))
        assert first["status"] == "stopped"
        assert first["command"] == "put the red block in the yellow bowl"
        assert not all(s["success"] for s in first["subgoals"])
        err.wait_for(lambda line: "dropped 1 queued command" in line, 10)
        # Nothing ran after the stop; the red block is not in the yellow bowl.
        proc.stdin.write(":state\n:scene\n")
        proc.stdin.flush()
        state = json.loads(out.wait_for(lambda line: line.startswith('{"state"'), 60))
        assert state["state"]["mode"] == "stopped"
        scene = json.loads(out.wait_for(lambda line: line.startswith('{"scene"'), 60))
        assert not _near(scene["scene"], "red_block", "yellow_bowl", 0.05)
        # The next command resumes the arm.
        proc.stdin.write("go home\n:quit\n")
        proc.stdin.flush()
        last = json.loads(out.wait_for(lambda line: '"command": "go home"' in line, 120))
        assert last["status"] == "done"
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    commands = [json.loads(line)["command"] for line in out.lines if line.startswith('{"comm')]
    assert commands == ["put the red block in the yellow bowl", "go home"]  # the queued one dropped


def test_bad_session_commands_and_refusals_keep_the_session_going() -> None:
    script = (
        ":frobnicate\nthrow the red block at the wall\n:quit\nput the red block in the green bowl\n"
    )
    proc = subprocess.run(REPL, input=script, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "unknown session command :frobnicate" in proc.stdout
    assert "refused:" in proc.stdout
    assert "put the red block" not in proc.stdout  # nothing after :quit is read


def test_bad_scene_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*REPL[:3], "repl", "--scene", str(tmp_path / "missing.yaml")],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("robot-llm: error:")
    assert "missing.yaml" in proc.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_terminal_session_has_a_prompt_and_keeps_history(tmp_path: Path) -> None:
    history = tmp_path / "history"
    history.write_text("pick up the green block\n")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*REPL[:-1], str(history)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
        env={**os.environ, "TERM": "dumb"},
    )
    os.close(follower)
    seen = b""

    def read_until(marker: bytes, timeout: float) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} in {seen[-500:]!r}"
            if select.select([leader], [], [], left)[0]:
                try:
                    seen += os.read(leader, 4096)
                except OSError:
                    break

    try:
        read_until(b"robot> ", 60)
        os.write(leader, b":help\n")
        read_until(b":quit", 30)
        os.write(leader, b":quit\n")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    lines = history.read_text().splitlines()
    assert lines[0] == "pick up the green block"  # the earlier session's line is kept
    assert ":help" in lines and ":quit" in lines


def test_with_confirm_a_plan_waits_for_yes_and_no_moves_nothing() -> None:
    script = "put the red block in the green bowl\nn\nput the green block in the yellow bowl\n"
    proc = subprocess.run(
        [*REPL, "--confirm", "--json"], input=script, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    first, second = (json.loads(line) for line in proc.stdout.splitlines())
    assert first["status"] == "cancelled" and "did not confirm" in first["reason"]
    assert not _near(first["scene_after"], "red_block", "green_bowl", 0.05)
    # The second plan's question comes after the end of the input: nobody answers, nothing runs.
    assert second["status"] == "cancelled"
    assert "no answer: end of input" in proc.stderr


def test_a_plan_that_uncovers_a_block_says_so_before_it_is_confirmed() -> None:
    stacked = str(ROOT / "sim_assets" / "scenes" / "stacked.yaml")
    script = "pick up the orange block\nn\n"
    repl = [*REPL[:5], stacked, *REPL[6:], "--confirm"]
    proc = subprocess.run(repl, input=script, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "pick top; place top at" in out and "; pick base" in out
    assert "The orange block is under the purple block; I'll set it aside first." in out
    assert "cancelled" in out
