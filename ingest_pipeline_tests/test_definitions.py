"""The code location loads and has the shape users rely on: six partitioned assets in a chain, the search index
after them in a job of its own, in-process runs."""

from __future__ import annotations

import dagster as dg

from ingest_pipeline.definitions import defs
from ingest_pipeline.domain.statuses import STAGES
from ingest_pipeline.orchestration.code_location import INGEST_JOB
from ingest_pipeline.orchestration.policies import DOCUMENTS_PARTITION, DOCUMENTS_PER_RUN, INGEST_GROUP
from ingest_pipeline.orchestration.search_index import INDEX_JOB, SEARCH_GROUP


def test_definitions_validate():
    dg.Definitions.validate_loadable(defs)


def test_the_stage_assets_form_one_chain_partitioned_by_documents():
    graph = defs.resolve_asset_graph()
    names = [stage.value for stage in STAGES]
    # Other groups (the unpartitioned corpus_report) sit beside the chain.
    assert {key.path[-1] for key in graph.get_all_asset_keys() if graph.get(key).group_name == INGEST_GROUP} == set(names)
    for upstream, downstream in zip(names, names[1:]):
        assert graph.get(dg.AssetKey(downstream)).parent_keys == {dg.AssetKey(upstream)}
    for name in names:
        node = graph.get(dg.AssetKey(name))
        assert node.partitions_def.name == DOCUMENTS_PARTITION
        assert node.backfill_policy == dg.BackfillPolicy.multi_run(DOCUMENTS_PER_RUN)


def test_the_ingest_job_runs_in_process():
    job = defs.resolve_job_def(INGEST_JOB)
    assert job.executor_def.name == dg.in_process_executor.name


def test_the_search_index_follows_embeddings_in_a_job_of_its_own():
    node = defs.resolve_asset_graph().get(dg.AssetKey("search_index"))
    assert node.parent_keys == {dg.AssetKey("embeddings")} and node.partitions_def is None
    assert node.group_name == SEARCH_GROUP != INGEST_GROUP  # so no ingest run waits for it
    assert defs.resolve_job_def(INDEX_JOB).executor_def.name == dg.in_process_executor.name
    assert defs.resolve_sensor_def("index_upkeep_sensor").job_name == INDEX_JOB
