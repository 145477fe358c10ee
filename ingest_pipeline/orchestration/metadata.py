"""Turns a stage's per-document outcomes into Dagster metadata, log lines and retries."""

from __future__ import annotations

from collections import Counter

import dagster as dg

from ingest_pipeline.domain.errors import TransientFailure
from ingest_pipeline.logs.format import OUTCOME_LOGGER, structured_logger
from ingest_pipeline.orchestration.observations import seconds
from ingest_pipeline.orchestration.runner import DONE, FAILED, RETRY, UP_TO_DATE, Outcome
from ingest_pipeline.store import documents

# Rows of the `unfinished` table; the run's log has a line for every document that failed.
_TABLE_ROWS = 25
_NOTE_CHARS = 300
_WENT_THROUGH = (DONE, UP_TO_DATE)
_outcome_log = structured_logger(OUTCOME_LOGGER)
_SUMMED = ("pages", "characters", "chunks", "tokens", "bytes", "embedded_texts", "embedded_tokens")


def stage_result(context: dg.AssetExecutionContext, outcomes: list[Outcome],
                 check_results: list[dg.AssetCheckResult] | None = None) -> dg.MaterializeResult:
    """Log each document's outcome, retry the step if any document may pass later, else report."""
    log_outcomes(context, outcomes)
    retrying = [o for o in outcomes if o.state == RETRY]
    if retrying:
        raise TransientFailure(f"{len(retrying)} document(s) hit a transient error and will be retried: "
                               + "; ".join(f"{o.document_id}: {o.note}" for o in retrying[:5]))
    return dg.MaterializeResult(metadata=outcome_metadata(outcomes), check_results=check_results or [])


def log_outcomes(context: dg.AssetExecutionContext, outcomes: list[Outcome]) -> None:
    """One line per document, whose fields (`extra`) become the keys of the JSON line, and a summary."""
    stage = context.asset_key.path[-1]
    jobs = _parse_jobs(context, outcomes)
    for outcome in outcomes:
        line = f"{outcome.document_id} {outcome.source}: {outcome.state}"
        message = f"{line} — {outcome.note}" if outcome.note else line
        fields = outcome_fields(outcome, stage, jobs.get(outcome.document_id))
        # Each context.log line is also an event Dagster stores (a database write each): only the
        # documents that need attention go there; the others are JSON lines on stderr.
        if outcome.state in (FAILED, RETRY):
            context.log.warning(message, extra=fields)
        else:
            _outcome_log.info(message, extra={**fields, "run_id": context.run.run_id, "job": context.job_name})
    states = Counter(o.state for o in outcomes)
    context.log.info(f"{stage}: {len(outcomes)} document(s), " + ", ".join(f"{n} {s}" for s, n in states.most_common()))


def outcome_fields(outcome: Outcome, stage: str, parse_job_id: str | None) -> dict:
    # Numbers only: facts also hold text previews, which have no place in a log.
    facts = {k: v for k, v in outcome.facts.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {"component": "asset", "document_id": outcome.document_id, "parse_job_id": parse_job_id,
            "stage": stage, "outcome": outcome.state, "source": outcome.source,
            "seconds": round(outcome.seconds, 3), "facts": facts}


def _parse_jobs(context: dg.AssetExecutionContext, outcomes: list[Outcome]) -> dict[str, str]:
    """Each document's parse job: from the stage's facts, else the job the document keeps."""
    found = {o.document_id: o.facts["parse_job_id"] for o in outcomes if o.facts.get("parse_job_id")}
    missing = [o.document_id for o in outcomes if o.document_id not in found]
    database = getattr(context.resources, "database", None)
    if missing and database is not None:
        with database.engine.connect() as conn:
            found.update({doc.id: doc.parse_job_id for doc in documents.get_many(conn, missing) if doc.parse_job_id})
    return found


def outcome_metadata(outcomes: list[Outcome]) -> dict:
    states = Counter(o.state for o in outcomes)
    metadata: dict = {"documents": dg.MetadataValue.int(len(outcomes))}
    metadata.update({state.replace(" ", "_"): dg.MetadataValue.int(n) for state, n in states.items()})
    for name in _SUMMED:
        total = sum(o.facts.get(name, 0) for o in outcomes)
        if any(name in o.facts for o in outcomes):
            metadata[name] = dg.MetadataValue.int(int(total))
    metadata["duration_seconds"] = seconds(sum(o.seconds for o in outcomes))
    # Dagster copies this metadata into the materialization of every partition of the run: a row per
    # document would be stored hundreds of times over. Only the documents that did not go through get one
    # (each document's own story is an observation on its partition: orchestration/observations.py).
    unfinished = [o for o in outcomes if o.state not in _WENT_THROUGH]
    if unfinished:
        metadata["unfinished"] = dg.MetadataValue.table([_row(o) for o in unfinished[:_TABLE_ROWS]], UNFINISHED_COLUMNS)
    if len(outcomes) == 1 and outcomes[0].facts.get("preview"):
        metadata["preview"] = dg.MetadataValue.md(outcomes[0].facts["preview"])
    return metadata


UNFINISHED_COLUMNS = dg.TableSchema(columns=[
    dg.TableColumn("document", "string", description="Document id."),
    dg.TableColumn("path", "string", description="Where the document came from."),
    dg.TableColumn("outcome", "string", description="failed, skipped, waiting or will retry."),
    dg.TableColumn("seconds", "float", description="Time this stage spent on it."),
    dg.TableColumn("note", "string", description="Why."),
])


def _row(outcome: Outcome) -> dg.TableRecord:
    return dg.TableRecord({"document": outcome.document_id, "path": outcome.source, "outcome": outcome.state,
                           "seconds": seconds(outcome.seconds).value, "note": outcome.note[:_NOTE_CHARS]})


def embedding_metadata(embedder, embedding_pass) -> dict:
    """Usage and cost of one embedding pass: what a user pays for, per materialization."""
    space, usage = embedder.space, embedding_pass.usage
    return {
        "embedding_set": dg.MetadataValue.text(f"{space.embedder}/{space.model}/{space.dimensions}"),
        "embedding_requests": dg.MetadataValue.int(usage.requests),
        "input_tokens": dg.MetadataValue.int(usage.input_tokens),
        "retries": dg.MetadataValue.int(usage.retries),
        "rate_budget_wait_seconds": seconds(usage.budget_wait_seconds),
        "texts_embedded": dg.MetadataValue.int(embedding_pass.texts_embedded),
        "cache_hits": dg.MetadataValue.int(embedding_pass.cache_hits),
        "estimated_cost_usd": dg.MetadataValue.float(embedder.estimated_cost_usd(usage.input_tokens)),
    }
