"""The executor: runs a plan's subgoals on a robot, verifying each from fresh perception.

For each subgoal it runs the skill of that name (applying the commands the skill yields to the
robot, one control period each), lets the scene settle, perceives it again, and checks the
subgoal's effect with the task predicates (see `verify`). A failed subgoal is retried with fresh
perception; a scene that no longer matches the plan (an object it needs is gone, an achieved
subgoal was undone) leads to a replan, or without a replanner to a local repair. `stop()` may be
called from any thread. Policy details: docs/execution.md.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robot_llm.execution.events import (
    Event,
    EventLog,
    PlanFinished,
    PlanStarted,
    Replanned,
    Stopped,
    SubgoalFailed,
    SubgoalRetried,
    SubgoalStarted,
    SubgoalSucceeded,
    describe,
)
from robot_llm.execution.recorder import VideoRecorder
from robot_llm.execution.result import ExecutionResult, Status, SubgoalResult
from robot_llm.execution.run_state import (
    Fact,
    Run,
    RunFailed,
    StopRequested,
    record_fact,
    relation_text,
    repair_plan,
)
from robot_llm.execution.tracking import AssociateFn, PerceiveFn, Perceiver, SceneTracker
from robot_llm.execution.verify import (
    VERIFIED_SKILLS,
    Verdict,
    missing_objects,
    moved_by,
    referenced_ids,
    relation_holds,
    verify,
)
from robot_llm.policies.base import (
    Command,
    EECommand,
    HoldCommand,
    JointCommand,
    Observation,
    Skill,
    SkillResult,
)
from robot_llm.policies.scripted import scripted_skills
from robot_llm.robots.base import Robot, RobotError
from robot_llm.types import (
    Clarify,
    Plan,
    PlanResult,
    Refuse,
    Scene,
    Subgoal,
)

# replan(command, scene, history) -> Plan | Clarify | Refuse; history holds SubgoalResult dicts.
ReplanFn = Callable[[str, Scene, Sequence[Mapping[str, Any]]], PlanResult]
EventCallback = Callable[[Event], None]

DEFAULT_SETTLE_PERIODS = 6  # control periods to hold before perceiving, so objects come to rest
DEFAULT_SKILL_TIMEOUT = 60.0  # seconds of robot time one skill run may take
DEFAULT_MAX_REPLANS = 3  # replans and repairs per run
# Where the hand waits while the camera looks: near the robot base, below the main camera, so
# the arm hides nothing on the table; yaw 0 turns the wrist back to neutral, so that the next
# skill starts from a home-like posture (table frame: x, y, z meters, yaw radians).
DEFAULT_VIEW_POSE = (0.15, 0.0, 0.37, 0.0)
VIEW_TOLERANCE = 0.02  # meters
VIEW_YAW_TOLERANCE = 0.05  # radians
# Skills that move objects; after them the hand goes to the viewing pose before perceiving.
MANIPULATION_SKILLS = ("pick", "place", "push")


class Executor:
    """Runs plans on a robot with perception in the loop.

    robot: any `Robot`. perceive: `frame -> Scene` (or an object with `.perceive(frame)`).
    skills: skill factories by name (default `robot_llm.policies.scripted.SKILLS`).
    max_retries: extra attempts per subgoal after a failed one. replan: optional
    `replan(command, scene, history) -> Plan | Clarify | Refuse`. log_path: a JSON-lines file
    written afresh for each run (or a folder: one new file per run). on_event: a callback or a
    list of callbacks, called in the run's thread for every event. associate:
    `(perceived, reference, gate) -> Scene` that keeps the reference's ids (default
    `robot_llm.perception.associate`). view_pose: where the hand goes so the camera sees the
    table (None: never move for the camera). video / video_every: record the camera every N
    control periods to an mp4, captioned with the running subgoal. docs/execution.md has the
    whole policy.
    """

    def __init__(
        self,
        robot: Robot,
        perceive: PerceiveFn | Perceiver,
        skills: Mapping[str, Callable[[], Skill]] | None = None,
        max_retries: int = 2,
        replan: ReplanFn | None = None,
        log_path: str | Path | None = None,
        on_event: EventCallback | Sequence[EventCallback] | None = None,
        *,
        associate: AssociateFn | None = None,
        camera: str = "main",
        settle_periods: int = DEFAULT_SETTLE_PERIODS,
        skill_timeout: float = DEFAULT_SKILL_TIMEOUT,
        max_replans: int = DEFAULT_MAX_REPLANS,
        view_pose: Sequence[float] | None = DEFAULT_VIEW_POSE,
        video: str | Path | None = None,
        video_every: int = 4,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if video_every < 1:
            raise ValueError(f"video_every must be >= 1, got {video_every}")
        self.robot = robot
        self.tracker = SceneTracker(robot, perceive, associate, camera)
        self.skills: Mapping[str, Callable[[], Skill]] = (
            skills if skills is not None else scripted_skills(robot)
        )
        self.max_retries = max_retries
        self.replan = replan
        self.log_path = Path(log_path) if log_path is not None else None
        if on_event is None:
            self._callbacks: list[EventCallback] = []
        elif callable(on_event):
            self._callbacks = [on_event]
        else:
            self._callbacks = list(on_event)
        self.camera = camera
        self.settle_periods = settle_periods
        self.skill_timeout = skill_timeout
        self.max_replans = max_replans
        self.view_pose = view_pose
        self.video = Path(video) if video is not None else None
        self.video_every = video_every
        self._stop = threading.Event()
        self._run_count = 0

    # -- public ---------------------------------------------------------------------------------
    def add_listener(self, callback: EventCallback) -> None:
        self._callbacks.append(callback)

    def stop(self) -> None:
        """Halt now, from any thread: the robot holds at once; the run ends with "stopped"."""
        self._stop.set()
        self.robot.stop()

    def resume(self) -> None:
        """Clear a stop so that the next run() may move the robot (calls robot.resume())."""
        self._stop.clear()
        self.robot.resume()

    @property
    def scene(self) -> Scene:
        """The latest perceived scene (ids kept stable across perceptions)."""
        return self.tracker.scene

    def perceive(self, reference: Scene | None = None) -> Scene:
        """Look at the table now (from wherever the arm is); ids follow `reference` if given."""
        return self.tracker.perceive(reference)

    def run(self, plan: Plan, reference_scene: Scene | None = None) -> ExecutionResult:
        """Execute every subgoal of `plan`; `reference_scene` names the ids the plan uses
        (the scene the planner saw or a scene file); without it the first perception does."""
        self._stop.clear()
        self._run_count += 1
        run = Run(t0=time.monotonic(), plan=plan)
        run.log_path = self._open_log(run)
        if self.video is not None:
            run.recorder = VideoRecorder(self.robot, self.camera, self.video_every)
        self._emit(run, self._plan_started(run, plan))
        status: Status = "done"
        reason = ""
        try:
            if self.robot.stopped:
                raise StopRequested("the robot is stopped; resume it before running a plan")
            clear = self._move_to_view(run)
            self._timed_perceive(run, reference_scene, clear_view=clear)
            self._run_plan(run)
        except StopRequested as stop:
            status, reason = "stopped", stop.reason
            self._emit(run, Stopped(self._t(run), run.index, stop.reason, plan=run.plan_no))
        except RunFailed as failure:
            status, reason = "failed", failure.reason
        except RobotError as err:
            status, reason = "failed", f"robot error: {err}"
        except BaseException as err:
            # Still close the run (plan_finished, log, video); the error itself propagates.
            reason = f"internal error: {type(err).__name__}: {err}"
            with contextlib.suppress(Exception):
                self._finish(run, "failed", reason)
            raise
        return self._finish(run, status, reason)

    # -- plan level -----------------------------------------------------------------------------
    def _run_plan(self, run: Run) -> None:
        i = 0
        while True:
            # Before every subgoal, and once more after the last, the scene must still fit.
            subgoals = run.plan.subgoals
            problem, undone = self._mismatch(run, subgoals[i:])
            if problem:
                self._recover(run, problem, undone, i)
                i = 0
                continue
            if i >= len(subgoals):
                break
            run.index = i
            result = self._run_subgoal(run, i, subgoals[i])
            if not result.success:
                reason = f"subgoal {i} ({describe(subgoals[i].to_dict())}) failed: {result.reason}"
                if self.replan is None or run.replans >= self.max_replans:
                    raise RunFailed(reason)
                self._replan(run, reason)
                i = 0
                continue
            record_fact(run, i, subgoals[i])
            i += 1
        run.index = None

    def _mismatch(self, run: Run, remaining: Sequence[Subgoal]) -> tuple[str, list[Fact]]:
        """Why the scene no longer fits the rest of the plan ("" when it does). Only a clear
        view counts: with the arm in the picture, objects may be hidden."""
        if not self.tracker.view_clear:
            return "", []
        missing = self._missing(remaining)
        if missing:
            # One look can miss an object (a glint, a bad threshold): look again before acting.
            self._timed_perceive(run)
            missing = self._missing(remaining)
        scene = self.tracker.scene
        if missing:
            i, oid = missing[0]
            where = describe(remaining[i].to_dict())
            return f"{oid} is not in the scene (needed by {where})", []
        planned = moved_by(remaining)
        undone = [
            f
            for f in run.facts
            if not (set(referenced_ids(f.subgoal)) & planned)
            and not relation_holds(f.subgoal, scene)
        ]
        # A repair starts with an empty hand: while the next subgoal places a held object, the
        # check waits until that place is done.
        nxt = remaining[0] if remaining else None
        busy = nxt is not None and nxt.skill == "place" and self.tracker.holds(nxt.object)
        if undone and not busy:
            what = ", ".join(relation_text(f.subgoal) for f in undone)
            return f"undone: {what}", undone
        return "", []

    def _missing(self, remaining: Sequence[Subgoal]) -> list[tuple[int, str]]:
        scene = self.tracker.scene
        held = [
            oid
            for s in remaining
            for oid in referenced_ids(s)
            if oid not in scene.ids and self.tracker.holds(oid)
        ]
        return missing_objects(remaining, scene, held)

    def _recover(self, run: Run, problem: str, undone: list[Fact], index: int) -> None:
        if run.replans >= self.max_replans:
            raise RunFailed(f"{problem}; gave up after {run.replans} replans")
        if self.replan is not None:
            self._replan(run, problem)
            return
        if not undone:
            raise RunFailed(f"{problem}; no replanner to adapt the plan")
        new, n_repair = repair_plan(run, undone, index)
        self._switch_plan(run, new, problem, "repair", n_repair=n_repair)

    def _replan(self, run: Run, reason: str) -> None:
        assert self.replan is not None
        history = [r.to_dict() for r in run.results]
        result = self.replan(run.plan.command, self.tracker.scene, history)
        if isinstance(result, Clarify):
            raise RunFailed(f"{reason}; the replanner asks: {result.question}")
        if isinstance(result, Refuse):
            raise RunFailed(f"{reason}; the replanner refused: {result.reason}")
        if not isinstance(result, Plan):
            raise RunFailed(f"{reason}; the replanner returned {type(result).__name__}")
        plan = result if result.command else Plan(result.subgoals, run.plan.command, result.planner)
        run.facts.clear()  # the new plan was made from the scene as it is now
        self._switch_plan(run, plan, reason, "replanner")

    def _switch_plan(
        self, run: Run, plan: Plan, reason: str, source: str, n_repair: int = 0
    ) -> None:
        run.replans += 1
        run.plan_no += 1
        run.plan = plan
        run.repairs = n_repair
        self._emit(
            run,
            Replanned(
                self._t(run),
                reason,
                source,
                tuple(s.to_dict() for s in plan.subgoals),
                run.plan_no,
            ),
        )

    # -- subgoal level --------------------------------------------------------------------------
    def _run_subgoal(self, run: Run, index: int, subgoal: Subgoal) -> SubgoalResult:
        t_start = time.monotonic()
        first_scene = self.tracker.scene
        reason = ""
        repick = False
        attempts = 0
        as_dict = subgoal.to_dict()
        for attempt in range(1, self.max_retries + 2):
            attempts = attempt
            # A place needs its object in the hand: when it is not (a failed place dropped it,
            # or it fell on the way), this attempt picks it up again first.
            repick = subgoal.skill == "place" and not self.tracker.holds(subgoal.object)
            if attempt > 1:
                self._emit(
                    run,
                    SubgoalRetried(
                        self._t(run), index, as_dict, attempt, reason, repick, plan=run.plan_no
                    ),
                )
            self._emit(run, SubgoalStarted(self._t(run), index, as_dict, attempt, plan=run.plan_no))
            try:
                verdict = self._attempt(run, subgoal, first_scene, repick)
            except StopRequested as stop:
                duration = time.monotonic() - t_start
                run.results.append(
                    SubgoalResult(
                        index,
                        subgoal,
                        False,
                        attempt,
                        stop.reason,
                        duration,
                        run.plan_no,
                        index < run.repairs,
                    )
                )
                raise
            if verdict.ok:
                result = SubgoalResult(
                    index,
                    subgoal,
                    True,
                    attempt,
                    "",
                    time.monotonic() - t_start,
                    run.plan_no,
                    index < run.repairs,
                )
                run.results.append(result)
                self._emit(
                    run,
                    SubgoalSucceeded(
                        self._t(run),
                        index,
                        as_dict,
                        attempt,
                        round(result.duration, 4),
                        plan=run.plan_no,
                    ),
                )
                return result
            reason = verdict.reason
            final = attempt > self.max_retries
            self._emit(
                run,
                SubgoalFailed(
                    self._t(run), index, as_dict, attempt, reason, final, plan=run.plan_no
                ),
            )
        result = SubgoalResult(
            index,
            subgoal,
            False,
            attempts,
            reason,
            time.monotonic() - t_start,
            run.plan_no,
            index < run.repairs,
        )
        run.results.append(result)
        return result

    def _attempt(self, run: Run, subgoal: Subgoal, first_scene: Scene, repick: bool) -> Verdict:
        """One try: [pick first when re-picking] the skill, settle, perceive, verify."""
        if repick:
            assert subgoal.object is not None
            pick = Subgoal("pick", object=subgoal.object)
            verdict = self._step(run, pick, self.tracker.scene, caption=describe(subgoal.to_dict()))
            if not verdict.ok:
                return Verdict(False, f"picking it up again failed: {verdict.reason}")
        before = first_scene if subgoal.skill == "push" else self.tracker.scene
        return self._step(run, subgoal, before)

    def _step(self, run: Run, subgoal: Subgoal, before: Scene, caption: str = "") -> Verdict:
        """Run one skill on the robot, then perceive and verify its effect."""
        run.caption = caption or describe(subgoal.to_dict())
        outcome = self._drive(run, subgoal)
        clear = subgoal.skill == "home"
        if subgoal.skill in MANIPULATION_SKILLS:
            self.tracker.expect_at_hand(subgoal.object)
            clear = self._move_to_view(run)
        self._settle(run)
        self._timed_perceive(run, clear_view=clear)
        if subgoal.skill not in VERIFIED_SKILLS:
            return Verdict(outcome.success, outcome.reason)
        t0 = time.monotonic()
        verdict = verify(
            subgoal, before, self.tracker.scene, self.robot.state(), self.tracker.known
        )
        run.timings["verification"] += time.monotonic() - t0
        if verdict.ok:
            return verdict
        if not outcome.success and outcome.reason:
            return Verdict(False, f"{outcome.reason} ({verdict.reason})")
        return verdict

    def _drive(self, run: Run, subgoal: Subgoal) -> SkillResult:
        """Stream a skill's commands to the robot until it returns, checking for stop each
        control period."""
        factory = self.skills.get(subgoal.skill)
        if factory is None:
            return SkillResult(False, f"no skill named {subgoal.skill!r}")
        skill = factory()
        max_periods = max(1, int(self.skill_timeout * self.robot.info.control_hz))
        t0 = time.monotonic()
        upcoming = run.plan.subgoals[run.index + 1 :] if run.index is not None else ()
        gen = skill.run(subgoal, self._observation(upcoming))
        try:
            command = next(gen)
            for _ in range(max_periods):
                self._apply(run, command)
                command = gen.send(self._observation(upcoming))
            return SkillResult(False, f"timed out after {self.skill_timeout:.0f} s")
        except StopIteration as done:
            value = done.value
            if isinstance(value, SkillResult):
                return value
            return SkillResult(False, f"skill {subgoal.skill!r} returned {value!r}, no result")
        finally:
            gen.close()
            run.timings["skills"] += time.monotonic() - t0

    def _apply(self, run: Run, command: Command) -> None:
        self._check_stop()
        if isinstance(command, EECommand):
            applied = self.robot.command_ee(
                np.asarray(command.position, dtype=float),
                float(command.yaw),
                float(command.gripper),
            )
        elif isinstance(command, JointCommand):
            applied = self.robot.command_joints(
                np.asarray(command.positions, dtype=float), float(command.gripper)
            )
        elif isinstance(command, HoldCommand):
            applied = self.robot.hold()
        else:
            raise TypeError(f"a skill yielded {command!r}, not a robot command")
        run.timings["periods"] += 1
        if run.recorder is not None:
            t0 = time.monotonic()
            run.recorder.tick(run.caption)
            run.timings["video"] += time.monotonic() - t0
        self._check_stop()
        if applied.mode in ("holding", "estopped", "fault"):
            raise StopRequested(f"the robot reports mode {applied.mode!r}")

    def _move_to_view(self, run: Run) -> bool:
        """Take the hand to the viewing pose, out of the camera's way (keeping any grip).
        True when the view is clear: the pose was reached, or there is no viewing pose."""
        if self.view_pose is None:
            return True
        pose = tuple(float(v) for v in self.view_pose)
        ee = np.asarray(self.robot.state().ee_position)
        _, yaw = self.robot.ee_target()
        near = float(np.linalg.norm(ee - np.asarray(pose[:3]))) <= VIEW_TOLERANCE
        turned = (
            len(pose) > 3 and abs(math.remainder(yaw - pose[3], 2 * math.pi)) > VIEW_YAW_TOLERANCE
        )
        if near and not turned:
            return True
        return self._drive(run, Subgoal("move_to", pose=pose)).success

    def _settle(self, run: Run) -> None:
        for _ in range(self.settle_periods):
            self._apply(run, HoldCommand())

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise StopRequested("stop requested")

    def _observation(self, upcoming: tuple[Subgoal, ...] = ()) -> Observation:
        state, scene = self.robot.state(), self.tracker.scene
        return Observation(state, scene, target=self.robot.ee_target(), upcoming=upcoming)

    # -- perception, events, bookkeeping --------------------------------------------------------
    def _timed_perceive(
        self, run: Run, reference: Scene | None = None, clear_view: bool = True
    ) -> Scene:
        self._check_stop()
        t0 = time.monotonic()
        scene = self.tracker.perceive(reference, clear_view)
        run.timings["perception"] += time.monotonic() - t0
        self._check_stop()
        return scene

    def _t(self, run: Run) -> float:
        return round(time.monotonic() - run.t0, 4)

    def _plan_started(self, run: Run, plan: Plan) -> PlanStarted:
        subgoals = tuple(s.to_dict() for s in plan.subgoals)
        return PlanStarted(self._t(run), plan.command, plan.planner, subgoals, plan=run.plan_no)

    def _emit(self, run: Run, event: Event) -> None:
        run.events.append(event)
        if run.log is not None:
            run.log.write(event)
        for callback in self._callbacks:
            callback(event)

    def _open_log(self, run: Run) -> Path | None:
        if self.log_path is None:
            return None
        path = self.log_path
        if path.is_dir():
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = path / f"run-{stamp}-{self._run_count}.jsonl"
        run.log = EventLog(path)
        return path

    def _finish(self, run: Run, status: Status, reason: str) -> ExecutionResult:
        run.timings["total"] = time.monotonic() - run.t0
        run.timings["sim_seconds"] = run.timings["periods"] / self.robot.info.control_hz
        succeeded = sum(r.success for r in run.results)
        try:
            self._emit(
                run,
                PlanFinished(
                    self._t(run),
                    status,
                    reason,
                    round(run.timings["total"], 4),
                    succeeded,
                    len(run.results) - succeeded,
                ),
            )
        finally:
            if run.log is not None:
                run.log.close()
        video_path = None
        if run.recorder is not None and self.video is not None and run.recorder.frames:
            video_path = run.recorder.write(self.video)
        return ExecutionResult(
            status,
            reason,
            tuple(run.results),
            self.tracker.scene,
            tuple(run.events),
            dict(run.timings),
            run.plan,
            run.log_path,
            video_path,
            run.replans,
        )
