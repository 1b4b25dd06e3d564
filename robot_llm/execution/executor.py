"""The executor: runs a plan's subgoals on a robot, verifying each from fresh perception.

For each subgoal it runs the skill of that name (applying the commands the skill yields to the
robot, one control period each), lets the scene settle, perceives it again, and checks the
subgoal's effect with the task predicates (see `verify`). A failed subgoal is retried with fresh
perception; a scene that no longer matches the plan (an object it needs is gone, an achieved
subgoal was undone) leads to a replan, or without a replanner to a local repair. `stop()` may be
called from any thread. The loop that drives a skill is `skill_loop`, the looks (view pose,
perception, the scene against the plan) are `looking`. Policy details: docs/execution.md.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

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
from robot_llm.execution.looking import (
    ROBOT_VIEW_POSE,
    mismatch,
    move_to_view,
    timed_perceive,
    view_pose_for,
)
from robot_llm.execution.recorder import VideoRecorder
from robot_llm.execution.result import ExecutionResult, Status, SubgoalResult
from robot_llm.execution.run_state import (
    Fact,
    Run,
    RunFailed,
    StopRequested,
    record_fact,
    repair_plan,
)
from robot_llm.execution.skill_loop import SkillLoop
from robot_llm.execution.tracking import AssociateFn, PerceiveFn, Perceiver, SceneTracker
from robot_llm.execution.verify import CHECKS, Verdict, verify
from robot_llm.policies.base import Skill
from robot_llm.policies.scripted import scripted_skills
from robot_llm.robots.base import Robot, RobotError
from robot_llm.skills import MOVING_SKILLS
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
    table (None: never move for the camera; by default the robot's own, `view_pose_for`).
    video / video_every: record the camera every N control periods to an mp4, captioned with
    the running subgoal. docs/execution.md has the whole policy.
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
        view_pose: Sequence[float] | Literal["robot"] | None = ROBOT_VIEW_POSE,
        video: str | Path | None = None,
        video_every: int = 4,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if video_every < 1:
            raise ValueError(f"video_every must be >= 1, got {video_every}")
        self.robot = robot
        self.tracker = SceneTracker(robot, perceive, associate, camera)
        self._stop = threading.Event()
        # The skills, their timeout and the settle periods live in the loop that drives them.
        self.loop = SkillLoop(
            robot,
            self.tracker,
            self._stop,
            skills if skills is not None else scripted_skills(robot),
            skill_timeout,
            settle_periods,
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
        self.max_replans = max_replans
        self.view_pose: Sequence[float] | None = (
            view_pose_for(robot.info.name) if view_pose == ROBOT_VIEW_POSE else view_pose
        )
        self.video = Path(video) if video is not None else None
        self.video_every = video_every
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
            clear = move_to_view(self.loop, run, self.view_pose)
            timed_perceive(self.loop, run, reference_scene, clear_view=clear)
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
            problem, undone = mismatch(self.loop, run, subgoals[i:])
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

        def record(success: bool, attempt: int, reason: str) -> SubgoalResult:
            duration = time.monotonic() - t_start
            result = SubgoalResult(
                index, subgoal, success, attempt, reason, duration, run.plan_no, index < run.repairs
            )
            run.results.append(result)
            return result

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
                record(False, attempt, stop.reason)
                raise
            if verdict.ok:
                result = record(True, attempt, "")
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
        return record(False, attempts, reason)

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
        outcome = self.loop.drive(run, subgoal)
        clear = subgoal.skill == "home"
        if subgoal.skill in MOVING_SKILLS:  # the hand goes to the viewing pose first
            self.tracker.expect_at_hand(subgoal.object, put=subgoal.skill != "pick")
            clear = move_to_view(self.loop, run, self.view_pose)
        self.loop.settle(run)
        timed_perceive(self.loop, run, clear_view=clear)
        if subgoal.skill not in CHECKS:
            return Verdict(outcome.success, outcome.reason)
        t0 = time.monotonic()
        verdict = verify(
            subgoal, before, self.tracker.scene, self.robot.state(), self.tracker.known
        )
        run.timings.verification += time.monotonic() - t0
        if verdict.ok:
            return verdict
        if not outcome.success and outcome.reason:
            return Verdict(False, f"{outcome.reason} ({verdict.reason})")
        return verdict

    # -- events, bookkeeping --------------------------------------------------------------------
    def _t(self, run: Run) -> float:
        return round(time.monotonic() - run.t0, 4)

    def _plan_started(self, run: Run, plan: Plan) -> PlanStarted:
        subgoals = tuple(s.to_dict() for s in plan.subgoals)
        return PlanStarted(
            self._t(run),
            plan.command,
            plan.planner,
            subgoals,
            plan=run.plan_no,
            notes=tuple(plan.notes),
        )

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
        run.timings.total = time.monotonic() - run.t0
        run.timings.sim_seconds = run.timings.periods / self.robot.info.control_hz
        succeeded = sum(r.success for r in run.results)
        try:
            self._emit(
                run,
                PlanFinished(
                    self._t(run),
                    status,
                    reason,
                    round(run.timings.total, 4),
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
            run.timings,
            run.plan,
            run.log_path,
            video_path,
            run.replans,
        )
