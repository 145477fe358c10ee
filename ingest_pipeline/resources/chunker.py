"""The chunker resource: chunk size and overlap, configured once for the `chunks` asset."""

from __future__ import annotations

from typing import Iterable

import dagster as dg
from pydantic import Field

from ingest_pipeline.chunking import ChunkingOptions, chunk_pages
from ingest_pipeline.models import Chunk, Page


class ChunkerResource(dg.ConfigurableResource):
    max_tokens: int = Field(default=512, description="Largest chunk, in cl100k_base tokens.")
    overlap_tokens: int = Field(default=64, description="Tokens of the previous chunk repeated at the start.")

    @property
    def options(self) -> ChunkingOptions:
        return ChunkingOptions(max_tokens=self.max_tokens, overlap_tokens=self.overlap_tokens)

    def cut(self, pages: Iterable[Page]) -> list[Chunk]:
        return chunk_pages(pages, self.options)
