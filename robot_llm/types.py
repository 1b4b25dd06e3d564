"""Shared data types of the stack: camera frames, scenes, plans and robot state.

Every layer imports this module; it imports none of them. Each type has a JSON round trip
(`to_dict` / `from_dict`); arrays travel as {"dtype", "shape", "data" (base64)}.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, Literal, Protocol, TypeAlias, TypeVar

import numpy as np

from robot_llm.errors import SchemaError
from robot_llm.skills import (
    DIRECTIONS,
    FIELDS,
    SKILLS,
    field_value,
    read_shorthand,
    shorthand,
    validate_subgoal,
)

KINDS: Final = ("block", "bowl", "zone", "tray")
PLAN_SCHEMA_VERSION: Final = 1


# -- arrays ---------------------------------------------------------------------------------------
def array_to_dict(a: np.ndarray) -> dict[str, Any]:
    a = np.ascontiguousarray(a)
    return {
        "dtype": str(a.dtype),
        "shape": list(a.shape),
        "data": base64.b64encode(a.tobytes()).decode(),
    }


def array_from_dict(d: Mapping[str, Any]) -> np.ndarray:
    raw = base64.b64decode(d["data"])
    return np.frombuffer(raw, dtype=np.dtype(d["dtype"])).reshape(d["shape"]).copy()


# -- camera ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CameraFrame:
    """One RGB-D image with its camera model.

    `intrinsics` is the 3 x 3 pinhole matrix (OpenCV convention); `extrinsics` the 4 x 4 pose of
    the camera (x right, y down, z forward) in the table frame; depth is metric z.
    """

    rgb: np.ndarray  # H x W x 3 uint8
    depth: np.ndarray  # H x W float32 meters
    intrinsics: np.ndarray  # 3 x 3
    extrinsics: np.ndarray  # 4 x 4
    timestamp: float = 0.0
    camera: str = "main"

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "timestamp": self.timestamp,
            "rgb": array_to_dict(self.rgb),
            "depth": array_to_dict(self.depth),
            "intrinsics": np.asarray(self.intrinsics, float).tolist(),
            "extrinsics": np.asarray(self.extrinsics, float).tolist(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CameraFrame:
        return cls(
            rgb=array_from_dict(d["rgb"]),
            depth=array_from_dict(d["depth"]),
            intrinsics=np.asarray(d["intrinsics"], dtype=float),
            extrinsics=np.asarray(d["extrinsics"], dtype=float),
            timestamp=float(d.get("timestamp", 0.0)),
            camera=str(d.get("camera", "main")),
        )


# -- scenes ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SceneObject:
    """One perceived (or ground-truth) object in the table frame.

    `position` is the center of the object's bounding box [x, y, z] in meters; `yaw` radians
    about +z; `footprint` the convex outline on the table [[x, y], ...]; `confidence` in [0, 1].
    `color_alternatives` names other palette colors the camera could not rule out (an object
    whose color is ambiguous under the light it was seen in); empty when the color is clear.
    """

    id: str
    kind: str
    color: str
    size: str
    position: tuple[float, float, float]
    yaw: float = 0.0
    footprint: tuple[tuple[float, float], ...] = ()
    confidence: float = 1.0
    color_alternatives: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "color": self.color,
            "size": self.size,
            "position": [float(v) for v in self.position],
            "yaw": float(self.yaw),
            "footprint": [[float(x), float(y)] for x, y in self.footprint],
            "confidence": float(self.confidence),
        }
        if self.color_alternatives:  # only when there are any: older readers never see it
            out["color_alternatives"] = list(self.color_alternatives)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SceneObject:
        x, y, z = (float(v) for v in d["position"])
        return cls(
            id=str(d["id"]),
            kind=str(d["kind"]),
            color=str(d["color"]),
            size=str(d.get("size", "medium")),
            position=(x, y, z),
            yaw=float(d.get("yaw", 0.0)),
            footprint=tuple((float(p[0]), float(p[1])) for p in d.get("footprint", ())),
            confidence=float(d.get("confidence", 1.0)),
            color_alternatives=tuple(str(c) for c in d.get("color_alternatives", ())),
        )


class HasId(Protocol):
    @property
    def id(self) -> str: ...


ObjectT = TypeVar("ObjectT", bound=HasId)


class ObjectsById(Generic[ObjectT]):
    """A sequence of objects with unique ids (a Scene's, a SceneSpec's): iterate, count, look up."""

    objects: tuple[ObjectT, ...]

    def __iter__(self) -> Iterator[ObjectT]:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.objects)

    def get(self, object_id: str) -> ObjectT:
        for o in self.objects:
            if o.id == object_id:
                return o
        raise KeyError(object_id)


@dataclass(frozen=True)
class Scene(ObjectsById[SceneObject]):
    """What is on the table at one instant, from the camera (`source="camera"`) or the sim."""

    objects: tuple[SceneObject, ...] = ()
    timestamp: float = 0.0
    source: str = "camera"

    def find(self, kind: str | None = None, color: str | None = None) -> list[SceneObject]:
        return [
            o
            for o in self.objects
            if (kind is None or o.kind == kind) and (color is None or o.color == color)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "objects": [o.to_dict() for o in self.objects],
            "timestamp": self.timestamp,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Scene:
        return cls(
            tuple(SceneObject.from_dict(o) for o in d["objects"]),
            float(d.get("timestamp", 0.0)),
            str(d.get("source", "camera")),
        )


# -- plans ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subgoal:
    """One step of a plan: a skill with grounded object ids or table-frame positions.

    pick(object); place(object, on=id | in_=id | at=[x, y] | across=[id, id]); push(object,
    to=[x, y] | direction [+ distance]); move_to(pose=[x, y, z] or [x, y, z, yaw]);
    open_gripper; close_gripper; home; stop. In JSON the `in_` field is spelled "in".
    """

    skill: str
    object: str | None = None
    on: str | None = None
    in_: str | None = None
    at: tuple[float, float] | None = None
    to: tuple[float, float] | None = None
    direction: str | None = None
    distance: float | None = None
    pose: tuple[float, ...] | None = None
    across: tuple[str, str] | None = None  # place: resting on two blocks side by side

    def __post_init__(self) -> None:
        validate_subgoal(self)

    @property
    def target(self) -> str | None:
        """The id this subgoal puts its object on or in, if any (not set for `across`)."""
        return self.on if self.on is not None else self.in_

    @property
    def targets(self) -> tuple[str, ...]:
        """Every id this subgoal puts its object on or in: `on`, `in` or both `across` ids."""
        if self.across is not None:
            return self.across
        return (self.target,) if self.target is not None else ()

    def fields(self) -> dict[str, Any]:
        """The fields that are set, by JSON key, as Python values."""
        return {
            k: getattr(self, f.attr) for k, f in FIELDS.items() if getattr(self, f.attr) is not None
        }

    def shorthand(self) -> str:
        """The step in one line, e.g. `place red_block in green_bowl` (`robot_llm.skills`)."""
        return shorthand(self.skill, self.fields())

    @classmethod
    def from_shorthand(cls, text: str, where: str = "step") -> Subgoal:
        """A subgoal from its one-line shorthand; SchemaError says what is wrong."""
        try:
            skill, values = read_shorthand(text)
        except ValueError as err:
            raise SchemaError(f"{where}: cannot read step {text!r}: {err}") from None
        return cls.from_dict({"skill": skill, **values}, where)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"skill": self.skill}
        for key, f in FIELDS.items():
            value = getattr(self, f.attr)
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "subgoal") -> Subgoal:
        if not isinstance(d, Mapping):
            raise SchemaError(f"{where}: expected an object, got {type(d).__name__}")
        unknown = sorted(set(d) - {"skill", *FIELDS})
        if unknown:
            raise SchemaError(f"{where}: unknown field {unknown[0]!r}")
        if "skill" not in d:
            raise SchemaError(f"{where}: missing field 'skill'")
        values = {
            FIELDS[key].attr: field_value(FIELDS[key], d[key], where)
            for key in FIELDS
            if d.get(key) is not None
        }
        try:
            return cls(skill=str(d["skill"]), **values)
        except SchemaError as err:
            message = str(err)
            if message.startswith(where):
                raise
            raise SchemaError(f"{where}: {message}") from None


@dataclass(frozen=True)
class Plan:
    """An ordered list of subgoals that achieves a command."""

    subgoals: tuple[Subgoal, ...]
    command: str = ""
    planner: str = ""
    type: Literal["plan"] = "plan"
    # What the plan does beyond the command, in words (a block set aside to reach another).
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "plan",
            "version": PLAN_SCHEMA_VERSION,
            "command": self.command,
            "planner": self.planner,
            "subgoals": [s.to_dict() for s in self.subgoals],
        }
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True)
class Clarify:
    """The planner needs an answer before anything moves."""

    question: str
    candidates: tuple[str, ...] = ()
    command: str = ""
    planner: str = ""
    type: Literal["clarify"] = "clarify"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "clarify",
            "command": self.command,
            "planner": self.planner,
            "question": self.question,
            "candidates": list(self.candidates),
        }


@dataclass(frozen=True)
class Refuse:
    """The command will not be carried out, and why."""

    reason: str
    command: str = ""
    planner: str = ""
    type: Literal["refuse"] = "refuse"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "refuse",
            "command": self.command,
            "planner": self.planner,
            "reason": self.reason,
        }


PlanResult: TypeAlias = Plan | Clarify | Refuse


def plan_result_from_dict(d: Mapping[str, Any]) -> PlanResult:
    """Parse a Plan, Clarify or Refuse from its JSON form; SchemaError says what is wrong."""
    if not isinstance(d, Mapping):
        raise SchemaError(f"plan result: expected an object, got {type(d).__name__}")
    kind = d.get("type")
    command, planner = d.get("command", ""), d.get("planner", "")
    for name, value in (("command", command), ("planner", planner)):
        if not isinstance(value, str):
            raise SchemaError(f"{kind or 'plan result'}: field {name!r} must be a string")
    if kind == "plan":
        version = d.get("version", PLAN_SCHEMA_VERSION)
        if version != PLAN_SCHEMA_VERSION:
            raise SchemaError(f"plan: version {version!r} is not {PLAN_SCHEMA_VERSION}")
        raw = d.get("subgoals")
        if not isinstance(raw, list):
            raise SchemaError("plan: field 'subgoals' must be a list")
        subgoals = tuple(
            Subgoal.from_dict(s, where=f"plan: subgoal {i}") for i, s in enumerate(raw)
        )
        notes = d.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise SchemaError("plan: field 'notes' must be a list of strings")
        return Plan(subgoals, command, planner, notes=tuple(notes))
    if kind == "clarify":
        question = d.get("question")
        if not isinstance(question, str) or not question:
            raise SchemaError("clarify: field 'question' must be a non-empty string")
        cands = d.get("candidates", [])
        if not isinstance(cands, list) or not all(isinstance(c, str) for c in cands):
            raise SchemaError("clarify: field 'candidates' must be a list of ids")
        return Clarify(question, tuple(cands), command, planner)
    if kind == "refuse":
        reason = d.get("reason")
        if not isinstance(reason, str) or not reason:
            raise SchemaError("refuse: field 'reason' must be a non-empty string")
        return Refuse(reason, command, planner)
    raise SchemaError(f"plan result: field 'type' must be plan, clarify or refuse, got {kind!r}")


# -- robot ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RobotState:
    """Proprioception of an arm at one instant, in the table frame."""

    joint_positions: tuple[float, ...]
    joint_velocities: tuple[float, ...]
    ee_position: tuple[float, float, float]
    ee_orientation: tuple[float, float, float, float]  # quaternion x, y, z, w
    gripper_width: float
    timestamp: float = 0.0
    mode: str = "ok"  # ok | holding | estopped | fault
    last_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "joint_positions": list(self.joint_positions),
            "joint_velocities": list(self.joint_velocities),
            "ee_position": list(self.ee_position),
            "ee_orientation": list(self.ee_orientation),
            "gripper_width": self.gripper_width,
            "timestamp": self.timestamp,
            "mode": self.mode,
            "last_error": self.last_error,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RobotState:
        def floats(key: str) -> tuple[float, ...]:
            return tuple(float(v) for v in d[key])

        x, y, z = floats("ee_position")
        qx, qy, qz, qw = floats("ee_orientation")
        return cls(
            floats("joint_positions"),
            floats("joint_velocities"),
            (x, y, z),
            (qx, qy, qz, qw),
            float(d["gripper_width"]),
            float(d.get("timestamp", 0.0)),
            str(d.get("mode", "ok")),
            str(d.get("last_error", "")),
        )


def subgoals(*items: Subgoal | Sequence[Subgoal]) -> tuple[Subgoal, ...]:
    """Flatten subgoals and lists of subgoals into a tuple (plan building helper)."""
    out: list[Subgoal] = []
    for item in items:
        if isinstance(item, Subgoal):
            out.append(item)
        else:
            out.extend(item)
    return tuple(out)


__all__ = [
    "DIRECTIONS",
    "KINDS",
    "SKILLS",
    "CameraFrame",
    "Clarify",
    "Plan",
    "PlanResult",
    "Refuse",
    "RobotState",
    "Scene",
    "SceneObject",
    "SchemaError",
    "Subgoal",
    "plan_result_from_dict",
]
