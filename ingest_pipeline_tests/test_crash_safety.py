"""A real `ingest` process killed with SIGKILL mid-write leaves nothing half-visible; running again completes cleanly."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from ingest_pipeline_tests.store_invariants import search_visible, violations
from ingest_pipeline_tests.subprocess_runs import corpus, ingest, kill_while_writing

# The table whose writes are held (by a lock the test takes) at the moment of the kill.
KILL_POINTS = {
    "mid-parse": "document_pages",
    "mid-chunk-write": "staged_chunks",
    "mid-embedding": "embedding_cache",
    "mid-publish": "chunk_embeddings",
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_run_killed_mid_write_leaves_nothing_half_visible_and_a_rerun_completes(environment, engine, tmp_path, point):
    folder = tmp_path / "corpus"
    corpus(folder)
    kill_while_writing(engine, environment, folder, KILL_POINTS[point])
    assert violations(engine) == {}
    with engine.connect() as conn:
        counts = dict(conn.execute(text("SELECT id, chunk_count FROM documents")).all())
    assert all(visible == counts[doc] for doc, visible in search_visible(engine).items())
    rerun = ingest(environment, folder)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-3000:]
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 4 and {row["status"] for row in rows} == {"embedded"}
    assert violations(engine) == {}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM documents")).scalar_one() == 4
        assert conn.execute(text("SELECT count(*) FROM staged_chunks")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM chunks")).scalar_one() == \
            conn.execute(text("SELECT sum(chunk_count) FROM documents")).scalar_one() > 4
