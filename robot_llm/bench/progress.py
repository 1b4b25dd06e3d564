"""Progress on stderr: a bar redrawn in place on a terminal, else one plain line per episode."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

BAR_WIDTH = 24


def duration(seconds: float) -> str:
    """A short human duration: 45s, 3m05s, 1h02m."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Progress:
    """Counts finished episodes out of `total`; `already` were done before this run started.

    With `pending` (the family of each episode still to run), the ETA is the remaining work,
    each episode estimated by the mean wall time of its family so far (of all episodes for a
    family not seen yet), divided by the parallelism measured so far (episode seconds finished
    per elapsed second). Without it: the remaining count times the elapsed time per episode.
    """

    def __init__(
        self,
        total: int,
        already: int = 0,
        stream: TextIO | None = None,
        label: str = "episodes",
        pending: Sequence[str] = (),
    ) -> None:
        self.total = total
        self.already = already
        self.done = 0
        self.failed = 0
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.monotonic()
        self.pending = Counter(pending)
        self.walls: dict[str, list[float]] = {}

    @property
    def finished(self) -> int:
        return self.already + self.done

    def eta(self) -> float | None:
        if self.done == 0:
            return None
        elapsed = time.monotonic() - self.t0
        walls = [w for ws in self.walls.values() for w in ws]
        if not self.pending or not walls or elapsed <= 0:
            return elapsed / self.done * (self.total - self.finished)
        overall = sum(walls) / len(walls)
        means = {f: sum(ws) / len(ws) for f, ws in self.walls.items()}
        work = sum(n * means.get(f, overall) for f, n in self.pending.items())
        return work / max(sum(walls) / elapsed, 1e-6)

    def _record(self, row: dict[str, Any]) -> None:
        family = str(row.get("family", ""))
        if self.pending[family] > 0:
            self.pending[family] -= 1
        wall = row.get("timings", {}).get("wall_s")
        if isinstance(wall, int | float):
            self.walls.setdefault(family, []).append(float(wall))

    def rate(self) -> float:
        elapsed = time.monotonic() - self.t0
        return 60.0 * self.done / elapsed if elapsed > 0 else 0.0

    def start(self) -> None:
        if self.already and self.already >= self.total:
            self._write(f"all {self.total} {self.label} already done")
        elif self.already:
            self._write(f"{self.already} of {self.total} {self.label} already done; resuming")

    def update(self, row: dict[str, Any]) -> None:
        self.done += 1
        self._record(row)
        self.failed += not row.get("success", False)
        eta = self.eta()
        head = f"[{self.finished}/{self.total} {self.finished / max(1, self.total):4.0%}"
        tail = f" eta {duration(eta)}]" if eta is not None else "]"
        if self.tty:
            filled = round(BAR_WIDTH * self.finished / max(1, self.total))
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            line = f"\r{bar} {head}{tail} {self.rate():.1f}/min, {self.failed} failed "
            self.stream.write(line)
            if self.finished >= self.total:
                self.stream.write("\n")
            self.stream.flush()
            return
        mark = "ok" if row.get("success") else f"FAIL ({row.get('status')})"
        wall = row.get("timings", {}).get("wall_s")
        took = f" {wall:.1f} s" if isinstance(wall, int | float) else ""
        self._write(f"{head}{tail} {row.get('key')}: {mark}{took}")

    def close(self) -> None:
        if self.tty and self.done and self.finished < self.total:
            self.stream.write("\n")
            self.stream.flush()

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
