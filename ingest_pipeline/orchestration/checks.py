"""The blocking check on validated_content: unusable or duplicate text must not be chunked or embedded."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import Engine

from ingest_pipeline.domain.statuses import Stage, is_ready_for
from ingest_pipeline.orchestration.runner import FAILED, Outcome
from ingest_pipeline.store import documents

USABLE_TEXT_CHECK = dg.AssetCheckSpec(
    "usable_text", asset="validated_content", blocking=True,
    description="Every document validated in this run has usable, non-duplicate text. Fails with ERROR "
                "(stopping chunks and embeddings) when no document of the run may go on; with WARN when "
                "others may, since those stages skip the rejected documents by their status.",
)


def usable_text_result(engine: Engine, outcomes: list[Outcome]) -> dg.AssetCheckResult:
    ids = [o.document_id for o in outcomes]
    with engine.connect() as conn:
        docs = documents.get_many(conn, ids)
    rejected = {o.document_id: o.note for o in outcomes if o.state == FAILED}
    rejected.update({d.id: f"duplicate of {d.duplicate_of}" for d in docs if d.duplicate_of})
    may_go_on = [d.id for d in docs if is_ready_for(Stage.CHUNKS, d.status)]
    return dg.AssetCheckResult(
        check_name=USABLE_TEXT_CHECK.name,
        passed=not rejected,
        severity=dg.AssetCheckSeverity.WARN if may_go_on else dg.AssetCheckSeverity.ERROR,
        metadata={"rejected": dg.MetadataValue.json(rejected), "may_go_on": dg.MetadataValue.int(len(may_go_on))},
    )
