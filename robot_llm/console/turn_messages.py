"""A turn as the page sees it: the executor's events turned into plan and subgoal messages.

A plan is announced when the executor starts it (`plan_started`), so the page lists exactly the
subgoals that will run; each subgoal then goes pending -> running -> verified, or through
retried to failed, or to stopped when the arm is stopped during it. A question or a refusal
moves nothing and is announced when the turn ends. Shapes in docs/console.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from robot_llm.execution.events import describe
from robot_llm.turn import TurnResult

Publish = Callable[[dict[str, Any]], None]


def subgoal_items(subgoals: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The page's list of a plan: index, text ("pick red_block"), status pending."""
    return [{"index": i, "text": describe(s), "status": "pending"} for i, s in enumerate(subgoals)]


class MessageMapper:
    """Publishes one turn's messages: `begin`, then `run_event` for each executor event,
    then `finish` with the turn's result and the scene after."""

    def __init__(self, publish: Publish) -> None:
        self.publish = publish
        self.command = ""
        self._announced = False

    def begin(self, command: str) -> None:
        self.command, self._announced = command, False
        self.publish({"type": "turn", "command": command})

    def run_event(self, event: Any) -> None:
        """One executor event (robot_llm.execution.events)."""
        kind = event.type
        if kind == "plan_started" and event.plan == 0:
            self._announced = True
            self.publish(
                {
                    "type": "plan",
                    "command": self.command,
                    "kind": "plan",
                    "subgoals": subgoal_items(event.subgoals),
                    "notes": list(getattr(event, "notes", ())),
                }
            )
        elif kind == "replanned":
            self.publish(
                {
                    "type": "replanned",
                    "reason": event.reason,
                    "subgoals": subgoal_items(event.subgoals),
                }
            )
        elif kind in ("subgoal_started", "subgoal_succeeded", "subgoal_retried", "subgoal_failed"):
            self.publish(self._subgoal(event))
        elif kind == "stopped" and event.index is not None:
            self.publish(
                {"type": "subgoal", "index": event.index, "status": "stopped", "attempt": 0,
                 "reason": event.reason}
            )  # fmt: skip

    def _subgoal(self, event: Any) -> dict[str, Any]:
        status = {
            "subgoal_started": "running",
            "subgoal_succeeded": "verified",
            "subgoal_retried": "retried",
        }.get(event.type)
        if status is None:  # subgoal_failed: final, or a retry follows
            status = "failed" if event.final else "retried"
        return {
            "type": "subgoal",
            "index": event.index,
            "status": status,
            "attempt": event.attempt,
            "reason": getattr(event, "reason", ""),
        }

    def finish(self, turn: TurnResult, objects: list[dict[str, Any]]) -> None:
        """The question, the refusal, or the end of a plan; `objects` is the scene after."""
        plan = turn.plan
        if plan.type == "clarify" or (plan.type == "refuse" and not self._announced):
            message: dict[str, Any] = {"type": "plan", "command": turn.command}
            if plan.type == "clarify":
                message.update(
                    kind="clarify", question=turn.question, candidates=list(turn.candidates or ())
                )
            else:
                message.update(kind="refused", reason=turn.reason or "")
            self.publish(message)
        self.publish(
            {
                "type": "done",
                "command": turn.command,
                "status": turn.status,
                "reason": turn.reason or "",
                "objects": objects,
            }
        )
