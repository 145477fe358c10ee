"""Sensor ticks: uploads become partitions and few runs once; the inbox registers settled files and sets bad ones aside."""

from __future__ import annotations

import os
import time

import dagster as dg

from ingest_pipeline.orchestration.code_location import build_definitions
from ingest_pipeline.orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG, partition_keys
from ingest_pipeline.orchestration.policies import DOCUMENTS_PARTITION
from ingest_pipeline.orchestration.sensors import MAX_DOCUMENTS_PER_TICK
from ingest_pipeline_tests.pipeline_runs import paragraph, register, write


def _tick(app, instance, name: str, cursor: str | None = None) -> dg.SensorResult:
    defs = build_definitions(app.resources)
    sensor = defs.resolve_sensor_def(name)
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=app.resources,
                                 definitions=defs) as context:
        return sensor(context)


def _apply_partitions(instance, result: dg.SensorResult) -> None:
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(DOCUMENTS_PARTITION, list(request.partition_keys))


def test_first_tick_adds_partitions_and_requests_one_run_for_documents_that_arrived_together(app, instance, tmp_path):
    ids = [register(app, write(tmp_path, f"{i}.txt", paragraph(f"kite {i}"))) for i in range(5)]
    result = _tick(app, instance, "uploads_sensor")
    keys = partition_keys(app.engine, ids)
    assert [key.split("~")[0] for key in keys] == [f"{i}-txt" for i in range(5)]
    assert list(result.dynamic_partitions_requests[0].partition_keys) == keys
    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (keys[0], keys[-1])
    _apply_partitions(instance, result)
    again = _tick(app, instance, "uploads_sensor", cursor=result.cursor)
    assert not again.run_requests and again.skip_reason


def test_a_new_version_gets_a_new_run_key_and_no_new_partition(app, instance, tmp_path):
    path = write(tmp_path, "story.txt", paragraph("heron"))
    register(app, path)
    first = _tick(app, instance, "uploads_sensor")
    _apply_partitions(instance, first)
    write(tmp_path, "story.txt", paragraph("egret"))
    register(app, path)
    second = _tick(app, instance, "uploads_sensor", cursor=first.cursor)
    assert not second.dynamic_partitions_requests
    assert second.run_requests[0].run_key != first.run_requests[0].run_key


def test_a_tick_takes_at_most_the_cap_and_the_next_tick_takes_the_rest(app, instance, tmp_path):
    total = MAX_DOCUMENTS_PER_TICK + 3
    for i in range(total):
        register(app, write(tmp_path, f"n{i}.txt", paragraph(f"note {i}")))
    first = _tick(app, instance, "uploads_sensor")
    assert len(first.dynamic_partitions_requests[0].partition_keys) == MAX_DOCUMENTS_PER_TICK
    _apply_partitions(instance, first)
    second = _tick(app, instance, "uploads_sensor", cursor=first.cursor)
    assert len(second.dynamic_partitions_requests[0].partition_keys) == 3


def test_inbox_registers_settled_files_leaves_growing_ones_and_sets_bad_ones_aside(app, instance):
    inbox = app.settings.inbox_dir
    settled = write(inbox, "report.md", "# Report\n\n" + paragraph("quarterly tide"))
    image = write(inbox, "scan.pdf", b"\x89PNG\r\n\x1a\n" + bytes(100))
    growing = write(inbox, "big.txt", paragraph("still writing"))
    old = time.time() - 60
    for path in (settled, image):
        os.utime(path, (old, old))
    _tick(app, instance, "inbox_sensor")
    assert not settled.exists() and growing.exists()
    rejected = inbox / "rejected"
    assert (rejected / "scan.pdf").exists()
    assert "PNG" in (rejected / "scan.pdf.reason").read_text()
    statuses = {doc.source: doc.status.value for doc, _ in app.documents()}
    assert statuses == {"inbox:report.md": "registered"}
    # The uploads sensor then schedules it like any upload.
    assert len(_tick(app, instance, "uploads_sensor").run_requests) == 1


def test_identical_uploads_are_one_document_and_one_request(app, instance, tmp_path):
    from ingest_pipeline.intake.admit import register_file

    first = register_file(app.engine, app.store, write(tmp_path, "a.txt", paragraph("otter")))
    second = register_file(app.engine, app.store, write(tmp_path, "copy-of-a.txt", paragraph("otter")))
    assert first.document.id == second.document.id and not second.created
    result = _tick(app, instance, "uploads_sensor")
    assert list(result.dynamic_partitions_requests[0].partition_keys) == [first.document.partition_key]
    assert first.document.partition_key.startswith("a-txt~")
    assert len(result.run_requests) == 1


def test_a_redriven_document_is_requested_again_with_a_new_run_key(app, instance, tmp_path):
    from ingest_pipeline.domain.statuses import Stage
    from ingest_pipeline.service.lifecycle import redrive
    from ingest_pipeline.store import documents as catalog

    doc_id = register(app, write(tmp_path, "x.txt", paragraph("marten")))
    first = _tick(app, instance, "uploads_sensor")
    _apply_partitions(instance, first)
    with app.engine.begin() as conn:
        catalog.mark_failed(conn, doc_id, Stage.CHUNKS, "simulated failure")
    assert redrive(app, [doc_id]) == [doc_id]
    again = _tick(app, instance, "uploads_sensor", cursor=first.cursor)
    assert len(again.run_requests) == 1 and again.run_requests[0].run_key != first.run_requests[0].run_key
