"""Embedder resources: vectors for chunk texts, identified by (embedder, model, dimensions)."""

from __future__ import annotations

from abc import abstractmethod
from typing import Sequence

import dagster as dg
from pydantic import Field

from ingest_pipeline.domain.providers import HASHING
from ingest_pipeline.embed.batching import BatchLimits
from ingest_pipeline.embed.embedder import BatchOutcome, EmbeddingSpace
from ingest_pipeline.embed.hashing import HASHING_DEFAULT_DIMENSIONS, hashed_vector
from ingest_pipeline.embed.models import MAX_TOKENS_PER_INPUT

HASHING_MODEL = "feature-hashing-v1"
# Local vectors cost nothing per request; batches only bound memory.
_LOCAL_LIMITS = BatchLimits(max_inputs=256, max_tokens=10_000_000, max_tokens_per_input=MAX_TOKENS_PER_INPUT)


class EmbedderResource(dg.ConfigurableResource):
    """What the `embeddings` asset and search need from any embedder."""

    @property
    @abstractmethod
    def space(self) -> EmbeddingSpace:
        """The embedding set this embedder's vectors belong to."""

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order (used for queries)."""

    @property
    def batch_limits(self) -> BatchLimits:
        return _LOCAL_LIMITS

    @property
    def max_requests_in_flight(self) -> int:
        """Local vectors are CPU work: one batch computed while the last one is stored."""
        return 2

    def embed_batch(self, texts: Sequence[str], token_counts: Sequence[int]) -> BatchOutcome:
        """Vectors for one planned batch; providers may refuse single inputs."""
        return BatchOutcome(vectors=dict(enumerate(self.embed(texts))))

    def estimated_cost_usd(self, tokens: int) -> float:
        return 0.0

    def for_space(self, space: EmbeddingSpace) -> "EmbedderResource | None":
        """This embedder configured for another set's space (the active set while a new one fills), or None
        when it cannot make that set's vectors."""
        return None


class HashingEmbedder(EmbedderResource):
    """Offline lexical vectors: finds passages that share words with the query, not synonyms."""

    dimensions: int = Field(default=HASHING_DEFAULT_DIMENSIONS, description="Vector length.")

    @property
    def space(self) -> EmbeddingSpace:
        return EmbeddingSpace(HASHING, HASHING_MODEL, self.dimensions)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [hashed_vector(text, self.dimensions) for text in texts]

    def for_space(self, space: EmbeddingSpace) -> EmbedderResource | None:
        return HashingEmbedder(dimensions=space.dimensions) if (space.embedder, space.model) == (HASHING, HASHING_MODEL) \
            else None
