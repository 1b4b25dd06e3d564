"""Spoken commands, recognizers side by side: command accuracy, wrong actions, WER, RTF, stop.

Every recognizer named by `--asr` (default: pocketsphinx and whisper) hears the same audio in the
same run. Spoken by espeak-ng in five voices at 140-190 words a minute:

- known commands: single-step suite cases that expect a plan and can be said aloud (`dataset`),
  clean, at 20 dB and 10 dB SNR with white, pink and babble noise in turn, and at 10 dB with
  babble alone;
- new wording: benchmarks/speech_new_wording.yaml (held out: commands the rule planner plans
  when typed, worded unlike the suite and the bias model's sentences), clean and at 10 dB.

Babble is three of twelve everyday sentences without command words (`BABBLE`), each in its own
espeak voice, played forward and mixed by `synth.add_noise` (which draws six stretches from the
talkers it is given, at random offsets). A transcript goes through `listen.interpret` with the
planner's check (`understood_by`): stop words first, no speech, low confidence -> "repeat", else
the first of the transcript and its alternatives that the planner understands in the scene, and
"repeat" when none is. It is correct when the planner's answer (plan subgoals, question
candidates or refusal) equals the typed command's on the command's scene; a different answer is
a wrong action. RTF is decode seconds per audio second (wall clock), rtf_cpu CPU seconds per
audio second (all threads).

Stop: "stop", "halt", "freeze" and short phrases with them (21 utterances), clean and at 10 dB
(white noise), decoded as if live in 50 ms chunks by the recognizer's `stream()`; the latency is
from the end of the spoken word to the chunk whose partial hypothesis holds the stop word, each
chunk's compute time counted. False stops: up to 60 known commands without a stop word decoded
the same way. A recognizer without `stream()` has no stop figures.

Targets (issue 19, `TARGETS`): known commands clean >= 98%, 20 dB >= 95%, 10 dB >= 90%, babble
alone >= 85%; new wording (clean) >= 90%; wrong actions <= 2% in every condition; RTF <= 0.3 in
every condition; stop at 10 dB caught within 300 ms for >= 19 of 21, false stops <= 2 in 60
commands.

With `--planner rule distilled` each transcript is also read by the distilled pipeline (the
rules, then the student where they do not understand), beside the rules alone; the typed
command's answer is the rule planner's either way.

Run (needs espeak-ng): `.venv/bin/python benchmarks/speech.py [--asr pocketsphinx whisper]
[--planner rule ...] [--commands 200] [--new N] [--json]`, roughly 25 minutes for both
recognizers on the 2-core machine; `--quick` (30 known and 20 new-wording commands, clean and
10 dB, stop at 10 dB only) takes about 3 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from robot_llm.planning import History, Planner, get_planner, plan_command
from robot_llm.planning.suite import load_cases, load_scenes
from robot_llm.speech import Recognizer, get_recognizer
from robot_llm.speech.base import SAMPLE_RATE
from robot_llm.speech.listen import heard_stop, interpret, understood_by
from robot_llm.speech.sphinx import word_errors
from robot_llm.speech.spoken import PUNCTUATION, to_spoken
from robot_llm.speech.synth import NOISE_KINDS, add_noise, espeak_available, pad, speak, speech_end
from robot_llm.types import Scene

RECOGNIZERS = ("pocketsphinx", "whisper")
NEW_WORDING = Path(__file__).with_name("speech_new_wording.yaml")
VOICES = (("en-us", 160), ("en", 140), ("en+f3", 175), ("en+m3", 190), ("en-us+f2", 150))
# Babble talkers: everyday sentences with no word a command is made of (no color, object,
# verb, size, position or stop word), each in a voice no command is spoken in.
BABBLE = (
    ("en-gb-x-rp+f4", "I think the weather is going to be lovely this weekend"),
    ("en-gb-scotland+m2", "my sister phoned me yesterday about her new job"),
    ("en-029+m5", "we ought to visit that new restaurant by the station"),
    ("en-us-nyc+f1", "the train was late again so I missed the meeting"),
    ("en-gb-x-gbclan+m4", "have you seen the film everyone keeps talking about"),
    ("en+f5", "she said the garden looks wonderful after all that rain"),
    ("en-us+m6", "our neighbours are having a party on Saturday evening"),
    ("en-gb-x-gbcwmd+f2", "I forgot my umbrella at the office yesterday"),
    ("en+m8", "the children were singing songs in the kitchen"),
    ("en-us+f4", "he usually walks the dog before breakfast"),
    ("en-gb-x-rp+m1", "could we meet for coffee sometime soon"),
    ("en-029+f1", "the library opens early on weekdays"),
)
TALKERS = 3
STOP_PHRASES = ("stop", "halt", "freeze", "stop now", "stop stop", "please stop", "halt now")
STOP_REPEATS = 3  # 21 utterances
STOP_CONDITIONS: tuple[tuple[str, float | None], ...] = (("clean", None), ("10 dB", 10.0))
FALSE_STOP_COMMANDS = 60
CHUNK_S = 0.05
STOP_WITHIN_MS = 300.0
QUICK = ("known clean", "known 10 dB", "new wording clean", "new wording 10 dB")  # --quick
# (name, which commands, SNR in dB or None for clean, noise kinds in turn)
CONDITIONS: tuple[tuple[str, str, float | None, tuple[str, ...]], ...] = (
    ("known clean", "known", None, ()),
    ("known 20 dB", "known", 20.0, NOISE_KINDS),
    ("known 10 dB", "known", 10.0, NOISE_KINDS),
    ("known babble 10 dB", "known", 10.0, ("babble",)),
    ("new wording clean", "new", None, ()),
    ("new wording 10 dB", "new", 10.0, NOISE_KINDS),
)
TARGETS: dict[str, Any] = {
    "command_accuracy": {
        "known clean": 0.98,
        "known 20 dB": 0.95,
        "known 10 dB": 0.90,
        "known babble 10 dB": 0.85,
        "new wording clean": 0.90,
    },
    "max_wrong_action_rate": 0.02,
    "max_rtf": 0.3,
    "stop_10dB_caught_within_300ms": 19,
    "stop_10dB_max_false_stops": 2,
}


@dataclass(frozen=True)
class Utterance:
    """A command as typed, its scene, the words spoken and the clean audio."""

    text: str
    scene: str
    words: list[str]
    audio: np.ndarray


def say(text: str, k: int) -> tuple[list[str], np.ndarray] | None:
    """`text` in spoken form (None when it cannot be said), in the k-th voice of the rotation."""
    said = to_spoken(text, punctuation=True)
    if not said:
        return None
    voice, wpm = VOICES[k % len(VOICES)]
    audio = pad(speak(" ".join(said), voice, wpm))
    return [w for w in said if w not in PUNCTUATION], audio


def dataset(n: int, seed: int) -> list[Utterance]:
    """Known commands: single-turn suite cases that expect a plan, shuffled by `seed`."""
    if n <= 0:
        return []
    cases = [c for c in load_cases() if len(c.turns) == 1 and c.turns[0][1].type == "plan"]
    random.Random(seed).shuffle(cases)
    out: list[Utterance] = []
    for case in cases:
        spoken = say(case.turns[0][0], len(out))
        if spoken is not None:
            out.append(Utterance(case.turns[0][0], case.scene, *spoken))
        if len(out) >= n:
            break
    return out


def new_wording(n: int | None, seed: int) -> list[Utterance]:
    """The held-out commands of NEW_WORDING (all, or `n` of them chosen by `seed`)."""
    entries = yaml.safe_load(NEW_WORDING.read_text())["commands"]
    if n is not None and n < len(entries):
        entries = random.Random(seed).sample(entries, n)
    out: list[Utterance] = []
    for entry in entries:
        spoken = say(entry["command"], len(out))
        if spoken is None:
            raise ValueError(f"{NEW_WORDING.name}: cannot be said: {entry['command']!r}")
        out.append(Utterance(entry["command"], entry["scene"], *spoken))
    return out


def babble_talkers() -> list[np.ndarray]:
    # synth.noise plays every talker reversed; stored reversed here, the babble is heard forward
    return [speak(text, voice)[::-1] for voice, text in BABBLE]


def noisy(
    utterances: list[Utterance],
    snr: float | None,
    kinds: tuple[str, ...],
    talkers: list[np.ndarray],
) -> list[np.ndarray]:
    """The condition's audio: clean, or the k-th command with the k-th kind of noise in turn."""
    if snr is None:
        return [u.audio for u in utterances]
    out = []
    for k, u in enumerate(utterances):
        kind = kinds[k % len(kinds)]
        babble = random.Random(k).sample(talkers, TALKERS) if kind == "babble" else None
        out.append(add_noise(u.audio, snr, kind, seed=k, babble=babble))
    return out


def answer(result: Any) -> tuple[Any, ...]:
    d = result.to_dict()
    return (d["type"], json.dumps(d.get("subgoals")), tuple(d.get("candidates", ())))


def run_condition(
    utterances: list[Utterance],
    audios: list[np.ndarray],
    recognizer: Recognizer,
    planners: dict[str, Planner],
    scenes: dict[str, Scene],
    typed: list[tuple[Any, ...]],
) -> dict[str, dict[str, Any]]:
    """One recognizer on one condition's audio, each transcript read by every planner: per
    planner name, its figures (the transcripts and their cost are shared)."""
    errors = ref_words = 0
    decode_s = audio_s = cpu_s = 0.0
    tally = {name: {"correct": 0, "repeats": 0, "no_speech": 0, "wrong": 0} for name in planners}
    misses: dict[str, list[dict[str, Any]]] = {name: [] for name in planners}
    for u, audio, want in zip(utterances, audios, typed, strict=True):
        scene = scenes[u.scene]
        recognizer.set_scene(scene)
        cpu0 = time.process_time()
        tr = recognizer.transcribe(audio)
        cpu_s += time.process_time() - cpu0
        decode_s += tr.decode_s
        audio_s += tr.audio_s
        heard_words = [w for w in to_spoken(tr.text) or () if w not in PUNCTUATION]
        errors += word_errors(u.words, heard_words)
        ref_words += len(u.words)
        for name, planner in planners.items():
            count = tally[name]
            heard = interpret(tr, understood=understood_by(planner, scene))
            ok = False
            if heard.command is None:
                count["repeats"] += heard.status == "repeat"
                count["no_speech"] += heard.status == "no_speech"
            else:
                ok = answer(plan_command(planner, heard.command, scene, History())) == want
                count["correct"] += ok
                count["wrong"] += not ok
            if not ok:
                miss = {"typed": u.text, "heard": tr.text, "status": heard.status}
                misses[name].append(miss | ({"command": heard.command} if heard.command else {}))
    n = max(len(utterances), 1)
    return {
        name: {
            "commands": len(utterances),
            "command_accuracy": round(count["correct"] / n, 4),
            "repeat_rate": round(count["repeats"] / n, 4),
            "no_speech_rate": round(count["no_speech"] / n, 4),
            "wrong_action_rate": round(count["wrong"] / n, 4),
            "wer": round(errors / max(ref_words, 1), 4),
            "rtf": round(decode_s / max(audio_s, 1e-9), 4),
            # CPU seconds per audio second: what the wall-clock RTF would be on one idle core
            "rtf_cpu": round(cpu_s / max(audio_s, 1e-9), 4),
            "misses": misses[name],
        }
        for name, count in tally.items()
    }


def stop_audio() -> list[tuple[np.ndarray, float]]:
    """The stop utterances (clean, with 0.5 s before and 1 s after) and where each word ends."""
    out = []
    for i, phrase in enumerate(STOP_PHRASES * STOP_REPEATS):
        voice, wpm = VOICES[i % len(VOICES)]
        clean = pad(speak(phrase, voice, wpm), 0.5, 1.0)
        out.append((clean, speech_end(clean)))
    return out


def stop_latency(
    recognizer: Any,
    snr: float | None,
    stops: list[tuple[np.ndarray, float]],
    commands: list[np.ndarray],
) -> dict[str, Any]:
    """Live decode in chunks; latency from the end of the word to the stop in the partial."""
    recognizer.set_scene(None)
    latencies, missed = [], 0
    chunk = int(CHUNK_S * SAMPLE_RATE)
    for i, (clean, end) in enumerate(stops):
        audio = clean if snr is None else add_noise(clean, snr, "white", seed=100 + i)
        stream = recognizer.stream()
        busy_until, found = 0.0, None
        for start in range(0, len(audio), chunk):
            arrival = (start + chunk) / SAMPLE_RATE
            t0 = time.perf_counter()
            stream.feed(audio[start : start + chunk])
            stop = stream.heard_stop()
            busy_until = max(arrival, busy_until) + time.perf_counter() - t0
            if stop:
                found = busy_until
                break
        stream.finish()
        if found is None:
            missed += 1
        else:
            latencies.append(max(0.0, found - end) * 1000)
    latencies.sort()
    return {
        "utterances": len(stops),
        "caught_within_300ms": sum(ms <= STOP_WITHIN_MS for ms in latencies),
        "missed": missed,
        "false_stops": false_stops(recognizer, commands, snr),
        "commands": len(commands),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
    }


def false_stops(recognizer: Any, commands: list[np.ndarray], snr: float | None) -> int:
    """Commands without a stop word that the live decode takes for a stop."""
    chunk = int(CHUNK_S * SAMPLE_RATE)
    count = 0
    for k, clean in enumerate(commands):
        audio = clean if snr is None else add_noise(clean, snr, "white", seed=200 + k)
        stream = recognizer.stream()
        for start in range(0, len(audio), chunk):
            stream.feed(audio[start : start + chunk])
            if stream.heard_stop():
                count += 1
                break
        stream.finish()
    return count


def targets_met(result: dict[str, Any]) -> dict[str, bool]:
    """Issue 19's targets for one recognizer's results: which are met."""
    met: dict[str, bool] = {}
    for name, res in result["conditions"].items():
        want = TARGETS["command_accuracy"].get(name)
        if want is not None:
            met[f"{name} accuracy >= {want:.0%}"] = res["command_accuracy"] >= want
        limit = TARGETS["max_wrong_action_rate"]
        met[f"{name} wrong <= {limit:.0%}"] = res["wrong_action_rate"] <= limit
        met[f"{name} RTF <= {TARGETS['max_rtf']}"] = res["rtf"] <= TARGETS["max_rtf"]
    stop = (result.get("stop") or {}).get("10 dB")
    if stop is not None:
        caught, most = TARGETS["stop_10dB_caught_within_300ms"], STOP_WITHIN_MS
        met[f"stop 10 dB >= {caught} caught within {most:g} ms"] = (
            stop["caught_within_300ms"] >= caught
        )
        fs = TARGETS["stop_10dB_max_false_stops"]
        met[f"stop 10 dB false stops <= {fs}"] = stop["false_stops"] <= fs
    return met


COLUMNS = (
    ("acc", "command_accuracy"),
    ("rep", "repeat_rate"),
    ("wrong", "wrong_action_rate"),
    ("WER", "wer"),
    ("RTF", "rtf"),
    ("cpu", "rtf_cpu"),
)


def row(name: str, results: list[dict[str, Any]]) -> str:
    cells = []
    for res in results:
        pct = [f"{100 * res[key]:5.1f}" for _, key in COLUMNS[:4]]
        cells.append(" ".join(pct + [f"{res[key]:4.2f}" for _, key in COLUMNS[4:]]))
    want = TARGETS["command_accuracy"].get(name)
    target = f"acc >= {want:.0%}" if want else ""
    return f"{name:19s} {results[0]['commands']:4d}  " + "  | ".join([*cells, target])


def header(names: list[str]) -> str:
    cols = " ".join(f"{c:>5s}" for c, _ in COLUMNS[:4])
    cols += " " + " ".join(f"{c:>4s}" for c, _ in COLUMNS[4:])
    top = " " * 26 + "  | ".join(f"{n:{len(cols)}s}" for n in names)
    return f"{top}\n{'condition':19s} {'n':>4s}  " + "  | ".join([cols] * len(names) + ["target"])


LEGEND = (
    "acc: correct, rep: asked to repeat, wrong: a different action (% of commands); WER in %;\n"
    "RTF: decode seconds per audio second (wall clock), cpu: CPU seconds per audio second"
)


def stop_lines(label: str, results: dict[str, dict[str, Any] | None]) -> list[str]:
    out = []
    for name, res in results.items():
        what = "not measured (no stream())"
        if res is not None:
            what = (
                f"{res['caught_within_300ms']}/{res['utterances']} caught within 300 ms "
                f"(missed {res['missed']}; p50 {res['p50_ms']} ms, max {res['max_ms']} ms), "
                f"false stops {res['false_stops']}/{res['commands']}"
            )
        out.append(f"stop {label:14s} {name}: {what}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--asr", nargs="+", default=list(RECOGNIZERS), help="recognizers to compare")
    ap.add_argument(
        "--planner",
        nargs="+",
        default=["rule"],
        help="planners that read the transcripts (default: rule; the typed answer is always "
        "the rule planner's)",
    )
    ap.add_argument("--commands", type=int, default=200, help="known commands (default 200)")
    ap.add_argument("--new", type=int, default=None, help="new-wording commands (default all)")
    ap.add_argument("--seed", type=int, default=0, help="which commands (default 0)")
    ap.add_argument("--quick", action="store_true", help="30 + 20 commands, clean and 10 dB")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if not espeak_available():
        print("benchmarks/speech.py: espeak-ng is not installed", file=sys.stderr)
        return 2
    if args.quick:
        args.commands, args.new = min(args.commands, 30), args.new or 20
    t0 = time.perf_counter()
    planner, scenes = get_planner("rule"), load_scenes()
    readers = {name: planner if name == "rule" else get_planner(name) for name in args.planner}
    commands = {"known": dataset(args.commands, args.seed), "new": new_wording(args.new, args.seed)}
    typed = {
        key: [answer(plan_command(planner, u.text, scenes[u.scene], History())) for u in utts]
        for key, utts in commands.items()
    }
    talkers = babble_talkers()
    recognizers: dict[str, Recognizer] = {}
    out: dict[str, Any] = {"recognizers": {}, "commands": {k: len(v) for k, v in commands.items()}}
    out["planners"] = list(args.planner)
    # One column per recognizer, or per recognizer and planner when several planners read.
    columns = {
        (asr, reader): asr if len(readers) == 1 else f"{asr} + {reader}"
        for asr in args.asr
        for reader in readers
    }
    first = next(u for key in ("known", "new") for u in commands[key])
    for name in args.asr:
        t1 = time.perf_counter()
        recognizers[name] = recognizer = get_recognizer(name)
        recognizer.transcribe(first.audio)  # a lazy model loads before timing
        load_s = round(time.perf_counter() - t1, 2)
        for reader in readers:
            out["recognizers"][columns[name, reader]] = {"load_s": load_s, "conditions": {}}
    results = out["recognizers"]
    names = list(columns.values())
    if not args.json:
        print(header(names), flush=True)
    conditions = [c for c in CONDITIONS if not args.quick or c[0] in QUICK]
    out["conditions"] = {
        c[0]: {"commands": c[1], "snr_db": c[2], "noise": c[3]} for c in conditions
    }
    for label, key, snr, kinds in conditions:
        if not commands[key]:
            continue
        audios = noisy(commands[key], snr, kinds, talkers)
        for name, recognizer in recognizers.items():
            res = run_condition(commands[key], audios, recognizer, readers, scenes, typed[key])
            for reader, figures in res.items():
                results[columns[name, reader]]["conditions"][label] = figures
        if not args.json:
            print(row(label, [results[n]["conditions"][label] for n in names]), flush=True)
    stops = stop_audio()
    plain = [u.audio for u in commands["known"] if not heard_stop(" ".join(u.words))]
    plain = plain[:FALSE_STOP_COMMANDS]
    for label, snr in STOP_CONDITIONS[-1:] if args.quick else STOP_CONDITIONS:
        if not plain:
            break
        for name, recognizer in recognizers.items():
            live = hasattr(recognizer, "stream")
            stop = stop_latency(recognizer, snr, stops, plain) if live else None
            for reader in readers:  # the stop path reads no planner
                results[columns[name, reader]].setdefault("stop", {})[label] = stop
        if not args.json:
            lines = stop_lines(label, {n: results[n]["stop"][label] for n in names})
            print("\n".join(lines), flush=True)
    for name in names:
        results[name]["targets_met"] = targets_met(results[name])
    out |= {
        "wall_s": round(time.perf_counter() - t0, 1),
        "quick": args.quick,
        "targets": TARGETS,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    if args.json:
        print(json.dumps(out))
        return 0
    print(LEGEND)
    for name in names:
        missed = [t for t, ok in results[name]["targets_met"].items() if not ok]
        print(f"{name}: targets missed: {'; '.join(missed) or 'none'}")
    print(f"wall {out['wall_s']} s; misses and everything else: --json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
