"""A provider's rate limits as continuous token buckets shared through Postgres by every run and process."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from sqlalchemy import Connection, Engine

from ingest_pipeline.embed.token_bucket import KINDS, Bucket, advertised
from ingest_pipeline.store import rate_budgets

# Never sleep longer than this at once, so a wait re-reads the shared state (a pause, a limit another
# process learned). A change made in this process wakes its waiters at once.
MAX_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Limits:
    """Requests and tokens per minute; None is no limit of ours (a ceiling not set)."""

    requests: int | None = None
    tokens: int | None = None

    def of(self, kind: str) -> int | None:
        return self.requests if kind == "requests" else self.tokens


@dataclass(frozen=True)
class BudgetState:
    """The row, refilled to now: the provider's limits as learned, and one bucket per kind."""

    learned: Limits
    buckets: dict[str, Bucket]
    paused_seconds: float


@dataclass
class PostgresRateBudget:
    """One row per provider key and model, read and written under a row lock.

    The buckets' capacities are the provider's limits, learned from every response's x-ratelimit-limit-*
    headers (`provisional` until the first answer), never above the user's `ceilings`. Responses'
    remaining/reset headers lower our levels to the provider's, and a 429's retry-after pauses everyone.
    """

    engine: Engine
    name: str
    provisional: Limits
    ceilings: Limits = Limits()
    # None: wait until the time is up or this process's responses change the limits (tests pass their own).
    sleep: Callable[[float], None] | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False, compare=False)

    def acquire(self, tokens: int) -> float:
        """Block until one request of `tokens` fits both buckets; returns the seconds waited."""
        started = None
        while (wait := self._try_reserve(tokens)) > 0:
            started = started or time.monotonic()
            (self.sleep or self._until_changed)(min(wait, MAX_WAIT_SECONDS))
        return 0.0 if started is None else time.monotonic() - started

    def pause(self, seconds: float) -> None:
        """Stop every user of this budget for `seconds` (the provider said so)."""
        with self.engine.begin() as conn:
            rate_budgets.pause(conn, self.name, seconds)
        self._notify()

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the limits a response advertises and never hold more than the provider says is left."""
        said = {kind: advertised(headers, kind) for kind in KINDS}
        if not any(a.limit or a.remaining is not None for a in said.values()):
            return
        with self.engine.begin() as conn:
            state = self._locked_state(conn)
            learned = Limits(*(said[kind].limit or state.learned.of(kind) for kind in KINDS))
            buckets = {kind: state.buckets[kind].resized(self._capacity(learned, kind))
                       .reconciled(said[kind].server_level()) for kind in KINDS}
            self._store(conn, learned, buckets)
        if learned != state.learned:
            self._notify()  # requests waiting on the provisional limits may go now

    def limits(self) -> Limits:
        """The capacities in force now: learned (or provisional) limits under the ceilings."""
        with self.engine.begin() as conn:
            state = self._locked_state(conn)
        return Limits(*(int(state.buckets[kind].capacity) for kind in KINDS))

    def _until_changed(self, seconds: float) -> None:
        with self._changed:
            self._changed.wait(seconds)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _try_reserve(self, tokens: int) -> float:
        with self.engine.begin() as conn:
            state = self._locked_state(conn)
            if state.paused_seconds > 0:
                return state.paused_seconds
            requests, token_bucket = state.buckets["requests"], state.buckets["tokens"]
            wait = max(requests.wait_for(1), token_bucket.wait_for(tokens))
            if wait == 0:
                self._store(conn, state.learned, {"requests": requests.taken(1), "tokens": token_bucket.taken(tokens)})
            return wait

    def _locked_state(self, conn: Connection) -> BudgetState:
        row = rate_budgets.locked(conn, self.name)
        learned = Limits(row.request_limit, row.token_limit)
        buckets = {}
        for kind, level in zip(KINDS, (row.request_level, row.token_level)):
            capacity = self._capacity(learned, kind)
            # A new bucket starts full; a lowered ceiling holds at most its capacity.
            bucket = Bucket(capacity, capacity if level is None else min(level, capacity))
            buckets[kind] = bucket.refilled(row.seconds_since_update)
        return BudgetState(learned, buckets, row.paused_seconds)

    def _capacity(self, learned: Limits, kind: str) -> float:
        limit = learned.of(kind) or self.provisional.of(kind)
        ceiling = self.ceilings.of(kind)
        return float(min(limit, ceiling) if ceiling else limit)

    def _store(self, conn: Connection, learned: Limits, buckets: dict[str, Bucket]) -> None:
        rate_budgets.write(conn, self.name, learned.requests, learned.tokens, buckets["requests"].level,
                           buckets["tokens"].level)
