"""How the planner names objects and lists in its questions and refusals."""

from __future__ import annotations

from collections.abc import Sequence

from robot_llm.planning.table_model import TableModel, Thing


def join(words: Sequence[str], last: str = "and") -> str:
    words = list(words)
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def plural(kind: str) -> str:
    return f"{kind}es" if kind.endswith(("x", "sh")) else f"{kind}s"


def article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def name(t: Thing, world: TableModel) -> str:
    """ "the red block", "the large red block", or with the id when nothing else tells apart."""
    same = [o for o in world if o.kind == t.kind and o.color == t.color]
    if len(same) <= 1:
        return f"the {t.color} {t.kind}"
    if sum(o.size == t.size for o in same) == 1:
        return f"the {t.size} {t.color} {t.kind}"
    return f"the {t.color} {t.kind} {t.id}"


def names(ids: Sequence[str], world: TableModel) -> str:
    return join([name(world[i], world) for i in ids])


def inventory(things: Sequence[Thing]) -> str:
    """What is visible, grouped by kind: "red, green and blue blocks, a green bowl and a zone"."""
    parts = []
    kinds: list[str] = []
    for t in things:
        if t.kind not in kinds:
            kinds.append(t.kind)
    for kind in kinds:
        group = [t for t in things if t.kind == kind]
        colors: list[str] = []
        for t in group:
            if t.color not in colors:
                colors.append(t.color)
        if len(group) == 1:
            parts.append(f"{article(group[0].color)} {kind}")
        elif len(colors) == 1:
            parts.append(f"{len(group)} {colors[0]} {plural(kind)}")
        else:
            parts.append(f"{join(colors)} {plural(kind)}")
    return join(parts) if parts else "nothing"


def distinguishing(ids: Sequence[str], world: TableModel) -> list[str]:
    """Short names that tell the candidates apart: "the red one", "the large one", "the one on
    the left", falling back to ids."""
    things = [world[i] for i in ids]
    if len({t.kind for t in things}) > 1:
        named = [f"the {t.color} {t.kind}" for t in things]
        if len(set(named)) == len(things):
            return named
    colors = [t.color for t in things]
    if len(set(colors)) == len(things):
        return [f"the {t.color} one" for t in things]
    sizes = [t.size for t in things]
    if len(set(sizes)) == len(things):
        return [f"the {t.size} one" for t in things]
    combos = [(t.size, t.color) for t in things]
    if len(set(combos)) == len(things):
        return [f"the {s} {c} one" for s, c in combos]
    if len(things) == 2:
        a, b = things
        if abs(a.y - b.y) > 0.03:
            return ["the one on the left", "the one on the right"][:: 1 if a.y > b.y else -1]
        if abs(a.x - b.x) > 0.03:
            return ["the one in front", "the one at the back"][:: 1 if a.x < b.x else -1]
    return [t.id for t in things]


def which_question(ids: Sequence[str], world: TableModel, noun: str) -> str:
    options = distinguishing(ids, world)
    return f"Which {noun}: {join(options, 'or')}?"
