"""What the database server is: its PostgreSQL version and the pgvector version installed in this database."""

from __future__ import annotations

from sqlalchemy import Connection, text


def versions(conn: Connection) -> tuple[str, str | None]:
    """(server_version, pgvector's extversion or None when the extension is not installed)."""
    version = conn.execute(text("SHOW server_version")).scalar_one()
    vector = conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).scalar()
    return version, vector
