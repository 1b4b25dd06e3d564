"""The console end to end in a real browser: Debian's chromium driven by Playwright.

The stack of launch/console.yaml: a bridge server with the sim driver, and `robot-llm console
--robot` on it, each its own process. The test types a command into the page and checks from the
simulator's object poses (read from the bridge) that the block arrived; presses STOP mid-motion
and sees the arm stop and the page say e-stopped; closes the page mid-motion and sees the arm
hold. Screenshots go to the test's temporary folder.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from robot_llm.bridge.client import RemoteRobot

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "Debian's chromium is not installed (make test installs it through apt as root)",
        allow_module_level=True,
    )
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

SCENE = "sim_assets/scenes/blocks_and_bowls.yaml"
CAMERAS = ("main", "wrist")
ROBOT_LLM = str(Path(sys.executable).with_name("robot-llm"))
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(argv: list[str], ready: str, log: Path) -> tuple[subprocess.Popen[str], str]:
    """A child process once it has printed `ready` on stderr, and that line (its output goes
    to `log`)."""
    out = log.open("w")
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=out, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        out.write(line)
        if ready in line:
            return proc, line
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"{argv[1]} did not start; see {log}")


def stop_process(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    logs = tmp_path_factory.mktemp("logs")
    # port 0: the bridge picks its own free ports (it needs several in a row)
    bridge, ready_line = start(
        [ROBOT_LLM, "bridge", "serve", "--driver", "sim", "--bind", "tcp://127.0.0.1:0",
         "--scene", SCENE],
        "bridge ready on",
        logs / "bridge.log",
    )  # fmt: skip
    bridge_address = ready_line.split("bridge ready on", 1)[1].split()[0]
    console_port = free_port()
    try:
        console, _ = start(
            [ROBOT_LLM, "console", "--robot", bridge_address, "--scene", SCENE,
             "--bind", f"127.0.0.1:{console_port}"],
            "console for",
            logs / "console.log",
        )  # fmt: skip
    except BaseException:
        stop_process(bridge)
        raise
    observer = RemoteRobot(bridge_address, control=False, client="page-test-observer")
    try:
        yield {"url": f"http://127.0.0.1:{console_port}/", "observer": observer}
    finally:
        observer.close()
        stop_process(console)
        stop_process(bridge)


@pytest.fixture(scope="module")
def browser(stack: dict[str, Any]) -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield chromium
        chromium.close()


def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def still(observer: RemoteRobot, seconds: float = 0.4) -> bool:
    """Whether the end effector stays within 1 mm for `seconds`."""
    start_pos = observer.state().ee_position
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if math.dist(start_pos, observer.state().ee_position) > 0.001:
            return False
        time.sleep(0.01)
    return True


def moving(observer: RemoteRobot) -> bool:
    a = observer.state().ee_position
    time.sleep(0.1)
    return math.dist(a, observer.state().ee_position) > 0.002


def open_page(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.on("dialog", lambda dialog: dialog.accept())  # the reset's confirmation
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(url)
    expect(page.locator("#role")).to_contain_text("driv")
    page.errors = errors  # the page's own errors (a Content-Security-Policy violation, say)
    return page


def send(page: Any, command: str) -> None:
    page.fill("#command", command)
    page.press("#command", "Enter")


def test_a_typed_command_moves_the_block(
    browser: Any, stack: dict[str, Any], tmp_path: Path
) -> None:
    page = open_page(browser, stack["url"])

    def frames_shown() -> bool:
        widths = [page.locator(f"#cam-{c}").evaluate("e => e.naturalWidth") for c in CAMERAS]
        return all(w > 0 for w in widths)

    until(frames_shown, 20, "a frame from each camera")
    send(page, "put the red block in the green bowl")
    page.wait_for_selector("#plan li", timeout=30_000)
    page.screenshot(path=str(tmp_path / "running.png"))
    expect(page.locator("#turn-status")).to_contain_text("done", timeout=90_000)
    page.screenshot(path=str(tmp_path / "done.png"))
    statuses = page.eval_on_selector_all("#plan li", "items => items.map(i => i.dataset.status)")
    assert statuses == ["verified", "verified"]
    poses = stack["observer"].objects()
    block, bowl = poses["red_block"], poses["green_bowl"]
    assert math.dist(block["position"][:2], bowl["position"][:2]) < 0.03  # the simulator's
    assert page.errors == []
    page.close()


def test_stop_mid_motion_stops_the_arm(browser: Any, stack: dict[str, Any], tmp_path: Path) -> None:
    observer = stack["observer"]
    page = open_page(browser, stack["url"])
    send(page, "put the blue block in the yellow bowl")
    page.wait_for_selector("#plan li[data-status='running']", timeout=30_000)
    until(lambda: moving(observer), 10, "the arm to move")
    page.click("#stop")
    until(lambda: still(observer), 5, "the arm to stop")
    until(lambda: observer.state().mode == "estopped", 5, "the bridge's e-stop")
    expect(page.locator("#mode")).to_contain_text("STOP", ignore_case=True)
    page.screenshot(path=str(tmp_path / "estopped.png"))
    assert still(observer, 1.0)  # and it stays stopped
    page.click("#reset")  # the dialog is accepted
    until(lambda: observer.state().mode != "estopped", 5, "the reset")
    page.close()


def test_closing_the_page_mid_motion_holds_the_arm(
    browser: Any, stack: dict[str, Any], tmp_path: Path
) -> None:
    observer = stack["observer"]
    page = open_page(browser, stack["url"])
    send(page, "put the blue block in the gray zone")
    page.wait_for_selector("#plan li[data-status='running']", timeout=30_000)
    until(lambda: moving(observer), 10, "the arm to move")
    page.screenshot(path=str(tmp_path / "before-close.png"))
    page.close()
    until(lambda: still(observer), 5, "the arm to hold")
    assert observer.state().mode == "holding"
    assert still(observer, 1.0)
