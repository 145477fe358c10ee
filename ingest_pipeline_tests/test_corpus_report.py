"""corpus_report sums the corpus by status (documents, pages, chunks, tokens, cost), unpartitioned and outside the ingest job."""

from __future__ import annotations

import dagster as dg

from ingest_pipeline.definitions import defs
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.orchestration.code_location import INGEST_JOB
from ingest_pipeline.orchestration.corpus_report import COST, REPORTING_GROUP, TOTAL, corpus_frame, corpus_report
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def test_every_status_has_a_row_in_pipeline_order_then_the_total_with_its_cost():
    totals = {"embedded": {"documents": 2, "bytes": 900, "pages": 3, "chunks": 5, "tokens": 1000},
              "failed": {"documents": 1, "bytes": 50, "pages": 0, "chunks": 0, "tokens": 0}}
    frame = corpus_frame(totals, lambda tokens: tokens * 0.02 / 1_000_000)
    assert list(frame["status"]) == [str(status) for status in DocumentStatus] + [TOTAL]
    rows = frame.set_index("status")
    assert rows.loc["embedded", "chunks"] == 5 and rows.loc["registered", "documents"] == 0
    assert rows.loc[TOTAL, "documents"] == 3 and rows.loc[TOTAL, "bytes"] == 950
    assert rows.loc[TOTAL, COST] == round(1000 * 0.02 / 1_000_000, 6)


def test_the_report_materializes_a_table_of_the_corpus(app, instance, tmp_path):
    good = register(app, write(tmp_path, "tide.md", "# Tide\n\n" + paragraph("spring tide", 12)))
    bad = register(app, write(tmp_path, "scan.pdf", PNG))
    materialize(app, instance, [good, bad])
    result = dg.materialize([corpus_report], instance=instance, resources=app.resources)
    frame = result.output_for_node("corpus_report").set_index("status")
    doc = app.documents([good])[0][0]
    assert frame.loc["embedded", "documents"] == 1 and frame.loc["failed", "documents"] == 1
    assert (frame.loc["embedded", "chunks"], frame.loc["embedded", "tokens"]) == (doc.chunk_count, doc.token_count)
    assert frame.loc[TOTAL, "documents"] == 2
    [event] = result.asset_materializations_for_node("corpus_report")
    metadata = event.metadata
    assert metadata["dagster/row_count"].value == len(DocumentStatus) + 1
    assert [column.name for column in metadata["dagster/column_schema"].schema.columns] == ["status", *frame.columns]
    assert "| embedded" in metadata["report"].value


def test_the_report_is_unpartitioned_in_its_own_group_and_not_in_the_ingest_job():
    node = defs.resolve_asset_graph().get(dg.AssetKey("corpus_report"))
    assert node.partitions_def is None and node.group_name == REPORTING_GROUP
    job = defs.resolve_job_def(INGEST_JOB)
    assert dg.AssetKey("corpus_report") not in job.asset_layer.executable_asset_keys
    assert job.partitions_def is not None
