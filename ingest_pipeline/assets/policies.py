"""The partitions, backfill and retry policies every document asset shares."""

import dagster as dg

DOCUMENTS_PARTITION = "documents"
documents_partitions = dg.DynamicPartitionsDefinition(name=DOCUMENTS_PARTITION)

# Dagster costs seconds per run, so a backfill runs all selected documents in one run.
single_run_backfill = dg.BackfillPolicy.single_run()

# Retries re-run the whole step; documents already done are skipped as up to date, so a retry
# only redoes what failed.
transient_retry = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

INGEST_GROUP = "ingest"

# Steps that call the embedding provider share one Dagster pool (limit set in the instance config).
EMBEDDING_POOL = "openai"

# Steps that submit to the parse service share one pool, so many runs cannot flood it with uploads.
PARSE_POOL = "llamaparse"
