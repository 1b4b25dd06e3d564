"""Push-to-talk for the console: a page's recorded WAV to what the recognizer heard.

The page records in the browser and sends a WAV; the server's recognizer (whisper by default,
as for `listen` and the REPL) transcribes it, and the session's rule planner picks the first of
the transcript and its alternatives it grounds in the scene (`robot_llm.speech.interpret`). The
page shows the transcript before anything moves; what nobody understood is a request to say it
again, never a guessed action.
"""

from __future__ import annotations

import io
import threading
from typing import Any

import numpy as np

from robot_llm.console.hub import ConsoleRefused, Hub
from robot_llm.session import Session


def decode_wav(data: bytes) -> np.ndarray:
    """WAV (or FLAC) bytes as 16 kHz mono float32; ConsoleRefused when it is not audio."""
    import soundfile

    from robot_llm.speech.audio import resample

    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as err:
        raise ConsoleRefused(f"the audio is not a WAV or FLAC file ({err})") from None
    if samples.size == 0:
        raise ConsoleRefused("the audio is empty")
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    return resample(mono, int(rate))


class Hearing:
    """The console's recognizer (built on first use) and what it does with an utterance."""

    def __init__(self, hub: Hub, session: Session, asr: str, options: dict[str, Any]) -> None:
        self.hub, self.session, self.asr, self.options = hub, session, asr, options
        self._recognizer: Any = None
        self._lock = threading.Lock()

    def recognizer(self) -> Any:
        from robot_llm.speech import get_recognizer

        with self._lock:
            if self._recognizer is None:
                self._recognizer = get_recognizer(self.asr, **self.options)
            return self._recognizer

    def hear(self, wav: bytes, run: bool) -> dict[str, Any]:
        """Recognize `wav`; publish and return the heard message. With `run`, a command that was
        understood is queued and a spoken stop latches the e-stop."""
        from robot_llm.planning import get_planner
        from robot_llm.speech import interpret, understood_by

        audio = decode_wav(wav)
        transcript = self.recognizer().transcribe(audio)
        scene = self.session.reference
        understood = (
            understood_by(get_planner("rule"), scene, self.session.history) if scene else None
        )
        heard = interpret(transcript, understood=understood)
        message = {
            "type": "heard",
            "transcript": transcript.text,
            "understood": heard.status in ("command", "stop"),
            "command": heard.command,
            "alternatives": list(transcript.alternatives),
            "message": heard.message,
        }
        self.hub.publish(message)
        if run and heard.status == "stop":
            self.hub.estop("a spoken stop")
        elif run and heard.status == "command" and heard.command:
            self.hub.submit(heard.command)
        return message
