"""Token-aware micro-batches: consecutive inputs packed under a request's input and token limits."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Sequence


class InputTooLong(ValueError):
    def __init__(self, index: int, tokens: int, limit: int):
        super().__init__(f"input {index} has {tokens} tokens, over the model's limit of {limit} per input")
        self.index, self.tokens, self.limit = index, tokens, limit


@dataclass(frozen=True)
class BatchLimits:
    max_inputs: int
    max_tokens: int
    max_tokens_per_input: int


def token_batches(token_counts: Sequence[int], limits: BatchLimits) -> list[range]:
    """Index ranges, in order, each within both limits; greedy, which is optimal for in-order packing.

    Raises InputTooLong for an input no request could carry: chunking should never produce one.
    """
    batches: list[range] = []
    start, tokens = 0, 0
    for index, count in enumerate(token_counts):
        if count > limits.max_tokens_per_input:
            raise InputTooLong(index, count, limits.max_tokens_per_input)
        if index > start and (index - start >= limits.max_inputs or tokens + count > limits.max_tokens):
            batches.append(range(start, index))
            start, tokens = index, 0
        tokens += count
    if len(token_counts) > start:
        batches.append(range(start, len(token_counts)))
    return batches


def minimum_requests(token_counts: Sequence[int], limits: BatchLimits) -> int:
    """The fewest requests any packing could use: the bound benchmarks compare against."""
    return minimum_requests_for(len(token_counts), sum(token_counts), limits)


def minimum_requests_for(inputs: int, tokens: int, limits: BatchLimits) -> int:
    """`minimum_requests` from totals alone: the bound needs only the input and token counts."""
    if not inputs:
        return 0
    return max(ceil(inputs / limits.max_inputs), ceil(tokens / limits.max_tokens))
