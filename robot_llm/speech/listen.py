"""From a transcript to what the robot should do with it: a command, a stop, or nothing.

`interpret(transcript)` decides, in this order:

1. **stop**: "stop", "halt", "freeze" (the planner's stop words) anywhere in what was heard,
   whatever the confidence: a missed stop costs more than a needless one;
2. **no_speech**: silence, noise or sound without words (nothing is planned);
3. **repeat**: words heard with confidence under `min_confidence`: the operator is asked to say
   it again rather than the robot acting on a guess;
4. **command**: the transcript in the planner's written form (`spoken.from_spoken`).

With `understood` (a check that the planner understands a command and grounds it in the scene,
`understood_by`), step 4 takes the first of the transcript and its alternatives that passes;
when none does, the answer is **repeat**: a command the planner cannot ground is a question,
never a guessed action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from robot_llm.speech.base import Transcript
from robot_llm.speech.spoken import from_spoken

if TYPE_CHECKING:
    from robot_llm.planning import History, Planner
    from robot_llm.types import Scene

MIN_CONFIDENCE: Final = 0.5
REPEAT_QUESTION: Final = "I did not catch that clearly; please say it again."
NOT_UNDERSTOOD: Final = "I did not understand that as a command here; please say it again."
Understood = Callable[[str], bool]
# how the planner and the safety gate say that something named is not on the table
NOT_THERE: Final = ("I don't see", "there is no object", "I don't know which")
STATUSES: Final = ("command", "stop", "no_speech", "repeat")


@dataclass(frozen=True)
class Heard:
    """The decision for one utterance; `command` is the planner text for command and stop."""

    status: str
    transcript: Transcript
    command: str | None = None
    message: str = ""


def heard_stop(text: str) -> bool:
    """Whether a transcript asks the robot to stop (the planner's own stop-word check)."""
    from robot_llm.planning.text import is_stop, tokenize

    return is_stop(tokenize(text))


def interpret(
    transcript: Transcript,
    min_confidence: float = MIN_CONFIDENCE,
    understood: Understood | None = None,
) -> Heard:
    if not transcript.empty and heard_stop(transcript.text):
        return Heard("stop", transcript, "stop", "stop heard")
    if transcript.empty:
        what = "only silence" if not transcript.speech else "noise or sound but no words"
        return Heard("no_speech", transcript, None, f"no command: heard {what}")
    if transcript.confidence < min_confidence:
        message = f"{REPEAT_QUESTION} (heard {transcript.text!r}, confidence "
        return Heard("repeat", transcript, None, message + f"{transcript.confidence:.2f})")
    if understood is None:
        return Heard("command", transcript, from_spoken(transcript.text), "")
    for text in (transcript.text, *transcript.alternatives):
        command = from_spoken(text)
        if command and understood(command):
            return Heard("command", transcript, command, "")
    return Heard("repeat", transcript, None, f"{NOT_UNDERSTOOD} (heard {transcript.text!r})")


def understood_by(planner: Planner, scene: Scene, history: History | None = None) -> Understood:
    """Whether `planner` understands a command in `scene`: it plans it, asks which of several
    objects that are there is meant, or refuses something it read (a safety rule, a bowl it
    cannot lift). Not understood: words it does not read (its answer lists what it can do),
    and objects that are not on the table."""
    from robot_llm.planning import History, plan_command
    from robot_llm.planning.lexicon import CAPABILITIES
    from robot_llm.types import Clarify, Plan

    def check(command: str) -> bool:
        result = plan_command(planner, command, scene, history or History())
        if isinstance(result, Plan):
            return bool(result.subgoals)
        text = result.question if isinstance(result, Clarify) else result.reason
        if CAPABILITIES in text or any(m in text for m in NOT_THERE):
            return False
        return not isinstance(result, Clarify) or len(result.candidates) > 1

    return check
