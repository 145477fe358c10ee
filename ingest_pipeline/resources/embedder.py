"""Embedder resources: vectors for chunk texts, identified by (embedder, model, dimensions)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Sequence

import dagster as dg
from pydantic import Field

from ingest_pipeline.hashing_vectors import hashed_vector

HASHING_MODEL = "feature-hashing-v1"
HASHING_DEFAULT_DIMENSIONS = 512


@dataclass(frozen=True)
class EmbeddingSpace:
    """Vectors are comparable only within one space: it names an embedding set."""

    embedder: str
    model: str
    dimensions: int


class EmbedderResource(dg.ConfigurableResource):
    """What the `embeddings` asset and search need from any embedder."""

    @property
    @abstractmethod
    def space(self) -> EmbeddingSpace:
        """The embedding set this embedder's vectors belong to."""

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""

    @property
    def max_batch_inputs(self) -> int:
        return 256


class HashingEmbedder(EmbedderResource):
    """Offline lexical vectors: finds passages that share words with the query, not synonyms."""

    dimensions: int = Field(default=HASHING_DEFAULT_DIMENSIONS, description="Vector length.")

    @property
    def space(self) -> EmbeddingSpace:
        return EmbeddingSpace("hashing", HASHING_MODEL, self.dimensions)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [hashed_vector(text, self.dimensions) for text in texts]
