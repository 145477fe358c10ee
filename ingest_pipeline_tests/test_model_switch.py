"""A model switch through the real `openai` client against the simulator (one model, 256 then 512 dimensions):
search answers from the old set throughout the backfill (a document ingested meanwhile too), switches once the new
set covers every document, and dropping the old set frees its vectors, cached vectors and index."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.simulators.openai_api import running_simulator
from ingest_pipeline.simulators.openai_embeddings import SimulatorConfig
from ingest_pipeline.store import embedding_sets, embeddings
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write

KEY = "sk-test-key"
SUBJECTS = ("otter", "bridge", "meadow", "turbine", "glacier", "violin")
DOCUMENTS = len(SUBJECTS)


@pytest.fixture
def base_url():
    with running_simulator(SimulatorConfig(api_key=KEY)) as url:
        yield url


def _app(environment, base_url, dimensions: int) -> Application:
    return Application(Settings.from_env({**environment, "INGEST_EMBEDDER": "openai", "OPENAI_BASE_URL": base_url,
                                          "OPENAI_API_KEY": KEY, "INGEST_EMBEDDING_DIMENSIONS": str(dimensions)}))


def _answers(app: Application) -> list[str]:
    """The document each subject's query finds first, by vector alone (the set search answers from)."""
    return [app.search(f"how the {subject} apparatus behaves", k=1, mode="vector")[0].document_id
            for subject in SUBJECTS]


def _active(app: Application) -> embedding_sets.EmbeddingSet:
    with app.engine.connect() as conn:
        return embedding_sets.active_set(conn)


def _sets_check(result):
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "embedding_sets_complete"]
    return evaluation


def _left_of(app: Application, set_id: int) -> tuple[int, int, int | None]:
    with app.engine.connect() as conn:
        rows = conn.execute(text("SELECT (SELECT count(*) FROM chunk_embeddings WHERE set_id = :s),"
                                 " (SELECT count(*) FROM embedding_cache WHERE set_id = :s)"), {"s": set_id}).one()
        return rows[0], rows[1], embeddings.index_bytes(conn, set_id)


def test_search_stays_on_the_old_set_through_the_backfill_then_switches_and_drop_frees_it(
        environment, base_url, instance, tmp_path):
    old = _app(environment, base_url, 256)
    ids = [register(old, write(tmp_path, f"{subject}.md", f"# The {subject}\n\n" + paragraph(f"{subject} apparatus", 40)))
           for subject in SUBJECTS]
    assert materialize(old, instance, ids).success
    first = _active(old)
    assert first.dimensions == 256 and _answers(old) == ids

    new = _app(environment, base_url, 512)
    for start in range(0, DOCUMENTS, 2):  # a backfill in three runs, queried between them
        assert _active(new) == first and _answers(new) == ids  # documents the new set lacks are found too
        result = materialize(new, instance, ids[start:start + 2], selection=["embeddings"])
        assert result.success
        check = _sets_check(result)
        if start + 2 < DOCUMENTS:
            covered = f"{start + 2} of {DOCUMENTS}" if start == 0 else f"{start + 3} of {DOCUMENTS + 1}"  # + lantern
            assert not check.passed and f"fills: {covered} embedded documents" in check.description
        if start == 0:  # a document ingested during the fill is embedded for both sets, found at once
            late = register(new, write(tmp_path, "lantern.md", "# The lantern\n\n" + paragraph("lantern wick", 40)))
            assert materialize(new, instance, [late]).success
            assert new.search("how the lantern wick behaves", k=1, mode="vector")[0].document_id == late
            assert _active(new) == first
    assert check.passed and f"answers searches and covers {DOCUMENTS + 1} of {DOCUMENTS + 1}" in check.description
    second = _active(new)
    assert second.dimensions == 512 and second.id != first.id
    assert _answers(new) == ids and _answers(old) == ids  # a process still configured for 256 follows the switch

    vectors, cached, index = _left_of(new, first.id)
    assert vectors > 0 and cached > 0 and index > 0
    with new.engine.begin() as conn:
        dropped, deleted, uncached = embedding_sets.drop(conn, str(first.id))
    assert (dropped.id, deleted, uncached) == (first.id, vectors, cached)
    assert _left_of(new, first.id) == (0, 0, None)
    with new.engine.connect() as conn:
        assert [s.id for s in embedding_sets.all_sets(conn)] == [second.id]
    assert _answers(new) == ids
