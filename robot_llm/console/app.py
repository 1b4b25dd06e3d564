"""The console's web layer: the page, the HTTP routes and the one WebSocket (docs/console.md).

`create_app` wires a `Hub` to FastAPI. Each page's socket has an outbox that the hub's threads
fill (JSON messages in order, and only the newest frame of each camera), drained by one sender
task, so a slow page skips frames instead of queueing them and never slows the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any, Final

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.websockets import WebSocketState

from robot_llm.console.hub import LOOP_TICK_S, Client, ConsoleRefused, Hub
from robot_llm.console.security import Access

log = logging.getLogger("robot_llm.console")

HELLO_TIMEOUT_S: Final = 5.0
MAX_MESSAGE_BYTES: Final = 16 * 1024  # a page's JSON message
MAX_AUDIO_BYTES: Final = 8 * 1024 * 1024  # push-to-talk: about 4 minutes of 16 kHz PCM
MAX_QUEUED: Final = 2000  # JSON messages waiting for a page before the oldest are dropped
CSP: Final = (
    "default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; connect-src 'self'; "
    "script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
STATIC = files("robot_llm.console") / "static"


class Outbox:
    """What waits to go out to one page; filled from any thread, drained by its sender task."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.messages: deque[dict[str, Any]] = deque(maxlen=MAX_QUEUED)
        self.frames: dict[str, bytes] = {}
        self.wake = asyncio.Event()

    def send(self, message: dict[str, Any]) -> None:
        self._later(self.messages.append, message)

    def send_frame(self, camera: str, jpeg: bytes) -> None:
        self._later(self._put_frame, camera, jpeg)

    def _put_frame(self, camera: str, jpeg: bytes) -> None:
        # looks up self.frames when it runs on the loop: drain may have swapped the dict since
        self.frames[camera] = jpeg

    def _later(self, put: Callable[..., None], *args: Any) -> None:
        def run() -> None:
            put(*args)
            self.wake.set()

        with contextlib.suppress(RuntimeError):  # the loop has closed: the page is gone
            self.loop.call_soon_threadsafe(run)

    async def drain(self, ws: WebSocket) -> None:
        """Send until cancelled. A failure closes the socket, so that the page sees it and
        reconnects instead of waiting on a sender that is gone."""
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                while self.messages:
                    await ws.send_text(json.dumps(self.messages.popleft()))
                frames, self.frames = self.frames, {}
                for camera, jpeg in frames.items():
                    await ws.send_bytes(camera.encode() + b"\n" + jpeg)
        except WebSocketDisconnect:
            return
        except Exception as err:
            connected = WebSocketState.CONNECTED
            if ws.client_state != connected or ws.application_state != connected:
                return  # the page went away
            log.error("a page's sender failed; closing its socket", exc_info=err)
            with contextlib.suppress(Exception):
                await ws.close(code=1011, reason="the console could not send")


def create_app(
    hub: Hub,
    access: Access,
    *,
    frame: Callable[[str], bytes | None],
    hear: Callable[[bytes, bool], dict[str, Any]],
    episode_video: Callable[[], Any],
    episode_log: Callable[[], Any],
    on_pages: Callable[[int], None] = lambda n: None,
) -> FastAPI:
    """The console app. `frame(camera)` gives the newest JPEG; `hear(wav, run)` recognizes
    push-to-talk audio; `episode_video()` / `episode_log()` give file paths (None: nothing
    yet); `on_pages(n)` is told how many pages are connected (the cameras run while any is)."""
    app = FastAPI(title="robot-llm console", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Any:
        host = request.headers.get("host")
        if not access.host_ok(host):
            return JSONResponse({"error": f"unknown host {host!r}"}, status_code=403)
        if request.url.path.startswith("/api/"):
            if request.method != "GET" and not access.origin_ok(
                request.headers.get("origin"), host
            ):
                return JSONResponse({"error": "cross-site request refused"}, status_code=403)
            if not access.bearer_ok(request.headers.get("authorization")):
                return JSONResponse(
                    {"error": "token required: Authorization: Bearer TOKEN"}, status_code=401
                )
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/")
    def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        return {
            "robot": hub.robot_name,
            "source": hub.source,
            "cameras": list(hub.cameras),
            "token_required": access.token is not None,
        }

    @app.get("/api/state")
    def state() -> dict[str, Any]:
        return hub.state()

    @app.post("/api/command", status_code=202)
    async def command(request: Request) -> Any:
        body = await _json_body(request)
        if hub.driver is not None:
            return _refused("a page drives the arm; send commands there", 409)
        try:
            hub.submit(str(body.get("text", "")))
        except ConsoleRefused as err:
            return _refused(str(err), 409)
        return {"accepted": True}

    @app.post("/api/stop")
    def stop() -> dict[str, Any]:
        hub.estop("STOP requested over HTTP")
        return {"stopped": True}

    @app.post("/api/reset")
    def reset() -> Any:
        if hub.driver is not None:
            return _refused("a page drives the arm; reset it there", 409)
        try:
            hub.reset()
        except ConsoleRefused as err:
            return _refused(str(err), 409)
        return {"reset": True}

    @app.post("/api/speech")
    async def speech(request: Request, run: int = 0) -> Any:
        audio = await request.body()
        if not audio:
            return _refused("no audio in the request body (send a WAV file)", 400)
        if len(audio) > MAX_AUDIO_BYTES:
            return _refused(f"audio too long ({len(audio)} bytes; at most {MAX_AUDIO_BYTES})", 413)
        if run and not hub.may_command(request.headers.get("x-console-page")):
            return _refused("a page drives the arm; only it may run a spoken command", 409)
        try:
            return await asyncio.to_thread(hear, audio, bool(run))
        except ConsoleRefused as err:
            return _refused(str(err), 400)

    @app.get("/api/frame/{camera}.jpg")
    def camera_frame(camera: str) -> Response:
        if camera not in hub.cameras:
            return _refused(f"unknown camera {camera!r}; cameras: {', '.join(hub.cameras)}", 404)
        jpeg = frame(camera)
        if jpeg is None:
            return _refused(f"no frame from camera {camera!r} yet", 503)
        return Response(jpeg, media_type="image/jpeg")

    @app.get("/api/episode/log")
    def episode_log_file() -> Response:
        path = episode_log()
        if path is None:
            return _refused("nothing recorded yet", 404)
        return FileResponse(str(path), media_type="application/x-ndjson", filename="episode.jsonl")

    @app.get("/api/episode/video")
    async def episode_video_file() -> Response:
        path = await asyncio.to_thread(episode_video)
        if path is None:
            return _refused("no video yet: the video records while a command runs", 404)
        return FileResponse(str(path), media_type="video/mp4", filename="episode.mp4")

    @app.websocket("/ws")
    async def socket(ws: WebSocket) -> None:
        host = ws.headers.get("host")
        await ws.accept()  # then closed with a code the page can read, where it is refused
        if not access.host_ok(host) or not access.origin_ok(ws.headers.get("origin"), host):
            await ws.close(code=4403, reason="another site or host name; refused")
            return
        hello = await _hello(ws, access)
        if hello is None:
            return
        outbox = Outbox(asyncio.get_running_loop())
        client = hub.connect(outbox.send, outbox.send_frame, hello.get("role") == "drive")
        on_pages(hub.page_count)
        sender = asyncio.create_task(outbox.drain(ws))
        ticker = asyncio.create_task(_keep_time(hub))
        try:
            await _receive(ws, hub, client)
        finally:
            sender.cancel()
            ticker.cancel()
            hub.disconnect(client)
            on_pages(hub.page_count)

    return app


async def _keep_time(hub: Hub) -> None:
    """Tell the hub that this event loop runs, so that its watchdog can tell a silent page
    from a console that could not listen (hub.LOOP_TICK_S)."""
    while True:
        hub.loop_tick()
        await asyncio.sleep(LOOP_TICK_S)


async def _hello(ws: WebSocket, access: Access) -> dict[str, Any] | None:
    """The page's first message, checked; None (and the socket closed) when it is not good."""
    try:
        raw = await asyncio.wait_for(ws.receive_text(), HELLO_TIMEOUT_S)
        hello = json.loads(raw)
    except (asyncio.TimeoutError, ValueError, KeyError, WebSocketDisconnect):
        with contextlib.suppress(Exception):
            await ws.close(code=4400, reason="the first message must be a hello")
        return None
    if not isinstance(hello, dict) or hello.get("type") != "hello":
        await ws.close(code=4400, reason="the first message must be a hello")
        return None
    token = hello.get("token")
    if not access.token_ok(token if isinstance(token, str) else None):
        await ws.close(code=4401, reason="token required or wrong")
        return None
    return hello


async def _receive(ws: WebSocket, hub: Hub, client: Client) -> None:
    """Hand each message of a page to the hub until the page goes away."""
    while True:
        try:
            raw = await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        except KeyError:  # a binary message: pages send none
            client.send({"type": "error", "text": "binary messages are not accepted"})
            continue
        try:
            if len(raw) > MAX_MESSAGE_BYTES:
                raise ValueError(f"message too long ({len(raw)} bytes)")
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise ValueError("a message is a JSON object")
        except ValueError as err:
            client.send({"type": "error", "text": f"bad message: {err}"})
            continue
        if message.get("type") in ("stop", "command", "reset"):
            await asyncio.to_thread(hub.handle, client, message)  # may wait on the robot
        else:
            hub.handle(client, message)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


def _refused(text: str, status: int) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status)
