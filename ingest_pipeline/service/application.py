"""The pipeline's objects outside Dagster runs (CLI, API): settings, engine, store, embedder, queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine

from ingest_pipeline.circuits.breaker import open_circuits
from ingest_pipeline.domain.providers import CircuitState
from ingest_pipeline.embed.resource import EmbedderResource
from ingest_pipeline.orchestration.wiring import build_resources
from ingest_pipeline.search.hits import Hit
from ingest_pipeline.search.nearest import Filters, SearchMode, find_chunks
from ingest_pipeline.settings import Settings
from ingest_pipeline.store import documents, embeddings
from ingest_pipeline.store.content import ContentStore
from ingest_pipeline.store.documents import Document


class NothingEmbedded(LookupError):
    pass


@dataclass
class Application:
    settings: Settings
    resources: dict = field(init=False)

    def __post_init__(self):
        self.resources = build_resources(self.settings)

    @classmethod
    def from_env(cls) -> "Application":
        return cls(Settings.from_env())

    @cached_property
    def engine(self) -> Engine:
        return self.resources["database"].engine

    @property
    def store(self) -> ContentStore:
        return self.resources["storage"].store

    @property
    def embedder(self) -> EmbedderResource:
        return self.resources["embedder"]

    def documents(self, ids: list[str] | None = None, statuses=()) -> list[tuple[Document, int]]:
        """Documents (all, or these ids in order) with their searchable vector counts."""
        space = self.embedder.space
        with self.engine.connect() as conn:
            docs = documents.get_many(conn, ids) if ids is not None else documents.list_all(conn, statuses)
            set_id = embeddings.find_set(conn, space.embedder, space.model, space.dimensions)
            counts = embeddings.counts_by_document(conn, set_id)
        return [(doc, counts.get(doc.id, 0)) for doc in docs]

    def paused_providers(self) -> list[CircuitState]:
        """Providers whose circuit is open: why documents wait."""
        with self.engine.connect() as conn:
            return open_circuits(conn)

    def search(self, query: str, k: int, mode: SearchMode = SearchMode.HYBRID,
               filters: Filters | None = None) -> list[Hit]:
        """The k best chunks for `query` in `mode`, of those `filters` allows. Keyword mode embeds nothing."""
        mode, space = SearchMode(mode), self.embedder.space
        with self.engine.connect() as conn:
            set_id = vector = None
            if mode.uses_vectors:
                set_id = embeddings.find_set(conn, space.embedder, space.model, space.dimensions)
                if set_id is None:
                    raise NothingEmbedded(f"nothing has been embedded with {space.embedder}/{space.model}/"
                                          f"{space.dimensions} yet: ingest some documents first")
                vector = self.embedder.embed([query])[0]
            return find_chunks(conn, mode, k, text=query, vector=vector, set_id=set_id,
                               dimensions=space.dimensions, filters=filters)
