"""The embedded Postgres (with pgvector) that runs when no INGEST_DATABASE_URL is configured."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote

_servers: dict[Path, object] = {}
_lock = threading.Lock()


def embedded_database_url(home: Path) -> str:
    """Start (or join) the pgserver instance under `home` and return a psycopg2 SQLAlchemy URL.

    The server object is kept for the life of the process: pgserver stops the server when the
    last process using the data directory exits.
    """
    data_dir = (home / "pgdata").resolve()
    with _lock:
        server = _servers.get(data_dir)
        if server is None:
            server = _start(data_dir)
            _servers[data_dir] = server
    return f"postgresql+psycopg2://postgres:@/postgres?host={quote(str(data_dir))}"


def _start(data_dir: Path):
    try:
        import pgserver
    except ImportError as error:  # pragma: no cover - pgserver is a hard dependency
        raise RuntimeError("pgserver is not installed; set INGEST_DATABASE_URL instead") from error
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(data_dir, cleanup_mode="stop")
