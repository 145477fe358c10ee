"""Token-aware batching never exceeds a request's limits and uses as few requests as in-order packing allows."""

from __future__ import annotations

import random

import pytest

from ingest_pipeline.embed.batching import BatchLimits, InputTooLong, minimum_requests, token_batches
from ingest_pipeline.embed.models import MAX_INPUTS_PER_REQUEST, MAX_TOKENS_PER_INPUT, MAX_TOKENS_PER_REQUEST

OPENAI = BatchLimits(MAX_INPUTS_PER_REQUEST, MAX_TOKENS_PER_REQUEST, MAX_TOKENS_PER_INPUT)
SMALL = BatchLimits(max_inputs=3, max_tokens=10, max_tokens_per_input=10)


@pytest.mark.parametrize("counts, expected", [
    ([], []),
    ([1], [range(0, 1)]),
    ([1, 1, 1], [range(0, 3)]),
    ([1, 1, 1, 1], [range(0, 3), range(3, 4)]),          # input count limit
    ([6, 5], [range(0, 1), range(1, 2)]),                # token limit
    ([10, 10, 10], [range(0, 1), range(1, 2), range(2, 3)]),
    ([4, 6, 1, 9], [range(0, 2), range(2, 4)]),          # exactly at the limit
])
def test_small_cases(counts, expected):
    assert token_batches(counts, SMALL) == expected


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("typical", [20, 500, 4000])
def test_random_corpora_stay_within_limits_and_near_the_minimum(seed, typical):
    rng = random.Random(seed)
    counts = [rng.randint(1, min(MAX_TOKENS_PER_INPUT, typical * 2)) for _ in range(rng.randint(1, 20000))]
    batches = token_batches(counts, OPENAI)
    assert [i for batch in batches for i in batch] == list(range(len(counts)))
    for batch in batches:
        assert len(batch) <= MAX_INPUTS_PER_REQUEST
        assert sum(counts[i] for i in batch) <= MAX_TOKENS_PER_REQUEST
    assert len(batches) <= minimum_requests(counts, OPENAI) * 1.05 + 1


def test_an_input_over_the_per_input_limit_is_refused_by_index():
    with pytest.raises(InputTooLong) as refused:
        token_batches([5, MAX_TOKENS_PER_INPUT + 1], OPENAI)
    assert refused.value.index == 1 and "8192" in str(refused.value)
