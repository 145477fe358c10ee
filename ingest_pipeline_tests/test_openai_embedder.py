"""The OpenAI embedder through the real `openai` client against the simulator: batching, faults, cache, model sets."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.simulators.openai_api import running_simulator
from ingest_pipeline.simulators.openai_embeddings import SimulatorConfig
from ingest_pipeline.store import documents
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write

KEY = "sk-test-key"


@pytest.fixture
def simulator():
    config = SimulatorConfig(api_key=KEY)
    with running_simulator(config) as base_url:
        yield config, base_url


def _openai_app(environment, base_url, **extra) -> Application:
    env = {**environment, "INGEST_EMBEDDER": "openai", "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": KEY, **extra}
    return Application(Settings.from_env(env))


def _corpus(app, folder, count: int, sentences: int = 40, subject: str = "apparatus") -> list[str]:
    return [register(app, write(folder, f"doc{i}.md", f"# Topic {i}\n\n" + paragraph(f"topic {i} {subject}", sentences)))
            for i in range(count)]


def _metadata(result):
    return result.asset_materializations_for_node("embeddings")[0].metadata


def _counts(app):
    with app.engine.connect() as conn:
        return [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ("chunks", "chunk_embeddings")]


def test_backfill_batches_across_documents_and_reingest_makes_no_requests(environment, simulator, instance, tmp_path):
    config, base_url = simulator
    app = _openai_app(environment, base_url)
    ids = _corpus(app, tmp_path, 30)
    result = materialize(app, instance, ids)
    assert result.success
    stats = config.stats.snapshot()
    assert stats["requests"] == 1  # every chunk of 30 documents fits one request
    metadata = _metadata(result)
    assert metadata["embedding_requests"].value == 1 and metadata["input_tokens"].value == stats["tokens"]
    assert metadata["estimated_cost_usd"].value > 0
    config.stats.reset()
    materialize(app, instance, ids)
    assert config.stats.snapshot()["requests"] == 0
    # Vector mode: what this checks is the simulator's vectors, not the keyword ranking fused in by default.
    assert app.search("how the topic 7 apparatus behaves under condition 3", k=1, mode="vector")[0].document_id == ids[7]


def test_injected_faults_are_retried_and_nothing_is_duplicated(environment, simulator, instance, tmp_path):
    config, base_url = simulator
    config.faults.update({"probability_429": 0.1, "probability_500": 0.1, "probability_malformed": 0.05,
                          "probability_drop": 0.05, "retry_after_seconds": 0.01, "seed": 7})
    app = _openai_app(environment, base_url, INGEST_CHUNK_TOKENS="64", INGEST_CHUNK_OVERLAP="8")
    app.resources["embedder"] = app.embedder.model_copy(update={"max_attempts": 12})
    ids = _corpus(app, tmp_path, 12)
    # Small batches so that many requests meet the faults.
    app.embedder.requester.sleep = lambda seconds: None
    result = materialize(app, instance, ids)
    assert result.success
    with app.engine.connect() as conn:
        assert all(d.status is DocumentStatus.EMBEDDED for d in documents.get_many(conn, ids))
    chunks_count, vectors = _counts(app)
    assert chunks_count == vectors > 0
    assert _metadata(result)["retries"].value == sum(
        n for outcome, n in config.stats.snapshot()["by_outcome"].items() if outcome != "ok")


def test_a_rejected_input_fails_only_its_document(environment, simulator, instance, tmp_path):
    config, base_url = simulator
    config.faults.update({"reject_marker": "FORBIDDEN-MARKER"})
    app = _openai_app(environment, base_url)
    ids = _corpus(app, tmp_path, 4)
    bad = register(app, write(tmp_path, "bad.md", paragraph("quarry", 20) + " FORBIDDEN-MARKER"))
    result = materialize(app, instance, ids + [bad])
    assert result.success
    with app.engine.connect() as conn:
        docs = {d.id: d for d in documents.get_many(conn, ids + [bad])}
    assert all(docs[i].status is DocumentStatus.EMBEDDED for i in ids)
    assert docs[bad].status is DocumentStatus.FAILED and "refused" in docs[bad].reason


def test_a_wrong_key_fails_fast_without_retrying(environment, simulator, instance, tmp_path):
    config, base_url = simulator
    app = _openai_app(environment, base_url, OPENAI_API_KEY="sk-wrong")
    result = materialize(app, instance, _corpus(app, tmp_path, 2))
    assert not result.success
    assert config.stats.snapshot()["by_status"] == {"401": 1}


def test_changing_dimensions_creates_a_second_set_beside_the_first(environment, simulator, instance, tmp_path):
    _, base_url = simulator
    app = _openai_app(environment, base_url)
    ids = _corpus(app, tmp_path, 3)
    materialize(app, instance, ids)
    short = _openai_app(environment, base_url, INGEST_EMBEDDING_DIMENSIONS="256")
    materialize(short, instance, ids, selection=["embeddings"])
    with app.engine.connect() as conn:
        sets = conn.execute(text("SELECT s.dimensions, count(e.chunk_id) FROM embedding_sets s "
                                 "JOIN chunk_embeddings e ON e.set_id = s.id GROUP BY 1 ORDER BY 1")).all()
    chunk_count, _ = _counts(app)
    assert sets == [(256, chunk_count), (1536, chunk_count)]
    assert len(short.embedder.embed(["probe"])[0]) == 256
    assert short.search("topic 1 apparatus", k=1, mode="vector")[0].document_id == ids[1]


def _learned_token_limit(app) -> int | None:
    with app.engine.connect() as conn:
        return conn.execute(text("SELECT token_limit FROM rate_budgets WHERE name LIKE 'openai:%'")).scalar_one()


def test_the_budget_learns_the_accounts_limit_and_follows_it_down_within_one_response(
        environment, simulator, instance, tmp_path):
    config, base_url = simulator
    app = _openai_app(environment, base_url)
    result = materialize(app, instance, _corpus(app, tmp_path / "first", 3))
    assert _metadata(result)["rate_budget_wait_seconds"].value == 0.0
    advertised = int(app.embedder.requester.client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=["probe"]).headers["x-ratelimit-limit-tokens"])
    assert _learned_token_limit(app) == advertised  # no limit set: the simulator advertises a very large one
    config.tpm = 400_000
    config.stats.reset()
    materialize(app, instance, _corpus(app, tmp_path / "second", 3, subject="turbine"))
    assert config.stats.snapshot()["requests"] == 1 and _learned_token_limit(app) == 400_000


def test_an_account_below_a_requests_token_limit_gets_requests_it_can_be_sent(environment, simulator):
    _, base_url = simulator
    embedder = _openai_app(environment, base_url).embedder
    assert embedder.batch_limits.max_tokens == 300_000
    embedder.requester.budget.observe({"x-ratelimit-limit-tokens": "40000", "x-ratelimit-remaining-tokens": "40000"})
    assert embedder.batch_limits.max_tokens == 40_000
