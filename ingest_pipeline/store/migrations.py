"""Versioned SQL migrations, applied in order, once, under an advisory lock."""

from __future__ import annotations

from importlib import resources

from sqlalchemy import Connection, Engine, text

# Any fixed number: every process migrating this database serialises on it.
_MIGRATION_LOCK = 7_420_001


class VectorExtensionMissing(RuntimeError):
    pass


def available_migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every file in the migrations package, by version."""
    folder = resources.files("ingest_pipeline.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(engine: Engine) -> list[str]:
    """Bring the schema up to date; returns the names of the migrations applied now."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        _require_vector_extension(conn)
        conn.execute(text(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        ))
        done = set(conn.execute(text("SELECT version FROM schema_migrations")).scalars())
        applied = []
        for version, name, sql in available_migrations():
            if version not in done:
                conn.exec_driver_sql(sql)
                conn.execute(
                    text("INSERT INTO schema_migrations (version, name) VALUES (:v, :n)"),
                    {"v": version, "n": name},
                )
                applied.append(name)
        return applied


def _require_vector_extension(conn: Connection) -> None:
    available = conn.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    ).first()
    if available is None:
        raise VectorExtensionMissing(
            "The Postgres server at INGEST_DATABASE_URL has no pgvector extension. Install it on "
            "the server (for example the pgvector/pgvector:0.8.5-pg18-trixie image, or the postgresql-18-pgvector "
            "package), or unset INGEST_DATABASE_URL to use the embedded Postgres."
        )
