"""The partitions, backfill and retry policies every document asset shares."""

import dagster as dg

from ingest_pipeline.domain.providers import LLAMAPARSE, OPENAI

DOCUMENTS_PARTITION = "documents"
documents_partitions = dg.DynamicPartitionsDefinition(name=DOCUMENTS_PARTITION)

# A backfill puts this many documents in each run. A run costs seconds before any work (the daemon's
# launch, 2.5-3 s, then a process importing the code location), while a run of this size works for tens of
# seconds and holds a few hundred MB at most (README, Scaling): so a backfill of thousands of documents
# spreads over many runs, as many at once as the instance's run queue allows (4 in dagster.yaml, each a pod
# of K8sRunLauncher or a process of the default launcher), and a run that fails redoes at most this many.
# Runs over a range of documents asked for by tags (the CLI, the sensors) are not split by it.
DOCUMENTS_PER_RUN = 250
documents_backfill = dg.BackfillPolicy.multi_run(DOCUMENTS_PER_RUN)

# The retry layers, innermost first, each for what the others cannot catch:
# 1. One OpenAI request (`embed.openai_requests.MAX_ATTEMPTS`, back-off or Retry-After; the SDK's own retries are
#    off): a 429, 5xx or timeout costs one more request, not a step, and waits on the shared rate budget.
# 2. One LlamaCloud call (`LlamaParseResource.max_retries`, the SDK's back-off): the same for a submission,
#    poll or result fetch, which have no requester of ours; few, because creating a job is not idempotent.
# 3. The circuit breaker (`circuits.breaker`): after that many failures in a row, counted across every run
#    and process, work for the provider pauses and its documents wait, so an outage neither burns the
#    layers below nor fails documents (`uploads_sensor` queues them again once the pause is over).
# 4. A document's attempts (`orchestration.runner.MAX_ATTEMPTS`, counted in Postgres across steps and runs): an
#    unexpected error fails that one document for good at the last attempt, so a document that always
#    breaks neither retries forever nor holds up the others (and fails before the step runs out of tries).
# 5. The step's retry policy (below): re-runs the step when a document asked for another attempt or an
#    error escaped the stage as a whole (the database unreachable for a moment); documents already done
#    are skipped as up to date, so a retry only redoes what failed.
# 6. Dagster's run retries (repository dagster.yaml; none in the CLI's instance): relaunch a run whose
#    process died (a container restarted, a worker killed for memory), which nothing inside it can.
# Parse jobs have one more, of their own: a job that never finishes is submitted again (INGEST_PARSE_MAX_SUBMISSIONS).
transient_retry = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

INGEST_GROUP = "ingest"

# Steps that call the embedding provider share one Dagster pool (limit set in the instance config).
EMBEDDING_POOL = OPENAI

# Steps that submit to the parse service share one pool, so many runs cannot flood it with uploads.
PARSE_POOL = LLAMAPARSE
