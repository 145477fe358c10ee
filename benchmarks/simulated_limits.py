"""The account limits the benchmarks impose on the OpenAI simulator, and the least time those limits allow."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from ingest_pipeline.embed.models import PROVISIONAL_REQUESTS_PER_MINUTE, PROVISIONAL_TOKENS_PER_MINUTE
from ingest_pipeline.simulators.openai_embeddings import SimulatorConfig

# OpenAI's lowest paid tier for the embedding models: the limits our rate budget assumes until told others.
LIMITED_TPM, LIMITED_RPM = PROVISIONAL_TOKENS_PER_MINUTE, PROVISIONAL_REQUESTS_PER_MINUTE
SECONDS_PER_MINUTE = 60.0


@contextmanager
def enforced_limits(config: SimulatorConfig, rpm: int = LIMITED_RPM, tpm: int = LIMITED_TPM) -> Iterator[None]:
    """The running simulator enforces `rpm` and `tpm` inside the block and no limit after it.

    A limit set where there was none starts with full buckets, once a request has seen no limit in
    between: callers keep an unlimited ingest between two limited ones.
    """
    config.rpm, config.tpm = rpm, tpm
    try:
        yield
    finally:
        config.rpm = config.tpm = None


def floor_seconds(tokens: int, tpm: int = LIMITED_TPM) -> float:
    """The least time `tokens` can take at `tpm`: a full bucket goes at once, the rest at `tpm` per minute."""
    return max(0, tokens - tpm) / tpm * SECONDS_PER_MINUTE


def over_floor(seconds: float, floor: float) -> float | None:
    """seconds / floor, None when the limit allows everything at once (a floor of 0)."""
    return seconds / floor if floor > 0 else None


def rate_limited(snapshot: dict) -> int:
    """The 429s the simulator answered for its own RPM/TPM limits (not injected ones)."""
    return snapshot["by_outcome"].get("rate_limited", 0)
