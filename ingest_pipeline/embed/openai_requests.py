"""Embedding requests to OpenAI: shared rate budget, retries with back-off, and isolation of rejected inputs."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import openai

from ingest_pipeline.circuits.breaker import CircuitBreaker
from ingest_pipeline.domain.errors import TransientFailure
from ingest_pipeline.embed.budget import PostgresRateBudget
from ingest_pipeline.embed.embedder import BatchOutcome, Usage

# Worth another attempt: the request may succeed later. A malformed 200 body counts too.
TRANSIENT_ERRORS = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError,
                    openai.APITimeoutError, openai.APIResponseValidationError, json.JSONDecodeError,
                    openai.ConflictError)
# The configuration is wrong: retrying would only burn the budget.
CONFIGURATION_ERRORS = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
# Attempts of one request before the step's own retry takes over (see orchestration/policies.py).
MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0


class ProviderConfigurationError(RuntimeError):
    """The provider refused our credentials or model: every document would fail the same way."""


@dataclass
class EmbeddingRequester:
    client: openai.OpenAI
    model: str
    dimensions: int | None
    budget: PostgresRateBudget | None
    max_attempts: int = MAX_ATTEMPTS
    sleep: Callable[[float], None] = time.sleep
    breaker: CircuitBreaker | None = None

    def embed_batch(self, texts: Sequence[str], token_counts: Sequence[int]) -> BatchOutcome:
        """Embed a batch; if the API refuses it (400), halve it until the refused inputs are alone."""
        outcome = BatchOutcome()
        try:
            for i, vector in enumerate(self._request(texts, token_counts, outcome.usage)):
                outcome.vectors[i] = vector
        except openai.BadRequestError as refused:
            if len(texts) == 1:
                outcome.rejected[0] = _message(refused)
                return outcome
            middle = len(texts) // 2
            for offset, part in ((0, slice(0, middle)), (middle, slice(middle, None))):
                _merge(outcome, self.embed_batch(texts[part], token_counts[part]), offset)
        return outcome

    def _request(self, texts: Sequence[str], token_counts: Sequence[int], usage: Usage) -> list[list[float]]:
        last_error: Exception | None = None
        for attempt in range(self.max_attempts):
            if self.breaker:
                self.breaker.check()  # an open circuit stops the retries: the work waits instead
            if self.budget:
                asked = time.monotonic()
                if waited := self.budget.acquire(sum(token_counts)):
                    usage.budget_waits.append((asked, asked + waited))
            try:
                vectors = self._call(texts, usage)
            except CONFIGURATION_ERRORS as error:
                raise ProviderConfigurationError(f"OpenAI refused the request: {_message(error)}") from error
            except TRANSIENT_ERRORS as error:
                last_error = error
                usage.retries += 1
                if self.breaker:
                    self.breaker.record_failure(f"{type(error).__name__}: {error}")
                self._wait(error, attempt)
            else:
                if self.breaker:
                    self.breaker.record_success()
                return vectors
        raise TransientFailure(f"OpenAI kept failing after {self.max_attempts} attempts; last error: "
                               f"{type(last_error).__name__}: {last_error}")

    def _call(self, texts: Sequence[str], usage: Usage) -> list[list[float]]:
        extra = {"dimensions": self.dimensions} if self.dimensions else {}
        sent = time.monotonic()
        raw = self.client.embeddings.with_raw_response.create(model=self.model, input=list(texts), **extra)
        usage.answer_seconds += time.monotonic() - sent
        if self.budget:
            self.budget.observe(raw.headers)
        response = raw.parse()
        usage.requests += 1
        usage.input_tokens += response.usage.prompt_tokens
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(texts):
            raise openai.APIResponseValidationError(response=raw.http_response, body=None,
                                                    message=f"{len(data)} embeddings for {len(texts)} inputs")
        return [list(item.embedding) for item in data]

    def _wait(self, error: Exception, attempt: int) -> None:
        if self.budget and isinstance(error, openai.APIStatusError):
            self.budget.observe(error.response.headers)  # a 429 says the limits too, often lower than we thought
        hinted = retry_after_seconds(error)
        if hinted is not None and self.budget and isinstance(error, openai.RateLimitError):
            self.budget.pause(hinted)  # every worker backs off, not just this one
        delay = hinted if hinted is not None else backoff_seconds(attempt)
        self.sleep(delay)


def backoff_seconds(attempt: int) -> float:
    """Exponential back-off with full jitter."""
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** attempt))


def retry_after_seconds(error: Exception) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            value = float(headers.get(name)) * scale
        except (TypeError, ValueError):
            continue
        if 0 < value <= BACKOFF_CAP_SECONDS * 4:
            return value
    return None


def _merge(outcome: BatchOutcome, part: BatchOutcome, offset: int) -> None:
    outcome.vectors.update({offset + i: v for i, v in part.vectors.items()})
    outcome.rejected.update({offset + i: r for i, r in part.rejected.items()})
    outcome.usage.add(part.usage)


def _message(error: Exception) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error", {}).get("message") or error)
    return str(error)
