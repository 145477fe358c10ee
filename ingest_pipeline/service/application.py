"""The pipeline's objects outside Dagster runs (CLI, API): settings, engine, store, embedder, queries."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from sqlalchemy import Engine

from ingest_pipeline.circuits.breaker import open_circuits
from ingest_pipeline.domain.providers import CircuitState
from ingest_pipeline.embed.resource import EmbedderResource
from ingest_pipeline.orchestration.wiring import build_embedder, build_resources
from ingest_pipeline.search.hits import Hit
from ingest_pipeline.search.nearest import Filters, SearchMode, find_chunks
from ingest_pipeline.settings import Settings
from ingest_pipeline.store import documents, embedding_sets, embeddings
from ingest_pipeline.store.content import ContentStore
from ingest_pipeline.store.documents import Document
from ingest_pipeline.store.embedding_sets import EmbeddingSet


class NothingEmbedded(LookupError):
    pass


@dataclass
class Application:
    settings: Settings
    resources: dict = field(init=False)
    _query_embedders: dict[int, EmbedderResource] = field(init=False, default_factory=dict)

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
        """Documents (all, or these ids in order) with their searchable vector counts (in the active set)."""
        with self.engine.connect() as conn:
            docs = documents.get_many(conn, ids) if ids is not None else documents.list_all(conn, statuses)
            answering = embedding_sets.active_set(conn)
            counts = embeddings.counts_by_document(conn, answering.id if answering else None)
        return [(doc, counts.get(doc.id, 0)) for doc in docs]

    def paused_providers(self) -> list[CircuitState]:
        """Providers whose circuit is open: why documents wait."""
        with self.engine.connect() as conn:
            return open_circuits(conn)

    def search(self, query: str, k: int, mode: SearchMode = SearchMode.HYBRID,
               filters: Filters | None = None) -> list[Hit]:
        """The k best chunks for `query` in `mode`, of those `filters` allows. Keyword mode embeds nothing."""
        mode = SearchMode(mode)
        with self.engine.connect() as conn:
            set_id = vector = dimensions = None
            if mode.uses_vectors:
                answering = embedding_sets.active_set(conn)
                if answering is None:
                    raise NothingEmbedded("nothing has been embedded yet: ingest some documents first")
                set_id, dimensions = answering.id, answering.dimensions
                vector = self.query_embedder(answering).embed([query])[0]
            return find_chunks(conn, mode, k, text=query, vector=vector, set_id=set_id,
                               dimensions=dimensions, filters=filters)

    def query_embedder(self, answering: EmbeddingSet) -> EmbedderResource:
        """The embedder of the set search answers from: the configured one, or while a new set fills, one made
        for the active set's embedder, model and dimensions (queries must be embedded as its texts were)."""
        if self._space_of(self.embedder) == (answering.embedder, answering.model, answering.dimensions):
            return self.embedder
        if answering.id not in self._query_embedders:
            settings = replace(self.settings, embedder=answering.embedder, embedding_model=answering.model,
                               embedding_dimensions=answering.dimensions)
            self._query_embedders[answering.id] = build_embedder(settings, self.resources["database"], False)
        return self._query_embedders[answering.id]

    @staticmethod
    def _space_of(embedder: EmbedderResource) -> tuple | None:
        try:
            space = embedder.space
        except ValueError:  # an unknown model name: not the active set's
            return None
        return space.embedder, space.model, space.dimensions
