"""The OpenAI embedder resource: the official client, token-aware batches, a shared rate budget."""

from __future__ import annotations

import hashlib
from typing import Sequence

import dagster as dg
import openai
from pydantic import Field, PrivateAttr

from ingest_pipeline.circuits.breaker import COOLDOWN_SECONDS, FAILURE_THRESHOLD, CircuitBreaker
from ingest_pipeline.domain.providers import OPENAI
from ingest_pipeline.domain.tokens import count_tokens
from ingest_pipeline.embed.batching import BatchLimits
from ingest_pipeline.embed.budget import Limits, PostgresRateBudget
from ingest_pipeline.embed.embedder import BatchOutcome, EmbeddingSpace
from ingest_pipeline.embed.models import (
    DEFAULT_OPENAI_MODEL,
    MAX_INPUTS_PER_REQUEST,
    MAX_TOKENS_PER_INPUT,
    MAX_TOKENS_PER_REQUEST,
    PROVISIONAL_REQUESTS_PER_MINUTE,
    PROVISIONAL_TOKENS_PER_MINUTE,
    openai_model,
)
from ingest_pipeline.embed.openai_requests import MAX_ATTEMPTS, EmbeddingRequester
from ingest_pipeline.embed.resource import EmbedderResource
from ingest_pipeline.store.resource import PostgresResource

# Requests out at once, at most: enough to keep a provider with seconds of latency busy up to a high
# tier's limit. The shared rate budget decides when each one goes, and the answers' memory bounds them too.
REQUESTS_IN_FLIGHT = 16
_CEILING = "Ceiling below the account's limit (learned from the API), shared by every run and process; 0: none."


class OpenAIEmbedder(EmbedderResource):
    api_key: str = Field(description="OpenAI API key (OPENAI_API_KEY).")
    base_url: str = Field(default="", description="API base URL; empty for api.openai.com (OPENAI_BASE_URL).")
    model: str = Field(default=DEFAULT_OPENAI_MODEL, description="Embedding model.")
    dimensions: int = Field(default=0, description="Vector length; 0 means the model's default.")
    requests_per_minute: int = Field(default=0, description=_CEILING)
    tokens_per_minute: int = Field(default=0, description=_CEILING)
    max_attempts: int = Field(default=MAX_ATTEMPTS, description="Attempts per request on transient errors.")
    timeout_seconds: float = Field(default=60.0, description="Per attempt.")
    usd_per_million_tokens: float = Field(default=-1.0, description="Price; negative means the model's list price.")
    max_inputs_per_request: int = Field(
        default=MAX_INPUTS_PER_REQUEST, description="At most the API's limit; smaller requests make a retry cheaper.")
    circuit_failures: int = Field(default=FAILURE_THRESHOLD, description="Consecutive failures that pause OpenAI work.")
    circuit_cooldown_seconds: float = Field(default=COOLDOWN_SECONDS, description="First pause after that.")
    database: PostgresResource
    _requester: EmbeddingRequester | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._requester = self._build_requester()

    @property
    def space(self) -> EmbeddingSpace:
        model = openai_model(self.model)
        return EmbeddingSpace(OPENAI, model.name, self.dimensions or model.default_dimensions)

    @property
    def batch_limits(self) -> BatchLimits:
        # An account whose tokens per minute are below a request's limit could never be sent a full one.
        tokens_per_minute = self.requester.budget.limits().tokens if self.requester.budget else MAX_TOKENS_PER_REQUEST
        return BatchLimits(min(self.max_inputs_per_request, MAX_INPUTS_PER_REQUEST),
                           min(MAX_TOKENS_PER_REQUEST, tokens_per_minute), MAX_TOKENS_PER_INPUT)

    @property
    def max_requests_in_flight(self) -> int:
        return REQUESTS_IN_FLIGHT

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        outcome = self.embed_batch(texts, [count_tokens(text) for text in texts])
        if outcome.rejected:
            raise ValueError(f"OpenAI refused the text: {next(iter(outcome.rejected.values()))}")
        return [outcome.vectors[i] for i in range(len(texts))]

    def embed_batch(self, texts: Sequence[str], token_counts: Sequence[int]) -> BatchOutcome:
        return self.requester.embed_batch(texts, token_counts)

    def estimated_cost_usd(self, tokens: int) -> float:
        price = self.usd_per_million_tokens if self.usd_per_million_tokens >= 0 else \
            openai_model(self.model).usd_per_million_tokens
        return tokens * price / 1_000_000

    def for_space(self, space: EmbeddingSpace) -> EmbedderResource | None:
        """The same key, limits and circuit for another OpenAI model or size (its own rate budget, by model)."""
        try:
            model = openai_model(space.model)
        except ValueError:
            return None
        if space.embedder != OPENAI:
            return None
        dimensions = 0 if space.dimensions == model.default_dimensions else space.dimensions
        other = self.model_copy(update={"model": model.name, "dimensions": dimensions})
        other._requester = None
        return other

    @property
    def requester(self) -> EmbeddingRequester:
        # Outside a Dagster run (CLI search, API) there is no setup hook: build on first use.
        if self._requester is None:
            self._requester = self._build_requester()
        return self._requester

    def budget_name(self, model: str) -> str:
        """Limits are the provider's per key (organisation/project) and model: so is the budget. The key
        is known by a fingerprint only, never stored."""
        fingerprint = hashlib.sha256(f"{self.base_url}\n{self.api_key}".encode()).hexdigest()[:16]
        return f"openai:{fingerprint}:{model}"

    def _build_requester(self) -> EmbeddingRequester:
        model = openai_model(self.model)
        if self.dimensions and not model.accepts_dimensions:
            raise ValueError(f"{model.name} has a fixed size of {model.default_dimensions} dimensions")
        # max_retries=0: our requester is the one retry layer, so retries share the rate budget.
        client = openai.OpenAI(api_key=self.api_key, base_url=self.base_url or None, max_retries=0,
                               timeout=self.timeout_seconds)
        budget = PostgresRateBudget(
            self.database.engine, self.budget_name(model.name),
            provisional=Limits(PROVISIONAL_REQUESTS_PER_MINUTE, PROVISIONAL_TOKENS_PER_MINUTE),
            ceilings=Limits(self.requests_per_minute or None, self.tokens_per_minute or None))
        breaker = CircuitBreaker(self.database.engine, OPENAI, self.circuit_failures, self.circuit_cooldown_seconds)
        return EmbeddingRequester(client, model.name, self.dimensions or None, budget, self.max_attempts, breaker=breaker)
