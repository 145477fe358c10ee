"""The JSON bodies the ingest API answers with, as Pydantic models so the OpenAPI schema is exact."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ingest_pipeline.domain.search_modes import SearchMode
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.search.hits import Hit
from ingest_pipeline.store.documents import Document


class Problem(BaseModel):
    """Every error the API itself raises has this body (request validation errors list fields)."""

    detail: str


class UploadResult(BaseModel):
    id: str
    status: DocumentStatus
    status_url: str = Field(description="Where to follow the document through the pipeline.")
    version: int = Field(description="Increases when the same external id is uploaded with new bytes.")
    created: bool = Field(description="False when these bytes (or this external id) were already registered.")


class DocumentView(BaseModel):
    id: str
    external_id: str | None
    status: DocumentStatus
    failed_stage: str | None
    reason: str | None = Field(description="Why the document failed, written for the person who uploaded it.")
    attempts: int
    version: int
    file_name: str
    source: str
    media_type: str | None
    size_bytes: int
    sha256: str
    pages: int | None
    characters: int | None
    chunk_count: int
    token_count: int
    embeddings: int = Field(description="Searchable vectors in the active embedding set (the one search answers from).")
    duplicate_of: str | None
    partition_key: str = Field(description="The document's partition in Dagster (its name there, never changed by "
                               "a new version): find its runs and observations in the UI under this key.")
    parse_job_id: str | None = Field(description="The parse job (LlamaParse) that parsed or is parsing this version.")
    page_errors: dict[str, str] = Field(description="Pages the parser could not read, by page number, with the reason.")
    metadata: dict
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, doc: Document, embeddings: int) -> "DocumentView":
        fields = {name: getattr(doc, name) for name in cls.model_fields if name != "embeddings"}
        return cls(**fields, embeddings=embeddings)


class DocumentList(BaseModel):
    items: list[DocumentView]
    total: int = Field(description="Documents matching the filter, across all pages.")
    limit: int
    offset: int


class RetryResult(BaseModel):
    id: str
    status: DocumentStatus


class SearchHit(BaseModel):
    document_id: str
    source: str = Field(description="The document's path (or upload name) as registered.")
    external_id: str | None = Field(description="The caller's id for the document, when it was uploaded with one.")
    media_type: str | None
    chunk_id: str
    page_start: int
    page_end: int
    heading_path: list[str] = Field(description="The headings the chunk sits under, outermost first.")
    score: float = Field(description="The mode's score: cosine similarity (vector, 1 is identical), ts_rank_cd "
                                     "(keyword) or the reciprocal-rank-fusion score (hybrid). Higher is better.")
    vector_similarity: float | None = Field(description="Cosine similarity to the query (null in keyword mode).")
    vector_rank: int | None = Field(description="Place in the vector ranking's top N (null when outside it).")
    keyword_score: float | None = Field(description="ts_rank_cd of the full-text match (0 when no query word matches).")
    keyword_rank: int | None = Field(description="Place in the keyword ranking's top N (null when outside it).")
    fused_score: float | None = Field(description="Reciprocal rank fusion of the two ranks (hybrid mode only).")
    snippet: str = Field(description="The matched words in **bold** (ts_headline; fragments joined by …), "
                                     "or the chunk's first words in vector mode.")
    text: str

    @classmethod
    def of(cls, hit: Hit) -> "SearchHit":
        fields = {name: getattr(hit, name) for name in cls.model_fields if name != "heading_path"}
        return cls(**fields, heading_path=list(hit.heading_path))


class SearchResults(BaseModel):
    query: str
    k: int
    mode: SearchMode
    hits: list[SearchHit]


class Check(BaseModel):
    ok: bool
    detail: str


class NamedCheck(Check):
    name: str
    critical: bool = Field(description="Whether the API needs it to answer: a failure makes the status unavailable.")


class Health(BaseModel):
    status: str = Field(description="`ok` when every critical check passed (database, pgvector, storage), "
                                    "else `unavailable`.")
    database: Check
    storage: Check
    parser: str
    embedder: str
    embedding_model: str = Field(description="The configured model: the set the embeddings stage fills.")
    embedding_dimensions: int
    active_embedding_set: str | None = Field(
        description="The set search answers from (embedder/model/dimensions); another than the configured one while "
                    "the configured set fills after a model change. Null before anything was embedded.")
    checks: list[NamedCheck] = Field(description="Every check by name, providers and the Dagster daemon included.")
