"""Spoken commands: real audio synthesized with espeak-ng, decoded offline by pocketsphinx.

No mocks: commands are spoken by espeak-ng at test time, written as WAV/FLAC files at several
sample rates and run through the recognizer, the listen decision and the planner. Tests that
speak skip when espeak-ng is missing (`make venv` installs it where apt-get is available).
The recognizer tests here are pocketsphinx's (named with `--asr pocketsphinx` on the command
line); the command line and the REPL end to end use the default, `whisper`, whose own tests are
in tests/test_speech_whisper.py; `whisper-transformers` is checked with a tiny random model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

from robot_llm.cli import main as robot_llm_main
from robot_llm.planning import History, get_planner, plan_command
from robot_llm.planning.suite import load_scenes, scene_from_data
from robot_llm.speech import (
    PocketsphinxRecognizer,
    SpeechInputError,
    Transcript,
    arpa,
    get_recognizer,
    interpret,
    load_audio,
    recognizer_names,
    utterances,
)
from robot_llm.speech.audio import resample
from robot_llm.speech.grammar import build_fsg
from robot_llm.speech.sphinx import whole_sentence
from robot_llm.speech.spoken import from_spoken, to_spoken
from robot_llm.speech.synth import add_noise, espeak_available, pad, speak

SCENE_FILE = Path(__file__).resolve().parents[1] / "sim_assets" / "scenes" / "blocks_and_bowls.yaml"
needs_espeak = pytest.mark.skipif(
    not espeak_available(), reason="espeak-ng is not installed (apt-get install espeak-ng)"
)


@pytest.fixture(scope="module")
def scenes() -> dict:
    return load_scenes()


@pytest.fixture(scope="module")
def recognizer(scenes: dict) -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(scene=scenes["main"])


@pytest.fixture(scope="module")
def said() -> Callable[[str], np.ndarray]:
    cache: dict[str, np.ndarray] = {}

    def get(text: str, voice: str = "en-us", wpm: int = 160) -> np.ndarray:
        key = f"{text}|{voice}|{wpm}"
        if key not in cache:
            cache[key] = pad(speak(text, voice, wpm))
        return cache[key]

    return get


def write_audio(path: Path, samples: np.ndarray, rate: int) -> Path:
    soundfile.write(str(path), resample(samples, 16000, rate), rate)
    return path


def planned(command: str, scene: object) -> list[dict]:
    result = plan_command(get_planner("rule"), command, scene, History())
    assert result.type == "plan", result.to_dict()
    return [s.to_dict() for s in result.subgoals]


# -- pure logic -----------------------------------------------------------------------------------
def test_kneser_ney_model_is_normalized_and_written_as_arpa() -> None:
    sentences = [s.split() for s in ("pick up the red block", "put the red block in the bowl")]
    model = arpa.train(sentences * 3 + [["stop"]], order=3, vocabulary={"purple"})
    vocab = model.vocabulary
    for history in ((), ("the",), ("<s>", "put"), ("red", "block"), ("never", "seen")):
        assert math.isclose(sum(model.prob(w, history) for w in vocab), 1.0, rel_tol=1e-9)
    assert 0 < model.prob("purple") < model.prob("red")  # in the vocabulary, with the floor only
    text = model.to_arpa()
    assert text.startswith("\\data\\\nngram 1=") and text.rstrip().endswith("\\end\\")
    assert "\\3-grams:" in text


def test_grammar_accepts_exactly_the_sentences_and_shares_suffixes() -> None:
    sentences = [
        f"put the {c} block in the {d} bowl" for c in ("red", "blue") for d in ("big", "small")
    ]
    text, states = build_fsg([*sentences, "stop"])
    assert states < sum(len(s.split()) for s in sentences)  # the trie would need more
    transitions = [line.split() for line in text.splitlines() if line.startswith("TRANSITION")]
    assert {t[4] for t in transitions if len(t) == 5} == set(" ".join([*sentences, "stop"]).split())


def test_grammar_pass_counts_only_whole_sentences(
    recognizer: PocketsphinxRecognizer, scenes: dict
) -> None:
    """A partial path through the grammar (its end drowned in noise) is no known command."""
    recognizer.set_scene(scenes["main"])
    assert recognizer.bias_model is not None
    grammar = recognizer.bias_model.grammar
    whole = Transcript("put the green block, in the blue bowl", 0.9, (), "pocketsphinx")
    assert whole_sentence(whole, grammar) == whole  # pauses do not matter
    partial = Transcript("put the green block in the", 0.9)
    assert whole_sentence(partial, grammar).empty
    # the first whole sentence further down the grammar pass's N-best list stands in
    alternatives = ["put the green block in the", "put the green block in the blue bowl"]
    assert whole_sentence(partial, grammar, alternatives).text == alternatives[1]
    assert whole_sentence(partial, grammar, alternatives[:1]).empty


def test_spoken_forms_round_trip_numbers_and_units() -> None:
    assert to_spoken("Move it 10 cm, then go to x 0.5 y -0.1.") == (
        [
            "move",
            "it",
            "ten",
            "centimeters",
            "then",
            "go",
            "to",
            "x",
            "zero",
            "point",
            "five",
            "y",
            "minus",
            "zero",
            "point",
            "one",
        ]
    )
    assert to_spoken("pick up red_block_2") is None  # ids are not said aloud
    assert from_spoken("go to x zero point five y minus zero point one") == "go to x 0.5 y -0.1"
    assert from_spoken("push it fifteen centimeters") == "push it 15 centimeters"
    assert from_spoken("put the two red blocks at zero point four five zero point zero five") == (
        "put the two red blocks at 0.45 0.05"
    )
    assert from_spoken("pick up the medium sized block") == "pick up the medium-sized block"


def test_every_suite_command_said_without_punctuation_gives_the_typed_answer(
    scenes: dict,
) -> None:
    """Speech carries no commas, colons or full stops: "build a pyramid red green and blue on
    the bottom ...", "pick up the blue block now put it on the green block", "without lifting it
    move ...". A perfect transcript must plan as the typed command does."""
    from robot_llm.planning.suite import load_cases

    planner = get_planner("rule")
    differ, checked = [], 0
    for case in load_cases():
        text, expected = case.turns[0]
        words = to_spoken(text)
        if len(case.turns) != 1 or expected.type != "plan" or not words:
            continue
        checked += 1
        typed = plan_command(planner, text, scenes[case.scene], History()).to_dict()
        heard = plan_command(planner, from_spoken(" ".join(words)), scenes[case.scene], History())
        got = heard.to_dict()
        if (got["type"], got.get("subgoals")) != (typed["type"], typed.get("subgoals")):
            differ.append(f"{text!r} -> {heard.type}")
    assert checked >= 500
    assert not differ, differ


def test_unknown_recognizer_lists_the_known_ones() -> None:
    assert {"pocketsphinx", "whisper", "whisper-transformers"} <= set(recognizer_names())
    with pytest.raises(SpeechInputError, match=r"known: .*pocketsphinx"):
        get_recognizer("dragon")


def test_bias_model_follows_the_scene(recognizer: PocketsphinxRecognizer, scenes: dict) -> None:
    main_scene = scenes["main"]
    recognizer.set_scene(main_scene)
    builds = recognizer.builds
    recognizer.set_scene(main_scene)  # same objects: nothing rebuilt
    assert recognizer.builds == builds
    assert recognizer.bias_model is not None and recognizer.bias_model.model is not None
    before = recognizer.bias_model.model.prob("purple", ["put", "the"])
    purple = scene_from_data(
        [
            {"id": "red_block", "kind": "block", "color": "red", "position": [0.4, 0.1]},
            {"id": "purple_bowl", "kind": "bowl", "color": "purple", "position": [0.6, -0.1]},
        ]
    )
    recognizer.set_scene(purple)
    assert recognizer.builds == builds + 1
    model = recognizer.bias_model.model
    assert model is not None and model.prob("purple", ["put", "the"]) > 5 * before
    assert {"purple", "bowl", "red"} <= recognizer.vocabulary
    recognizer.set_scene(main_scene)


# -- real audio -----------------------------------------------------------------------------------
@needs_espeak
@pytest.mark.parametrize(
    ("text", "voice", "wpm"),
    [
        ("put the green block in the blue bowl", "en-us", 160),
        ("pick up the large red block", "en", 150),
        ("push the green block to the left", "en+m3", 170),
        ("go home", "en-us", 160),
    ],
)
def test_spoken_commands_give_the_typed_plan(
    recognizer: PocketsphinxRecognizer,
    scenes: dict,
    said: Callable,
    text: str,
    voice: str,
    wpm: int,
) -> None:
    recognizer.set_scene(scenes["main"])
    heard = interpret(recognizer.transcribe(said(text, voice, wpm)))
    assert heard.status == "command", heard
    assert heard.command is not None
    assert planned(heard.command, scenes["main"]) == planned(text, scenes["main"])
    assert heard.transcript.confidence >= 0.5 and heard.transcript.words


@needs_espeak
def test_a_transcript_does_not_depend_on_what_was_heard_before(
    recognizer: PocketsphinxRecognizer, scenes: dict, said: Callable
) -> None:
    """The front end's noise tracking starts afresh for each utterance: the same recording
    gives the same words, times and confidence after a loud, noisy one as before it."""
    recognizer.set_scene(scenes["main"])
    audio = said("robot lift the green block", "en+f3", 175)
    first = recognizer.transcribe(audio)
    recognizer.transcribe(add_noise(said("push the blue block forward"), 10.0, "pink"))
    again = recognizer.transcribe(audio)
    assert (again.text, again.confidence, again.words) == (
        first.text,
        first.confidence,
        first.words,
    )


@needs_espeak
def test_purple_is_heard_once_the_scene_has_a_purple_bowl(
    recognizer: PocketsphinxRecognizer, said: Callable
) -> None:
    purple = scene_from_data(
        [
            {"id": "red_block", "kind": "block", "color": "red", "position": [0.4, 0.1]},
            {"id": "purple_bowl", "kind": "bowl", "color": "purple", "position": [0.6, -0.1]},
        ]
    )
    recognizer.set_scene(purple)
    heard = interpret(recognizer.transcribe(said("put the red block in the purple bowl")))
    assert heard.command == "put the red block in the purple bowl"
    assert planned(heard.command, purple)[-1]["in"] == "purple_bowl"


@needs_espeak
@pytest.mark.parametrize("text", ["stop", "halt", "freeze", "wait, stop"])
def test_stop_words_come_first(
    recognizer: PocketsphinxRecognizer, said: Callable, text: str
) -> None:
    heard = interpret(recognizer.transcribe(said(text)), min_confidence=1.1)  # even if unsure
    assert heard.status == "stop" and heard.command == "stop"


@needs_espeak
def test_stop_is_heard_while_the_utterance_streams(
    recognizer: PocketsphinxRecognizer, said: Callable
) -> None:
    """The endpointer cuts a recording into utterances; the stop comes out of the live pass."""
    recognizer.set_scene(None)
    audio = np.concatenate(
        [said("pick up the green block"), np.zeros(16000, np.float32), said("stop")]
    )
    blocks = [audio[i : i + 480] for i in range(0, len(audio), 480)]  # 30 ms, as a microphone
    heard = list(utterances(blocks, recognizer))
    assert [h.status for h in heard] == ["command", "stop"]
    assert heard[0].command == "pick up the green block"


def test_silence_and_noise_give_no_command(recognizer: PocketsphinxRecognizer) -> None:
    rng = np.random.default_rng(0)
    for audio in (
        np.zeros(32000, np.float32),
        (0.2 * rng.standard_normal(32000)).astype(np.float32),
        (0.3 * np.sin(np.arange(32000) * 2 * np.pi * 440 / 16000)).astype(np.float32),
    ):
        heard = interpret(recognizer.transcribe(audio))
        assert heard.status == "no_speech" and heard.command is None, heard.transcript


@needs_espeak
def test_unclear_speech_asks_to_repeat(
    recognizer: PocketsphinxRecognizer, scenes: dict, said: Callable
) -> None:
    """A command drowned in noise as loud as the voice (0 dB SNR): heard, but not trusted."""
    recognizer.set_scene(scenes["main"])
    audio = add_noise(said("put the small red block in the green bowl", "en+f3", 190), 0.0)
    heard = interpret(recognizer.transcribe(audio))
    assert heard.status == "repeat" and heard.command is None, heard.transcript
    assert "say it again" in heard.message


# -- files and the command line --------------------------------------------------------------------
@needs_espeak
@pytest.mark.parametrize(
    ("suffix", "rate"), [(".wav", 8000), (".flac", 22050), (".wav", 44100), (".flac", 48000)]
)
def test_files_at_any_rate_are_resampled(
    tmp_path: Path, said: Callable, suffix: str, rate: int
) -> None:
    path = write_audio(tmp_path / f"go{suffix}", said("go home"), rate)
    audio = load_audio(path)
    assert abs(len(audio) / 16000 - len(said("go home")) / 16000) < 0.01
    code_json = run_cli(["--audio", str(path), "--json"])
    assert code_json[0] == 0
    assert code_json[1]["command"] == "go home" and code_json[1]["heard"] == "command"


def main(argv: list[str]) -> int:
    """`robot-llm listen ARGV` in this process."""
    return robot_llm_main(argv if argv[:1] == ["listen"] else ["listen", *argv])


def run_cli(argv: list[str]) -> tuple[int, dict]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    text = out.getvalue().strip()
    return code, (
        json.loads(text) if text.startswith("{") else {"stdout": text, "stderr": err.getvalue()}
    )


@needs_espeak
@pytest.mark.parametrize("asr", ["pocketsphinx", "whisper"])
def test_listen_plans_on_a_scene_and_runs_a_stop(tmp_path: Path, said: Callable, asr: str) -> None:
    path = write_audio(tmp_path / "cmd.wav", said("put the red block in the green bowl"), 22050)
    argv = ["listen", "--audio", str(path), "--scene", str(SCENE_FILE), "--json", "--asr", asr]
    code, out = run_cli(argv)
    assert code == 0, out
    assert out["status"] == "planned" and out["transcript"] == "put the red block in the green bowl"
    assert 0.5 <= out["asr_confidence"] <= 1.0 and out["asr_backend"] == asr
    steps = out["plan"]["subgoals"]
    assert steps[-1] == {"skill": "place", "object": "red_block", "in": "green_bowl"}
    stop = write_audio(tmp_path / "stop.flac", said("stop"), 16000)
    argv = ["--audio", str(stop), "--scene", str(SCENE_FILE), "--run", "--json", "--asr", asr]
    code, out = run_cli(argv)
    assert out["heard"] == "stop" and out["plan"]["subgoals"] == [{"skill": "stop"}]


def test_silence_file_exits_with_no_speech(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "quiet.wav", np.zeros(24000, np.float32), 16000)
    code, out = run_cli(["--audio", str(path), "--json"])
    assert code == 2
    assert out["status"] == "no_speech" and "no command" in out["message"]


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        ("missing.wav", [], "no such audio file"),
        ("notes.wav", [], "not a WAV or FLAC"),
        ("x.wav", ["--asr", "whisper", "--asr-model", "/nonexistent/whisper"], "no such model"),
        ("x.wav", ["--asr-model", "/nonexistent/whisper"], "no such model"),  # the default
        ("x.wav", ["--asr", "whisper-transformers", "--asr-model", "/nonexistent/w"], "no such"),
        ("x.wav", ["--asr", "whisper-transformers"], "needs --asr-model"),
        ("x.wav", ["--asr", "dragon"], "unknown speech recognizer"),
        (
            "x.wav",
            ["--asr", "pocketsphinx", "--asr-model", "/nonexistent/hmm"],
            "not a pocketsphinx acoustic model",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, extra: list[str], message: str
) -> None:
    (tmp_path / "notes.wav").write_text("these are notes, not audio\n", encoding="utf-8")
    code = main(["--audio", str(tmp_path / name), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and message in err and "Traceback" not in err


# -- whisper-transformers, with a tiny random model built here -------------------------------------
def _byte_alphabet() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for bytes (printable bytes stand for
    themselves, the others are shifted past 255)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    shifted = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + i) for i in range(len(shifted))]


def tiny_whisper(folder: Path) -> Path:
    """A randomly initialized two-layer Whisper with a byte-level tokenizer, saved offline."""
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperTokenizer,
    )

    tokenizer = WhisperTokenizer(vocab={c: i for i, c in enumerate(_byte_alphabet())}, merges=[])
    specials = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>"]
    specials += ["<|translate|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"]
    tokenizer.add_special_tokens({"additional_special_tokens": specials})
    ids = {s: tokenizer.convert_tokens_to_ids(s) for s in specials}
    eos, start = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=80,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_target_positions=64,
        pad_token_id=eos,
        bos_token_id=eos,
        eos_token_id=eos,
        decoder_start_token_id=start,
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=start,
        eos_token_id=eos,
        pad_token_id=eos,
        no_timestamps_token_id=ids["<|notimestamps|>"],
        max_length=32,
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    return folder


@pytest.mark.slow  # importing transformers and torch takes 10-20 s here
@needs_espeak
def test_whisper_transformers_backend_runs_a_local_model_through_the_pipeline(
    tmp_path: Path, said: Callable
) -> None:
    """A random model hears nonsense; what is checked is the plumbing, offline."""
    folder = tiny_whisper(tmp_path / "whisper-tiny-random")
    recognizer = get_recognizer("whisper-transformers", model=str(folder), max_new_tokens=6)
    transcript = recognizer.transcribe(said("go home"))
    assert transcript.backend == "whisper-transformers" and transcript.speech
    assert 0.0 <= transcript.confidence <= 1.0 and transcript.decode_s > 0
    assert transcript.text == transcript.text.lower()
    quiet = recognizer.transcribe(np.zeros(16000, np.float32))
    assert not quiet.speech and quiet.empty  # silence never reaches the model
    path = write_audio(tmp_path / "go.wav", said("go home"), 16000)
    argv = ["--audio", str(path), "--asr", "whisper-transformers", "--asr-model", str(folder)]
    code, out = run_cli([*argv, "--json"])
    assert code in (0, 2, 5), out
    assert out["asr_backend"] == "whisper-transformers"
    assert out["heard"] in ("command", "repeat", "no_speech", "stop")


# -- spoken input in the REPL ------------------------------------------------------------------
@needs_espeak
def test_repl_runs_a_command_spoken_into_it(tmp_path: Path, said: Callable) -> None:
    """`robot-llm repl --speech-file`: the file is played in real time through the live path
    (endpointer, pocketsphinx's live stop pass, then the default recognizer, whisper, on the
    whole utterance); the spoken command runs like a typed one."""
    import subprocess
    import sys

    speech = np.concatenate([said("pick up the red block"), np.zeros(16000, np.float32)])
    path = write_audio(tmp_path / "spoken.wav", speech, 22050)
    argv = [sys.executable, "-m", "robot_llm.cli", "repl", "--scene", str(SCENE_FILE)]
    argv += ["--history-file", "", "--json", "--speech-file", str(path)]
    proc = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    turns = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [t["status"] for t in turns] == ["done"], proc.stderr[-2000:]
    assert turns[0]["plan"]["subgoals"] == [{"skill": "pick", "object": "red_block"}]
    assert "heard: pick up the red block" in proc.stderr


def test_repl_mic_without_a_sound_card_is_one_line_and_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    try:
        import sounddevice  # noqa: F401

        pytest.skip("this machine has PortAudio; the missing-microphone path cannot be shown")
    except (ImportError, OSError):
        pass
    argv = [sys.executable, "-m", "robot_llm.cli", "repl", "--scene", str(SCENE_FILE), "--mic"]
    proc = subprocess.run(
        [*argv, "--history-file", ""], stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert err[-1].startswith("robot-llm: error: microphone input needs the mic extra")
    assert "Traceback" not in proc.stderr
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio\n", encoding="utf-8")
    proc = subprocess.run(
        [*argv[:-1], "--speech-file", str(bad), "--history-file", ""],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "not a WAV or FLAC" in proc.stderr.strip().splitlines()[-1]
