"""Contract of `ChunkingOptions`: the defaults, and the sizes it refuses, each with the reason."""

from __future__ import annotations

import pytest

from ingest_pipeline.chunk.blocks import ChunkingOptions
from ingest_pipeline.embed.models import MAX_TOKENS_PER_INPUT


def test_default_options():
    assert ChunkingOptions() == ChunkingOptions(512, 64, MAX_TOKENS_PER_INPUT)
    assert ChunkingOptions(max_tokens=MAX_TOKENS_PER_INPUT).max_tokens == 8192


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_tokens": 0}, "max_tokens must be from 1"),
        ({"max_tokens": 8193}, r"hard_limit_tokens \(8192\)"),
        ({"max_tokens": 600, "hard_limit_tokens": 512}, r"hard_limit_tokens \(512\)"),
        ({"overlap_tokens": -1}, "overlap_tokens must be"),
        ({"max_tokens": 64, "overlap_tokens": 64}, r"below max_tokens \(64\)"),
        ({"max_tokens": 10, "overlap_tokens": 7}, "at least 4"),
    ],
)
def test_invalid_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ChunkingOptions(**kwargs)
