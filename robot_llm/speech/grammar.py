"""A finite-state grammar of whole sentences: the corpus as a minimal word automaton.

The recognizer's second pass (`sphinx.PocketsphinxRecognizer`) decodes with this grammar, which
accepts exactly the corpus sentences, all equally likely. Sentences share prefixes and suffixes
("put the red block in the ... bowl"), so the automaton is minimized: a trie whose states with
the same future (the same set of sentence endings) are merged. That keeps the search small.
Written in the pocketsphinx FSG format.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def build_fsg(sentences: Iterable[str], name: str = "commands") -> tuple[str, int]:
    """The FSG text accepting exactly `sentences` (distinct, space-separated words) and its
    number of states."""
    children: list[dict[str, int]] = [{}]
    final: list[bool] = [False]
    for sentence in sorted(set(sentences)):
        state = 0
        for word in sentence.split():
            nxt = children[state].get(word)
            if nxt is None:
                nxt = len(children)
                children[state][word] = nxt
                children.append({})
                final.append(False)
            state = nxt
        final[state] = True
    # Merge states with equal futures, deepest first (children are numbered after parents).
    canon: dict[int, int] = {}
    signature_of: dict[tuple[object, ...], int] = {}
    for state in range(len(children) - 1, -1, -1):
        sig = (final[state], tuple(sorted((w, canon[c]) for w, c in children[state].items())))
        canon[state] = signature_of.setdefault(sig, state)
    kept = sorted(set(canon.values()))
    number = {s: i for i, s in enumerate(kept)}
    # sentences reachable from each state: each sentence equally likely
    paths: dict[int, int] = {}
    for state in sorted(kept, reverse=True):
        paths[state] = int(final[state]) + sum(paths[canon[c]] for c in children[state].values())
    end = len(kept)
    lines = [
        f"FSG_BEGIN {name}",
        f"NUM_STATES {end + 1}",
        "START_STATE 0",
        f"FINAL_STATE {end}",
    ]
    for state in kept:
        total = paths[state]
        for word, child in sorted(children[state].items()):
            c = canon[child]
            lines.append(f"TRANSITION {number[state]} {number[c]} {paths[c] / total:.6g} {word}")
        if final[state]:
            lines.append(f"TRANSITION {number[state]} {end} {1 / total:.6g}")
    lines.append("FSG_END")
    return "\n".join(lines) + "\n", end + 1


def write_fsg(sentences: Iterable[str], path: Path, name: str = "commands") -> int:
    """Write the grammar of `sentences` to `path`; its number of states."""
    text, states = build_fsg(sentences, name)
    path.write_text(text, encoding="utf-8")
    return states
