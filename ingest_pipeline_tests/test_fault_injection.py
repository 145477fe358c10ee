"""The fault-injection suite, fast form: faults at 30% over a small corpus leave every count exact."""

from __future__ import annotations

import pytest

from ingest_pipeline_tests.fault_soak import soak


@pytest.mark.faults
def test_thirty_percent_faults_lose_nothing_and_double_nothing(environment, tmp_path):
    report = soak(tmp_path, documents=24, rate=0.3, seed=3, timeout=300,
                  database_url=environment["INGEST_DATABASE_URL"])
    assert report.lost == {} and report.embedded == report.good == 19
    assert report.bad_not_failed == {} and report.failed_with_reason == report.bad == 5
    assert report.violations == {}
    rows = report.rows
    assert rows["documents"] == 24 - report.refused_at_intake
    assert rows["chunks"] == rows["chunk_embeddings"] == rows["sum of chunk_count"] > 0
    assert rows["staged_chunks"] == 0
    kinds = {name.split()[1] for name in report.injected}
    # Every kind of fault was met at least once, and the counts say so.
    assert {"injected_429", "injected_500", "webhooks_dropped", "webhooks_duplicated"} <= kinds
    assert sum(n for name, n in report.injected.items() if name.startswith("openai")) > 0
