"""Requests- and tokens-per-minute limits as OpenAI enforces them: continuous token buckets, with its headers."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ingest_pipeline.simulators.openai_protocol import ApiError

# A bucket holds one minute's worth of its limit and takes this long to refill from empty.
REFILL_SECONDS = 60.0
# Advertised when a limit is off, so clients that pace themselves on the headers never wait.
UNLIMITED = 1_000_000_000
# Float noise from many small refills must not refuse a client that waited exactly as long as it was told.
_SLACK = 1e-9
LIMIT_NAMES = ("rpm", "tpm")


@dataclass(frozen=True)
class RateVerdict:
    """`exceeded` is "requests" or "tokens" when the request must be refused, with the wait that would fix it."""

    headers: dict[str, str]
    exceeded: str | None = None
    retry_after_seconds: float = 0.0
    limit: int = 0
    used: int = 0


class TokenBucket:
    """One limit: holds up to `capacity` units, refilled continuously at capacity/60 per second; None is no limit."""

    def __init__(self, now: float):
        self.capacity: int | None = None
        self.level = 0.0
        self._updated = now

    def advance(self, capacity: int | None, now: float) -> None:
        """Refill for the time elapsed under the old capacity, then follow a changed limit."""
        if self.capacity is not None:
            refill = max(now - self._updated, 0.0) * self.capacity / REFILL_SECONDS
            self.level = min(self.level + refill, self.capacity)
        self._updated = now
        if capacity is not None and self.capacity is None:
            self.level = float(capacity)  # a new limit starts with a full bucket
        elif capacity is not None:
            # Lowered: clamp. Raised: as if the bucket had had the new capacity all along, so the increase is in it.
            self.level = min(self.level + max(capacity - self.capacity, 0), capacity)
        self.capacity = capacity

    def wait_for(self, units: int) -> float:
        """Seconds until the bucket holds `units`; more than its capacity never fits, so a full refill is advised."""
        if self.capacity is None or self.level + _SLACK >= units:
            return 0.0
        if units > self.capacity:
            return REFILL_SECONDS
        return self._seconds_to_refill(units - self.level)

    def take(self, units: int) -> None:
        if self.capacity is not None:
            self.level -= units

    @property
    def remaining(self) -> int:
        return UNLIMITED if self.capacity is None else max(math.floor(self.level + _SLACK), 0)

    def headers(self, unit: str) -> dict[str, str]:
        """OpenAI's three headers for this bucket; "reset" is the time until it is full again."""
        reset = 0.0 if self.capacity is None else self._seconds_to_refill(self.capacity - self.level)
        return {
            f"x-ratelimit-limit-{unit}": str(UNLIMITED if self.capacity is None else self.capacity),
            f"x-ratelimit-remaining-{unit}": str(self.remaining),
            f"x-ratelimit-reset-{unit}": format_duration(reset),
        }

    def _seconds_to_refill(self, units: float) -> float:
        return max(units, 0.0) * REFILL_SECONDS / self.capacity if self.capacity else 0.0


class TokenBucketLimiter:
    """A requests bucket and a tokens bucket; limits are passed per call so they can change while running.

    A request needs one request and its prompt tokens: admitted only if both buckets hold enough, and then
    debited from both; a refused request takes nothing. Called from the server's event loop and from tests,
    hence the lock.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        self._buckets = {"requests": TokenBucket(now), "tokens": TokenBucket(now)}

    def admit(self, tokens: int, rpm: int | None, tpm: int | None) -> RateVerdict:
        """Admit the request and debit it, or refuse it with the exact wait until both buckets hold enough."""
        needs = {"requests": 1, "tokens": tokens}
        with self._lock:
            self._advance(rpm, tpm)
            waits = {unit: bucket.wait_for(needs[unit]) for unit, bucket in self._buckets.items()}
            binding = max(waits, key=waits.__getitem__)
            if waits[binding] > 0:
                return self._refusal(binding, waits[binding])
            for unit, bucket in self._buckets.items():
                bucket.take(needs[unit])
            return RateVerdict(headers=self._headers())

    def headers(self, rpm: int | None, tpm: int | None) -> dict[str, str]:
        """The current state, for answers that never reached the limiter (auth and validation errors)."""
        with self._lock:
            self._advance(rpm, tpm)
            return self._headers()

    def _advance(self, rpm: int | None, tpm: int | None) -> None:
        now = self._clock()
        self._buckets["requests"].advance(rpm, now)
        self._buckets["tokens"].advance(tpm, now)

    def _refusal(self, unit: str, wait: float) -> RateVerdict:
        bucket = self._buckets[unit]
        # "Used" as OpenAI reports it: what the bucket lacks of being full.
        used = bucket.capacity - bucket.remaining
        return RateVerdict(self._headers(), unit, max(wait, 0.001), bucket.capacity, used)

    def _headers(self) -> dict[str, str]:
        return {name: value for unit, bucket in self._buckets.items() for name, value in bucket.headers(unit).items()}


def validated_limits(changes: object) -> dict[str, int | None]:
    """A POST /_limits body: "rpm" and/or "tpm", each a positive integer, or null for no limit."""
    if not isinstance(changes, dict):
        raise ApiError(400, "Limits must be a JSON object.")
    for name, value in changes.items():
        if name not in LIMIT_NAMES:
            raise ApiError(400, f"Unknown limit {name!r}: expected 'rpm' or 'tpm'.", param=name)
        positive_integer = isinstance(value, int) and not isinstance(value, bool) and value > 0
        if value is not None and not positive_integer:
            raise ApiError(400, f"Invalid limit {name!r}: expected a positive integer or null.", param=name)
    return changes


def format_duration(seconds: float) -> str:
    """Go-style durations as OpenAI writes them: "20ms", "1.5s", "6m0s", "1h2m3s"."""
    milliseconds = max(round(seconds * 1000), 0)
    if milliseconds < 1000:
        return f"{milliseconds}ms" if milliseconds else "0s"
    minutes, milliseconds = divmod(milliseconds, 60_000)
    hours, minutes = divmod(minutes, 60)
    text = f"{milliseconds / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text
