"""The provider_circuits table: consecutive failures per provider, and until when its circuit is open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

from ingest_pipeline.domain.providers import CircuitState

_STATE = "SELECT provider, failures, opened_at, open_until, last_error FROM provider_circuits"


def close(conn: Connection, provider: str) -> None:
    conn.execute(text("UPDATE provider_circuits SET failures = 0, trips = 0, opened_at = NULL, "
                      "open_until = NULL WHERE provider = :p AND failures > 0"), {"p": provider})


def count_failure(conn: Connection, provider: str, error: str, threshold: int, now: datetime,
                  cooldown_seconds: float, max_cooldown_seconds: float) -> None:
    """One more failure; at `threshold` the circuit opens for the cooldown, doubled for each trip before."""
    conn.execute(text(
        "INSERT INTO provider_circuits AS c (provider, failures, last_error) VALUES (:p, 1, :e) "
        "ON CONFLICT (provider) DO UPDATE SET failures = c.failures + 1, last_error = :e, "
        " trips = c.trips + (c.failures + 1 >= :threshold)::int, "
        " opened_at = CASE WHEN c.failures + 1 >= :threshold THEN coalesce(c.opened_at, :now) END, "
        " open_until = CASE WHEN c.failures + 1 >= :threshold THEN :now + make_interval(secs => "
        "  least(:cap, :cooldown * power(2, c.trips))) END"),
        {"p": provider, "e": error[:500], "threshold": threshold, "now": now,
         "cooldown": cooldown_seconds, "cap": max_cooldown_seconds})


def open_one(conn: Connection, provider: str, now: datetime) -> CircuitState | None:
    row = conn.execute(text(f"{_STATE} WHERE provider = :p AND open_until > :now"), {"p": provider, "now": now}).first()
    return CircuitState(*row) if row else None


def open_all(conn: Connection, now: datetime) -> list[CircuitState]:
    rows = conn.execute(text(f"{_STATE} WHERE open_until > :now ORDER BY provider"), {"now": now})
    return [CircuitState(*row) for row in rows]
