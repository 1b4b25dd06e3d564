"""Scene descriptions: what objects a world holds and where, with file loading and validation.

A scene file (YAML or JSON, see docs/scenes.md) is a list of objects, or a mapping with an
`objects` list. Every error is one line naming the file, the object and the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from robot_llm.errors import InputError, read_user_file
from robot_llm.tabletop.geometry import footprint, polygon_inside_box, polygons_overlap
from robot_llm.tabletop.palette import COLORS, SIZES
from robot_llm.types import KINDS, ObjectsById

DEFAULT_SIZE: Final = "medium"
OBJECT_FIELDS: Final = ("id", "kind", "color", "size", "position", "yaw", "on")
TOP_LEVEL_FIELDS: Final = ("objects", "name", "description")

# What each kind may be placed `on` in a scene file ("table" is the default support).
SUPPORTS: Final[dict[str, tuple[str, ...]]] = {
    "block": ("block", "bowl", "zone", "tray"),
    "bowl": ("zone",),
    "zone": (),
    "tray": (),
}


class SceneError(InputError):
    """A scene file or scene description is invalid; the message is one line."""


@dataclass(frozen=True)
class Workspace:
    """Axis-aligned region of the table, in the table frame, where objects may be placed.

    A small arm reaches a ring around its base rather than a whole box: `reach` (min, max
    distance from `base`, meters), when set, also bounds where table-level objects' centers
    may stand."""

    x: tuple[float, float] = (0.30, 0.70)
    y: tuple[float, float] = (-0.30, 0.30)
    reach: tuple[float, float] | None = None
    base: tuple[float, float] = (0.0, 0.0)

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        return (
            self.x[0] + margin <= x <= self.x[1] - margin
            and self.y[0] + margin <= y <= self.y[1] - margin
            and self.reaches(x, y)
        )

    def reaches(self, x: float, y: float) -> bool:
        """Whether a center at (x, y) lies in the reach ring (always, without one)."""
        if self.reach is None:
            return True
        r = math.hypot(x - self.base[0], y - self.base[1])
        return self.reach[0] <= r <= self.reach[1]


WORKSPACE: Final = Workspace()


@dataclass(frozen=True)
class ObjectSpec:
    """One object of a scene. `yaw` is radians about +z; `on` names a supporting object's id."""

    id: str
    kind: str
    color: str
    size: str = DEFAULT_SIZE
    position: tuple[float, float] = (0.5, 0.0)
    yaw: float = 0.0
    on: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "color": self.color,
            "size": self.size,
            "position": [round(float(self.position[0]), 6), round(float(self.position[1]), 6)],
        }
        if self.yaw:
            out["yaw"] = round(math.degrees(self.yaw), 6)
        if self.on is not None:
            out["on"] = self.on
        return out


@dataclass(frozen=True)
class SceneSpec(ObjectsById[ObjectSpec]):
    """An ordered set of objects with unique ids."""

    objects: tuple[ObjectSpec, ...] = ()
    name: str = ""
    workspace: Workspace = field(default=WORKSPACE, compare=False)

    def __post_init__(self) -> None:
        validate_scene(self)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"objects": [o.to_dict() for o in self.objects]}
        if self.name:
            out["name"] = self.name
        return out


def _fail(source: str, where: str, message: str) -> SceneError:
    return SceneError(f"{source}: {where}: {message}")


def _parse_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _parse_object(
    raw: Any, index: int, source: str, taken: set[str], reserved: set[str]
) -> ObjectSpec:
    where = f"object {index}"
    if not isinstance(raw, Mapping):
        raise _fail(source, where, f"expected a mapping, got {type(raw).__name__}")
    if "id" in raw:
        where = f"object {index} ({raw['id']!r})"
    unknown = sorted(set(map(str, raw)) - set(OBJECT_FIELDS))
    if unknown:
        raise _fail(
            source, where, f"unknown field {unknown[0]!r}; fields are {', '.join(OBJECT_FIELDS)}"
        )
    for required in ("kind", "color", "position"):
        if required not in raw:
            raise _fail(source, where, f"missing field {required!r}")
    kind, color, size = raw["kind"], raw["color"], raw.get("size", DEFAULT_SIZE)
    if kind not in KINDS:
        raise _fail(source, where, f"field 'kind': unknown kind {kind!r}; kinds are {KINDS}")
    if color not in COLORS:
        raise _fail(source, where, f"field 'color': unknown color {color!r}; colors are {COLORS}")
    if size not in SIZES:
        raise _fail(source, where, f"field 'size': unknown size {size!r}; sizes are {SIZES}")
    pos = raw["position"]
    coords = [_parse_number(v) for v in pos] if isinstance(pos, list | tuple) else []
    if len(coords) != 2 or any(c is None for c in coords):
        raise _fail(source, where, f"field 'position': expected [x, y] in meters, got {pos!r}")
    yaw = _parse_number(raw.get("yaw", 0.0))
    if yaw is None:
        raise _fail(source, where, f"field 'yaw': expected degrees, got {raw.get('yaw')!r}")
    on = raw.get("on")
    if on is not None and not isinstance(on, str):
        raise _fail(source, where, f"field 'on': expected an object id, got {on!r}")
    object_id = raw.get("id")
    if object_id is None:
        object_id = _auto_id(f"{color}_{kind}", taken | reserved)
    elif not isinstance(object_id, str) or not object_id.strip():
        raise _fail(source, where, f"field 'id': expected a non-empty string, got {object_id!r}")
    elif object_id in taken:
        raise _fail(source, where, f"field 'id': duplicate id {object_id!r}")
    taken.add(object_id)
    x, y = coords
    assert x is not None and y is not None
    return ObjectSpec(object_id, kind, color, size, (x, y), math.radians(yaw), on)


def _auto_id(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def parse_scene(data: Any, source: str = "<scene>", workspace: Workspace = WORKSPACE) -> SceneSpec:
    """Build a validated SceneSpec from parsed YAML/JSON data."""
    name = ""
    if isinstance(data, Mapping):
        unknown = sorted(set(map(str, data)) - set(TOP_LEVEL_FIELDS))
        if unknown:
            raise _fail(source, "top level", f"unknown field {unknown[0]!r}; expected 'objects'")
        if "objects" not in data:
            raise _fail(source, "top level", "missing field 'objects'")
        name = str(data.get("name", ""))
        data = data["objects"]
    if data is None:
        raise _fail(source, "top level", "the file is empty; expected a list of objects")
    if not isinstance(data, list):
        raise _fail(source, "top level", f"expected a list of objects, got {type(data).__name__}")
    if not data:
        raise _fail(source, "top level", "the scene has no objects")
    taken: set[str] = set()
    # Ids the file names win: an object without an id never takes one a later object names.
    reserved = {o["id"] for o in data if isinstance(o, Mapping) and isinstance(o.get("id"), str)}
    objects = tuple(_parse_object(raw, i, source, taken, reserved) for i, raw in enumerate(data))
    try:
        return SceneSpec(objects, name=name, workspace=workspace)
    except SceneError as err:
        raise SceneError(f"{source}: {err}") from None


def validate_scene(scene: SceneSpec) -> None:
    """Check supports, workspace bounds and overlaps; raise SceneError naming the object."""
    by_id = {o.id: o for o in scene.objects}
    if len(by_id) != len(scene.objects):
        seen: set[str] = set()
        for o in scene.objects:
            if o.id in seen:
                raise SceneError(f"object {o.id!r}: field 'id': duplicate id")
            seen.add(o.id)
    for o in scene.objects:
        if o.kind not in KINDS or o.color not in COLORS or o.size not in SIZES:
            raise SceneError(f"object {o.id!r}: unknown kind, color or size")
        if o.on is None:
            continue
        if o.on not in by_id:
            raise SceneError(f"object {o.id!r}: field 'on': no object with id {o.on!r}")
        support = by_id[o.on]
        if support.kind not in SUPPORTS[o.kind]:
            raise SceneError(
                f"object {o.id!r}: field 'on': a {o.kind} cannot rest on a {support.kind}"
            )
        _check_acyclic(o, by_id)
    ws = scene.workspace
    polys = {o.id: footprint(o.kind, o.size, o.position, o.yaw) for o in scene.objects}
    for o in scene.objects:
        if o.on is None and not polygon_inside_box(polys[o.id], ws.x, ws.y):
            raise SceneError(
                f"object {o.id!r}: field 'position': {list(o.position)} puts it outside the "
                f"workspace x {list(ws.x)}, y {list(ws.y)}"
            )
        if o.on is None and ws.reach is not None and not ws.reaches(*o.position):
            raise SceneError(
                f"object {o.id!r}: field 'position': {list(o.position)} is out of reach: its "
                f"center must be {ws.reach[0]} to {ws.reach[1]} m from the arm's base at "
                f"{list(ws.base)}"
            )
        if o.on is not None:
            sx, sy = by_id[o.on].position
            if not _point_in_polygon(o.position, polys[o.on]):
                raise SceneError(
                    f"object {o.id!r}: field 'position': {list(o.position)} is not over its "
                    f"support {o.on!r} at {[sx, sy]}"
                )
    objs = scene.objects
    for i, a in enumerate(objs):
        for b in objs[i + 1 :]:
            if a.on != b.on:
                continue  # different supports (stacked or on the table) never collide here
            if polygons_overlap(polys[a.id], polys[b.id]):
                raise SceneError(
                    f"object {b.id!r}: field 'position': {list(b.position)} overlaps object "
                    f"{a.id!r} at {list(a.position)}"
                )


def _check_acyclic(o: ObjectSpec, by_id: Mapping[str, ObjectSpec]) -> None:
    seen = {o.id}
    cur = o
    while cur.on is not None:
        if cur.on in seen:
            raise SceneError(f"object {o.id!r}: field 'on': supports form a cycle")
        seen.add(cur.on)
        cur = by_id[cur.on]


def _point_in_polygon(point: Sequence[float], poly: Any) -> bool:
    x, y = float(point[0]), float(point[1])
    n = len(poly)
    inside = False
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def load_yaml(text: str) -> Any:
    """YAML with YAML 1.2 booleans: only true/false, so the field name `on` stays a string."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    return yaml.load(text, Loader=Loader)  # safe: Loader is a SafeLoader subclass


def load_scene(path: str | Path, workspace: Workspace = WORKSPACE) -> SceneSpec:
    """Read and validate a scene file (.yaml, .yml or .json)."""
    p = Path(path)
    source = str(path)
    text = read_user_file(p, SceneError)
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else load_yaml(text)
    except Exception as err:  # the parsers' errors carry line numbers; keep them on one line
        first = " ".join(str(err).split()).replace('in "<unicode string>", ', "")
        raise SceneError(f"{source}: not valid {p.suffix.lstrip('.') or 'YAML'}: {first}") from None
    return parse_scene(data, source, workspace)


def bundled_scenes() -> dict[str, Path]:
    """Example scene files shipped in the package (sim_assets/scenes), by name."""
    from importlib import resources

    folder = resources.files("robot_llm.sim_assets").joinpath("scenes")
    return {
        Path(str(f)).stem: Path(str(f))
        for f in folder.iterdir()
        if f.name.endswith((".yaml", ".yml", ".json"))
    }


def save_scene(scene: SceneSpec, path: str | Path) -> None:
    """Write a scene file; `.json` writes JSON, anything else YAML."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        p.write_text(json.dumps(scene.to_dict(), indent=2) + "\n", encoding="utf-8")
    else:
        import yaml

        p.write_text(yaml.safe_dump(scene.to_dict(), sort_keys=False), encoding="utf-8")


def with_positions(scene: SceneSpec, positions: Mapping[str, tuple[float, float]]) -> SceneSpec:
    """A copy of the scene with some objects moved."""
    objs = tuple(
        replace(o, position=positions[o.id]) if o.id in positions else o for o in scene.objects
    )
    return SceneSpec(objs, name=scene.name, workspace=scene.workspace)
