"""A circuit breaker per provider, kept in Postgres so every run and process sees the same state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Connection, Engine, text

from ingest_pipeline.errors import ProviderPaused

# Consecutive failed requests (after which every process pauses new work for the provider).
FAILURE_THRESHOLD = 20
# The first pause; each failed trial after it doubles the pause, up to the cap.
COOLDOWN_SECONDS = 30
MAX_COOLDOWN_SECONDS = 600
_STATE = "SELECT provider, failures, opened_at, open_until, last_error FROM provider_circuits"


def current_time() -> datetime:
    """The time circuits read: Python's, passed into the SQL instead of Postgres' now(), so a test can
    step it (by a breaker's `clock`, or by replacing this function for breakers built inside resources)."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class CircuitState:
    provider: str
    failures: int
    opened_at: datetime | None
    open_until: datetime | None
    last_error: str | None

    def describe(self) -> str:
        return (f"{self.provider} is paused after {self.failures} consecutive errors (last: {self.last_error}); "
                f"next try at {self.open_until:%Y-%m-%d %H:%M:%S %Z}")


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
            conn.execute(text("UPDATE provider_circuits SET failures = 0, trips = 0, opened_at = NULL, "
                              "open_until = NULL WHERE provider = :p AND failures > 0"), {"p": self.provider})

    def record_failure(self, error: str) -> None:
        """Count a failure; raise ProviderPaused when this one opens the circuit, so the work that
        tipped it waits like the work after it."""
        with self.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO provider_circuits AS c (provider, failures, last_error) VALUES (:p, 1, :e) "
                "ON CONFLICT (provider) DO UPDATE SET failures = c.failures + 1, last_error = :e, "
                " trips = c.trips + (c.failures + 1 >= :threshold)::int, "
                " opened_at = CASE WHEN c.failures + 1 >= :threshold THEN coalesce(c.opened_at, :now) END, "
                " open_until = CASE WHEN c.failures + 1 >= :threshold THEN :now + make_interval(secs => "
                "  least(:cap, :cooldown * power(2, c.trips))) END"),
                {"p": self.provider, "e": error[:500], "threshold": self.threshold, "now": self.clock(),
                 "cooldown": self.cooldown_seconds, "cap": MAX_COOLDOWN_SECONDS})
        self.check()


def open_circuit(conn: Connection, provider: str, now: datetime | None = None) -> CircuitState | None:
    row = conn.execute(text(f"{_STATE} WHERE provider = :p AND open_until > :now"),
                       {"p": provider, "now": now or current_time()}).first()
    return CircuitState(*row) if row else None


def open_circuits(conn: Connection, now: datetime | None = None) -> list[CircuitState]:
    """Every provider paused right now: what `status` and `/health` report, and whose documents keep waiting."""
    rows = conn.execute(text(f"{_STATE} WHERE open_until > :now ORDER BY provider"), {"now": now or current_time()})
    return [CircuitState(*row) for row in rows]
