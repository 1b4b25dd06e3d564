"""Pronunciations for the recognizer's words, from the CMU dictionary pocketsphinx ships.

A word missing from the dictionary gets one built from its parts when it is a compound of
dictionary words ("leftmost" = left + most, "mid-sized" = mid + sized, "lightblue" = light +
blue); any other missing word has no pronunciation and is left out of the language model.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Final

MIN_PART: Final = 2  # compound parts shorter than this are not split off ("a" + "round")


def model_dir() -> Path:
    """The US-English model folder of the pocketsphinx package (acoustic model, dictionary)."""
    import pocketsphinx

    return Path(pocketsphinx.get_model_path())


def default_dictionary() -> Path:
    return model_dir() / "en-us" / "cmudict-en-us.dict"


@lru_cache(maxsize=4)
def load_dictionary(path: str | os.PathLike[str] | None = None) -> dict[str, tuple[str, ...]]:
    """word -> its pronunciations (phone strings), alternates ("word(2)") included."""
    out: dict[str, list[str]] = {}
    source = Path(path) if path is not None else default_dictionary()
    with source.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            word, _, phones = line.strip().partition(" ")
            if not phones:
                continue
            word = word.split("(", 1)[0]
            out.setdefault(word, []).append(phones.strip())
    return {w: tuple(p) for w, p in out.items()}


def pronounce(word: str, dictionary: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The word's pronunciations: from the dictionary, else joined from its parts; () if none."""
    if word in dictionary:
        return dictionary[word]
    parts = [p for p in word.replace("-", " ").replace("'", " ").split() if p]
    if len(parts) > 1 and all(p in dictionary for p in parts):
        return (" ".join(dictionary[p][0] for p in parts),)
    split = _split_compound(word.replace("-", ""), dictionary)
    if split:
        return (" ".join(dictionary[p][0] for p in split),)
    return ()


def _split_compound(word: str, dictionary: dict[str, tuple[str, ...]]) -> list[str] | None:
    """The split of `word` into the fewest dictionary words (each at least MIN_PART letters)."""
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(MIN_PART, n + 1):
        for start in range(0, end - MIN_PART + 1):
            head = best[start]
            part = word[start:end]
            if head is None or part not in dictionary:
                continue
            if best[end] is None or len(head) + 1 < len(best[end] or ()):
                best[end] = [*head, part]
    got = best[n]
    return got if got is not None and len(got) > 1 else None


def write_dictionary(
    words: set[str], path: Path, dictionary: dict[str, tuple[str, ...]]
) -> set[str]:
    """Write a pocketsphinx dictionary of `words` to `path`; the words it could not pronounce."""
    missing = set()
    lines = []
    for word in sorted(words):
        phones = pronounce(word, dictionary)
        if not phones:
            missing.add(word)
            continue
        for k, p in enumerate(phones):
            lines.append(f"{word} {p}" if k == 0 else f"{word}({k + 1}) {p}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return missing
