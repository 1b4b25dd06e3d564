"""The recognizer's bias: a trigram language model of this robot's commands for one scene.

`build_bias(scene, folder)` writes into `folder`: `bias.arpa` (interpolated Kneser-Ney,
`arpa.train`), `bias.fsg` (the same sentences as a grammar, `grammar.write_fsg`) and
`bias.dict` (pronunciations of their words). Sentences come from `corpus.corpus`;
every word is checked against the pocketsphinx dictionary (compounds get a pronunciation built
from their parts, `pronounce.pronounce`); a sentence with a word that cannot be pronounced is
dropped and the word is reported in `BiasModel.dropped`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from robot_llm.speech import arpa
from robot_llm.speech.corpus import corpus, lexicon_words
from robot_llm.speech.grammar import write_fsg
from robot_llm.speech.pronounce import load_dictionary, pronounce, write_dictionary
from robot_llm.types import Scene

ORDER: Final = 3
DISCOUNT: float | None = None


@dataclass
class BiasModel:
    """A built bias model: its files, its vocabulary and what was left out."""

    lm_path: Path
    dict_path: Path
    fsg_path: Path
    key: str  # what the scene (and extras) looked like to the corpus: same key, same model
    vocabulary: frozenset[str]
    sentences: int
    dropped: frozenset[str] = field(default_factory=frozenset)
    model: arpa.NgramModel | None = field(default=None, repr=False)
    grammar: frozenset[str] = field(default_factory=frozenset, repr=False)  # the fsg's sentences


def scene_key(scene: Scene | None, extra: Iterable[str] = ()) -> str:
    """What the corpus depends on in a scene: the objects' kinds, colors and sizes."""
    parts = sorted(f"{o.kind}:{o.color}:{o.size}" for o in scene.objects) if scene else []
    text = "|".join(parts) + "#" + "|".join(extra)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def build_bias(
    scene: Scene | None,
    folder: Path,
    extra: Iterable[str] = (),
    suite: bool = True,
    exclude: Iterable[str] = (),
) -> BiasModel:
    """Build and write the bias model of `scene` into `folder`.

    `extra` adds sentences (spoken form); `exclude` removes sentences (the benchmark holds its
    test commands out this way); `suite=False` leaves the planner suite out.
    """
    extra = list(extra)
    dictionary = load_dictionary()
    removed = set(exclude)
    sentences = [s for s in corpus(scene, extra, suite=suite) if s not in removed]
    words = {w for s in sentences for w in s.split()} | lexicon_words()
    speakable = {w for w in words if pronounce(w, dictionary)}
    dropped = frozenset(words - speakable)
    kept = [s.split() for s in sentences if all(w in speakable for w in s.split())]
    # words of the planner's tables that no sentence uses get the unigram floor only
    model = arpa.train(kept, ORDER, vocabulary=speakable, discount=DISCOUNT)
    folder.mkdir(parents=True, exist_ok=True)
    lm_path, dict_path = folder / "bias.arpa", folder / "bias.dict"
    lm_path.write_text(model.to_arpa(), encoding="utf-8")
    fsg_path = folder / "bias.fsg"
    write_fsg((" ".join(s) for s in kept), fsg_path)
    write_dictionary(model.vocabulary - {arpa.EOS}, dict_path, dictionary)
    return BiasModel(
        lm_path,
        dict_path,
        fsg_path,
        scene_key(scene, extra),
        frozenset(model.vocabulary - {arpa.EOS}),
        len(kept),
        dropped,
        model,
        frozenset(" ".join(s) for s in kept),
    )
