"""From a transcript to what the robot should do with it: a command, a stop, or nothing.

`interpret(transcript)` decides, in this order:

1. **stop**: "stop", "halt", "freeze" (the planner's stop words) anywhere in what was heard,
   whatever the confidence: a missed stop costs more than a needless one;
2. **no_speech**: silence, noise or sound without words (nothing is planned);
3. **repeat**: words heard with confidence under `min_confidence`: the operator is asked to say
   it again rather than the robot acting on a guess;
4. **command**: the transcript in the planner's written form (`spoken.from_spoken`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from robot_llm.speech.base import Transcript
from robot_llm.speech.spoken import from_spoken

MIN_CONFIDENCE: Final = 0.5
REPEAT_QUESTION: Final = "I did not catch that clearly; please say it again."
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


def interpret(transcript: Transcript, min_confidence: float = MIN_CONFIDENCE) -> Heard:
    if not transcript.empty and heard_stop(transcript.text):
        return Heard("stop", transcript, "stop", "stop heard")
    if transcript.empty:
        what = "only silence" if not transcript.speech else "noise or sound but no words"
        return Heard("no_speech", transcript, None, f"no command: heard {what}")
    if transcript.confidence < min_confidence:
        message = f"{REPEAT_QUESTION} (heard {transcript.text!r}, confidence "
        return Heard("repeat", transcript, None, message + f"{transcript.confidence:.2f})")
    return Heard("command", transcript, from_spoken(transcript.text), "")
