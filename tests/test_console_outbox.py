"""What waits to go out to one page (robot_llm/console/app.py Outbox): frames handed over from
camera threads while the sender is mid-way through a batch, and a sender that fails."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.websockets import WebSocketState

from robot_llm.console.app import Outbox


class RecordingSocket:
    """Stands in for the page's WebSocket: records what is sent, and lets the test act at the
    moment a frame goes out (when the sender has already taken its batch of frames)."""

    def __init__(self, outbox: Outbox | None = None) -> None:
        self.outbox = outbox
        self.sent: list[Any] = []
        self.closed: tuple[int, str] | None = None
        self.client_state = self.application_state = WebSocketState.CONNECTED

    async def send_text(self, text: str) -> None:  # returns without yielding, as a fast socket
        self.sent.append(json.loads(text))
        if self.outbox is not None and len(self.sent) == 1:
            # a camera thread hands over a frame now; it lands after the batch is taken
            self.outbox.send_frame("wrist", b"w1")

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)
        await asyncio.sleep(0)  # the loop runs what camera threads scheduled

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)
        self.client_state = self.application_state = WebSocketState.DISCONNECTED


async def _deliver(outbox: Outbox, ws: Any, until: int) -> None:
    sender = asyncio.create_task(outbox.drain(ws))
    for _ in range(200):
        await asyncio.sleep(0)
        if len(ws.sent) >= until or sender.done():
            break
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)


def test_a_frame_handed_over_mid_batch_goes_out_in_the_next_one() -> None:
    async def scenario() -> list[Any]:
        outbox = Outbox(asyncio.get_running_loop())
        ws = RecordingSocket(outbox)
        outbox.send({"type": "state"})
        outbox.send_frame("main", b"m1")
        await _deliver(outbox, ws, until=3)
        assert ws.closed is None, "the sender must not fail"
        return ws.sent

    sent = asyncio.run(scenario())
    assert sent == [{"type": "state"}, b"main\nm1", b"wrist\nw1"]


def test_a_failing_sender_closes_the_page_socket() -> None:
    async def scenario() -> RecordingSocket:
        outbox = Outbox(asyncio.get_running_loop())
        ws = RecordingSocket()
        outbox.send({"type": "state", "value": object()})  # cannot be written as JSON
        await _deliver(outbox, ws, until=1)
        return ws

    ws = asyncio.run(scenario())
    assert ws.closed is not None and ws.closed[0] == 1011
