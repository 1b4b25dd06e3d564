"""The rule planner's single-action clauses: pick, put (on, in, at, beside, in a region, by an
offset), remove, push (a direction or to a place), the gripper and the arm.

Each reads the rest of its clause, grounds the phrases through the `Interpreter` and plans onto
its `PlanDraft`; where each object goes is `placing.py` (put) and `pushing.py` (push).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from robot_llm.planning import tasks
from robot_llm.planning.clauses import take_order, take_push_mode
from robot_llm.planning.destinations import Dest, dest_starts, parse_dest
from robot_llm.planning.draft import ClauseInfo, clarify, refuse
from robot_llm.planning.lexicon import REGION_CENTERS, SMALL_PUSH
from robot_llm.planning.np_parser import parse_np
from robot_llm.planning.placing import move_objects
from robot_llm.planning.pushing import push_one
from robot_llm.planning.text import Amount, take_distance, take_point
from robot_llm.planning.verb_words import ARM_WORDS
from robot_llm.tabletop.directions import DEFAULT_PUSH_DISTANCE
from robot_llm.types import Subgoal

if TYPE_CHECKING:
    from robot_llm.planning.interpreter import Interpreter

ARM_HOVER: Final = 0.10  # meters above an object's top when moving the hand over it
ARM_HEIGHT: Final = 0.20  # hand height over a point on the table


def pick(it: Interpreter, verb: str, words: list[str], rest: list[str]) -> None:
    s = it.s
    if rest[-1:] == ["up"]:
        rest = rest[:-1]
    for lead in (["everything"], ["all", "the", "blocks"], ["all", "blocks"], ["all"]):
        n = len(lead)
        if rest[:n] == lead and rest[n : n + 1] in (["off"], ["from"]):
            # "take everything off the orange block": clear it
            k = n + (2 if rest[n : n + 2] == ["off", "of"] else 1)
            tasks.clear(it, "clear", rest[k:])
            return
    rest, point = take_point(rest)
    _ref, res, dest, _dres, _dest_t = it.choose_split(
        rest, "object", point, prefer_dest=verb == "take"
    )
    if dest is not None:
        # "lift the red block onto the blue block", "take the red block to the tray": a move
        put(it, words, rest)
        return
    ids = it.need(res)
    if len(ids) > 1:
        raise refuse(
            f"I hold one block at a time, so I can't pick up {s.names(ids)} together; "
            "tell me where to put them (for example 'put them in the tray')."
        )
    s.pick(ids[0])
    s.mention(ids)
    s.prev = ClauseInfo("pick", words, [])


def exception_last(it: Interpreter, rest: list[str]) -> list[str]:
    """ "all the blocks in the bowl except the red one" -> "all the blocks except the red one in
    the bowl": the exclusion belongs to the object phrase."""
    e = next((i for i, w in enumerate(rest) if w in ("except", "excluding", "besides")), None)
    if e is None:
        return rest
    for d in dest_starts(rest[:e]):
        ref = parse_np(rest[:d], it.ids)
        if ref is not None and ref.many and parse_dest(rest[d:e], it.ids, (0.0, 0.0)):
            return [*rest[:d], *rest[e:], *rest[d:e]]
    return rest


def put(it: Interpreter, words: list[str], rest: list[str], away: bool = False) -> None:
    s = it.s
    rest = exception_last(it, rest)
    rest, amount = take_distance(rest)
    rest, point = take_point(rest)
    rest, order = take_order(rest)
    rest, push_mode = take_push_mode(rest)
    if push_mode:
        push(it, words, rest, amount=amount, point=point)
        return
    if words[-1:] == ["down"] and not any(w in rest for w in ("on", "in", "onto", "into")):
        rest = [*rest, "down"]
    elif words[-1:] == ["back"] and rest[-1:] != ["back"]:
        rest = [*rest, "back"] if not any(w in rest for w in ("on", "in", "into")) else rest
    if away:
        ref = parse_np(rest, it.ids)
        if ref is None:
            raise clarify(f"What should I put away? I didn't understand '{' '.join(rest)}'.")
        objs = it.need(it.resolve(ref, "object"))
        tray = s.default_container("put things away")
        move_objects(it, objs, Dest("in"), [tray], order, amount, words)
        s.prev = ClauseInfo("put", words, ["away"])
        return
    ref, res, dest, _dres, dest_t = it.choose_split(rest, "object", point)
    objs = it.need(res)
    for o in objs:
        s.check_movable(o)
    if dest is None:
        held = s.world.held
        if words[0] in ("drop", "lower", "lay") and held in objs:
            dest = Dest("down")
        else:
            raise clarify(f"Where should I put {s.names(objs)}?")
    targets = it.target(dest, objs) if dest.refs else []
    s.prev = ClauseInfo("put", words, dest_t)
    stack_verb = words[0] in ("stack", "pile")
    move_objects(it, objs, dest, targets, order, amount, words, stack=stack_verb)


def remove(it: Interpreter, rest: list[str]) -> None:
    """ "remove the purple block (from the orange block)": set it on the table nearby."""
    ref = parse_np(rest, it.ids)
    if ref is None:
        ref, _res, dest, _d, _t = it.choose_split(rest, "object", None)
        if dest is not None:
            put(it, ["remove"], rest)
            return
    objs = it.need(it.resolve(ref, "object"))
    move_objects(it, objs, Dest("table"), [], None, None, ["remove"])


def push(
    it: Interpreter,
    words: list[str],
    rest: list[str],
    amount: Amount | None = None,
    point: tuple[float, float] | None = None,
) -> None:
    s = it.s
    rest = exception_last(it, rest)
    if amount is None:
        rest, amount = take_distance(rest)
    if point is None:
        rest, point = take_point(rest)
    rest, _ = take_push_mode(rest)
    rest, _order = take_order(rest)
    rest = [t for t in rest if t not in ("over",)] if rest[-1:] != ["over"] else rest[:-1]
    _ref, res, dest, _dres, dest_t = it.choose_split(rest, "push", point)
    objs = it.need(res)
    if dest is None:
        raise clarify(
            f"Which way should I {words[0]} {s.names(objs)}: left, right, forward or back, "
            "or to which place?"
        )
    if dest.kind == "back" and dest_t == ["back"]:
        dest = Dest("direction", direction="back")  # "push it back": toward the robot
    s.prev = ClauseInfo("push", words, dest_t)
    targets = it.target(dest, objs) if dest.refs else []
    default = SMALL_PUSH if words[0] in ("nudge", "bump", "scoot") else DEFAULT_PUSH_DISTANCE
    if dest.kind == "off_table":
        raise refuse("Objects stay inside the workspace; I can't push anything off the table.")
    for o in objs:
        push_one(it, o, dest, targets, amount.meters if amount else default)
    s.mention(objs)


def gripper(it: Interpreter, verb: str, rest: list[str]) -> None:
    s = it.s
    words = [t for t in rest if t not in ("the", "your", "my", "it", "up", "of", "its")]
    if verb == "release" or not words or any(w in ARM_WORDS for w in words):
        skill = "close_gripper" if verb == "close" else "open_gripper"
        s.steps.append(Subgoal(skill))
        if skill == "open_gripper":
            held = s.world.held
            if held is not None:
                s.world.place_at(held, s.world[held].origin)
        return
    raise refuse(f"I can't {verb} {' '.join(rest)}; I can open or close my gripper.")


def arm(it: Interpreter, rest: list[str]) -> None:
    """ "move your hand above the red bowl", "move the arm to the center": a move_to."""
    s = it.s
    i = next((i for i, w in enumerate(rest[:3]) if w in ARM_WORDS), -1)
    tail = rest[i + 1 :]
    tail, point = take_point(tail)
    if point is not None:
        x, y = point
        s.steps.append(Subgoal("move_to", pose=(round(x, 3), round(y, 3), ARM_HEIGHT)))
        return
    dest = parse_dest(tail, it.ids, None)
    if dest is not None and dest.kind == "region":
        assert dest.region is not None
        x, y = REGION_CENTERS[dest.region]
        s.steps.append(Subgoal("move_to", pose=(x, y, ARM_HEIGHT)))
        return
    if dest is not None and dest.refs and dest.kind in ("on", "to", "in", "toward"):
        (target,) = it.target(dest)[:1]
        t = s.world[target]
        z = round(min(t.top + ARM_HOVER, 0.45), 3)
        s.steps.append(Subgoal("move_to", pose=(round(t.x, 3), round(t.y, 3), z)))
        return
    if dest is None and tail[:1] in (["above"], ["over"]):
        dest = parse_dest(["to", *tail[1:]], it.ids, None)
        if dest is not None and dest.refs:
            arm(it, ["to", *tail[1:]])
            return
    if dest is None and tail[:1] in (["above"], ["over"]):
        dest = parse_dest(["to", *tail[1:]], it.ids, None)
    if dest is not None and dest.kind == "direction":
        raise clarify(
            "I don't track where the hand is between commands; tell me where to move it "
            "(above an object, a region such as 'the center', or x y coordinates)."
        )
    raise clarify(f"Where should I move the arm? I didn't understand '{' '.join(tail)}'.")
