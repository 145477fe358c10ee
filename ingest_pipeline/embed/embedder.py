"""What the embedding stage and search need from an embedder, and the space its vectors live in. Plain types:
the Dagster resources in `embed.resource` and `embed.openai_resource` implement them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from ingest_pipeline.embed.batching import BatchLimits


@dataclass
class Usage:
    requests: int = 0
    input_tokens: int = 0
    retries: int = 0
    # When requests waited for the shared rate budget (monotonic start, end): the account limit's price.
    budget_waits: list[tuple[float, float]] = field(default_factory=list)
    # Seconds the provider took to answer (no budget wait, no back-off): how fast it is, for `Window`.
    answer_seconds: float = 0.0

    def add(self, other: "Usage") -> None:
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.retries += other.retries
        self.budget_waits += other.budget_waits
        self.answer_seconds += other.answer_seconds

    @property
    def budget_wait_seconds(self) -> float:
        """Wall-clock seconds during which at least one request waited: requests wait side by side,
        so their waits overlap, and adding them up would overstate what the limit cost."""
        total, reached = 0.0, float("-inf")
        for start, end in sorted(self.budget_waits):
            total += max(0.0, end - max(start, reached))
            reached = max(reached, end)
        return total


@dataclass
class BatchOutcome:
    """Vectors by position in the batch, and the positions the API refused with its reason."""

    vectors: dict[int, list[float]] = field(default_factory=dict)
    rejected: dict[int, str] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class EmbeddingSpace:
    """Vectors are comparable only within one space: it names an embedding set."""

    embedder: str
    model: str
    dimensions: int


class Embedder(Protocol):
    @property
    def space(self) -> EmbeddingSpace:
        """The embedding set this embedder's vectors belong to."""

    @property
    def batch_limits(self) -> BatchLimits:
        """How texts are packed into one request."""

    @property
    def max_requests_in_flight(self) -> int:
        """Requests the stage may have out at once."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order (used for queries)."""

    def embed_batch(self, texts: Sequence[str], token_counts: Sequence[int]) -> BatchOutcome:
        """Vectors for one planned batch; providers may refuse single inputs."""

    def estimated_cost_usd(self, tokens: int) -> float:
        """What embedding this many tokens costs at the model's price."""

    def for_space(self, space: EmbeddingSpace) -> "Embedder | None":
        """This embedder for another set's space, or None if it cannot make those vectors (asked only while a
        new set fills beside the active one)."""
