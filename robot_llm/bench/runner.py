"""The benchmark runner: plan a suite's episodes, run them on a backend, stream the rows, resume.

An output folder holds one run:

- `run.json`: the run's identity (the resolved suite and the stack: planner, policy,
  perception, randomized rendering when on) and its planned episodes. A second run into the
  same folder must have the same identity; it then skips the episodes already done (resume).
- `episodes.jsonl`: one row per finished episode, appended as they finish.
- `invocations.jsonl`: one line per invocation (backend, workers, episodes run, wall time),
  for throughput.
- `videos.jsonl` and `videos/`: failure videos. `report.md`, `report.json`, `*.png`: the report.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from robot_llm.bench.episode import EpisodeSpec, run_episode
from robot_llm.bench.progress import Progress
from robot_llm.bench.splits import select_seeds
from robot_llm.bench.suite import Suite
from robot_llm.config import StackConfig
from robot_llm.errors import InputError

FORMAT = 1
# Typical wall seconds of one episode per family (the quick suite, one worker). Episodes start
# longest first, so that the workers finish together (the order never changes a result).
TYPICAL_SECONDS = {
    "Pyramid": 50,
    "TowersOfHanoi": 35,
    "Chain": 30,
    "PutInBowl": 30,
    "Clear": 25,
    "Stack": 16,
    "Sort": 12,
    "PickPlace": 5,
    "Push": 4,
}


class RunDirError(InputError):
    """An output folder that holds another run, or files that cannot be read; one line."""


@dataclass
class RunRequest:
    suite: Suite
    stack: StackConfig
    out: Path
    workers: int = 1
    ray: str | None = None
    videos: int | None = None  # failure videos per family; None: the suite's count
    report: bool = True
    stream: TextIO | None = None
    notes: list[str] = field(default_factory=list)

    def identity(self) -> dict[str, Any]:
        """What decides the results, in its JSON form (as run.json stores it)."""
        stack = self.stack
        ident = {
            "format": FORMAT,
            "suite": self.suite.to_dict(),
            "planner": stack.planner.name,
            "policy": stack.executor.policy,
            "perception": stack.perception,
        }
        if stack.planner.options:  # only when given, so earlier run folders stay comparable
            ident["planner_options"] = dict(stack.planner.options)
        if stack.robot.randomize is not None:  # likewise
            ident["randomize"] = {
                "seed": stack.robot.randomize,
                "strength": stack.robot.randomize_strength,
            }
        loaded: dict[str, Any] = json.loads(json.dumps(ident))
        return loaded


def plan_episodes(suite: Suite) -> tuple[list[EpisodeSpec], list[str]]:
    """Every episode of the suite in order, and a note for each split that came up short."""
    plan: list[EpisodeSpec] = []
    notes = []
    for entry in suite.entries:
        options = {k: v for k, v in dataclasses.asdict(entry.options).items() if v is not None}
        for split in entry.splits:
            seeds = select_seeds(entry.family, split, entry.holdout, entry.seed, entry.episodes)
            if len(seeds) < entry.episodes:
                notes.append(
                    f"{entry.name}: split {split} has {len(seeds)} of {entry.episodes} episodes "
                    f"(no more such seeds in the scanned range from {entry.seed})"
                )
            plan += [
                EpisodeSpec(f"{entry.name}/{s}", entry.name, entry.family, s, split, options)
                for s in seeds
            ]
    return plan, notes


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path or 'run'}: {json.dumps(a)} now, {json.dumps(b)} in run.json"


def prepare(request: RunRequest) -> list[EpisodeSpec]:
    """Check or create `run.json`; the planned episodes (from run.json when resuming)."""
    out = request.out
    path = out / "run.json"
    identity = request.identity()
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            same = stored["identity"] == identity
            plan = [EpisodeSpec(**e) for e in stored["episodes"]]
            request.notes[:] = list(stored.get("notes", []))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise RunDirError(f"{path}: not a run file this version can read ({err})") from None
        if not same:
            diff = _first_difference(identity, stored["identity"])
            raise RunDirError(
                f"{out} holds a run with other arguments ({diff}); use a new --out folder"
            )
        return plan
    if any(split != "all" for e in request.suite.entries for split in e.splits):
        stream = request.stream if request.stream is not None else sys.stderr
        print("choosing the seeds of each split (sampling their episodes) ...", file=stream)
    plan, notes = plan_episodes(request.suite)
    request.notes[:] = notes
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "identity": identity,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "notes": notes,
        "episodes": [dataclasses.asdict(e) for e in plan],
    }
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return plan


def read_rows(path: Path, repair: bool = False) -> list[dict[str, Any]]:
    """The rows of a JSON-lines file. A last line cut short (a killed run) is dropped, and with
    `repair` cut from the file so that appending goes on cleanly; a bad line before it fails."""
    if not path.exists():
        return []
    data = path.read_bytes()
    rows: list[dict[str, Any]] = []
    good = 0
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if not line.strip():
            good += len(line) + 1
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            if i == len(lines) - 1 or (i == len(lines) - 2 and not lines[-1]):
                break  # the tail of a killed run
            raise RunDirError(f"{path}:{i + 1}: not a JSON line") from None
        good += len(line) + 1
    if repair and good < len(data):
        with path.open("r+b") as f:
            f.truncate(min(good, len(data)))
    return rows


def _append(path: Path, row: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def run_suite(request: RunRequest) -> dict[str, Any]:
    """Run (or resume) every planned episode, record failure videos, write the report.

    Returns the report dict (report.json's content). KeyboardInterrupt leaves a resumable run.
    """
    from robot_llm.bench.backends import make_backend

    plan = prepare(request)
    out = request.out
    done = {r["key"]: r for r in read_rows(out / "episodes.jsonl", repair=True)}
    todo = [e for e in plan if e.key not in done]
    todo.sort(key=lambda e: -TYPICAL_SECONDS.get(e.family, 20))
    pending = [e.family for e in todo]
    progress = Progress(len(plan), len(plan) - len(todo), request.stream, pending=pending)
    progress.start()
    backend = None
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    t0 = time.monotonic()
    ran = 0
    phase_s = 0.0  # from the start of the backend to the latest result
    interrupted = False
    try:
        if todo:
            backend = make_backend(request.workers, request.ray)
            for row in backend.map(run_episode, [(e, request.stack) for e in todo]):
                _append(out / "episodes.jsonl", row)
                done[row["key"]] = row
                ran += 1
                phase_s = time.monotonic() - t0
                progress.update(row)
        progress.close()
        rows = [done[e.key] for e in plan if e.key in done]
        count = request.suite.videos if request.videos is None else request.videos
        if count > 0 and (backend is not None or _missing_videos(out, plan, rows, count)):
            backend = backend or make_backend(request.workers, request.ray)
            record_videos(out, plan, rows, count, request.stack, backend, request.stream)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if ran:
            invocation = {
                "started": started,
                "backend": "ray" if request.ray else "local",
                "workers": backend.workers if backend is not None else request.workers,
                "episodes_run": ran,
                "wall_s": round(phase_s, 3),
            }
            _append(out / "invocations.jsonl", invocation)
        if backend is not None:
            backend.close(wait=not interrupted)
    from robot_llm.bench.report import write_report

    return write_report(out) if request.report else {}


def video_path(out: Path, spec: EpisodeSpec) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", spec.entry)
    return out / "videos" / f"{safe}-seed{spec.seed}.mp4"


def failures_to_record(
    plan: list[EpisodeSpec], rows: list[dict[str, Any]], per_family: int
) -> list[EpisodeSpec]:
    """The first `per_family` failed episodes of each family, in plan order."""
    failed = {r["key"] for r in rows if not r["success"]}
    chosen: list[EpisodeSpec] = []
    counts: dict[str, int] = {}
    for spec in plan:
        if spec.key in failed and counts.get(spec.family, 0) < per_family:
            counts[spec.family] = counts.get(spec.family, 0) + 1
            chosen.append(spec)
    return chosen


def _missing_videos(
    out: Path, plan: list[EpisodeSpec], rows: list[dict[str, Any]], count: int
) -> list[EpisodeSpec]:
    recorded = {r["key"] for r in read_rows(out / "videos.jsonl", repair=True)}
    return [
        s
        for s in failures_to_record(plan, rows, count)
        if s.key not in recorded or not video_path(out, s).exists()
    ]


def record_videos(
    out: Path,
    plan: list[EpisodeSpec],
    rows: list[dict[str, Any]],
    count: int,
    stack: StackConfig,
    backend: Any,
    stream: TextIO | None,
) -> None:
    from robot_llm.bench.video import video_job

    todo = _missing_videos(out, plan, rows, count)
    if not todo:
        return
    (out / "videos").mkdir(exist_ok=True)
    progress = Progress(len(todo), 0, stream, label="failure videos")
    items = [(s, stack, str(video_path(out, s).relative_to(out))) for s in todo]
    for result in backend.map(video_job, items):
        data = result.pop("data", None)
        if data is not None:
            (out / result["video"]).write_bytes(data)
        _append(out / "videos.jsonl", result)
        progress.update(
            {**result, "key": f"video {result['key']}", "success": "error" not in result}
        )
    progress.close()
