"""Each document's story in Dagster: on every stage's materialization of its partition, as an observation where
it ended or turned, the documents_landed check naming failures, and the failed_documents table saying how to re-drive."""

from __future__ import annotations

import dagster as dg

from ingest_pipeline.domain.statuses import Stage
from ingest_pipeline.orchestration.failed_documents import failed_documents
from ingest_pipeline.orchestration.observations import document_story, seconds
from ingest_pipeline.orchestration.partitions import partition_keys
from ingest_pipeline.orchestration.runner import Outcome
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write


def _observations(instance: dg.DagsterInstance, asset: str, key: str) -> list[dg.AssetObservation]:
    records = instance.fetch_observations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=10).records
    return [record.asset_observation for record in records]


def _a_run_with_one_failure(app, instance, tmp_path):
    good = register(app, write(tmp_path, "Red Lentil Soup.md", "# Soup\n\n" + paragraph("red lentil soup", 12)))
    bad = register(app, write(tmp_path, "note.txt", "too short"))
    result = materialize(app, instance, [good, bad])
    assert result.success
    return result, good, bad, partition_keys(app.engine, [good, bad])


def test_each_document_tells_its_story_on_its_partition_at_every_stage_and_observes_where_it_ended(app, instance,
                                                                                                   tmp_path):
    result, good, bad, (good_key, bad_key) = _a_run_with_one_failure(app, instance, tmp_path)
    # Every stage's materialization of the partition, which the UI's partition panel shows, tells its own story.
    for stage in Stage:
        by_partition = {m.partition: m.metadata for m in result.asset_materializations_for_node(str(stage))}
        assert f"| document_id | {good} |" in by_partition[good_key]["this_document"].value, stage
        assert by_partition[good_key]["this_document_path"].value.endswith("Red Lentil Soup.md"), stage
    embedded_story = {m.partition: m.metadata for m in result.asset_materializations_for_node("embeddings")}
    assert "| status | embedded |" in embedded_story[good_key]["this_document"].value
    assert "| status | failed |" in embedded_story[bad_key]["this_document"].value
    validated_story = {m.partition: m.metadata for m in result.asset_materializations_for_node("validated_content")}
    assert isinstance(validated_story[good_key]["this_document_preview"], dg.MarkdownMetadataValue)
    assert "red lentil soup" in validated_story[good_key]["this_document_preview"].value

    # Observations where its way ended or turned: the good document's at its last stage only.
    assert [stage for stage in Stage if _observations(instance, str(stage), good_key)] == [Stage.EMBEDDINGS]
    [embedded] = _observations(instance, "embeddings", good_key)
    facts = embedded.metadata
    assert embedded.partition == good_key and facts["document_id"].value == good
    assert isinstance(facts["path"], dg.PathMetadataValue) and facts["path"].value.endswith("Red Lentil Soup.md")
    assert facts["chunks"].value >= 1 and facts["tokens"].value > 0 and facts["status"].value == "embedded"
    assert isinstance(facts["cost_usd"], dg.FloatMetadataValue) and facts["version"].value == 1
    assert isinstance(facts["duration_seconds"], dg.FloatMetadataValue)

    # The failed one's where it failed, and at each later stage that skipped it.
    [rejected] = _observations(instance, "validated_content", bad_key)
    assert rejected.metadata["outcome"].value == "failed"
    assert rejected.metadata["failed_stage"].value == "validated_content" and rejected.metadata["reason"].value
    assert f"ingest-pipeline retry {bad}" in rejected.metadata["re_drive"].value
    [later] = _observations(instance, "embeddings", bad_key)
    assert later.metadata["outcome"].value == "skipped" and later.metadata["status"].value == "failed"


def test_a_document_found_up_to_date_gets_no_new_observation(app, instance, tmp_path):
    _, good, _, (good_key, _) = _a_run_with_one_failure(app, instance, tmp_path)
    assert materialize(app, instance, [good]).success
    assert len(_observations(instance, "embeddings", good_key)) == 1


def test_the_landed_check_warns_and_names_each_failed_document_with_its_stage_and_reason(app, instance, tmp_path):
    result, _, bad, (good_key, bad_key) = _a_run_with_one_failure(app, instance, tmp_path)
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "documents_landed"]
    assert not check.passed and check.severity is dg.AssetCheckSeverity.WARN
    assert bad_key in check.description and "validated_content" in check.description
    rows = check.metadata["not_landed"].records
    assert [(row.data["partition"], row.data["failed_stage"]) for row in rows] == [(bad_key, "validated_content")]
    assert check.metadata["failed"].value == 1 and check.metadata["landed"].value == 1
    assert "ingest-pipeline retry" in check.metadata["re_drive"].value


def test_the_landed_check_passes_when_every_document_landed(app, instance, tmp_path):
    ids = [register(app, write(tmp_path, f"{t}.md", f"# {t}\n\n" + paragraph(t, 12))) for t in ("kelp", "gull")]
    result = materialize(app, instance, ids)
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "documents_landed"]
    assert check.passed and check.description == "all 2 landed"


def test_failed_documents_lists_stage_reason_partition_and_how_to_redrive(app, instance, tmp_path):
    _, _, bad, (_, bad_key) = _a_run_with_one_failure(app, instance, tmp_path)
    result = dg.materialize([failed_documents], instance=instance, resources=app.resources)
    metadata = result.asset_materializations_for_node("failed_documents")[0].metadata
    [row] = metadata["failed"].records
    assert row.data["partition"] == bad_key and row.data["document_id"] == bad
    assert row.data["failed_stage"] == "validated_content" and row.data["reason"]
    assert [column.name for column in metadata["failed"].schema.columns][:5] == [
        "partition", "path", "version", "failed_stage", "reason"]
    assert metadata["dagster/row_count"].value == 1 and "ingest-pipeline retry --failed" in metadata["re_drive"].value


def test_a_story_without_its_document_still_says_what_happened_and_durations_never_read_zero():
    story = document_story(None, Outcome("gone~12345678", "", "skipped", seconds=0.000123, note="no such document"))
    assert story["outcome"].value == "skipped" and story["note"].value == "no such document"
    assert story["duration_seconds"].value == 0.000123 and seconds(12.3456789).value == 12.35
