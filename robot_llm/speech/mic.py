"""Live speech: the microphone (the `mic` extra), endpointing, and commands as lines.

`utterances(frames, recognizer)` cuts a stream of 16 kHz audio into utterances with the
voice-activity endpointer pocketsphinx ships (WebRTC detector, 0.3 s window) and yields one
`Heard` per utterance. While an utterance is still being spoken, the open pass decodes it live
and a stop word in the partial hypothesis is yielded at once ("stop" does not wait for the end
of the sentence). `microphone_frames` reads the sound card through sounddevice and
`recording_frames` plays a file as if it were spoken; `microphone_lines` puts frames and
recognizer together and yields planner text, ready for the REPL.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

import numpy as np

from robot_llm.speech.audio import from_pcm16, load_audio, to_pcm16
from robot_llm.speech.base import DEFAULT_RECOGNIZER, SAMPLE_RATE, Recognizer, SpeechError
from robot_llm.speech.listen import MIN_CONFIDENCE, Heard, Understood, heard_stop, interpret
from robot_llm.types import Scene

MIC_HINT: Final = (
    "microphone input needs the mic extra: pip install 'robot-llm[mic]' "
    "(and the PortAudio library, e.g. apt-get install libportaudio2)"
)


def microphone_frames(
    device: int | str | None = None, block_s: float = 0.03
) -> Iterator[np.ndarray]:
    """16 kHz mono blocks from the sound card, as float32 arrays, until the caller stops.

    The sound card is opened here, so a missing mic extra or device is a SpeechError at once,
    not at the first read."""
    try:
        import sounddevice
    except (ImportError, OSError):
        raise SpeechError(MIC_HINT) from None
    blocks: queue.Queue[bytes] = queue.Queue()

    def callback(data: Any, frames: int, when: Any, status: Any) -> None:
        blocks.put(bytes(data))

    try:
        stream = sounddevice.RawInputStream(
            samplerate=SAMPLE_RATE,
            blocksize=int(block_s * SAMPLE_RATE),
            dtype="int16",
            channels=1,
            device=device,
            callback=callback,
        )
    except Exception as err:  # PortAudioError and friends: no device, busy device
        raise SpeechError(f"cannot open the microphone: {err}") from None
    return _stream_blocks(stream, blocks)


def _stream_blocks(stream: Any, blocks: queue.Queue[bytes]) -> Iterator[np.ndarray]:
    with stream:
        while True:
            yield from_pcm16(blocks.get())


def recording_frames(
    path: str | os.PathLike[str], block_s: float = 0.03, realtime: bool = True
) -> Iterator[np.ndarray]:
    """A WAV or FLAC file played as if spoken at the microphone: 16 kHz blocks, paced to the
    wall clock when `realtime` (a recorded session replayed, or a stand-in for a sound card).
    The file is read here, so a bad file is a SpeechInputError at once."""
    samples = load_audio(path)
    size = max(1, int(block_s * SAMPLE_RATE))
    return _paced_blocks(samples, size, realtime)


def _paced_blocks(samples: np.ndarray, size: int, realtime: bool) -> Iterator[np.ndarray]:
    start = time.monotonic()
    for i in range(0, len(samples), size):
        if realtime:
            time.sleep(max(0.0, start + i / SAMPLE_RATE - time.monotonic()))
        yield samples[i : i + size]


def utterances(
    frames: Iterable[np.ndarray],
    recognizer: Recognizer,
    min_confidence: float = MIN_CONFIDENCE,
    understood: Callable[[], Understood | None] | None = None,
) -> Iterator[Heard]:
    """One `Heard` per utterance in `frames`; a stop word is yielded as soon as it is heard.
    `understood()` gives the check the decision uses at the end of each utterance
    (`listen.interpret`)."""
    from pocketsphinx import Endpointer

    endpointer = Endpointer(sample_rate=SAMPLE_RATE)
    size = endpointer.frame_bytes // 2
    pending = np.zeros(0, dtype=np.float32)
    speech: list[np.ndarray] = []
    stream: Any = None
    stopped = False
    for block in frames:
        pending = np.concatenate([pending, np.asarray(block, dtype=np.float32)])
        while len(pending) >= size:
            frame, pending = pending[:size], pending[size:]
            was_speech = endpointer.in_speech
            voiced = endpointer.process(to_pcm16(frame))
            if voiced is not None:
                if not was_speech:
                    speech, stopped = [], False
                    stream = recognizer.stream() if hasattr(recognizer, "stream") else None
                chunk = from_pcm16(voiced)
                speech.append(chunk)
                if stream is not None and not stopped and _stop_in(stream, stream.feed(chunk)):
                    stopped = True
                    yield Heard("stop", stream.finish(), "stop", "stop heard")
                    stream = None
            if was_speech and not endpointer.in_speech:
                check = understood() if understood is not None else None
                yield from _finish(recognizer, stream, speech, stopped, min_confidence, check)
                stream, speech = None, []
    if endpointer.in_speech:
        tail = endpointer.end_stream(to_pcm16(pending))
        if tail is not None:
            speech.append(from_pcm16(tail))
        check = understood() if understood is not None else None
        yield from _finish(recognizer, stream, speech, stopped, min_confidence, check)


def _stop_in(stream: Any, partial: str) -> bool:
    check = getattr(stream, "heard_stop", None)
    return bool(check()) if callable(check) else heard_stop(partial)


def _finish(
    recognizer: Recognizer,
    stream: Any,
    speech: list[np.ndarray],
    stopped: bool,
    minimum: float,
    understood: Understood | None = None,
) -> Iterator[Heard]:
    if stream is not None:
        stream.finish()
    if stopped or not speech:
        return
    heard = interpret(recognizer.transcribe(np.concatenate(speech)), minimum, understood)
    if heard.status != "no_speech":
        yield heard


def microphone_lines(
    recognizer: Recognizer | None = None,
    *,
    scene: Callable[[], Scene | None] | None = None,
    say: Callable[[str], None] = print,
    device: int | str | None = None,
    frames: Iterable[np.ndarray] | None = None,
    min_confidence: float = MIN_CONFIDENCE,
    understood: Callable[[], Understood | None] | None = None,
) -> Iterator[str]:
    """Commands spoken at the microphone, as lines of planner text ("stop" for a stop word).

    `scene()` is asked before each utterance, so the bias follows the table; `say` gets the
    transcript of each command and the request to repeat an unclear one. `frames` replaces
    the microphone (any iterable of 16 kHz float32 blocks, e.g. a recording).
    """
    if recognizer is None:
        from robot_llm.speech.base import get_recognizer

        recognizer = get_recognizer(DEFAULT_RECOGNIZER)
    if scene is not None:
        recognizer.set_scene(scene())
    source = frames if frames is not None else microphone_frames(device)
    if hasattr(recognizer, "stream"):  # build the stop detector now, not at the first word
        recognizer.stream().finish()
    for heard in utterances(source, recognizer, min_confidence, understood):
        if heard.status == "repeat":
            say(heard.message)
        elif heard.command is not None:
            say(f"heard: {heard.transcript.text}")
            yield heard.command
        if scene is not None:
            recognizer.set_scene(scene())


def microphone_reader(lines: Iterator[str]) -> Callable[[str], str]:
    """`read(prompt)` over spoken lines, for `Repl.loop`: EOFError when the lines end."""

    def read(_prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    return read
