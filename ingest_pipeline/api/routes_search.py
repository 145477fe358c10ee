"""GET /search: the embedded chunks nearest to a query."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, status

from ingest_pipeline.api.context import ApiContext, get_context
from ingest_pipeline.api.schemas import Problem, SearchHit, SearchResults
from ingest_pipeline.domain.errors import TransientFailure
from ingest_pipeline.embed.openai_requests import ProviderConfigurationError
from ingest_pipeline.service.application import NothingEmbedded

MAX_K = 50
MAX_QUERY_CHARS = 2000

search_router = APIRouter(tags=["search"])


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
