"""GET /search: the chunks that best answer a query, by vector, keyword or both, within optional filters."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError

from ingest_pipeline.api.context import ApiContext, get_context
from ingest_pipeline.api.schemas import Problem, SearchHit, SearchResults
from ingest_pipeline.domain.errors import TransientFailure
from ingest_pipeline.domain.metadata import MAX_METADATA_BYTES, InvalidMetadata, parse_metadata
from ingest_pipeline.domain.search_modes import SearchMode
from ingest_pipeline.embed.openai_requests import ProviderConfigurationError
from ingest_pipeline.search.nearest import Filters
from ingest_pipeline.service.application import NothingEmbedded

MAX_K = 50
MAX_QUERY_CHARS = 2000
# Bounds on filter values, so one request cannot make a query of any size.
MAX_FILTER_VALUES = 100
MAX_FILTER_CHARS = 512

search_router = APIRouter(tags=["search"])


def search_filters(
    document_id: list[str] = Query([], max_length=MAX_FILTER_VALUES,
                                   description="Only chunks of these documents (repeat the parameter for several)."),
    external_id_prefix: str | None = Query(None, min_length=1, max_length=MAX_FILTER_CHARS,
                                           description="Only documents whose external id starts with this."),
    media_type: list[str] = Query([], max_length=MAX_FILTER_VALUES,
                                  description="Only documents of these media types, e.g. `application/pdf`."),
    metadata: str | None = Query(None, max_length=MAX_METADATA_BYTES,
                                 description='Only documents whose metadata contains this JSON object (jsonb `@>`), '
                                             'e.g. `{"team": "finance"}`.'),
    ingested_after: datetime | None = Query(None, description="Only documents registered at or after this time "
                                                               "(ISO 8601; UTC unless an offset is given)."),
    ingested_before: datetime | None = Query(None, description="Only documents registered before this time."),
) -> Filters:
    """The query's filters, or 422 naming the value refused."""
    for name, values in (("document_id", document_id), ("media_type", media_type)):
        if any(len(value) > MAX_FILTER_CHARS for value in values):
            raise refused(name, f"a value is longer than {MAX_FILTER_CHARS} characters")
    try:
        contained = parse_metadata(metadata) if metadata is not None else None
    except InvalidMetadata as error:
        raise refused("metadata", str(error)) from None
    try:
        return Filters(document_ids=document_id, external_id_prefix=external_id_prefix, media_types=media_type,
                       metadata=contained, ingested_after=ingested_after, ingested_before=ingested_before)
    except ValueError as error:
        raise refused("filters", str(error)) from None


def refused(parameter: str, message: str) -> RequestValidationError:
    """A 422 shaped as FastAPI's own (a list of errors), so every 422 of the route has one documented body."""
    return RequestValidationError([{"type": "value_error", "loc": ("query", parameter), "msg": message}])


@search_router.get(
    "/search", response_model=SearchResults, summary="The chunks that best answer a query",
    responses={409: {"model": Problem, "description": "Nothing is embedded in the configured embedding set yet "
                                                       "(vector and hybrid modes)."},
               503: {"model": Problem, "description": "The embedding provider is unavailable."}},
)
def search(q: str = Query(..., min_length=1, max_length=MAX_QUERY_CHARS, pattern=r"\S",
                          description="The text to search for (not only whitespace). Keyword matching reads it as "
                                      "web search syntax: \"quoted phrase\", `or`, `-excluded`."),
           k: int = Query(5, ge=1, le=MAX_K, description="How many chunks to return."),
           mode: SearchMode = Query(SearchMode.HYBRID, description="`hybrid` fuses the vector and keyword "
                                                                  "rankings; `vector` or `keyword` use one."),
           filters: Filters = Depends(search_filters),
           context: ApiContext = Depends(get_context)) -> SearchResults:
    try:
        hits = context.app.search(q, k, mode, filters)
    except NothingEmbedded as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except (TransientFailure, ProviderConfigurationError) as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"cannot embed the query: {error}") from None
    except ValueError as error:
        # The provider refused this query text (the OpenAI embedder says why), or Postgres could not take it.
        raise refused("q", str(error)) from None
    return SearchResults(query=q, k=k, mode=mode, hits=[SearchHit.of(hit) for hit in hits])
