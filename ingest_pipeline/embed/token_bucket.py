"""Continuous token buckets as OpenAI's limiter keeps them, and what its x-ratelimit-* headers say of them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

# A limit is a minute's worth of capacity, refilled evenly: never at the top of a minute.
REFILL_SECONDS = 60.0
KINDS = ("requests", "tokens")


@dataclass(frozen=True)
class Bucket:
    """`level` is what the bucket holds now; it goes below zero only after a request larger than the
    whole bucket, which is let through alone when the bucket is full (the provider then decides)."""

    capacity: float
    level: float

    @property
    def rate(self) -> float:
        return self.capacity / REFILL_SECONDS

    def refilled(self, elapsed_seconds: float) -> "Bucket":
        return replace(self, level=min(self.capacity, self.level + self.rate * max(elapsed_seconds, 0.0)))

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` fits; 0 when it fits now."""
        needed = min(amount, self.capacity)
        return 0.0 if self.level >= needed else (needed - self.level) / self.rate

    def taken(self, amount: float) -> "Bucket":
        return replace(self, level=self.level - amount)

    def resized(self, capacity: float) -> "Bucket":
        """A learned capacity: a larger bucket behaves as if it had always been that large (the increase
        is there to use at once); a smaller one holds at most its capacity."""
        grown = self.level + max(capacity - self.capacity, 0.0)
        return Bucket(capacity, min(grown, capacity))

    def reconciled(self, server_level: float | None) -> "Bucket":
        """The provider also counts requests we cannot see (other clients of the key): never hold more than it says."""
        return self if server_level is None else replace(self, level=min(self.level, server_level))


@dataclass(frozen=True)
class Advertised:
    """One kind's `x-ratelimit-limit-*`, `-remaining-*` and `-reset-*`, each None when absent or unreadable."""

    limit: int | None = None
    remaining: float | None = None
    reset_seconds: float | None = None

    def server_level(self) -> float | None:
        """What the provider's bucket holds: its `remaining`, or less if its time to full says so
        (reset is the time until the bucket is full again, refilled at limit / 60 per second)."""
        levels = [] if self.remaining is None else [self.remaining]
        if self.limit and self.reset_seconds is not None:
            levels.append(self.limit - self.reset_seconds * self.limit / REFILL_SECONDS)
        return min(levels) if levels else None


def advertised(headers: Mapping[str, str], kind: str) -> Advertised:
    """What a response's headers say of `kind` ("requests" or "tokens")."""
    limit = _number(headers.get(f"x-ratelimit-limit-{kind}"))
    reset = headers.get(f"x-ratelimit-reset-{kind}")
    return Advertised(
        limit=int(limit) if limit and limit > 0 else None,
        remaining=_number(headers.get(f"x-ratelimit-remaining-{kind}")),
        reset_seconds=parse_reset(reset) if reset else None,
    )


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
        total += (_number(number) or 0.0) * units.get(unit, 1.0)
        number, i = "", i + len(unit)
    return total + (_number(number) or 0.0)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
