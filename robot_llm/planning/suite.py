"""The labelled planner suite: fixed scenes, commands and the expected answer, as data.

Cases live in `robot_llm/planning/suite/*.yaml` (shipped with the package, so
`evaluate_suite` works from an installed wheel): hand-written cases and templates expanded into
many. `suite_eval.evaluate_suite(planner)` runs every case through `plan_command` (the safety
gate included) and reports accuracy per category and planning latency.

Case format (one YAML file per group; `category` and `scene` are defaults for its cases):

    category: pick
    scene: main
    cases:
      - command: pick up the large red block
        plan: [pick red_block]                 # expected subgoals, shorthand below
      - command: pick up the block
        clarify: [red_block, green_block]      # a question about exactly these candidates
      - command: throw the red block
        refuse: throw                          # a refusal whose reason contains this text
      - turns:                                 # a dialogue: every turn must match
          - {command: pick up the red block, plan: [pick red_block]}
          - {command: now put it in the bowl, plan: [place red_block in green_bowl]}
    templates:
      - command: "{verb} the {obj[text]}"
        vars: {verb: [pick up, grab], obj: [{text: green block, id: green_block}]}
        plan: ["pick {obj[id]}"]

Subgoal shorthand: `pick A`, `place A on B`, `place A in B`, `place A across B C`,
`place A at X Y`, `place A at *`
(anywhere in the workspace), `place A at region:far_left` (inside that region), `push A left
0.1`, `push A to X Y`, `move_to X Y Z`, `home`, `stop`, `open_gripper`, `close_gripper`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from robot_llm.errors import InputError
from robot_llm.skills import FIELDS, read_shorthand, shorthand
from robot_llm.tabletop.geometry import height, rest_height
from robot_llm.tabletop.predicates import REGIONS
from robot_llm.tabletop.scene import load_yaml
from robot_llm.types import Clarify, Plan, PlanResult, Refuse, Scene, SceneObject, Subgoal

POSITION_TOLERANCE: Final = 0.005
SCENES_FILE: Final = "scenes.yaml"


class SuiteError(InputError):
    """A suite file is malformed; the message names the file and the case."""


# -- scenes ----------------------------------------------------------------------------------------
def scene_from_data(objects: Sequence[Mapping[str, Any]]) -> Scene:
    """A Scene from compact object dicts: `on: id` stacks a block on a block or in a container
    (z from the shared geometry; xy defaults to the support's)."""
    by_id: dict[str, SceneObject] = {}
    pending = list(objects)
    for _ in range(len(pending) + 1):
        left = []
        for d in pending:
            on = d.get("on")
            if on is not None and on not in by_id:
                left.append(d)
                continue
            kind, size = str(d["kind"]), str(d.get("size", "medium"))
            if on is None:
                x, y = (float(v) for v in d["position"])
                z = height(kind, size) / 2
            else:
                s = by_id[on]
                sx, sy, sz = s.position
                x, y = (float(v) for v in d.get("position", (sx, sy)))
                bottom = sz - height(s.kind, s.size) / 2
                z = bottom + rest_height(s.kind, s.size) + height(kind, size) / 2
            by_id[str(d["id"])] = SceneObject(
                str(d["id"]),
                kind,
                str(d["color"]),
                size,
                (x, y, round(z, 5)),
                yaw=math.radians(float(d.get("yaw", 0.0))),
            )
        if not left:
            break
        pending = left
    else:  # pragma: no cover - guarded by the loop bound
        raise SuiteError("scene: supports form a cycle")
    if pending and len(by_id) < len(objects):
        raise SuiteError(f"scene: unknown support in {[d.get('id') for d in pending]}")
    order = [str(d["id"]) for d in objects]
    return Scene(tuple(by_id[i] for i in order), source="suite")


# -- expectations ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepPattern:
    """One expected subgoal; `at`/`to` may be a point, "*" or "region:<name>"."""

    skill: str
    object: str | None = None
    on: str | None = None
    in_: str | None = None
    at: tuple[float, float] | str | None = None
    to: tuple[float, float] | str | None = None
    direction: str | None = None
    distance: float | None = None
    pose: tuple[float, ...] | None = None
    across: tuple[str, str] | None = None

    def matches(self, s: Subgoal) -> bool:
        if (s.skill, s.object, s.on, s.in_, s.direction, s.across) != (
            self.skill,
            self.object,
            self.on,
            self.in_,
            self.direction,
            self.across,
        ):
            return False
        if self.distance is not None and (
            s.distance is None or abs(s.distance - self.distance) > 1e-6
        ):
            return False
        if self.distance is None and self.direction is not None and s.distance not in (None, 0.1):
            return False
        for want, got in ((self.at, s.at), (self.to, s.to)):
            if not _point_ok(want, got):
                return False
        if self.pose is not None:
            if s.pose is None or len(s.pose) != len(self.pose):
                return False
            if any(abs(a - b) > POSITION_TOLERANCE for a, b in zip(s.pose, self.pose, strict=True)):
                return False
        elif s.pose is not None:
            return False
        return True

    def __str__(self) -> str:
        values = {k: getattr(self, f.attr) for k, f in FIELDS.items()}
        return shorthand(self.skill, {k: v for k, v in values.items() if v is not None})


def _point_ok(want: tuple[float, float] | str | None, got: tuple[float, float] | None) -> bool:
    if want is None:
        return got is None
    if got is None:
        return False
    if want == "*":
        return 0.30 <= got[0] <= 0.70 and -0.30 <= got[1] <= 0.30
    if isinstance(want, str) and want.startswith("region:"):
        (x0, x1), (y0, y1) = REGIONS[want.split(":", 1)[1].replace("_", " ")]
        return x0 - 1e-6 <= got[0] <= x1 + 1e-6 and y0 - 1e-6 <= got[1] <= y1 + 1e-6
    assert isinstance(want, tuple)
    return math.hypot(want[0] - got[0], want[1] - got[1]) <= POSITION_TOLERANCE


def parse_step(text: str, where: str = "step") -> StepPattern:
    """Parse the subgoal shorthand (module docstring; `robot_llm.skills.read_shorthand`)."""
    try:
        skill, values = read_shorthand(text, patterns=True)
        return StepPattern(skill, **{FIELDS[k].attr: v for k, v in values.items()})  # type: ignore[arg-type]
    except ValueError as err:
        raise SuiteError(f"{where}: cannot read step {text!r}: {err}") from None


@dataclass(frozen=True)
class Expect:
    """What one turn should answer: a plan (steps), a question (candidates) or a refusal."""

    type: str  # plan | clarify | refuse
    steps: tuple[StepPattern, ...] = ()
    candidates: tuple[str, ...] | None = None
    text: str = ""

    def check(self, r: PlanResult) -> bool:
        if r.type != self.type:
            return False
        if isinstance(r, Plan):
            return len(r.subgoals) == len(self.steps) and all(
                p.matches(s) for p, s in zip(self.steps, r.subgoals, strict=True)
            )
        if isinstance(r, Clarify):
            if self.candidates is not None and set(r.candidates) != set(self.candidates):
                return False
            return self.text.lower() in r.question.lower()
        assert isinstance(r, Refuse)
        return self.text.lower() in r.reason.lower()

    def __str__(self) -> str:
        if self.type == "plan":
            return "plan: " + "; ".join(map(str, self.steps)) if self.steps else "plan: (empty)"
        if self.type == "clarify":
            c = ", ".join(self.candidates) if self.candidates is not None else "any"
            return f"clarify [{c}]" + (f" ~ {self.text!r}" if self.text else "")
        return f"refuse ~ {self.text!r}"


def describe_result(r: PlanResult) -> str:
    if isinstance(r, Plan):
        return (
            "plan: " + "; ".join(s.shorthand() for s in r.subgoals)
            if r.subgoals
            else ("plan: (empty)")
        )
    if isinstance(r, Clarify):
        return f"clarify [{', '.join(r.candidates)}]: {r.question}"
    return f"refuse: {r.reason}"


def _expect(raw: Mapping[str, Any], where: str) -> Expect:
    keys = [k for k in ("plan", "clarify", "refuse") if k in raw]
    if len(keys) != 1:
        raise SuiteError(f"{where}: give exactly one of plan, clarify, refuse")
    (k,) = keys
    v = raw[k]
    if k == "plan":
        if not isinstance(v, list):
            raise SuiteError(f"{where}: plan must be a list of steps")
        return Expect("plan", tuple(parse_step(str(s), where) for s in v))
    if k == "clarify":
        cands = None if v is None or v == "*" else tuple(str(c) for c in v)
        return Expect("clarify", candidates=cands, text=str(raw.get("question", "")))
    return Expect("refuse", text=str(v or ""))


@dataclass(frozen=True)
class Case:
    """One labelled case: a scene and one or more turns, each with its expectation."""

    id: str
    category: str
    scene: str
    turns: tuple[tuple[str, Expect], ...]
    source: str = "hand"  # hand | template


def _fill(value: Any, env: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**env)
    if isinstance(value, list):
        return [_fill(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, env) for k, v in value.items()}
    return value


_CASE_KEYS: Final = frozenset(
    {"command", "plan", "clarify", "refuse", "question", "category", "scene", "turns", "vars"}
)


def _case(raw: Mapping[str, Any], cid: str, category: str, scene: str, source: str) -> Case:
    unknown = sorted(set(map(str, raw)) - _CASE_KEYS)
    if unknown:
        raise SuiteError(
            f"{cid}: unknown field {unknown[0]!r} (a comma inside an unquoted command?)"
        )
    for t in raw.get("turns", []) or []:
        bad = sorted(set(map(str, t)) - _CASE_KEYS)
        if bad:
            raise SuiteError(
                f"{cid}: unknown field {bad[0]!r} (a comma inside an unquoted command?)"
            )
    category = str(raw.get("category", category))
    scene = str(raw.get("scene", scene))
    if "turns" in raw:
        turns = tuple(
            (str(t["command"]), _expect(t, f"{cid} turn {i}")) for i, t in enumerate(raw["turns"])
        )
    else:
        if "command" not in raw:
            raise SuiteError(f"{cid}: missing 'command'")
        turns = ((str(raw["command"]), _expect(raw, cid)),)
    return Case(cid, category, scene, turns, source)


def load_cases(paths: Iterable[Path | Any] | None = None) -> list[Case]:
    """All cases of the suite files (the packaged suite when `paths` is None)."""
    files = list(paths) if paths is not None else suite_files()
    out: list[Case] = []
    for f in files:
        name = Path(str(f)).stem
        if name == Path(SCENES_FILE).stem:
            continue
        data = load_yaml(f.read_text(encoding="utf-8"))
        category = str(data.get("category", name))
        scene = str(data.get("scene", "main"))
        for i, raw in enumerate(data.get("cases", []) or []):
            out.append(_case(raw, f"{name}:{i}", category, scene, "hand"))
        for ti, tpl in enumerate(data.get("templates", []) or []):
            variables = tpl.get("vars", {})
            keys = list(variables)
            body = {k: v for k, v in tpl.items() if k != "vars"}
            for j, combo in enumerate(itertools.product(*(variables[k] for k in keys))):
                env = dict(zip(keys, combo, strict=True))
                filled = _fill(body, env)
                out.append(_case(filled, f"{name}:t{ti}.{j}", category, scene, "template"))
    ids = [c.id for c in out]
    if len(set(ids)) != len(ids):  # pragma: no cover - ids are built unique
        raise SuiteError("duplicate case ids")
    return out


def suite_files() -> list[Any]:
    """The packaged case files (every .yaml of the suite folder but the scenes)."""
    folder = resources.files("robot_llm.planning").joinpath("suite")
    return sorted(
        (f for f in folder.iterdir() if f.name.endswith(".yaml") and f.name != SCENES_FILE),
        key=lambda f: f.name,
    )


def load_scenes(path: Any = None) -> dict[str, Scene]:
    ref = path or resources.files("robot_llm.planning").joinpath("suite").joinpath(SCENES_FILE)
    data = load_yaml(ref.read_text(encoding="utf-8"))
    return {name: scene_from_data(objs) for name, objs in data["scenes"].items()}


# -- running ---------------------------------------------------------------------------------------
