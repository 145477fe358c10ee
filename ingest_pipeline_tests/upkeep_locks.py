"""Holding a set's index upkeep lock as another upkeep would, and waiting until an upkeep waits for it."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Engine, text

from ingest_pipeline.store import index_upkeep


@contextmanager
def upkeep_held(engine: Engine, set_id: int) -> Iterator[None]:
    """The set's upkeep lock, released on leaving whatever happened (so no upkeep is left waiting for it)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as holder:
        holder.execute(text("SELECT pg_advisory_lock(:k, :s)"), {"k": index_upkeep._UPKEEP_LOCK, "s": set_id})
        try:
            yield
        finally:
            holder.execute(text("SELECT pg_advisory_unlock_all()"))


def wait_for_a_waiter(engine: Engine, set_id: int, seconds: float = 120) -> None:
    """Return once another session waits for the set's upkeep lock."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                                 " AND classid = :k AND objid = :s AND objsubid = 2"),
                            {"k": index_upkeep._UPKEEP_LOCK, "s": set_id}).scalar_one():
                return
        time.sleep(0.05)
    raise AssertionError(f"no upkeep waited for embedding set {set_id} within {seconds} s")
