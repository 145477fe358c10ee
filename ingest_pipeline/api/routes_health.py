"""GET /health: what the API needs to answer (database, pgvector, storage) and what the pipeline needs (providers, daemon)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from ingest_pipeline.api.context import ApiContext, get_context
from ingest_pipeline.api.schemas import Check, Health, NamedCheck
from ingest_pipeline.domain.checks import CheckResult
from ingest_pipeline.orchestration.daemon_health import daemon_check_of
from ingest_pipeline.service.application import Application
from ingest_pipeline.service.health import database_checks, storage_check
from ingest_pipeline.store import embedding_sets

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Database, pgvector, storage, providers and daemon checks",
            description="`status` is `unavailable` (503) when the API itself cannot work: database, pgvector or "
                        "storage. Providers (checked at most once a minute) and the Dagster daemon are reported "
                        "in `checks`: documents wait without them, but the API still answers.",
            responses={503: {"model": Health, "description": "The database, pgvector or storage check failed."}})
def health(response: Response, context: ApiContext = Depends(get_context)) -> Health:
    app = context.app
    checks = [*database_checks(lambda: app.engine), storage_check(app.settings.storage_dir),
              *context.provider_checks(), daemon_check_of(context.heartbeat_instance)]
    named = {check.name: check for check in checks}
    available = all(check.ok for check in checks if check.critical)
    if not available:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(status="ok" if available else "unavailable",
                  database=_joined(named["database"], named["pgvector"]),
                  storage=Check(ok=named["storage"].ok, detail=named["storage"].detail),
                  parser=app.settings.parser, embedder=app.settings.embedder, **_embedding_set(app),
                  active_embedding_set=_active_set(app) if named["database"].ok else None,
                  checks=[NamedCheck(**check.as_dict()) for check in checks])


def _joined(database: CheckResult, pgvector: CheckResult) -> Check:
    # `database` has always meant "usable for this pipeline": reachable and with pgvector.
    return Check(ok=database.ok and pgvector.ok, detail=f"{database.detail}; {pgvector.detail}")


def _embedding_set(app: Application) -> dict:
    try:
        space = app.embedder.space
    except ValueError:
        # An unknown model name: searching will say so; the health report still answers.
        return {"embedding_model": app.settings.embedding_model, "embedding_dimensions": 0}
    return {"embedding_model": space.model, "embedding_dimensions": space.dimensions}


def _active_set(app: Application) -> str | None:
    with app.engine.connect() as conn:
        answering = embedding_sets.active_set(conn)
    return answering.name if answering else None
