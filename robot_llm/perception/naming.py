"""Ids for perceived objects: "<color>_<kind>", then "_2", "_3"... in a deterministic order."""

from __future__ import annotations

from collections.abc import Iterable

from robot_llm.perception.detection import Detection
from robot_llm.types import KINDS, Scene, SceneObject


def object_id(color: str, kind: str, n: int) -> str:
    """The n-th (1-based) object of a color and kind: "red_block", "red_block_2", ..."""
    base = f"{color}_{kind}"
    return base if n == 1 else f"{base}_{n}"


def _order(d: Detection) -> tuple[int, str, float, float, float]:
    kind = KINDS.index(d.kind) if d.kind in KINDS else len(KINDS)
    x, y, z = (round(float(v), 3) for v in d.position)
    # Same color and kind: near to far (x), then right to left (y), then bottom to top.
    return (kind, d.color, x, y, z)


def to_scene(detections: Iterable[Detection], timestamp: float = 0.0) -> Scene:
    """A camera Scene from detections, named in order of kind, color, then position."""
    counts: dict[tuple[str, str], int] = {}
    objects = []
    for d in sorted(detections, key=_order):
        key = (d.color, d.kind)
        counts[key] = counts.get(key, 0) + 1
        objects.append(
            SceneObject(
                id=object_id(d.color, d.kind, counts[key]),
                kind=d.kind,
                color=d.color,
                size=d.size,
                position=(float(d.position[0]), float(d.position[1]), float(d.position[2])),
                yaw=float(d.yaw),
                footprint=tuple((float(px), float(py)) for px, py in d.footprint),
                confidence=float(min(max(d.confidence, 0.0), 1.0)),
                color_alternatives=tuple(d.alternatives),
            )
        )
    return Scene(tuple(objects), timestamp=timestamp, source="camera")
