"""The six partitioned document assets: thin shells over the stages, one document per partition, each
document's story told on its partition."""


import dagster as dg

from ingest_pipeline.chunk.resource import ChunkerResource
from ingest_pipeline.chunk.stage import chunk_document
from ingest_pipeline.domain.statuses import Stage
from ingest_pipeline.embed.openai_requests import ProviderConfigurationError
from ingest_pipeline.embed.publish import publish_document, switch_when_complete
from ingest_pipeline.embed.resource import EmbedderResource
from ingest_pipeline.embed.stage import embed_pending
from ingest_pipeline.intake.resource import DocumentStorageResource
from ingest_pipeline.orchestration.checks import (
    LANDED_CHECK,
    SETS_CHECK,
    USABLE_TEXT_CHECK,
    landed_result,
    sets_result,
    usable_text_result,
)
from ingest_pipeline.orchestration.metadata import embedding_metadata, stage_result
from ingest_pipeline.orchestration.observations import observe_documents
from ingest_pipeline.orchestration.partitions import document_ids
from ingest_pipeline.orchestration.policies import (
    EMBEDDING_POOL,
    INGEST_GROUP,
    PARSE_POOL,
    documents_backfill,
    documents_partitions,
    transient_retry,
)
from ingest_pipeline.orchestration.runner import DONE, PROCESSES_AT_ONCE, Outcome, run_stage, run_stage_in_order
from ingest_pipeline.parse.parsers import AsynchronousParser
from ingest_pipeline.parse.resource import ParserResource
from ingest_pipeline.parse.stage import check_raw_document, parse_document, submit_document
from ingest_pipeline.store import superseded
from ingest_pipeline.store.resource import PostgresResource
from ingest_pipeline.validate.stage import clean_document, record_validation

_common = dict(partitions_def=documents_partitions, backfill_policy=documents_backfill,
               retry_policy=transient_retry, group_name=INGEST_GROUP)


def _ids(context: dg.AssetExecutionContext, database: PostgresResource) -> list[str]:
    """The run's documents, in partition order."""
    return document_ids(database.engine, context.partition_keys)


def _report(context: dg.AssetExecutionContext, database: PostgresResource, outcomes: list[Outcome],
            check_results: list[dg.AssetCheckResult] | None = None, cost_usd=None) -> dg.MaterializeResult:
    # Outcomes come in the order of the run's documents, which is the order of its partition keys.
    observe_documents(context, database.engine, context.partition_keys, outcomes, cost_usd)
    return stage_result(context, outcomes, check_results)


def _documents_at_once(parser: ParserResource) -> int:
    # A parser service is called one document at a time: its retries, circuit and webhook handling
    # were built and proven that way, and its own queue is where parallel work happens. The local
    # parser's work is ours: extracting text, a processor core per document.
    return 1 if isinstance(parser, AsynchronousParser) else PROCESSES_AT_ONCE


@dg.asset(**_common, kinds={"file"}, description="The uploaded bytes, verified against their sha256 and type-sniffed.")
def raw_document(context: dg.AssetExecutionContext, database: PostgresResource,
                 storage: DocumentStorageResource) -> dg.MaterializeResult:
    def check(engine, doc):
        return check_raw_document(engine, doc, storage.store)
    return _report(context, database, run_stage(database.engine, Stage.RAW_DOCUMENT, _ids(context, database), check))


@dg.asset(**_common, deps=[raw_document], kinds={"llamaindex"}, pool=PARSE_POOL,
          description="The document handed to its parser: a LlamaParse job submitted (with signed webhooks) "
                      "and not waited for, or nothing to do for the local parser.")
def parse_job(context: dg.AssetExecutionContext, database: PostgresResource,
              storage: DocumentStorageResource, parser: ParserResource) -> dg.MaterializeResult:
    def submit(engine, doc):
        return submit_document(engine, doc, storage.store, parser)
    return _report(context, database, run_stage(database.engine, Stage.PARSE_JOB, _ids(context, database), submit,
                                                at_once=_documents_at_once(parser)))


@dg.asset(**_common, deps=[parse_job], kinds={"postgres"},
          description="Text of every page, as Markdown: parsed locally, or fetched once the parse job finished.")
def parsed_text(context: dg.AssetExecutionContext, database: PostgresResource,
                storage: DocumentStorageResource, parser: ParserResource) -> dg.MaterializeResult:
    def parse(engine, doc):
        return parse_document(engine, doc, storage.store, parser)
    return _report(context, database, run_stage(database.engine, Stage.PARSED_TEXT, _ids(context, database), parse,
                                                at_once=_documents_at_once(parser), processes=True))


@dg.asset(**_common, deps=[parsed_text], kinds={"postgres"}, check_specs=[USABLE_TEXT_CHECK],
          description="Normalised text that passed the blocking checks; duplicates are set aside.")
def validated_content(context: dg.AssetExecutionContext, database: PostgresResource) -> dg.MaterializeResult:
    # Cleaned side by side, decided in partition order: of two with the same text, the first is the original.
    outcomes = run_stage_in_order(database.engine, Stage.VALIDATED_CONTENT, _ids(context, database),
                                  clean_document, record_validation, at_once=PROCESSES_AT_ONCE, processes=True)
    return _report(context, database, outcomes, [usable_text_result(database.engine, outcomes)])


@dg.asset(**_common, deps=[validated_content], kinds={"postgres"},
          description="Token- and structure-aware chunks with deterministic ids, staged for embedding.")
def chunks(context: dg.AssetExecutionContext, database: PostgresResource,
           chunker: ChunkerResource) -> dg.MaterializeResult:
    def cut(engine, doc):
        return chunk_document(engine, doc, chunker.options)
    return _report(context, database, run_stage(database.engine, Stage.CHUNKS, _ids(context, database), cut,
                                                at_once=PROCESSES_AT_ONCE, processes=True))


@dg.asset(**_common, deps=[chunks], kinds={"pgvector"}, pool=EMBEDDING_POOL,
          check_specs=[LANDED_CHECK, SETS_CHECK],
          description="Vectors for every chunk, embedded once per distinct text, published to search with the chunks.")
def embeddings(context: dg.AssetExecutionContext, database: PostgresResource,
               embedder: EmbedderResource, storage: DocumentStorageResource) -> dg.MaterializeResult:
    ids = _ids(context, database)
    try:
        embedding_pass = embed_pending(database.engine, ids, embedder)
    except ProviderConfigurationError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
    def publish(engine, doc):
        return publish_document(engine, doc, embedding_pass)
    outcomes = run_stage(database.engine, Stage.EMBEDDINGS, ids, publish)
    # A configured set other than the active one fills run by run; the run that completes it switches search.
    switch_when_complete(database.engine, embedding_pass)
    # Published: the bytes of the versions these documents moved past are no longer needed.
    superseded.collect(database.engine, storage.store, [o.document_id for o in outcomes if o.state == DONE])
    for outcome in outcomes:
        if "embedded_tokens" in outcome.facts:
            outcome.facts["cost_usd"] = round(embedder.estimated_cost_usd(outcome.facts["embedded_tokens"]), 6)
    checks = [landed_result(database.engine, ids), sets_result(database.engine, embedding_pass.set_id)]
    result = _report(context, database, outcomes, checks, embedder.estimated_cost_usd)
    result.metadata.update(embedding_metadata(embedder, embedding_pass))
    return result


document_assets = [raw_document, parse_job, parsed_text, validated_content, chunks, embeddings]
