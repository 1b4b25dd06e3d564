"""Constrained decoding: the answer's JSON Schema, compiled by xgrammar, masks every token that
would break it, so a local model can only write a well-formed answer.

xgrammar was chosen over lm-format-enforcer (both checked with transformers 5.24 on CPU; see
docs/llm-planners.md): it keeps the schema's property order and writes compact JSON (about half
the tokens), and its mask costs about 1 ms a token. Only its CPU path is used: it is installed
without its GPU kernel dependency (triton).

A small model may not stop on its own (it repeats subgoals), so the processor has a token budget:
past `soft_limit` new tokens it prefers, wherever the grammar allows one, a token that closes a
string, a list or an object, and the answer ends within a few tokens. It records when that
changed the model's choice (`forced`): a question or a reason cut short is still usable, a plan
cut short is not (the backend rejects it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import torch
import xgrammar as xgr
from transformers import LogitsProcessor

CLOSING: Final = frozenset('"]}')


class Grammar:
    """xgrammar's view of one tokenizer, and the JSON Schemas compiled for it (cached)."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_ids: Sequence[int]) -> None:
        self.vocab_size = vocab_size
        self.stop_ids = list(stop_ids)
        info = xgr.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=vocab_size, stop_token_ids=self.stop_ids
        )
        self.compiler = xgr.GrammarCompiler(info)
        self.closers = closing_tokens(tokenizer, vocab_size)
        self._cache: dict[str, Any] = {}

    def compile(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema)
        if key not in self._cache:
            if len(self._cache) > 32:
                self._cache.clear()
            self._cache[key] = self.compiler.compile_json_schema(
                key, any_whitespace=False, separators=(",", ":")
            )
        return self._cache[key]

    def processor(self, schema: dict[str, Any], soft_limit: int) -> JsonConstraint:
        return JsonConstraint(self.compile(schema), self.vocab_size, self.closers, soft_limit)


def closing_tokens(tokenizer: Any, vocab_size: int) -> torch.Tensor:
    """A mask of the tokens that only close strings, lists or objects (`"`, `]`, `}`, `"]}` ...)."""
    size = min(vocab_size, len(tokenizer))
    texts = tokenizer.batch_decode([[i] for i in range(size)])
    mask = torch.zeros(vocab_size, dtype=torch.bool)
    for i, text in enumerate(texts):
        t = text.strip()
        if t and set(t) <= CLOSING:
            mask[i] = True
    return mask


class JsonConstraint(LogitsProcessor):
    """Masks the logits of one generation (batch of one) to what the grammar allows next.

    Use a new one per `generate` call. `tokens` counts the tokens it saw accepted.
    """

    def __init__(
        self, compiled: Any, vocab_size: int, closers: torch.Tensor, soft_limit: int
    ) -> None:
        self.matcher = xgr.GrammarMatcher(compiled)
        self.bitmask = xgr.allocate_token_bitmask(1, vocab_size)
        self.closers = closers
        self.soft_limit = soft_limit
        self.tokens = 0
        self.forced = False  # the budget made it close something the model would have continued
        self._started = False

    @property
    def complete(self) -> bool:
        """Whether the text so far is a whole answer (the generation ended on its own)."""
        return bool(self.matcher.is_completed() or self.matcher.is_terminated())

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[0] != 1:
            raise ValueError("JsonConstraint decodes one sequence at a time")
        if self._started and not self.matcher.is_terminated():
            if not self.matcher.accept_token(int(input_ids[0, -1])):
                raise RuntimeError("the grammar rejected a token it allowed")
            self.tokens += 1
        self._started = True
        if self.matcher.is_terminated():
            return scores
        self.matcher.fill_next_token_bitmask(self.bitmask, 0)
        xgr.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device))
        if self.tokens >= self.soft_limit:
            n = scores.shape[-1]
            closing = torch.isfinite(scores[0]) & self.closers[:n].to(scores.device)
            if bool(closing.any()):
                best = int(scores[0].argmax())
                scores[0, ~closing] = float("-inf")
                self.forced = self.forced or not bool(closing[best])
        return scores
