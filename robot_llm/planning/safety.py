"""The planner's safety gate: refuses unsafe or out-of-scope commands and plans that break limits.

The policy is data (`safety_policy.yaml`, shipped with the package; format in docs/commands.md):
rules of keywords and regular expressions with a reason each, and numeric limits. Operators load
their own file on top of the default: it adds rules and may tighten limits, never loosen them.

    gate = SafetyGate(SafetyPolicy.load("site_policy.yaml"))
    result = gate.check(command, result, scene)   # a Plan, Clarify or Refuse

`plan_command` runs every result of every backend through a gate.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from robot_llm.errors import InputError, read_user_file
from robot_llm.skills import FIELDS, SKILLS, SPECS
from robot_llm.tabletop.directions import DEFAULT_PUSH_DISTANCE, DIRECTION_VECTORS
from robot_llm.tabletop.scene import WORKSPACE
from robot_llm.types import Clarify, Plan, PlanResult, Refuse, Scene, SceneObject, Subgoal

DEFAULT_POLICY: Final = "safety_policy.yaml"
_RULE_KEYS: Final = frozenset({"id", "reason", "keywords", "patterns"})
_LIMIT_KEYS: Final = frozenset({"max_speed", "max_push_distance", "workspace", "z"})
_TOP_KEYS: Final = frozenset({"version", "limits", "rules"})
POSITION_TOLERANCE: Final = 1e-6
_SPEED: Final = re.compile(
    r"(\d+(?:\.\d+)?)\s*(m/s|mps|meters? per second|metres? per second|cm/s|centimet(?:er|re)s? "
    r"per second|mm/s|millimet(?:er|re)s? per second)"
)


class PolicyError(InputError):
    """A safety policy file is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class Rule:
    """One text rule: the command is refused with `reason` when any keyword or pattern matches."""

    id: str
    reason: str
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    compiled: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)

    def matches(self, text: str) -> bool:
        return any(p.search(text) for p in self.compiled)


def _keyword_pattern(word: str) -> str:
    parts = [re.escape(p) for p in word.lower().split()]
    body = r"\s+".join(parts)
    if len(parts) == 1:
        body += r"(?:s|es|ed|ing|d)?"
    return rf"(?<![\w-]){body}(?![\w-])"


def _make_rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: expected a mapping with id, reason, keywords/patterns")
    unknown = sorted(set(map(str, raw)) - _RULE_KEYS)
    if unknown:
        raise PolicyError(f"{where}: unknown field {unknown[0]!r}; fields are {sorted(_RULE_KEYS)}")
    rid, reason = raw.get("id"), raw.get("reason")
    if not isinstance(rid, str) or not rid.strip():
        raise PolicyError(f"{where}: field 'id' must be a non-empty string")
    if not isinstance(reason, str) or not reason.strip():
        raise PolicyError(f"{where} ({rid}): field 'reason' must be a non-empty string")
    keywords = raw.get("keywords", []) or []
    patterns = raw.get("patterns", []) or []
    for key, value in (("keywords", keywords), ("patterns", patterns)):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise PolicyError(f"{where} ({rid}): field {key!r} must be a list of strings")
    if not keywords and not patterns:
        raise PolicyError(f"{where} ({rid}): give at least one keyword or pattern")
    compiled = []
    for k in keywords:
        compiled.append(re.compile(_keyword_pattern(k), re.IGNORECASE))
    for p in patterns:
        try:
            compiled.append(re.compile(p, re.IGNORECASE))
        except re.error as err:
            raise PolicyError(
                f"{where} ({rid}): pattern {p!r} is not a valid regex: {err}"
            ) from None
    return Rule(rid, reason.strip(), tuple(keywords), tuple(patterns), tuple(compiled))


def _pair(value: Any, where: str) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or not value[0] < value[1]
    ):
        raise PolicyError(f"{where}: expected [low, high] numbers with low < high, got {value!r}")
    return (float(value[0]), float(value[1]))


@dataclass(frozen=True)
class Limits:
    """Numeric limits plans must keep: meters, meters per second."""

    max_speed: float = 0.25
    max_push_distance: float = 0.30
    x: tuple[float, float] = WORKSPACE.x  # the default policy file repeats them, for readers
    y: tuple[float, float] = WORKSPACE.y
    z: tuple[float, float] = (0.0, 0.45)

    def inside(self, x: float, y: float) -> bool:
        t = POSITION_TOLERANCE
        return self.x[0] - t <= x <= self.x[1] + t and self.y[0] - t <= y <= self.y[1] + t

    def workspace_text(self) -> str:
        return f"x {self.x[0]:.2f} to {self.x[1]:.2f} m, y {self.y[0]:.2f} to {self.y[1]:.2f} m"


def _parse_limits(raw: Any, where: str, base: Limits | None) -> Limits:
    if raw is None:
        return base or Limits()
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: field 'limits' must be a mapping")
    unknown = sorted(set(map(str, raw)) - _LIMIT_KEYS)
    if unknown:
        raise PolicyError(
            f"{where}: limits: unknown field {unknown[0]!r}; fields are {sorted(_LIMIT_KEYS)}"
        )
    cur = base or Limits()
    vals: dict[str, Any] = {}
    for key in ("max_speed", "max_push_distance"):
        if key in raw:
            v = raw[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise PolicyError(f"{where}: limits.{key} must be a positive number, got {v!r}")
            vals[key] = float(v)
    ws = raw.get("workspace")
    if ws is not None:
        if not isinstance(ws, Mapping) or set(ws) - {"x", "y"}:
            raise PolicyError(f"{where}: limits.workspace must be a mapping with x and y")
        if "x" in ws:
            vals["x"] = _pair(ws["x"], f"{where}: limits.workspace.x")
        if "y" in ws:
            vals["y"] = _pair(ws["y"], f"{where}: limits.workspace.y")
    if "z" in raw:
        vals["z"] = _pair(raw["z"], f"{where}: limits.z")
    if base is None:
        return Limits(**{**Limits().__dict__, **vals})
    # An operator file may only tighten what the default allows.
    for key in ("max_speed", "max_push_distance"):
        if key in vals and vals[key] > getattr(cur, key):
            raise PolicyError(
                f"{where}: limits.{key} {vals[key]} is looser than the base policy's "
                f"{getattr(cur, key)}; operator files may only tighten limits"
            )
    for key in ("x", "y", "z"):
        if key in vals:
            lo, hi = vals[key]
            blo, bhi = getattr(cur, key)
            if lo < blo - 1e-9 or hi > bhi + 1e-9:
                name = f"workspace.{key}" if key != "z" else "z"
                raise PolicyError(
                    f"{where}: limits.{name} {[lo, hi]} reaches outside the base policy's "
                    f"{[blo, bhi]}; operator files may only tighten limits"
                )
    return Limits(**{**cur.__dict__, **vals})


@dataclass(frozen=True)
class SafetyPolicy:
    """Text rules and numeric limits; `sources` names the files it was read from."""

    rules: tuple[Rule, ...]
    limits: Limits
    sources: tuple[str, ...] = ()

    @classmethod
    def from_data(
        cls, data: Any, source: str = "<policy>", base: SafetyPolicy | None = None
    ) -> SafetyPolicy:
        """Build a policy from parsed YAML; with `base`, add to it (rules) and tighten it."""
        if not isinstance(data, Mapping):
            raise PolicyError(f"{source}: expected a mapping with 'rules' and/or 'limits'")
        unknown = sorted(set(map(str, data)) - _TOP_KEYS)
        if unknown:
            raise PolicyError(
                f"{source}: unknown field {unknown[0]!r}; fields are {sorted(_TOP_KEYS)}"
            )
        if data.get("version", 1) != 1:
            raise PolicyError(f"{source}: version {data.get('version')!r} is not 1")
        raw_rules = data.get("rules", []) or []
        if not isinstance(raw_rules, list):
            raise PolicyError(f"{source}: field 'rules' must be a list")
        rules = list(base.rules) if base else []
        seen = {r.id for r in rules}
        for i, raw in enumerate(raw_rules):
            rule = _make_rule(raw, f"{source}: rules[{i}]")
            if rule.id in seen:
                raise PolicyError(f"{source}: rules[{i}]: rule id {rule.id!r} is already defined")
            seen.add(rule.id)
            rules.append(rule)
        limits = _parse_limits(data.get("limits"), source, base.limits if base else None)
        sources = (base.sources if base else ()) + (source,)
        return cls(tuple(rules), limits, sources)

    @classmethod
    def default(cls) -> SafetyPolicy:
        return _default_policy()

    @classmethod
    def load(cls, *paths: str | Path, include_default: bool = True) -> SafetyPolicy:
        """The default policy extended by each operator file in turn."""
        policy = cls.default() if include_default else None
        for path in paths:
            data = _read_yaml(Path(path))
            policy = cls.from_data(data, str(path), policy)
        if policy is None:
            raise PolicyError("no policy: give a file or include the default")
        return policy

    def match(self, text: str) -> Rule | None:
        low = " ".join(text.lower().replace("\u2019", "'").split())
        for rule in self.rules:
            if rule.matches(low):
                return rule
        return None


def _read_yaml(path: Path) -> Any:
    import yaml

    text = read_user_file(path, PolicyError)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        first = " ".join(str(err).split())
        raise PolicyError(f"{path}: not valid YAML: {first}") from None


@lru_cache(maxsize=1)
def _default_policy() -> SafetyPolicy:
    import yaml

    ref = resources.files("robot_llm.planning").joinpath(DEFAULT_POLICY)
    data = yaml.safe_load(ref.read_text(encoding="utf-8"))
    return SafetyPolicy.from_data(data, f"robot_llm.planning/{DEFAULT_POLICY}")


def _speeds(text: str) -> list[float]:
    out = []
    for m in _SPEED.finditer(text.lower()):
        value, unit = float(m.group(1)), m.group(2)
        scale = 0.001 if unit.startswith(("mm", "milli")) else 0.01 if unit.startswith("c") else 1
        out.append(value * scale)
    return out


@dataclass(frozen=True)
class SafetyGate:
    """Checks a command's text and a planner's result against a policy (see module doc)."""

    policy: SafetyPolicy

    @classmethod
    def default(cls) -> SafetyGate:
        return cls(SafetyPolicy.default())

    def check(self, command: str, result: PlanResult, scene: Scene) -> PlanResult:
        """The result unchanged when it is safe, else a Refuse that says why.

        A plan of only `stop` subgoals always passes: stopping is never unsafe.
        """
        planner = result.planner
        if (
            isinstance(result, Plan)
            and result.subgoals
            and all(s.skill == "stop" for s in result.subgoals)
        ):
            return result
        reason = self.text_problem(command)
        if reason is not None:
            return Refuse(reason, command or result.command, planner)
        if isinstance(result, Plan):
            reason = self.plan_problem(result, scene)
            if reason is not None:
                return Refuse(reason, command or result.command, planner)
            return result
        if isinstance(result, Clarify):
            ids = set(scene.ids)
            kept = tuple(c for c in result.candidates if c in ids)
            if kept != result.candidates:
                return Clarify(result.question, kept, result.command, planner)
        return result

    def text_problem(self, command: str) -> str | None:
        rule = self.policy.match(command)
        if rule is not None:
            return f"{rule.reason} (safety rule '{rule.id}')"
        lim = self.policy.limits
        for v in _speeds(command):
            if v > lim.max_speed + 1e-9:
                return (
                    f"{v:g} m/s is faster than the speed limit of {lim.max_speed:g} m/s "
                    "(safety limit 'max_speed')"
                )
        return None

    def plan_problem(self, plan: Plan, scene: Scene) -> str | None:
        """Why a plan breaks the policy or names things that are not there, or None."""
        objs = {o.id: o for o in scene.objects}
        # where each object is as the plan goes on, for push end points
        pos = {o.id: (float(o.position[0]), float(o.position[1])) for o in scene.objects}
        for i, s in enumerate(plan.subgoals):
            problem = self._step_problem(s, objs, pos)
            if problem:
                return f"step {i + 1} ({s.skill}): {problem}"
            _track(s, pos)
        return None

    def _step_problem(
        self, s: Subgoal, objs: Mapping[str, SceneObject], pos: Mapping[str, tuple[float, float]]
    ) -> str | None:
        """Why one step breaks the policy, given where the objects are when it starts."""
        spec = SPECS.get(s.skill)
        if spec is None:
            return f"unknown skill {s.skill!r}; skills are {', '.join(SKILLS)}"
        for key in spec.fields:
            f = FIELDS[key]
            value = getattr(s, f.attr)
            if value is None or f.type not in ("id", "id_pair"):
                continue
            for oid in (value,) if f.type == "id" else value:
                if oid not in objs:
                    return f"there is no object {oid!r} in the scene"
        # the object must be of a kind the skill handles; a target is judged by its own kind
        # (`on` a zone works like `in` it: docs/plan-schema.md), so only the object is checked
        kind = objs[s.object].kind if s.object is not None else ""
        if spec.object_kinds and s.object is not None and kind not in spec.object_kinds:
            return f"'{s.skill}' acts on {_nouns(spec.object_kinds)} only, not a {kind}"
        return self._motion_problem(s, pos)

    def _motion_problem(self, s: Subgoal, pos: Mapping[str, tuple[float, float]]) -> str | None:
        """Why a step's points, pose or push leave the workspace or break a limit."""
        lim = self.policy.limits
        for name, point in (("at", s.at), ("to", s.to)):
            if point is not None:
                x, y = point
                if not (math.isfinite(x) and math.isfinite(y)) or not lim.inside(x, y):
                    return (
                        f"{name} [{x:.3f}, {y:.3f}] is outside the workspace "
                        f"({lim.workspace_text()})"
                    )
        if s.pose is not None:
            x, y, z = s.pose[:3]
            if not lim.inside(x, y) or not lim.z[0] <= z <= lim.z[1]:
                return (
                    f"pose {[round(v, 3) for v in s.pose[:3]]} is outside the "
                    f"workspace ({lim.workspace_text()}, z {lim.z[0]:.2f} to {lim.z[1]:.2f} m)"
                )
        if s.direction is not None and s.object is not None:
            d = s.distance if s.distance is not None else DEFAULT_PUSH_DISTANCE
            if d > lim.max_push_distance + 1e-9:
                return (
                    f"a push of {d:.2f} m is longer than the limit of "
                    f"{lim.max_push_distance:.2f} m (safety limit 'max_push_distance')"
                )
            if not lim.inside(*_pushed_to(s, pos)):
                return (
                    f"pushing {s.object} {s.direction} by {d:.2f} m would take "
                    f"it outside the workspace ({lim.workspace_text()})"
                )
        return None


def _nouns(kinds: Sequence[str]) -> str:
    """("block", "bowl", "tray") as "blocks, bowls and trays"."""
    plural = [f"{k}s" for k in kinds]
    return plural[0] if len(plural) == 1 else f"{', '.join(plural[:-1])} and {plural[-1]}"


def _pushed_to(s: Subgoal, pos: Mapping[str, tuple[float, float]]) -> tuple[float, float]:
    """Where a push along a direction leaves its object."""
    assert s.object is not None and s.direction is not None
    d = s.distance if s.distance is not None else DEFAULT_PUSH_DISTANCE
    ox, oy = pos[s.object]
    ux, uy = DIRECTION_VECTORS[s.direction]
    return ox + ux * d, oy + uy * d


def _track(s: Subgoal, pos: dict[str, tuple[float, float]]) -> None:
    """Move the object of a step that moves one to where the step leaves it."""
    spec = SPECS[s.skill]
    if not spec.moves_object or s.object is None or s.object not in pos:
        return
    point = s.to if s.to is not None else s.at
    if s.direction is not None:
        pos[s.object] = _pushed_to(s, pos)
    elif point is not None:
        pos[s.object] = point
    elif s.target is not None or s.across:
        target = s.target or (s.across[0] if s.across else "")
        pos[s.object] = pos.get(target, pos[s.object])


def policy_summary(policy: SafetyPolicy) -> Sequence[str]:
    """One line per rule: id and reason (for docs and `--help` texts)."""
    return [f"{r.id}: {r.reason}" for r in policy.rules]
