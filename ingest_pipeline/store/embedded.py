"""The embedded Postgres (with pgvector) that runs when no INGEST_DATABASE_URL is configured."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from urllib.parse import quote

_servers: dict[Path, object] = {}
_lock = threading.Lock()
_READY = b"ready\n"


def embedded_database_url(home: Path) -> str:
    """Start (or join) the pgserver instance under `home` and return a psycopg2 SQLAlchemy URL.

    The server object is kept for the life of the process: pgserver stops the server when the
    last process using the data directory exits.
    """
    data_dir = (home / "pgdata").resolve()
    with _lock:
        server = _servers.get(data_dir)
        if server is None:
            server = _join(data_dir)
            _servers[data_dir] = server
    return f"postgresql+psycopg2://postgres:@/postgres?host={quote(str(data_dir))}"


def _join(data_dir: Path):
    try:
        import pgserver
    except ImportError as error:  # pragma: no cover - pgserver is a hard dependency
        raise RuntimeError("pgserver is not installed; set INGEST_DATABASE_URL instead") from error
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if _is_running(data_dir):
        return pgserver.get_server(data_dir, cleanup_mode="stop")
    # Starting runs initdb/pg_ctl through fork(). In a process with gRPC threads (a Dagster code
    # server evaluating a sensor) a forked child can crash before it execs (SIGSEGV), so a fresh
    # interpreter, spawned without fork handlers, starts the server and holds it until we join.
    with _StarterProcess(data_dir) as starter:
        starter.wait_until_ready()
        return pgserver.get_server(data_dir, cleanup_mode="stop")


def _is_running(data_dir: Path) -> bool:
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    return info is not None and info.is_running() and info.status == "ready"


class _StarterProcess:
    """`python -m ingest_pipeline.store.embedded DATA_DIR`, started with posix_spawn."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir

    def __enter__(self) -> "_StarterProcess":
        self._to_child_read, self._to_child = os.pipe()
        self._from_child, self._from_child_write = os.pipe()
        actions = [(os.POSIX_SPAWN_DUP2, self._to_child_read, 0), (os.POSIX_SPAWN_DUP2, self._from_child_write, 1)]
        self.pid = os.posix_spawn(sys.executable, [sys.executable, "-m", __name__, str(self.data_dir)],
                                  os.environ, file_actions=actions)
        os.close(self._to_child_read)
        os.close(self._from_child_write)
        return self

    def wait_until_ready(self) -> None:
        with os.fdopen(self._from_child, "rb") as replies:
            answer = replies.readline()
        if answer != _READY:
            raise RuntimeError(f"the embedded Postgres in {self.data_dir} did not start; see {self.data_dir / 'log'}")

    def __exit__(self, *exc) -> None:
        os.close(self._to_child)  # end of input: we have joined (or failed), the starter may leave
        os.waitpid(self.pid, 0)


def _hold_until_joined(data_dir: Path) -> None:
    """Start the server, say so, and keep it until the parent closes our input, so that the
    server is stopped only if the parent never joined it."""
    import pgserver

    pgserver.get_server(data_dir, cleanup_mode="stop")
    sys.stdout.buffer.write(_READY)
    sys.stdout.flush()
    sys.stdin.buffer.read()


if __name__ == "__main__":
    _hold_until_joined(Path(sys.argv[1]))
