"""What every language-model backend shares: prompt, answer check, one retry, safe fallbacks.

A backend implements `complete(chat, schema) -> str`: the model's answer to a chat, ideally
forced into `schema` (it may raise AnswerError for an answer it knows is unusable, such as a
plan cut short). `LanguagePlanner.plan` builds the chat, asks, and checks the answer with the
plan parser and against the scene. An answer that does not hold (not JSON, not the plan format,
an id the scene lacks) is shown to the model once with what is wrong; a second bad answer ends
in a Clarify (naming what is visible when ids were wrong), never in a plan. A backend that
cannot answer at all (no model, endpoint down, timeout) raises `BackendError`, which ends in a
Refuse with its one-line message. Nothing here moves anything: `plan_command` still runs
every result through the safety gate.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from typing import Any, Final

from robot_llm.errors import Fault
from robot_llm.planning.base import History, PlannerError
from robot_llm.planning.llm import prompt
from robot_llm.planning.llm.grounding import (
    MAX_STEPS,
    AnswerError,
    answer_schema,
    not_seen,
    read_answer,
)
from robot_llm.types import CameraFrame, Clarify, PlanResult, Refuse, Scene

log = logging.getLogger(__name__)
ATTEMPTS: Final = 2  # the first answer and one correction
MAX_MESSAGE: Final = 200


class BackendError(Fault):
    """The model cannot answer (not loadable, unreachable, timed out); the message is one line."""


def one_line(text: object, limit: int = MAX_MESSAGE) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def option(
    options: dict[str, Any], key: str, env: str | tuple[str, ...], default: Any = None
) -> Any:
    """An option from keyword arguments, else from the first set environment variable."""
    if options.get(key) is not None:
        return options.pop(key)
    options.pop(key, None)
    for name in (env,) if isinstance(env, str) else env:
        if os.environ.get(name):
            return os.environ[name]
    return default


def number(value: Any, key: str, kind: type = float) -> Any:
    try:
        out = kind(value)
    except (TypeError, ValueError):
        raise PlannerError(f"option {key}={value!r} is not a {kind.__name__}") from None
    if out < 0:
        raise PlannerError(f"option {key}={value!r} must not be negative")
    return out


def no_more(options: dict[str, Any], planner: str) -> None:
    if options:
        raise PlannerError(f"planner {planner!r} takes no option {sorted(options)[0]!r}")


class LanguagePlanner:
    """A planner backend around a language model; subclasses implement `complete`.

    `frame` is the latest camera frame (a CameraFrame), set by the caller before `plan`; a model
    that reads images (`reads_images()`) gets it with the prompt. `stats` counts calls, bad
    answers, retries, fallbacks and backend errors, for evaluation.
    """

    name = "llm"

    def __init__(self, max_steps: int = MAX_STEPS, attempts: int = ATTEMPTS) -> None:
        self.max_steps = max_steps
        self.attempts = max(1, attempts)
        self.frame: CameraFrame | None = None
        self.stats: Counter[str] = Counter()

    def complete(self, chat: list[prompt.Message], schema: dict[str, Any]) -> str:
        raise NotImplementedError

    def reads_images(self) -> bool:
        return False

    def unavailable(self, err: BackendError, command: str) -> Refuse:
        self.stats["errors"] += 1
        log.warning("%s planner: %s", self.name, err)
        return Refuse(f"the {self.name} planner cannot answer: {err}", command, self.name)

    def plan(self, command: str, scene: Scene, history: History) -> PlanResult:
        self.stats["calls"] += 1
        try:
            image = self.frame is not None and self.reads_images()
        except BackendError as err:
            return self.unavailable(err, command)
        chat = prompt.messages(command, scene, history, image=image)
        schema = answer_schema(scene, self.max_steps)
        problem: AnswerError | None = None
        for attempt in range(self.attempts):
            if attempt:
                self.stats["retries"] += 1
            text = ""
            try:
                text = self.complete(chat, schema)
                return read_answer(text, scene, command, self.name)
            except BackendError as err:
                return self.unavailable(err, command)
            except AnswerError as err:
                self.stats["bad_answers"] += 1
                log.info("%s planner: %s", self.name, err)
                problem = err
                chat = chat + prompt.correction(err.answer or text, str(err), scene)
        self.stats["fallbacks"] += 1
        assert problem is not None
        if problem.unknown:
            return not_seen(problem.unknown, scene, command, self.name)
        return Clarify(
            f"I could not make a plan for that ({one_line(problem, 140)}); "
            "please say it another way.",
            (),
            command,
            self.name,
        )
