"""Spoken commands: audio in, a transcript and the planner's command text out, offline.

    from robot_llm.speech import get_recognizer, interpret, load_audio
    recognizer = get_recognizer("whisper")           # or "pocketsphinx"
    recognizer.set_scene(scene)                      # bias toward what is on the table
    heard = interpret(recognizer.transcribe(load_audio("command.wav")))
    heard.status, heard.command                      # "command", "put the red block in ..."

Backends register by name (`register_recognizer`); `whisper` (faster-whisper with the shipped
tiny.en model) is the default, `pocketsphinx` the smallest and fastest, `whisper-transformers`
runs a user's own transformers Whisper folder. `interpret`
puts stop words first, and answers "no_speech" for silence or noise and "repeat" for a
transcript it is not sure of. `microphone_lines` (the `mic` extra) yields commands spoken at
the microphone. See docs/speech.md.
"""

from typing import Any

from robot_llm.speech.audio import load_audio, resample
from robot_llm.speech.base import (
    DEFAULT_RECOGNIZER,
    SAMPLE_RATE,
    Recognizer,
    SpeechError,
    SpeechInputError,
    Transcript,
    Word,
    get_recognizer,
    recognizer_names,
    register_recognizer,
)
from robot_llm.speech.listen import MIN_CONFIDENCE, Heard, heard_stop, interpret, understood_by
from robot_llm.speech.mic import microphone_lines, microphone_reader, utterances

# The recognizers load on first use: the bias model needs the planner's tables, and Whisper
# needs transformers; `robot-llm --help` needs neither.
_LAZY = {
    "PocketsphinxRecognizer": "robot_llm.speech.sphinx",
    "WhisperRecognizer": "robot_llm.speech.whisper",
    "TransformersWhisperRecognizer": "robot_llm.speech.whisper_transformers",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'robot_llm.speech' has no attribute {name!r}")


def _pocketsphinx(**options: Any) -> Recognizer:
    from robot_llm.speech.sphinx import PocketsphinxRecognizer

    return PocketsphinxRecognizer(**options)


def _whisper(**options: Any) -> Recognizer:
    from robot_llm.speech.whisper import WhisperRecognizer

    return WhisperRecognizer(**options)


def _whisper_transformers(**options: Any) -> Recognizer:
    from robot_llm.speech.whisper_transformers import TransformersWhisperRecognizer

    return TransformersWhisperRecognizer(**options)


register_recognizer("whisper", _whisper, replace_existing=True)
register_recognizer("pocketsphinx", _pocketsphinx, replace_existing=True)
register_recognizer("whisper-transformers", _whisper_transformers, replace_existing=True)


__all__ = [
    "DEFAULT_RECOGNIZER",
    "MIN_CONFIDENCE",
    "SAMPLE_RATE",
    "Heard",
    "PocketsphinxRecognizer",
    "Recognizer",
    "SpeechError",
    "SpeechInputError",
    "Transcript",
    "TransformersWhisperRecognizer",
    "WhisperRecognizer",
    "Word",
    "get_recognizer",
    "heard_stop",
    "interpret",
    "load_audio",
    "microphone_lines",
    "microphone_reader",
    "recognizer_names",
    "register_recognizer",
    "resample",
    "understood_by",
    "utterances",
]
