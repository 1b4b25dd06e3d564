"""The `rule` planner: a deterministic, offline reading of commands (see docs/commands.md).

It splits a command into clauses, reads each clause's action, object and destination, grounds
them in a symbolic model of the perceived scene, and plans the subgoals step by step, so later
clauses see the table the earlier ones leave. It asks (Clarify) when a phrase fits several
objects or none, and refuses (Refuse) what it cannot or must not do.

`plan` runs the stages in order (docs/architecture.md has the table of modules): normalize
(`text.tokenize`), answer an open question (`answers`), then per clause split, parse, ground and
plan (`Interpreter` over `PlanDraft`); `plan_command` in `base.py` passes the result through the
safety gate.
"""

from __future__ import annotations

from robot_llm.planning import pyramid
from robot_llm.planning.answers import (
    CANCEL,
    answer_ids,
    answered_bindings,
    bare,
    clarify_chain,
    strip_answer,
)
from robot_llm.planning.base import STOP_PLAN, History
from robot_llm.planning.describe import join, which_question
from robot_llm.planning.draft import PlanDraft, Problem
from robot_llm.planning.interpreter import Interpreter
from robot_llm.planning.np_parser import parse_np
from robot_llm.planning.table_model import TableModel
from robot_llm.planning.text import is_stop, tokenize
from robot_llm.planning.verb_words import starts_action
from robot_llm.types import Clarify, Plan, PlanResult, Refuse, Scene


class RulePlanner:
    """The default planner backend: grammar rules over the scene model, no model weights."""

    name = "rule"

    def plan(self, command: str, scene: Scene, history: History) -> PlanResult:
        tokens = tokenize(command)
        if is_stop(tokens):
            return Plan(STOP_PLAN, command, self.name)
        root, bindings = command, list[tuple[str, ...]]()
        pending = history.pending
        if pending is not None:
            answer = self._answer(tokens, pending, history, scene)
            if isinstance(answer, Plan | Clarify | Refuse):
                return answer
            if answer is not None:
                root, bindings = answer
                tokens = tokenize(root)
        else:  # planning a command again (a replan): keep the answers given to it before
            bindings = answered_bindings(history, command, TableModel.from_scene(scene))
        session = PlanDraft.start(scene, history, bindings)
        try:
            Interpreter(session).run(tokens)
        except Problem as p:
            r = p.result
            if isinstance(r, Clarify):
                return Clarify(r.question, r.candidates, root, self.name)
            return Refuse(r.reason, root, self.name)
        return Plan(tuple(session.steps), root, self.name, notes=tuple(session.notes))

    # -- answers to questions --------------------------------------------------------------------
    def _answer(
        self, tokens: list[str], pending: Clarify, history: History, scene: Scene
    ) -> PlanResult | tuple[str, list[tuple[str, ...]]] | None:
        toks = strip_answer(tokens)
        root = pending.command or (history.turns[-1].command if history.turns else "")
        if toks in CANCEL:
            return Plan((), root, self.name)
        if pending.question.startswith(pyramid.QUESTION_PREFIX) and not starts_action(toks):
            return f"{root}; {' '.join(toks)}", []  # which blocks go where: more of the command
        if not toks or not pending.candidates:
            return None
        if starts_action(toks) and toks[0] not in ("the", "left", "right"):
            return None  # a new command, not an answer
        world = TableModel.from_scene(scene)
        chain = clarify_chain(history, root)
        bindings: list[tuple[str, ...]] = []
        for question, answer in chain:
            got = answer_ids(tokenize(answer), question, world)
            if isinstance(got, tuple):
                bindings.append(got)
        got = answer_ids(toks, pending, world)
        if got is None:
            if parse_np(toks, frozenset(world.things)) is None and not bare(toks):
                return None
            options = join(which_question(pending.candidates, world, "one").split(": ", 1)[1:])
            return Clarify(
                f"Please choose one: {options or join(list(pending.candidates), 'or')}",
                pending.candidates,
                root,
                self.name,
            )
        if isinstance(got, list):  # narrowed but still several
            return Clarify(which_question(got, world, "one"), tuple(got), root, self.name)
        return root, [*bindings, got]
