"""Spoken commands: word error rate, command accuracy, real-time factor and stop latency.

Commands come from the planner's labelled suite (single-turn cases that expect a plan and can
be said aloud: no scene ids), spoken by espeak-ng in several voices and speeds (140-190 words
a minute), clean and with seeded noise (white, pink, babble in turn) at 20 dB and 10 dB SNR.
Each transcript goes through the same decision as `robot-llm listen` (stop words first, no
speech, low confidence -> "repeat", else the planner text) and counts as correct when the
planner gives the same answer (plan subgoals, question candidates or refusal) as for the typed
command on the case's scene. "held-out" runs build the bias model without the test commands
(nor any template sentence equal to one), which is how a new phrasing fares (clean audio).

Stop latency: "stop", "halt", "freeze" (and short phrases with them) decoded in 50 ms chunks
as if live; the latency is from the end of the spoken word to the chunk whose partial
hypothesis holds the stop word, with each chunk's compute time counted.

Targets (pocketsphinx): command accuracy >= 95% clean, >= 85% at 10 dB; RTF <= 0.2; stop
within 300 ms. Run: `.venv/bin/python benchmarks/speech.py [--commands 200] [--compare] [--json]`
(needs espeak-ng; about ten minutes on two cores).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from typing import Any

import numpy as np

from robot_llm.planning import History, get_planner, plan_command
from robot_llm.planning.suite import load_cases, load_scenes
from robot_llm.speech.base import SAMPLE_RATE
from robot_llm.speech.listen import interpret
from robot_llm.speech.sphinx import PocketsphinxRecognizer, word_errors
from robot_llm.speech.spoken import PUNCTUATION, to_spoken
from robot_llm.speech.synth import NOISE_KINDS, add_noise, espeak_available, pad, speak, speech_end

STOP_PHRASES = ("stop", "halt", "freeze", "stop now", "stop stop", "please stop", "halt now")
CHUNK_S = 0.05
TARGETS = {"clean": 0.95, "snr10": 0.85, "rtf": 0.2, "stop_ms": 300.0}


def answer(result: Any) -> tuple[Any, ...]:
    d = result.to_dict()
    return (d["type"], json.dumps(d.get("subgoals")), tuple(d.get("candidates", ())))


def dataset(n: int, seed: int) -> list[dict[str, Any]]:
    cases = [c for c in load_cases() if len(c.turns) == 1 and c.turns[0][1].type == "plan"]
    random.Random(seed).shuffle(cases)
    voices = [("en-us", 160), ("en", 140), ("en+f3", 175), ("en+m3", 190), ("en-us+f2", 150)]
    out: list[dict[str, Any]] = []
    for case in cases:
        said = to_spoken(case.turns[0][0], punctuation=True)
        if not said:
            continue
        voice, wpm = voices[len(out) % len(voices)]
        audio = pad(speak(" ".join(said), voice, wpm))
        words = [w for w in said if w not in PUNCTUATION]
        out.append({"case": case, "words": words, "voice": voice, "wpm": wpm, "audio": audio})
        if len(out) >= n:
            break
    return out


def run_condition(
    items: list[dict[str, Any]], recognizer: PocketsphinxRecognizer, snr: float | None
) -> dict[str, Any]:
    planner, scenes = get_planner("rule"), load_scenes()
    babble = [it["audio"] for it in items[:20]]
    errors = ref_words = correct = repeats = wrong = 0
    decode_s = audio_s = cpu_s = 0.0
    for k, it in enumerate(items):
        audio = it["audio"]
        if snr is not None:
            kind = NOISE_KINDS[k % len(NOISE_KINDS)]
            audio = add_noise(
                audio, snr, kind, seed=k, babble=[b for b in babble if b is not audio]
            )
        case = it["case"]
        recognizer.set_scene(scenes[case.scene])
        cpu0 = time.process_time()
        tr = recognizer.transcribe(audio)
        cpu_s += time.process_time() - cpu0
        decode_s += tr.decode_s
        audio_s += tr.audio_s
        errors += word_errors(it["words"], tr.text.replace(",", " ").split())
        ref_words += len(it["words"])
        heard = interpret(tr)
        typed = answer(plan_command(planner, case.turns[0][0], scenes[case.scene], History()))
        if heard.command is None:
            repeats += heard.status == "repeat"
            continue
        got = answer(plan_command(planner, heard.command, scenes[case.scene], History()))
        correct += got == typed
        wrong += got != typed
    n = len(items)
    return {
        "commands": n,
        "wer": round(errors / max(ref_words, 1), 4),
        "command_accuracy": round(correct / n, 4),
        "repeat_rate": round(repeats / n, 4),
        "wrong_action_rate": round(wrong / n, 4),
        "rtf": round(decode_s / max(audio_s, 1e-9), 4),
        # CPU seconds per audio second: what the wall-clock RTF would be on an idle core
        "rtf_cpu": round(cpu_s / max(audio_s, 1e-9), 4),
    }


def stop_latency(
    recognizer: PocketsphinxRecognizer, snr: float | None, commands: list[np.ndarray]
) -> dict[str, Any]:
    """Live decode in chunks; latency from the end of the word to the stop in the partial."""
    recognizer.set_scene(None)
    voices = [("en-us", 160), ("en", 140), ("en+f3", 175), ("en+m3", 190), ("en-us+f2", 150)]
    latencies, missed = [], 0
    chunk = int(CHUNK_S * SAMPLE_RATE)
    for i, phrase in enumerate(STOP_PHRASES * 3):
        voice, wpm = voices[i % len(voices)]
        clean = pad(speak(phrase, voice, wpm), 0.5, 1.0)
        end = speech_end(clean)
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
        "utterances": len(STOP_PHRASES) * 3,
        "missed": missed,
        "false_stops": false_stops(recognizer, commands, snr),
        "commands": len(commands),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
    }


def false_stops(
    recognizer: PocketsphinxRecognizer, commands: list[np.ndarray], snr: float | None
) -> int:
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commands", type=int, default=200, help="spoken commands (default 200)")
    ap.add_argument("--seed", type=int, default=0, help="which commands and noise (default 0)")
    ap.add_argument("--snr", type=float, nargs="*", default=[20.0, 10.0], help="noisy SNRs, dB")
    ap.add_argument("--no-held-out", action="store_true", help="skip the held-out runs")
    ap.add_argument(
        "--compare", action="store_true", help="also the open pass and the grammar pass alone"
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if not espeak_available():
        print("benchmarks/speech.py: espeak-ng is not installed", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    items = dataset(args.commands, args.seed)
    out: dict[str, Any] = {"backend": "pocketsphinx", "commands": len(items), "conditions": {}}
    runs: list[tuple[str, tuple[str, ...]]] = [("in-suite", ())]
    if not args.no_held_out:
        runs.append(("held-out", tuple(" ".join(it["words"]) for it in items)))
    for label, exclude in runs:
        if args.compare and label == "in-suite":
            for passes in ("open", "grammar"):
                alone = PocketsphinxRecognizer(exclude=exclude, passes=passes, fallback=False)
                name = f"{label} clean, {passes} pass alone"
                out["conditions"][name] = res = run_condition(items, alone, None)
                if not args.json:
                    print(f"{name:22s} " + "  ".join(f"{k} {v}" for k, v in res.items()))
        recognizer = PocketsphinxRecognizer(exclude=exclude)
        snrs = (None, *args.snr) if label == "in-suite" else (None,)
        for snr in dict.fromkeys(snrs):
            name = f"{label} {'clean' if snr is None else f'snr{snr:g}'}"
            out["conditions"][name] = res = run_condition(items, recognizer, snr)
            if not args.json:
                print(f"{name:22s} " + "  ".join(f"{k} {v}" for k, v in res.items()), flush=True)
    recognizer = PocketsphinxRecognizer()
    plain = [it["audio"] for it in items if not {"stop", "halt", "freeze"} & set(it["words"])]
    plain = plain[:60]
    out["stop"] = {
        "clean": stop_latency(recognizer, None, plain),
        "snr10": stop_latency(recognizer, 10.0, plain),
    }
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    out["targets"] = TARGETS
    out["python"] = platform.python_version()
    if args.json:
        print(json.dumps(out))
    else:
        print(f"stop latency: {out['stop']}  wall {out['wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
