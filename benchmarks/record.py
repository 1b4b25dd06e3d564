"""Recording throughput: episodes per minute with 1 and 2 workers, and bytes per episode.

Records the same seeded episodes once per worker count into a temporary folder (a fresh
dataset each time, `robot-llm record` exactly), checks each dataset, and reports wall time,
episodes per minute, frames, and the dataset's size per episode. The load average is printed
beside the numbers: on a shared machine the second worker only helps where a core is free.
Run: `.venv/bin/python benchmarks/record.py [--task PickPlace] [--source oracle|scripted]
[--episodes 8] [--workers 1 2] [--image-size 320x240] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from robot_llm.datasets import RecordConfig, check_dataset, record


def measure(config: RecordConfig, episodes: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="record-bench-") as tmp:
        out = Path(tmp) / "dataset"
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        result = record(out, config, episodes, workers=workers)
        wall = time.perf_counter() - t0
        problems = check_dataset(out)
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        videos = sum(f.stat().st_size for f in (out / "videos").rglob("*.mp4"))
    return {
        "workers": workers,
        "episodes": result.episodes,
        "succeeded": result.succeeded,
        "frames": result.frames,
        "wall_s": round(wall, 2),
        "episodes_per_min": round(result.episodes / wall * 60, 2),
        "frames_per_s": round(result.frames / wall, 1),
        "bytes_per_episode": round(size / result.episodes),
        "video_bytes_per_episode": round(videos / result.episodes),
        "check": "ok" if not problems else problems[0],
        "load_before": round(load_before, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="PickPlace")
    parser.add_argument("--source", choices=("oracle", "scripted"), default="oracle")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--image-size", default="320x240", metavar="WxH")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    width, height = (int(v) for v in args.image_size.split("x"))
    config = RecordConfig(
        task=args.task, source=args.source, seed=args.seed, width=width, height=height
    )
    rows = [measure(config, args.episodes, k) for k in args.workers]
    report = {
        "task": args.task,
        "source": args.source,
        "image_size": args.image_size,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "runs": rows,
    }
    if args.json:
        print(json.dumps(report))
        return
    print(
        f"{args.task} ({args.source}), {args.episodes} episodes at {args.image_size}, "
        f"{report['cpus']} CPUs"
    )
    for r in rows:
        print(
            f"  {r['workers']} worker(s): {r['episodes_per_min']:6.2f} episodes/min, "
            f"{r['frames_per_s']:5.1f} frames/s, {r['bytes_per_episode'] / 1e3:6.1f} kB/episode "
            f"({r['video_bytes_per_episode'] / 1e3:.1f} kB video), "
            f"{r['succeeded']}/{r['episodes']} succeeded, check {r['check']}, "
            f"load {r['load_before']}"
        )


if __name__ == "__main__":
    main()
