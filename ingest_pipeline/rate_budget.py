"""A requests- and tokens-per-minute budget shared through Postgres by every run and process."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping

from sqlalchemy import Engine, text

WINDOW_SECONDS = 60.0
# Never sleep longer than this at once, so a wait re-reads the shared state often.
MAX_WAIT_SECONDS = 5.0


@dataclass
class PostgresRateBudget:
    """Fixed one-minute windows in one row per provider, claimed under a row lock.

    A request first reserves its tokens; responses' x-ratelimit-* headers and 429s can pause
    everyone until the provider's own reset time.
    """

    engine: Engine
    name: str
    requests_per_minute: int
    tokens_per_minute: int
    sleep: Callable[[float], None] = time.sleep

    def acquire(self, tokens: int) -> float:
        """Block until one request of `tokens` fits the budget; returns the seconds waited."""
        waited = 0.0
        while (wait := self._try_reserve(tokens)) > 0:
            pause = min(wait, MAX_WAIT_SECONDS)
            self.sleep(pause)
            waited += pause
        return waited

    def pause(self, seconds: float) -> None:
        """Stop every user of this budget for `seconds` (the provider said so)."""
        with self.engine.begin() as conn:
            self._ensure_row(conn)
            conn.execute(text(
                "UPDATE rate_budgets SET paused_until = greatest(coalesce(paused_until, now()), "
                "now() + make_interval(secs => :s)) WHERE name = :name"), {"s": seconds, "name": self.name})

    def observe(self, headers: Mapping[str, str]) -> None:
        """Pause until the provider's reset when its remaining requests or tokens ran out."""
        for kind in ("requests", "tokens"):
            remaining = headers.get(f"x-ratelimit-remaining-{kind}")
            if remaining is not None and remaining.strip() == "0":
                self.pause(parse_reset(headers.get(f"x-ratelimit-reset-{kind}", "1s")))

    def _try_reserve(self, tokens: int) -> float:
        with self.engine.begin() as conn:
            self._ensure_row(conn)
            row = conn.execute(text(
                "SELECT extract(epoch FROM now() - window_started_at), requests, tokens, "
                "extract(epoch FROM coalesce(paused_until, now()) - now()) "
                "FROM rate_budgets WHERE name = :name FOR UPDATE"), {"name": self.name}).one()
            age, requests, used, paused = float(row[0]), row[1], row[2], float(row[3])
            if paused > 0:
                return paused
            if age >= WINDOW_SECONDS:
                requests, used = 0, 0
                conn.execute(text("UPDATE rate_budgets SET window_started_at = now(), requests = 0, tokens = 0 "
                                  "WHERE name = :name"), {"name": self.name})
            # A single request larger than the whole token budget may go alone in a fresh window.
            fits_tokens = used + tokens <= self.tokens_per_minute or used == 0
            if requests + 1 > self.requests_per_minute or not fits_tokens:
                return max(WINDOW_SECONDS - age, 0.05) if age < WINDOW_SECONDS else 0.05
            conn.execute(text("UPDATE rate_budgets SET requests = requests + 1, tokens = tokens + :t "
                              "WHERE name = :name"), {"t": tokens, "name": self.name})
            return 0.0

    def _ensure_row(self, conn) -> None:
        conn.execute(text("INSERT INTO rate_budgets (name) VALUES (:name) ON CONFLICT DO NOTHING"),
                     {"name": self.name})


def parse_reset(value: str) -> float:
    """OpenAI's reset durations ("1s", "6m0s", "120ms", "1h2m3.5s") in seconds."""
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    i = 0
    while i < len(value):
        ch = value[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if value[i:i + 2] == "ms" else ch
        total += float(number or 0) * units.get(unit, 1.0)
        number, i = "", i + len(unit)
    return total + (float(number) if number else 0.0)
