"""The planner contract, the backend registry, the dialogue history and the planning pipeline.

    planner = get_planner("rule")
    history = History()
    result = plan_command(planner, "put the red block in the green bowl", scene, history)

Every backend implements `Planner.plan(command, scene, history) -> Plan | Clarify | Refuse`.
`plan_command` is the one path every caller uses: it answers stop words at once, runs the
backend, passes the result through the `SafetyGate`, and records the turn in the history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from robot_llm.errors import InputError
from robot_llm.registry import Registry
from robot_llm.skills import hand_after
from robot_llm.types import Clarify, Plan, PlanResult, Refuse, Scene, Subgoal


@runtime_checkable
class Planner(Protocol):
    """Turns a command and the perceived scene into a Plan, a Clarify question or a Refuse.

    `name` is the registry name (it goes into each result's `planner` field). `plan` must not
    move anything or block on input; it reads `history` (earlier turns, open questions) and
    leaves recording the new turn to `plan_command`.
    """

    name: str

    def plan(self, command: str, scene: Scene, history: History) -> PlanResult: ...


class PlannerError(InputError):
    """A planner backend cannot be built or used (unknown name, bad options, missing model)."""


PlannerFactory = Callable[..., Planner]
PLANNERS: Registry[PlannerFactory] = Registry("planner", PlannerError)


def register_planner(name: str, factory: PlannerFactory, *, replace_existing: bool = False) -> None:
    """Make a backend available by name; `factory(**options)` builds it.

    Language-model backends register a factory that imports their heavy dependencies only when
    called, so registering costs nothing.
    """
    PLANNERS.register(name, factory, replace_existing=replace_existing)


def planner_names() -> tuple[str, ...]:
    return PLANNERS.names()


def get_planner(name: str, /, **options: Any) -> Planner:
    """Build the backend registered as `name`; PlannerError lists the known names."""
    return PLANNERS.find(name)(**options)


# -- history ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Turn:
    """One exchange: what the operator said, what the planner answered, the scene it saw."""

    command: str
    result: PlanResult
    scene: Scene | None = None


def moved_objects(result: PlanResult) -> list[str]:
    """Ids a plan picks, places or pushes, in order, without repeats."""
    out: list[str] = []
    if isinstance(result, Plan):
        for s in result.subgoals:
            if s.object is not None and s.object not in out:
                out.append(s.object)
    return out


def held_after(result: PlanResult, held: str | None = None) -> str | None:
    """The block in the gripper after a plan runs, starting from `held`."""
    if isinstance(result, Plan):
        for s in result.subgoals:
            held = hand_after(s.skill, s.object, held)
    return held


@dataclass
class History:
    """The dialogue so far: commands, results, the last-mentioned objects, an open question.

    `mentioned` is what "it" / "them" / "the other one" refer to: the objects the latest plan
    moved (kept when a later turn moved nothing, such as "go home"). `pending` is the planner's
    open question when the latest result was a Clarify: the next turn may answer it ("the red
    one"). `max_turns` bounds memory in long sessions. `feedback` is set only on the copy a
    replan plans with: what the executor reported of the plan so far (`execution_feedback`), for
    backends that read it (the language-model planners; the rule planner replans from the scene).
    """

    turns: list[Turn] = field(default_factory=list)
    max_turns: int = 50
    _mentioned: tuple[str, ...] = ()
    feedback: tuple[str, ...] = ()

    def record(self, command: str, result: PlanResult, scene: Scene | None = None) -> None:
        self.turns.append(Turn(command, result, scene))
        if len(self.turns) > self.max_turns:
            del self.turns[: len(self.turns) - self.max_turns]
        moved = moved_objects(result)
        if moved:
            self._mentioned = tuple(moved)

    def clear(self) -> None:
        self.turns.clear()
        self._mentioned = ()

    def __len__(self) -> int:
        return len(self.turns)

    def __iter__(self) -> Iterator[Turn]:
        return iter(self.turns)

    @property
    def commands(self) -> list[str]:
        return [t.command for t in self.turns]

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    @property
    def mentioned(self) -> tuple[str, ...]:
        return self._mentioned

    @property
    def pending(self) -> Clarify | None:
        """The open question, when the latest turn ended with one."""
        if self.turns and isinstance(self.turns[-1].result, Clarify):
            return self.turns[-1].result
        return None

    @property
    def held(self) -> str | None:
        """The block the latest plan left in the gripper, if it left one."""
        held: str | None = None
        for t in self.turns:
            held = held_after(t.result, held)
        return held

    def scene_before(self, object_id: str) -> Scene | None:
        """The scene of the latest turn whose plan moved `object_id` (where it stood before)."""
        for t in reversed(self.turns):
            if object_id in moved_objects(t.result) and t.scene is not None:
                return t.scene
        return None


# -- pipeline --------------------------------------------------------------------------------------
STOP_PLAN: tuple[Subgoal, ...] = (Subgoal("stop"),)


def plan_command(
    planner: Planner,
    command: str,
    scene: Scene,
    history: History | None = None,
    gate: Any = None,
) -> PlanResult:
    """Plan one command: stop words first, then the backend, then the safety gate; record it.

    `gate` is a `SafetyGate` (the default policy when None). A stop word anywhere in the command
    ("wait, stop!") gives a stop plan without asking the backend, whatever the backend is.
    """
    from robot_llm.planning.safety import SafetyGate
    from robot_llm.planning.text import is_stop, tokenize

    history = history if history is not None else History()
    gate = gate if gate is not None else SafetyGate.default()
    if is_stop(tokenize(command)):
        result: PlanResult = Plan(STOP_PLAN, command, planner.name)
    else:
        result = planner.plan(command, scene, history)
    result = gate.check(command, result, scene)
    if not result.planner:
        result = replace(result, planner=planner.name)
    if not result.command:
        result = replace(result, command=command)
    history.record(command, result, scene)
    return result


def replan_function(
    planner: Planner, gate: Any = None, history: History | None = None
) -> Callable[[str, Scene, Sequence[Any]], PlanResult]:
    """An executor `replan(command, scene, results)` hook that plans through the pipeline.

    With the session's `history`, a replan sees the dialogue that produced the plan (what "it"
    was, how a question was answered); replans are planned on a copy, so they do not become
    turns of the operator's dialogue.
    """

    def replan(command: str, scene: Scene, results: Sequence[Any]) -> PlanResult:
        copy = (
            History(list(history.turns), history.max_turns, history.mentioned) if history else None
        )
        copy = copy or History()
        copy.feedback = execution_feedback(results)
        return plan_command(planner, command, scene, copy, gate)

    return replan


def execution_feedback(results: Sequence[Any]) -> tuple[str, ...]:
    """One line per executed subgoal (the executor's result dicts): done, or failed and why."""
    lines = []
    for r in results:
        if not isinstance(r, Mapping):
            continue
        try:
            step = Subgoal.from_dict(r.get("subgoal", {})).shorthand()
        except ValueError:
            step = str(r.get("skill", "?"))
        if r.get("success"):
            lines.append(f"done: {step}")
        else:
            tries = r.get("attempts") if isinstance(r.get("attempts"), int) else 1
            why = str(r.get("reason") or "no reason given")
            lines.append(f"FAILED after {tries} attempt{'s' if tries != 1 else ''}: {step} ({why})")
    return tuple(lines)


def refuse(reason: str, command: str = "", planner: str = "") -> Refuse:
    return Refuse(reason, command, planner)
