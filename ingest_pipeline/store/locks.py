"""Postgres advisory locks that make concurrent work take turns: on a text, on a key across a service
call, and on creating a schema."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Connection, Engine, text

# Any fixed number: processes creating a schema at once take turns on it.
SCHEMA_LOCK = 7_420_002


def for_transaction(conn: Connection, key: str) -> None:
    """Held until the transaction ends: others asking for the same key wait until then."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


@contextmanager
def for_session(engine: Engine, key: str) -> Iterator[None]:
    """Held across the block, outside any transaction (a service call can take long); a dead
    process's session ends, and its lock with it."""
    params = {"key": key}
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), params)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), params)
            conn.commit()


def ensure_schema(conn: Connection, schema: str) -> None:
    """IF NOT EXISTS is no guard against a concurrent CREATE: two processes starting on one new database
    both pass the check, and the second fails on pg_namespace's unique index. So they take turns."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
