"""The chunker resource: chunk size and overlap, configured once for the `chunks` asset."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from ingest_pipeline.chunk.blocks import DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP_TOKENS, ChunkingOptions


class ChunkerResource(dg.ConfigurableResource):
    max_tokens: int = Field(default=DEFAULT_MAX_TOKENS, description="Largest chunk, in cl100k_base tokens.")
    overlap_tokens: int = Field(default=DEFAULT_OVERLAP_TOKENS,
                                description="Tokens of the previous chunk repeated at the start.")

    @property
    def options(self) -> ChunkingOptions:
        return ChunkingOptions(max_tokens=self.max_tokens, overlap_tokens=self.overlap_tokens)
