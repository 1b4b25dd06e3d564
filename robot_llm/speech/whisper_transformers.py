"""The `whisper-transformers` backend: a Whisper model saved with transformers, from a local folder.

`--asr-model PATH` names a folder saved with `save_pretrained` (config, weights, tokenizer and
feature extractor, e.g. a copy of openai/whisper-tiny.en). Everything loads with
`local_files_only=True`: nothing is downloaded, and a missing folder is one clear error.
Whisper invents text for silence and noise, so audio without voice activity is not decoded.
The confidence is the model's own per-token probability of its transcript (the geometric
mean, from one teacher-forced pass over the tokens it produced). The bias toward the scene
does not apply: `set_scene` is accepted and ignored.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from robot_llm.speech.audio import has_speech
from robot_llm.speech.base import SAMPLE_RATE, SpeechError, SpeechInputError, Transcript, Word
from robot_llm.speech.denoise import MIN_SNR_DB, estimate_snr
from robot_llm.speech.spoken import clean_text
from robot_llm.types import Scene

MAX_NEW_TOKENS = 96


class TransformersWhisperRecognizer:
    """Whisper through `transformers.pipeline("automatic-speech-recognition")`, on the CPU."""

    name = "whisper-transformers"

    def __init__(self, model: str | None = None, max_new_tokens: int = MAX_NEW_TOKENS) -> None:
        if not model:
            raise SpeechInputError(
                "the whisper-transformers recognizer needs --asr-model PATH (a local folder)"
            )
        path = Path(model).expanduser()
        if not path.is_dir():
            raise SpeechInputError(f"{model}: no such model folder (--asr-model)")
        if not (path / "config.json").is_file():
            raise SpeechInputError(f"{model}: not a saved model folder (config.json is missing)")
        self.path = path
        self.max_new_tokens = max_new_tokens
        self._pipe: Any = None

    def set_scene(self, scene: Scene | None) -> None:
        return None

    @property
    def pipe(self) -> Any:
        if self._pipe is None:
            self._pipe = self._load()
        return self._pipe

    def _load(self) -> Any:
        from transformers import (
            AutoFeatureExtractor,
            AutoModelForSpeechSeq2Seq,
            AutoTokenizer,
            pipeline,
        )

        try:
            model = AutoModelForSpeechSeq2Seq.from_pretrained(self.path, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            features = AutoFeatureExtractor.from_pretrained(self.path, local_files_only=True)
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise SpeechInputError(f"{self.path}: cannot load the model ({first})") from None
        model.eval()
        return pipeline(
            "automatic-speech-recognition",
            model=model,
            tokenizer=tokenizer,
            feature_extractor=features,
            device=-1,
        )

    def _generate_kwargs(self) -> dict[str, Any]:
        # the decoder's positions bound prompt + output (448 for the released models)
        room = int(getattr(self.pipe.model.config, "max_target_positions", 448)) - 8
        kwargs: dict[str, Any] = {"max_new_tokens": max(1, min(self.max_new_tokens, room))}
        config = self.pipe.model.generation_config
        if getattr(config, "is_multilingual", False) and getattr(config, "lang_to_id", None):
            kwargs.update(language="en", task="transcribe")
        return kwargs

    def transcribe(self, audio: np.ndarray) -> Transcript:
        t0 = time.perf_counter()
        duration = len(audio) / SAMPLE_RATE
        if not has_speech(audio) or estimate_snr(audio) < MIN_SNR_DB:
            return Transcript("", 0.0, (), self.name, duration, time.perf_counter() - t0, False)
        try:
            out = self.pipe(
                {"raw": audio.astype(np.float32), "sampling_rate": SAMPLE_RATE},
                generate_kwargs=self._generate_kwargs(),
            )
        except (RuntimeError, ValueError) as err:
            raise SpeechError(f"whisper failed: {err}") from None
        raw = str(out.get("text", "")).strip()
        text = clean_text(raw)
        confidence = self._confidence(audio, raw) if text else 0.0
        words = tuple(Word(w, 0.0, duration, confidence) for w in text.replace(",", "").split())
        return Transcript(
            text, confidence, words, self.name, duration, time.perf_counter() - t0, True
        )

    def _confidence(self, audio: np.ndarray, text: str) -> float:
        """exp(mean token log-probability) of `text` given the audio (teacher forcing)."""
        import torch

        pipe = self.pipe
        features = pipe.feature_extractor(
            audio, sampling_rate=SAMPLE_RATE, return_tensors="pt"
        ).input_features
        labels = pipe.tokenizer(text, return_tensors="pt").input_ids
        if labels.shape[1] == 0:
            return 0.0
        with torch.no_grad():
            loss = pipe.model(input_features=features.to(pipe.model.dtype), labels=labels).loss
        value = float(loss)
        return math.exp(-value) if math.isfinite(value) else 0.0
