"""The rule planner's reading of one command: clauses, their actions, their objects.

`Interpreter.run` splits the command into clauses (merging "pick up every red block and drop it
in the bowl" into one put, folding tower descriptions together), then plans each clause on the
`PlanDraft`: the action words pick the clause's handler (`verbs.HANDLERS`). `choose_split`
finds where the object phrase ends and the destination begins, trying every cut and keeping the
reading that grounds best in the scene.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from robot_llm.planning import hanoi, pyramid, towers
from robot_llm.planning.clauses import run_on_cuts, take_push_mode
from robot_llm.planning.describe import join, which_question
from robot_llm.planning.destinations import ON_TOP, Dest, dest_starts, parse_dest
from robot_llm.planning.draft import ClauseInfo, PlanDraft, clarify, refuse
from robot_llm.planning.lexicon import CAPABILITIES
from robot_llm.planning.np_parser import parse_np
from robot_llm.planning.refs import Ref
from robot_llm.planning.resolution import Ambiguous, Found, Resolution, missing_question
from robot_llm.planning.resolve import resolve
from robot_llm.planning.text import (
    soft_splits,
    split_pieces,
    strip_ellipsis_marks,
    strip_prefixes,
    take_distance,
    take_point,
    tokenize,
)
from robot_llm.planning.verb_words import find_verb, starts_action
from robot_llm.planning.verbs import HANDLERS

SORT_HINTS: Final = re.compile(
    r"\b(its (own )?colou?r|their (own )?colou?rs?|(the )?same colou?r|matching colou?r|"
    r"matches its colou?r|by colou?r)\b"
)


def _severity(r: Resolution | None) -> float:
    if r is None or isinstance(r, Found):
        return 0.0
    if isinstance(r, Ambiguous):
        return 1.0
    return 2.0 if r.alternatives else 3.0


class Interpreter:
    """Turns the clauses of one command into subgoals on a PlanDraft."""

    def __init__(self, session: PlanDraft) -> None:
        self.s = session
        self.ids = frozenset(session.world.things)
        self._landmarks: list[str] = []  # what the current object phrase was described by

    def landmarks(self, ref: Ref) -> list[str]:
        out: list[str] = []
        for rel in ref.relations:
            for a in rel.args:
                r = self.resolve(a, "landmark")
                if isinstance(r, Found):
                    out += list(r.ids)
        return out

    def run(self, tokens: list[str]) -> None:
        if pyramid.is_pyramid(tokens):
            pyramid.build(self, tokens)
            return
        tokens = hanoi.strip_tower_rules(tokens)
        clauses: list[list[str]] = []
        for piece in split_pieces(tokens):
            for part in run_on_cuts(strip_prefixes(list(piece.tokens))):
                clauses.extend(self.soft_split(strip_prefixes(part)))
        clauses = self.merge_picks(self.merge_towers([c for c in clauses if c]))
        if not clauses:
            raise clarify(f"What should I do? I can {CAPABILITIES}.")
        for c in clauses:
            self.clause(c)

    def soft_split(self, toks: list[str]) -> list[list[str]]:
        # "without lifting it(,) move the block ...": the manner goes last
        k = toks.index(",") if "," in toks else _action_start(toks)
        if k:
            lead, rest = take_push_mode(toks[:k])
            if rest != toks[:k] and not lead:
                return self.soft_split([*toks[k + (toks[k] == ",") :], *toks[:k]])
        for k in soft_splits(toks):
            left = toks[:k]
            right = strip_prefixes(toks[k + 1 :])
            while right and right[0] in ("and", ","):
                right = right[1:]
            if not left or not right:
                continue
            if starts_action(right) and not _inside_between(toks, k):
                return self.soft_split(left) + self.soft_split(right)
            _stripped, marked = strip_ellipsis_marks(list(toks[k + 1 :]))
            if (
                find_verb(left) is not None
                and not starts_action(right)
                and not _inside_between(toks, k)
                and (marked or (self._has_dest(left) and self._has_dest(["x", *right])))
            ):
                return [*self.soft_split(left), toks[k + 1 :]]
        return [toks]

    def _has_dest(self, toks: list[str]) -> bool:
        v = find_verb(toks)
        rest = toks[v[1] :] if v else toks
        return any(parse_dest(rest[i:], self.ids, (0.0, 0.0)) for i in dest_starts(rest))

    def merge_towers(self, clauses: list[list[str]]) -> list[list[str]]:
        out: list[list[str]] = []
        for c in clauses:
            if (
                out
                and towers.is_tower_clause(out[-1], self.ids)
                and find_verb(c) is None
                and not strip_ellipsis_marks(list(c))[1]
            ):
                out[-1] = [*out[-1], "then", *c]
            else:
                out.append(c)
        return out

    def merge_picks(self, clauses: list[list[str]]) -> list[list[str]]:
        """ "pick up every red block and drop it in the bowl": one put of every red block."""
        out: list[list[str]] = []
        i = 0
        while i < len(clauses):
            c = clauses[i]
            v = find_verb(c)
            nxt = clauses[i + 1] if i + 1 < len(clauses) else None
            if v is not None and v[0] in ("pick", "take") and nxt is not None:
                nv = find_verb(nxt)
                obj = [w for w in c[v[1] :] if w != "up"]
                ref = parse_np(obj, self.ids)
                if nv is not None and nv[0] == "put" and ref is not None and ref.many:
                    rest = nxt[nv[1] :]
                    for pron in (
                        ["each", "one"],
                        ["each", "of", "them"],
                        ["it"],
                        ["them"],
                        ["each"],
                    ):
                        if rest[: len(pron)] == pron:
                            out.append([*nxt[: nv[1]], *obj, *rest[len(pron) :]])
                            i += 2
                            break
                    else:
                        out.append(c)
                        i += 1
                    continue
            out.append(c)
            i += 1
        return out

    # -- dispatch --------------------------------------------------------------------------------
    def clause(self, toks: list[str]) -> None:
        toks = strip_prefixes(toks)
        if not toks:
            return
        if toks[:2] == ["do", "not"] or toks[0] in ("never", "dont"):
            raise refuse(
                f"I plan what to do, not what to avoid; tell me the action you want. I can "
                f"{CAPABILITIES}."
            )
        v = find_verb(toks)
        if v is None and strip_ellipsis_marks(list(toks))[0] != toks:
            self.ellipsis(toks)  # "what about the blue one?", "do the same with ..."
            return
        if v is None:
            put = self.copula(toks)
            if put is not None:
                self.clause(put)
                return
        if v is None:
            if toks[0] in ("what", "where", "how", "why", "is", "are", "do", "does", "can"):
                raise refuse(f"I plan actions; I don't answer questions. I can {CAPABILITIES}.")
            if starts_action(toks):
                raise self.s.unsupported(toks[0])
            self.ellipsis(toks)
            return
        verb, n = v
        words, rest = toks[:n], toks[n:]
        while rest[-2:] == ["as", "well"] or rest[-1:] in (["too"], ["also"]):
            rest = rest[:-2] if rest[-1] == "well" else rest[:-1]
        s = self.s
        if verb == "take" and rest[-1:] == ["apart"]:
            verb, rest = "unstack", rest[:-1]
        if verb == "put" and SORT_HINTS.search(" ".join(rest)):
            verb = "sort"  # "put each block in the bowl of its color"
        if verb in ("put", "stack", "build") and hanoi.is_tower_move(toks):
            hanoi.move_tower(self, toks)
            return
        if verb == "put" and towers.is_tower_clause(toks, self.ids):
            verb = "build"  # "put the blocks in a single stack: ..."
        handler = HANDLERS.get(verb)
        if handler is None:  # every action of the verb table has a handler (tests/test_planning)
            raise s.unsupported(words[0])
        handler(self, verb, words, rest, toks)

    # -- resolution helpers ----------------------------------------------------------------------
    def need(self, res: Resolution, what: str = "") -> list[str]:
        """The ids of a resolution, or the question / refusal it calls for."""
        world = self.s.world
        if isinstance(res, Found):
            return list(res.ids)
        if isinstance(res, Ambiguous):
            if res.want > 1:
                raise clarify(
                    f"Which {res.want} {res.noun}s: {join(self.s.world_names(res.candidates))}?",
                    res.candidates,
                )
            raise clarify(which_question(res.candidates, world, res.noun), res.candidates)
        if res.alternatives:
            raise clarify(missing_question(res), res.alternatives)
        raise refuse(res.message)

    def resolve(self, ref: Ref, role: str) -> Resolution:
        return resolve(ref, self.s.ctx, role)

    def choose_split(
        self,
        rest: list[str],
        role: str,
        point: tuple[float, float] | None,
        allow_dest: bool = True,
        prefer_dest: bool = True,
    ) -> tuple[Ref, Resolution, Dest | None, Resolution | None, list[str]]:
        """Cut `rest` into object phrase and destination, the reading that grounds best.

        Ties go to the shorter object phrase. The reading the verb does not prefer (no
        destination for "put", a destination for "pick up") only wins when it grounds cleanly
        and nothing else does.
        """
        best: tuple[float, int] | None = None
        chosen: tuple[Ref, Resolution, Dest | None, Resolution | None, list[str]] | None = None
        cuts = [*dest_starts(rest), len(rest)] if allow_dest else [len(rest)]
        for i in cuts:
            obj_t, dest_t = rest[:i], rest[i:]
            ref = parse_np(obj_t, self.ids)
            if ref is None:
                continue
            dest = parse_dest(dest_t, self.ids, point) if dest_t else None
            if dest_t and dest is None:
                continue
            res = self.resolve(ref, role)
            self._landmarks = self.landmarks(ref)
            dres = self.dest_resolution(dest, res.ids if isinstance(res, Found) else ())
            sev = max(_severity(res), _severity(dres))
            if (dest is None) == prefer_dest:  # the dispreferred reading must ground cleanly
                sev = 1.5 if sev == 0 else 4.0 + sev
            score = (sev, i)
            if best is None or score < best:
                best, chosen = score, (ref, res, dest, dres, dest_t)
        if chosen is None:
            raise clarify(
                f"I didn't understand '{' '.join(rest)}'. I can {CAPABILITIES}.",
            )
        return chosen

    def dest_resolution(self, dest: Dest | None, moving: Sequence[str] = ()) -> Resolution | None:
        """Ground a destination's objects; what is being moved is not a candidate target."""
        if dest is None or not dest.refs:
            return None
        role = {"on": "on", "in": "in", "to": "to", "toward": "to"}.get(dest.kind, "landmark")
        moving_kinds = frozenset(self.s.world[m].kind for m in moving if m in self.s.world)
        saved = self.s.ctx.mentioned
        if moving and all(r.words != ON_TOP for r in dest.refs):
            # "in the bowl closest to it": it is what moves
            self.s.ctx.mentioned = list(moving)
        try:
            return self._dest_resolution(dest, role, moving, moving_kinds)
        finally:
            self.s.ctx.mentioned = saved

    def _dest_resolution(
        self, dest: Dest, role: str, moving: Sequence[str], moving_kinds: frozenset[str]
    ) -> Resolution | None:
        out: Found | None = None
        for ref in dest.refs:
            r = self.resolve(ref, role)
            if ref.quant == "it" and isinstance(r, Found) and set(r.ids) <= set(moving):
                # "put the block nearest to the blue bowl into it": it is the bowl
                lm = [i for i in self._landmarks if i not in moving]
                if lm:
                    r = Found((lm[-1],))
            if (
                ref.noun == "one"
                and ref.kinds is None
                and moving_kinds
                and not isinstance(r, Found)
            ):
                # "next to the blue one" after "the green block": one = block
                same = self.resolve(replace(ref, kinds=moving_kinds), role)
                if isinstance(same, Found):
                    r = same
            if isinstance(r, Ambiguous) and moving:
                rest = tuple(c for c in r.candidates if c not in moving)
                if len(rest) == 1:
                    r = Found(rest)
                elif rest and len(rest) < len(r.candidates):
                    r = Ambiguous(rest, r.noun, r.want)
            if not isinstance(r, Found):
                return r
            if len(r.ids) > 1 and dest.kind in ("on", "in", "to", "toward", "side", "near"):
                return Ambiguous(r.ids, ref.noun or "one")
            out = r if out is None else Found(out.ids + r.ids)
        return out

    def target(self, dest: Dest, moving: Sequence[str] = ()) -> list[str]:
        r = self.dest_resolution(dest, moving)
        assert r is not None
        ids = self.need(r)
        for i in ids:
            if i not in self.s.ctx.said:
                self.s.ctx.said.append(i)
        return ids

    def copula(self, toks: list[str]) -> list[str] | None:
        """ "the red blocks should go in the green bowl" -> "put the red blocks in ..."."""
        for i, w in enumerate(toks):
            if w not in ("go", "goes", "belong", "belongs", "be"):
                continue
            j = i - 1
            while j >= 0 and toks[j] in (
                "should",
                "must",
                "to",
                "needs",
                "need",
                "has",
                "have",
                "will",
                "shall",
                "can",
                "could",
            ):
                j -= 1
            k = i + 1
            if w == "be" and toks[k : k + 1] in (["placed"], ["put"], ["moved"]):
                k += 1
            head, tail = toks[: j + 1], toks[k:]
            if (
                head
                and tail
                and parse_np(head, self.ids) is not None
                and parse_dest(tail, self.ids, None) is not None
            ):
                return ["put", *head, *tail]
        return None

    # -- ellipsis --------------------------------------------------------------------------------
    def ellipsis(self, toks: list[str]) -> None:
        """A clause without an action word: the previous action with another object."""
        s = self.s
        core, _marked = strip_ellipsis_marks(list(toks))
        prev = s.prev or self.previous_turn_clause()
        ref = parse_np(core, self.ids)
        own_dest = any(
            parse_np(core[:i], self.ids) and parse_dest(core[i:], self.ids, (0.0, 0.0))
            for i in dest_starts(core)
        )
        if prev is None:
            if ref is not None:
                ids = self.need(self.resolve(ref, "any"))
                raise clarify(f"What should I do with {s.names(ids)}? I can {CAPABILITIES}.", ids)
            raise clarify(f"I didn't understand '{' '.join(toks)}'. I can {CAPABILITIES}.")
        if ref is not None and not own_dest:
            new = [*prev.verb_words, *core, *prev.dest_words]
        else:
            new = [*prev.verb_words, *core]
        if find_verb(new) is None:  # pragma: no cover - verb words always start with a verb
            raise clarify(f"I didn't understand '{' '.join(toks)}'.")
        self.clause(new)

    def previous_turn_clause(self) -> ClauseInfo | None:
        for turn in reversed(self.s.history.turns):
            clauses: list[list[str]] = []
            for piece in split_pieces(tokenize(turn.command)):
                clauses.extend(self.soft_split(strip_prefixes(list(piece.tokens))))
            for c in reversed(clauses):
                c = self.copula(c) or c
                v = find_verb(c)
                if v is None:
                    continue
                verb, n = v
                if verb not in ("put", "push", "pick", "take", "stack", "away"):
                    return None
                rest = c[n:]
                rest, _ = take_distance(rest)
                rest, point = take_point(rest)
                for i in dest_starts(rest):
                    if parse_np(rest[:i], self.ids) and parse_dest(rest[i:], self.ids, point):
                        return ClauseInfo(verb, c[:n], rest[i:])
                return ClauseInfo(verb, c[:n], [])
        return None


def _action_start(toks: list[str]) -> int:
    """Where the first action after the start of a clause begins (0: none)."""
    return next((k for k in range(1, len(toks)) if starts_action(toks[k:])), 0)


def _inside_between(toks: list[str], k: int) -> bool:
    """An "and" that joins the two landmarks of "between A and B"."""
    return (
        toks[k] == "and" and "between" in toks[:k] and "and" not in toks[toks.index("between") : k]
    )
