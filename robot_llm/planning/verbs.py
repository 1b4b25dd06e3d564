"""What each action of the verb table does: one registered handler per action.

`verb_words.VERBS` maps words to actions ("grab" -> "pick"); this module maps each action to the
handler that plans it, so a verb synonym is one row in `VERBS` and a new action is one handler
here. A handler gets the interpreter, the action, the verb's words, the rest of the clause and
the whole clause.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from robot_llm.planning import actions, tasks, towers
from robot_llm.planning.verb_words import ARM_WORDS
from robot_llm.registry import Registry
from robot_llm.types import Subgoal

if TYPE_CHECKING:
    from robot_llm.planning.interpreter import Interpreter

Handler = Callable[["Interpreter", str, list[str], list[str], list[str]], None]
HANDLERS: Final[Registry[Handler]] = Registry("action")


def handles(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler for these actions."""

    def register(handler: Handler) -> Handler:
        for name in names:
            HANDLERS.register(name, handler)
        return handler

    return register


@handles("home")
def _home(it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]) -> None:
    it.s.steps.append(Subgoal("home"))


@handles("wait", "cancel")
def _nothing(
    it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]
) -> None:
    """Words that ask for no motion ("wait", "never mind")."""


@handles("unsupported")
def _unsupported(
    it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]
) -> None:
    raise it.s.unsupported(words[0])


@handles("arm")
def _arm(it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]) -> None:
    actions.arm(it, [*words[1:], *rest])


@handles("open", "close", "release")
def _gripper(
    it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]
) -> None:
    actions.gripper(it, verb, rest)


@handles("pick", "take")
def _pick(it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]) -> None:
    actions.pick(it, verb, words, rest)


@handles("put", "away")
def _put(it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]) -> None:
    if verb == "put" and rest and (rest[0] in ARM_WORDS or (rest[1:2] and rest[1] in ARM_WORDS)):
        actions.arm(it, rest)  # "put the arm up"
        return
    actions.put(it, words, rest, away=verb == "away")


@handles("remove")
def _remove(it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]) -> None:
    actions.remove(it, rest)


@handles("push")
def _push(it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]) -> None:
    actions.push(it, words, rest)


@handles("stack", "build")
def _stack(it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]) -> None:
    if verb == "build" or towers.is_tower_clause(toks, it.ids):
        towers.tower(it, rest)
    else:
        actions.put(it, words, rest)


@handles("unstack")
def _unstack(
    it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]
) -> None:
    towers.unstack(it, rest)


@handles("sort")
def _sort(it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]) -> None:
    tasks.sort_by_color(it, rest)


@handles("clear", "empty")
def _clear(it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]) -> None:
    tasks.clear(it, verb, rest)


@handles("swap")
def _swap(it: Interpreter, verb: str, words: list[str], rest: list[str], toks: list[str]) -> None:
    tasks.swap(it, rest)
