"""The scale benchmark's probes read a real store: search latency with and without a filter, and recall against an exact scan."""

from __future__ import annotations

from benchmarks.scale_probes import hnsw_index_mb, search_figures
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write


def test_search_figures_of_an_ingested_store(app, instance, tmp_path):
    topics = ("tidal estuary", "granite quarry", "orchard pruning")
    ids = [register(app, write(tmp_path, f"{topic}.md", f"# {topic}\n\n{paragraph(topic, 40)}")) for topic in topics]
    assert materialize(app, instance, ids).success

    figures = search_figures(app, with_recall=True)

    assert figures["queries"] >= len(topics)
    for prefix in ("", "filtered_"):
        assert 0 < figures[f"{prefix}search_p50_ms"] <= figures[f"{prefix}search_p99_ms"]
    # Queries are words of stored chunks: on a store this small the index finds what an exact scan finds.
    assert figures["recall_at_10"] == 1.0
    assert hnsw_index_mb(app.engine) > 0
