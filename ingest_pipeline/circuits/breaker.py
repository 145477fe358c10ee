"""A circuit breaker per provider, kept in Postgres so every run and process sees the same state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Connection, Engine

from ingest_pipeline.domain.errors import ProviderPaused
from ingest_pipeline.domain.providers import CircuitState
from ingest_pipeline.store import provider_circuits

# Consecutive failed requests (after which every process pauses new work for the provider).
FAILURE_THRESHOLD = 20
# The first pause; each failed trial after it doubles the pause, up to the cap.
COOLDOWN_SECONDS = 30
MAX_COOLDOWN_SECONDS = 600


def current_time() -> datetime:
    """The time circuits read: Python's, passed into the SQL instead of Postgres' now(), so a test can
    step it (by a breaker's `clock`, or by replacing this function for breakers built inside resources)."""
    return datetime.now(timezone.utc)


@dataclass
class CircuitBreaker:
    engine: Engine
    provider: str
    threshold: int = FAILURE_THRESHOLD
    cooldown_seconds: float = COOLDOWN_SECONDS
    # A lambda, so that `current_time` is looked up on each call (see there).
    clock: Callable[[], datetime] = lambda: current_time()

    def check(self) -> None:
        """Raise ProviderPaused while the circuit is open; once the pause is over a try may go."""
        with self.engine.connect() as conn:
            state = open_circuit(conn, self.provider, self.clock())
        if state is not None:
            raise ProviderPaused(self.provider, state.describe())

    def record_success(self) -> None:
        with self.engine.begin() as conn:
            provider_circuits.close(conn, self.provider)

    def record_failure(self, error: str) -> None:
        """Count a failure; raise ProviderPaused when this one opens the circuit, so the work that
        tipped it waits like the work after it."""
        with self.engine.begin() as conn:
            provider_circuits.count_failure(conn, self.provider, error, self.threshold, self.clock(),
                                            self.cooldown_seconds, MAX_COOLDOWN_SECONDS)
        self.check()


def open_circuit(conn: Connection, provider: str, now: datetime | None = None) -> CircuitState | None:
    return provider_circuits.open_one(conn, provider, now or current_time())


def open_circuits(conn: Connection, now: datetime | None = None) -> list[CircuitState]:
    """Every provider paused right now: what `status` and `/health` report, and whose documents keep waiting."""
    return provider_circuits.open_all(conn, now or current_time())
