"""A small n-gram language model: counts from sentences, interpolated Kneser-Ney, ARPA text.

Enough for the recognizer's bias model (a few thousand sentences, a few hundred words), where
the usual toolkits would be a heavy dependency. Interpolated Kneser-Ney: the highest order uses
discounted counts, lower orders continuation counts (how many different words precede an
n-gram), one absolute discount per order, D = n1 / (n1 + 2 n2). In the ARPA file each context's
backoff weight is its interpolation weight, so a decoder that backs off computes exactly the
interpolated probability.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

BOS: Final = "<s>"
EOS: Final = "</s>"
UNIFORM_FLOOR: Final = 0.01  # share of unigram mass spread evenly over the vocabulary


@dataclass
class NgramModel:
    """Probabilities and backoff weights per order: `probs[n][(w1..wn)]`, `backoffs[(w1..wk)]`."""

    order: int
    probs: list[dict[tuple[str, ...], float]]
    backoffs: dict[tuple[str, ...], float]

    @property
    def vocabulary(self) -> set[str]:
        return {w for (w,) in self.probs[0]} - {BOS}

    def prob(self, word: str, history: Sequence[str] = ()) -> float:
        """P(word | history), backing off as a decoder does (0.0 for an unknown word)."""
        context = tuple(history)[-(self.order - 1) :] if self.order > 1 else ()
        weight = 1.0
        while True:
            gram = (*context, word)
            p = self.probs[len(gram) - 1].get(gram)
            if p is not None:
                return weight * p
            if not context:
                return 0.0
            weight *= self.backoffs.get(context, 1.0)
            context = context[1:]

    def to_arpa(self) -> str:
        lines = ["\\data\\"]
        lines += [f"ngram {n + 1}={len(self.probs[n])}" for n in range(self.order)]
        for n in range(self.order):
            lines += ["", f"\\{n + 1}-grams:"]
            for gram in sorted(self.probs[n]):
                p = self.probs[n][gram]
                logp = -99.0 if p <= 0.0 else math.log10(p)
                row = f"{logp:.6f}\t{' '.join(gram)}"
                if n < self.order - 1:
                    bow = self.backoffs.get(gram)
                    if bow is not None and bow > 0.0:
                        row += f"\t{math.log10(bow):.6f}"
                lines.append(row)
        lines += ["", "\\end\\", ""]
        return "\n".join(lines)


def _discount(counts: Iterable[int]) -> float:
    hist = Counter(c for c in counts if c in (1, 2))
    n1, n2 = hist[1], hist[2]
    if n1 == 0:
        return 0.5
    return min(0.9, max(0.1, n1 / (n1 + 2 * n2)))


def train(
    sentences: Iterable[Sequence[str]],
    order: int = 3,
    vocabulary: Iterable[str] = (),
    discount: float | None = None,
) -> NgramModel:
    """An interpolated Kneser-Ney model of `order` from tokenized sentences (repeat a sentence
    to weight it); words of `vocabulary` that no sentence uses get the uniform share only.
    `discount` fixes the absolute discount of every order (smaller: less mass for unseen
    continuations, a model closer to a grammar of the sentences)."""
    if order < 1:
        raise ValueError("order must be at least 1")
    raw: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(order)]
    for sentence in sentences:
        words = [BOS, *sentence, EOS]
        for n in range(1, order + 1):
            for i in range(len(words) - n + 1):
                gram = tuple(words[i : i + n])
                if gram != (BOS,):
                    raw[n - 1][gram] += 1
    # Counts each order's estimate uses: raw for the highest order and for n-grams that start
    # the sentence; continuation counts (distinct left neighbours) for the lower orders.
    counts: list[dict[tuple[str, ...], int]] = [dict(c) for c in raw]
    for n in range(order - 1):
        cont: Counter[tuple[str, ...]] = Counter()
        for gram in raw[n + 1]:
            cont[gram[1:]] += 1
        counts[n] = {g: (c if g[0] == BOS else cont.get(g, c)) for g, c in raw[n].items()}
    vocab = sorted(({g[0] for g in raw[0]} | set(vocabulary) | {EOS}) - {BOS})
    probs: list[dict[tuple[str, ...], float]] = [{} for _ in range(order)]
    backoffs: dict[tuple[str, ...], float] = {}
    # unigrams: continuation distribution, with a small uniform share
    total = sum(c for g, c in counts[0].items() if g[0] != BOS)
    for w in vocab:
        c = counts[0].get((w,), 0)
        probs[0][(w,)] = (1 - UNIFORM_FLOOR) * c / total + UNIFORM_FLOOR / len(vocab)
    probs[0][(BOS,)] = 0.0
    for n in range(1, order):
        d = discount if discount is not None else _discount(counts[n].values())
        by_context: dict[tuple[str, ...], dict[str, int]] = defaultdict(dict)
        for gram, c in counts[n].items():
            by_context[gram[:-1]][gram[-1]] = c
        for context, followers in by_context.items():
            ctotal = sum(followers.values())
            gamma = d * len(followers) / ctotal
            backoffs[context] = gamma
            lower = context[1:]
            for w, c in followers.items():
                lower_p = _lower(probs, backoffs, lower, w)
                probs[n][(*context, w)] = max(c - d, 0.0) / ctotal + gamma * lower_p
    return NgramModel(order, probs, backoffs)


def _lower(
    probs: list[dict[tuple[str, ...], float]],
    backoffs: dict[tuple[str, ...], float],
    context: tuple[str, ...],
    word: str,
) -> float:
    weight = 1.0
    while True:
        p = probs[len(context)].get((*context, word))
        if p is not None:
            return weight * p
        if not context:
            return 0.0
        weight *= backoffs.get(context, 1.0)
        context = context[1:]
