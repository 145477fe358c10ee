"""Bulk inserts through psycopg2's execute_values: one round trip per page of rows, not per row."""

from __future__ import annotations

from typing import Iterable, Sequence

from psycopg2.extras import execute_values
from sqlalchemy import Connection

PAGE_SIZE = 500


def insert_rows(conn: Connection, sql: str, rows: Iterable[Sequence], template: str | None = None) -> None:
    """Run `sql` (containing one `VALUES %s`) for all rows inside the connection's transaction."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        execute_values(cursor, sql, rows, template=template, page_size=PAGE_SIZE)
    finally:
        cursor.close()
