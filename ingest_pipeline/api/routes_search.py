"""Searching the embedded chunks, and the health report that load balancers and people poll."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from sqlalchemy import text

from ingest_pipeline.api.context import ApiContext, get_context
from ingest_pipeline.api.schemas import Check, Health, Problem, SearchHit, SearchResults
from ingest_pipeline.application import Application, NothingEmbedded
from ingest_pipeline.errors import TransientFailure
from ingest_pipeline.openai_requests import ProviderConfigurationError

MAX_K = 50
MAX_QUERY_CHARS = 2000

search_router = APIRouter(tags=["search"])
health_router = APIRouter(tags=["health"])


@search_router.get(
    "/search", response_model=SearchResults, summary="The chunks nearest to a query",
    responses={409: {"model": Problem, "description": "Nothing is embedded in the configured embedding set yet."},
               503: {"model": Problem, "description": "The embedding provider is unavailable."}},
)
def search(q: str = Query(..., min_length=1, max_length=MAX_QUERY_CHARS, pattern=r"\S",
                          description="The text to search for (not only whitespace)."),
           k: int = Query(5, ge=1, le=MAX_K, description="How many chunks to return."),
           context: ApiContext = Depends(get_context)) -> SearchResults:
    try:
        hits = context.app.search(q, k)
    except NothingEmbedded as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except (TransientFailure, ProviderConfigurationError) as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"cannot embed the query: {error}") from None
    except ValueError as error:
        # The provider refused this query text (the OpenAI embedder says why).
        raise HTTPException(422, str(error)) from None
    return SearchResults(query=q, k=k, hits=[SearchHit.of(hit) for hit in hits])


@health_router.get("/health", response_model=Health, summary="Database, storage and configuration checks",
                   responses={503: {"model": Health, "description": "A check failed."}})
def health(response: Response, context: ApiContext = Depends(get_context)) -> Health:
    app = context.app
    report = Health(status="ok", database=_database(app), storage=_storage(app.settings.storage_dir),
                    parser=app.settings.parser, embedder=app.settings.embedder, **_embedding_set(app))
    if not (report.database.ok and report.storage.ok):
        report.status = "unavailable"
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return report


def _database(app: Application) -> Check:
    try:
        with app.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            vector = conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).scalar()
    except Exception as error:  # noqa: BLE001 - any failure is the answer; its message may hold the URL
        return Check(ok=False, detail=f"cannot query the database ({type(error).__name__})")
    if vector is None:
        return Check(ok=False, detail="the pgvector extension is not installed")
    return Check(ok=True, detail=f"connected; pgvector {vector}")


def _storage(folder: Path) -> Check:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".health-"):
            pass
    except OSError as error:
        return Check(ok=False, detail=f"the storage folder is not writable ({type(error).__name__})")
    return Check(ok=True, detail="writable")


def _embedding_set(app: Application) -> dict:
    try:
        space = app.embedder.space
    except ValueError:
        # An unknown model name: searching will say so; the health report still answers.
        return {"embedding_model": app.settings.embedding_model, "embedding_dimensions": 0}
    return {"embedding_model": space.model, "embedding_dimensions": space.dimensions}
