"""The `pocketsphinx` backend: offline recognition biased toward this robot's language.

The decoder uses the US-English acoustic model the pip package ships and the bias model of the
current scene (`bias.build_bias`, rebuilt when the scene's objects change). Two passes:

1. the **open pass** decodes with the bias trigram model, which allows any sequence of its
   words; a result with confidence >= LM_TRUST (word posteriors) that is a known sentence is
   taken as it is;
2. otherwise the **grammar pass** decodes with the same sentences as a closed grammar, which
   can only answer a whole known command: its best path when that reaches the grammar's end,
   else the first whole sentence of its N-best list, else no answer (a partial path is no
   command). When the two agree on at least AGREE of the words, the grammar's sentence is
   taken (it corrects the open pass's slips); with no grammar answer, a confident open result
   stands (new wording); when they disagree, the utterance is probably new wording heard
   badly: the open result is returned with the agreement as its confidence, which makes the
   listener ask to repeat.

Measured on synthesized suite commands (docs/speech.md), the grammar alone is the most accurate
on known commands but answers a wrong known command for new wording; the open model alone
generalizes but slips on single words; together they keep the grammar's accuracy and turn
most of the open model's wrong answers into requests to repeat.

Words outside the bias model are heard through the **open-vocabulary fallback**: when the
result is not confident and the audio is clean (estimated SNR >= FALLBACK_SNR_DB), the
package's generic English model decodes it too and wins when more confident. Noisy audio
(estimated SNR under 30 dB) goes through `denoise.wiener` first; audio whose loud parts are
less than MIN_SNR_DB above its quiet parts is steady noise (a fan, a tone) and is not decoded.

`stream()` decodes audio as it arrives and shows the open pass's partial hypothesis, so a
spoken "stop" is acted on before the utterance has been fully decoded.
"""

from __future__ import annotations

import itertools
import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from robot_llm.speech.audio import condition, has_speech, to_pcm16
from robot_llm.speech.base import SAMPLE_RATE, SpeechInputError, Transcript, Word
from robot_llm.speech.bias import BiasModel, build_bias, scene_key
from robot_llm.speech.denoise import MIN_SNR_DB, maybe_denoise
from robot_llm.speech.listen import heard_stop
from robot_llm.speech.pronounce import model_dir
from robot_llm.types import Scene

FRAME_S: Final = 0.01
MIN_PAUSE_S: Final = 0.12  # a silence this long between words is a comma
LM_TRUST: Final = 0.9  # open-pass confidence taken without the grammar pass
AGREE: Final = 0.5  # share of the grammar sentence's words the open pass must match
NBEST: Final = 10  # grammar-pass hypotheses searched for a whole sentence
FALLBACK_SNR_DB: Final = 30.0
NOT_WORDS: Final = frozenset({"<s>", "</s>", "<sil>"})
PASSES: Final = ("both", "open", "grammar")  # open / grammar alone: for measurements
DECODER_OPTIONS: Final = {"loglevel": "FATAL", "lw": 9.0, "fwdflatlw": 11.5, "bestpathlw": 14.0}
# The grammar pass keeps the default language weight and searches wider (measured: fewer
# utterances with no path through the grammar, at about the same speed).
GRAMMAR_OPTIONS: Final = {"loglevel": "FATAL", "beam": 1e-60, "wbeam": 1e-40, "pbeam": 1e-60}


class PocketsphinxRecognizer:
    """pocketsphinx with the scene's bias (`bias=False`: the generic English model only).

    `model` names another acoustic model folder (default: the package's en-us model);
    `passes` is "both" (default), or "open" / "grammar" alone (to measure them).
    """

    name = "pocketsphinx"

    def __init__(
        self,
        scene: Scene | None = None,
        bias: bool = True,
        passes: str = "both",
        fallback: bool = True,
        model: str | None = None,
        min_pause: float = MIN_PAUSE_S,
        exclude: tuple[str, ...] = (),
        **decoder_options: Any,
    ) -> None:
        hmm = Path(model).expanduser() if model else model_dir() / "en-us" / "en-us"
        if not (hmm / "mdef").is_file():
            raise SpeechInputError(
                f"{model}: not a pocketsphinx acoustic model folder (--asr-model)"
            )
        self.hmm = str(hmm)
        self.bias = bias
        if passes not in PASSES:
            raise ValueError(f"passes must be one of {', '.join(PASSES)}, not {passes!r}")
        self.passes = passes
        self.fallback = fallback
        self.min_pause = min_pause
        self.exclude = exclude  # corpus sentences held out (the benchmark's held-out runs)
        self.options = {**DECODER_OPTIONS, **decoder_options}
        self.bias_model: BiasModel | None = None
        self.builds = 0
        self._tmp = tempfile.TemporaryDirectory(prefix="robot-llm-asr-")
        self._decoder: Any = None
        self._generic: Any = None
        self._closed: tuple[str, Any] | None = None
        self.set_scene(scene)

    # -- models ---------------------------------------------------------------------------------
    def set_scene(self, scene: Scene | None) -> None:
        """Rebuild the bias model when the scene's objects changed (same objects: no work)."""
        if not self.bias:
            self._decoder = self._decoder or self._generic_decoder()
            return
        key = scene_key(scene, self.exclude)
        if self.bias_model is not None and self.bias_model.key == key:
            return
        from pocketsphinx import Decoder

        model = build_bias(scene, Path(self._tmp.name) / key, exclude=self.exclude)
        model.key = key
        decoder = Decoder(
            hmm=self.hmm, lm=str(model.lm_path), dict=str(model.dict_path), **self.options
        )
        self._decoder, self.bias_model = decoder, model
        self.builds += 1

    def _grammar_decoder(self) -> Any:
        """The grammar pass's decoder: its own search settings, and live beside the open pass."""
        model = self.bias_model
        assert model is not None
        if self._closed is None or self._closed[0] != model.key:
            from pocketsphinx import Decoder

            decoder = Decoder(
                hmm=self.hmm, fsg=str(model.fsg_path), dict=str(model.dict_path), **GRAMMAR_OPTIONS
            )
            self._closed = (model.key, decoder)
        return self._closed[1]

    def _generic_decoder(self) -> Any:
        if self._generic is None:
            from pocketsphinx import Decoder

            options = {k: v for k, v in self.options.items() if k == "loglevel"}
            self._generic = Decoder(hmm=self.hmm, **options)
        return self._generic

    @property
    def vocabulary(self) -> frozenset[str]:
        return self.bias_model.vocabulary if self.bias_model else frozenset()

    # -- decoding -------------------------------------------------------------------------------
    def transcribe(self, audio: np.ndarray) -> Transcript:
        t0 = time.perf_counter()
        duration = len(audio) / SAMPLE_RATE
        if not has_speech(audio):
            return Transcript("", 0.0, (), self.name, duration, time.perf_counter() - t0, False)
        samples, snr = maybe_denoise(condition(audio))
        if snr < MIN_SNR_DB:  # steady sound without a louder voice in it: noise, hum, a tone
            extra: dict[str, Any] = {"snr_db": round(snr, 1)}
            return Transcript(
                "", 0.0, (), self.name, duration, time.perf_counter() - t0, True, extra
            )
        pcm = to_pcm16(samples)
        if self.bias and self.passes == "grammar":  # measured alternative: grammar alone
            result, how = self._decode(self._grammar_decoder(), pcm), "grammar"
        else:
            result, how = self._decode(self._decoder, pcm), "open"
        if self.bias and self.passes == "both" and not self._trusted(result):
            decoder = self._grammar_decoder()
            closed = self._decode(decoder, pcm)
            if self.bias_model and not heard_stop(closed.text):  # a stop counts even if partial
                closed = whole_sentence(closed, self.bias_model.grammar, _nbest(decoder))
            agreement = _agreement(closed.text, result.text)
            if not closed.empty and (agreement >= AGREE or heard_stop(closed.text)):
                result, how = _with_confidence(closed, agreement), "grammar"
            elif closed.empty and result.confidence >= LM_TRUST:
                how = "open"  # no known command fits: confident new wording stands as heard
            else:
                result, how = _with_confidence(result, min(result.confidence, agreement)), "open"
        unsure = result.confidence < AGREE and not heard_stop(result.text)
        if self.bias and self.fallback and unsure and snr >= FALLBACK_SNR_DB:
            generic = self._decode(self._generic_decoder(), pcm)
            if generic.confidence >= LM_TRUST and not generic.empty:
                result, how = generic, "generic"
        extra = {"pass": how if self.bias else "generic", "snr_db": round(snr, 1)}
        return Transcript(
            result.text,
            result.confidence,
            result.words,
            self.name,
            duration,
            time.perf_counter() - t0,
            True,
            extra,
        )

    def _trusted(self, result: Transcript) -> bool:
        """An open-pass result taken without the grammar pass: confident and a known sentence.

        A confident result that is no known sentence is checked by the grammar pass: measured,
        most of those were the open pass's slips ("put all the the green block" for "robot
        lift the green block"), which the grammar pass heard right."""
        model = self.bias_model
        return (
            result.confidence >= LM_TRUST
            and model is not None
            and _words(result.text) in model.grammar
        )

    def _decode(self, decoder: Any, pcm: bytes) -> Transcript:
        fresh_utterance(decoder)
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        return self._result(decoder)

    def _result(self, decoder: Any) -> Transcript:
        words: list[Word] = []
        tokens: list[str] = []
        last_end = None
        for seg in decoder.seg() or ():
            text = seg.word.split("(", 1)[0]
            if text in NOT_WORDS or text.startswith("[") or text.startswith("++"):
                continue
            start, end = seg.start_frame * FRAME_S, (seg.end_frame + 1) * FRAME_S
            if last_end is not None and start - last_end >= self.min_pause and tokens:
                tokens.append(",")
            words.append(Word(text, start, end, min(1.0, max(0.0, float(seg.prob)))))
            tokens.append(text)
            last_end = end
        text = " ".join(tokens).replace(" ,", ",")
        return Transcript(text, _confidence(words), tuple(words), self.name)

    def stream(self) -> SphinxStream:
        """A live decode of both passes: feed chunks, read `partial()`, then `finish()`."""
        return SphinxStream(self)


def fresh_utterance(decoder: Any) -> None:
    """Start an utterance from the front end's initial state.

    The acoustic model's front end tracks the noise level (`remove_noise`) across utterances,
    so without a reset a transcript depends on what was decoded before it: the same recording
    gave "robot lift the green block" as the first utterance and "put all the the green
    block" after it. Each recording is decoded on its own. The live stream (`SphinxStream`)
    keeps the level tracked so far: its utterances come from one microphone in one room, and
    with a reset per utterance a stop said in 10 dB noise was caught 4 times in 21 instead of
    7, with 13 false stops in 60 commands instead of 3 (benchmarks/speech.py)."""
    decoder.reinit_feat()
    decoder.start_utt()


def whole_sentence(
    closed: Transcript, grammar: frozenset[str], alternatives: Sequence[str] = ()
) -> Transcript:
    """The grammar pass's result when it is a whole sentence of `grammar`, else the first of
    `alternatives` (the pass's N-best list, best first) that is one, else empty.

    When the best path does not reach the grammar's final state (noise over the end of the
    command, or wording the grammar lacks), the decoder answers a partial path ("place the
    green block in the"), which is no known command: taking it was most of the wrong actions
    at 10 dB SNR (measured in docs/speech.md). A whole sentence further down the N-best list
    ("put the green block in a bowl" under "put the green block in the blue") is taken instead;
    it has no word times.
    """
    if _words(closed.text) in grammar:
        return closed
    for text in map(_words, alternatives):
        if text in grammar:
            return Transcript(text, 1.0, (), closed.backend)
    return Transcript("", 0.0, (), closed.backend)


def _words(text: str) -> str:
    """A transcript's words alone, as the grammar's sentences are written (no pause commas)."""
    return " ".join(text.replace(",", " ").split())


def _nbest(decoder: Any, n: int = NBEST) -> list[str]:
    """The decoder's N-best hypotheses for the last utterance, best first."""
    return [hyp.hypstr for hyp in itertools.islice(decoder.nbest(), n)]


def _with_confidence(t: Transcript, confidence: float) -> Transcript:
    return Transcript(t.text, confidence, t.words, t.backend)


def _agreement(reference: str, hypothesis: str) -> float:
    """1 - the word error rate of `hypothesis` against `reference` (0 for an empty one)."""
    ref, hyp = reference.replace(",", " ").split(), hypothesis.replace(",", " ").split()
    if not ref:
        return 0.0
    return max(0.0, 1.0 - word_errors(ref, hyp) / len(ref))


def word_errors(ref: list[str], hyp: list[str]) -> int:
    """Substitutions, insertions and deletions turning `ref` into `hyp` (word edit distance)."""
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(hyp) + 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev + (ref[i - 1] != hyp[j - 1]))
            prev, row[j] = row[j], cur
    return row[len(hyp)]


class SphinxStream:
    """One utterance decoded as it arrives, by the open pass and (with a bias model) by the
    grammar pass side by side; no level normalization (the noise floor is added)."""

    def __init__(self, recognizer: PocketsphinxRecognizer) -> None:
        self.recognizer = recognizer
        self.decoder = recognizer._decoder
        self.closed = recognizer._grammar_decoder() if recognizer.bias else None
        self.samples = 0
        self._rng = np.random.default_rng(0)
        for d in self._decoders():
            d.start_utt()  # live audio: the noise level tracked so far carries over (see above)

    def _decoders(self) -> list[Any]:
        return [self.decoder] if self.closed is None else [self.decoder, self.closed]

    def feed(self, chunk: np.ndarray) -> str:
        """Decode a chunk; the open pass's partial hypothesis so far."""
        from robot_llm.speech.audio import NOISE_FLOOR

        floor = NOISE_FLOOR * self._rng.standard_normal(len(chunk)).astype(np.float32)
        pcm = to_pcm16(chunk + floor)
        for d in self._decoders():
            d.process_raw(pcm, no_search=False, full_utt=False)
        self.samples += len(chunk)
        return self.partial()

    def partial(self) -> str:
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None else ""

    def heard_stop(self) -> bool:
        """Whether either pass hears a stop word so far (acted on at once)."""
        for d in self._decoders():
            hyp = d.hyp()
            if hyp is not None and heard_stop(hyp.hypstr):
                return True
        return False

    def finish(self) -> Transcript:
        for d in self._decoders():
            d.end_utt()
        out = self.recognizer._result(self.decoder)
        duration = self.samples / SAMPLE_RATE
        return Transcript(out.text, out.confidence, out.words, out.backend, duration)


def _confidence(words: list[Word]) -> float:
    """Geometric mean of the word posteriors (0 when nothing was heard)."""
    if not words:
        return 0.0
    return math.exp(sum(math.log(max(w.confidence, 1e-6)) for w in words) / len(words))
