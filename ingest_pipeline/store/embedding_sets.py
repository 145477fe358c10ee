"""Which embedding set search answers from, how completely each set covers the embedded documents, and
switching to a set or dropping one (its vectors, cached vectors and HNSW index)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, text

from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.store import embeddings

# Serialises every change of the active set (switch, first activation, the check before a switch).
_ACTIVE_LOCK = 7_420_400
_FIELDS = "id, embedder, model, dimensions, active"
log = logging.getLogger(__name__)


class SetRefused(ValueError):
    """A switch or drop that would leave search without answers: the reason names the set."""


@dataclass(frozen=True)
class EmbeddingSet:
    id: int
    embedder: str
    model: str
    dimensions: int
    active: bool = False

    @property
    def name(self) -> str:
        return f"{self.embedder}/{self.model}/{self.dimensions}"


@dataclass(frozen=True)
class Coverage:
    """How much of what search can return a set has vectors for: embedded documents whose every live chunk
    has one, and live chunks of embedded documents that have one, against all of them."""

    set: EmbeddingSet
    documents: int
    chunks: int
    of_documents: int
    of_chunks: int
    index_bytes: int | None

    @property
    def complete(self) -> bool:
        return self.documents == self.of_documents and self.chunks == self.of_chunks


def active_set(conn: Connection) -> EmbeddingSet | None:
    """The set search answers from; None before anything was embedded."""
    row = conn.execute(text(f"SELECT {_FIELDS} FROM embedding_sets WHERE active")).first()
    return EmbeddingSet(*row) if row else None


def all_sets(conn: Connection) -> list[EmbeddingSet]:
    return [EmbeddingSet(*row) for row in conn.execute(text(f"SELECT {_FIELDS} FROM embedding_sets ORDER BY id"))]


def find(conn: Connection, given: str) -> EmbeddingSet:
    """A set by its id or its name (embedder/model/dimensions), or SetRefused naming what exists."""
    sets = all_sets(conn)
    for candidate in sets:
        if given in (str(candidate.id), candidate.name):
            return candidate
    known = ", ".join(f"{s.id} ({s.name})" for s in sets) or "none yet"
    raise SetRefused(f"no embedding set {given!r}; the sets are: {known}")


def activate_if_none(conn: Connection, set_id: int) -> bool:
    """Make the set active when no set is (the first set a store ever fills answers at once)."""
    _lock(conn)
    return conn.execute(text(
        "UPDATE embedding_sets SET active = true WHERE id = :id AND NOT EXISTS (SELECT 1 FROM embedding_sets WHERE active)"
    ), {"id": set_id}).rowcount == 1


def is_complete(conn: Connection, set_id: int) -> bool:
    """Whether every live chunk of every embedded document has a vector in the set (stops at the first gap)."""
    return not conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id AND d.status = :embedded "
        "WHERE NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.chunk_id = c.id AND e.set_id = :set))"
    ), {"set": set_id, "embedded": str(DocumentStatus.EMBEDDED)}).scalar_one()


def documents_lacking(conn: Connection, set_id: int | None) -> list[str]:
    """Embedded documents with a live chunk that has no vector in the set (every one for a set not made yet)."""
    return list(conn.execute(text(
        "SELECT d.id FROM documents d WHERE d.status = :embedded AND EXISTS (SELECT 1 FROM chunks c WHERE "
        "c.document_id = d.id AND NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.chunk_id = c.id AND "
        "e.set_id = :set)) ORDER BY d.id"
    ), {"set": set_id, "embedded": str(DocumentStatus.EMBEDDED)}).scalars())


def switch_when_complete(conn: Connection, set_id: int) -> bool:
    """Make the set active if it is not and covers every embedded document; whether it did. In the caller's
    transaction: searches see the old set or the new one, never neither."""
    _lock(conn)
    active = active_set(conn)
    if active is not None and active.id == set_id or not is_complete(conn, set_id):
        return False
    _make_active(conn, set_id)
    log.warning("search now answers from embedding set %s, which covers every embedded document%s", set_id,
                f"; it replaced set {active.id} ({active.name}), which `ingest-pipeline embeddings drop {active.id}` "
                f"deletes" if active else "")
    return True


def switch(conn: Connection, given: str, force: bool = False) -> tuple[EmbeddingSet, EmbeddingSet | None]:
    """Make the named set active: (the set, the one it replaced). An incomplete set would answer without some
    documents: refused unless `force`."""
    _lock(conn)
    chosen, active = find(conn, given), active_set(conn)
    if not force and not is_complete(conn, chosen.id):
        (found,) = coverage(conn, [chosen.id])
        raise SetRefused(f"embedding set {chosen.id} ({chosen.name}) covers {found.documents} of {found.of_documents} "
                         f"embedded documents ({found.chunks} of {found.of_chunks} chunks): fill it first "
                         f"(`ingest-pipeline embeddings fill` with it configured), or pass --force")
    _make_active(conn, chosen.id)
    return chosen, active


def drop(conn: Connection, given: str) -> tuple[EmbeddingSet, int, int]:
    """Delete the set: its HNSW index, its vectors, its cached vectors and its row; (set, vectors, cached
    vectors) deleted. The active set is refused: search would answer nothing."""
    _lock(conn)
    chosen = find(conn, given)
    if chosen.active:
        raise SetRefused(f"embedding set {chosen.id} ({chosen.name}) is the one search answers from; "
                         f"switch to another set first (`ingest-pipeline embeddings switch SET`)")
    embeddings.drop_index(conn, chosen.id)
    params = {"set": chosen.id}
    vectors = conn.execute(text("DELETE FROM chunk_embeddings WHERE set_id = :set"), params).rowcount
    cached = conn.execute(text("DELETE FROM embedding_cache WHERE set_id = :set"), params).rowcount
    conn.execute(text("DELETE FROM embedding_sets WHERE id = :set"), params)
    return chosen, vectors, cached


def coverage(conn: Connection, set_ids: list[int] | None = None) -> list[Coverage]:
    """Every set's (or these sets') coverage, in one pass over the live chunks and their vectors."""
    rows = conn.execute(text(
        "WITH live AS (SELECT c.id, c.document_id FROM chunks c JOIN documents d ON d.id = c.document_id"
        "              WHERE d.status = :embedded),"
        " per_document AS (SELECT document_id, count(*) AS n FROM live GROUP BY document_id),"
        " per_set AS (SELECT e.set_id, l.document_id, count(*) AS n FROM chunk_embeddings e"
        "             JOIN live l ON l.id = e.chunk_id GROUP BY e.set_id, l.document_id) "
        f"SELECT {', '.join('s.' + f.strip() for f in _FIELDS.split(','))},"
        " count(p.document_id) FILTER (WHERE p.n = d.n), coalesce(sum(p.n), 0),"
        " (SELECT count(*) FROM per_document), (SELECT coalesce(sum(n), 0) FROM per_document) "
        "FROM embedding_sets s LEFT JOIN per_set p ON p.set_id = s.id"
        " LEFT JOIN per_document d ON d.document_id = p.document_id "
        "WHERE CAST(:ids AS integer[]) IS NULL OR s.id = ANY(CAST(:ids AS integer[])) GROUP BY s.id ORDER BY s.id"
    ), {"embedded": str(DocumentStatus.EMBEDDED), "ids": set_ids})
    return [Coverage(EmbeddingSet(*row[:5]), int(row[5]), int(row[6]), int(row[7]), int(row[8]),
                     embeddings.index_bytes(conn, row[0])) for row in rows]


def _make_active(conn: Connection, set_id: int) -> None:
    # Two statements: the one-active index is checked row by row, so one UPDATE turning one set off and another
    # on could meet it half done.
    conn.execute(text("UPDATE embedding_sets SET active = false WHERE active AND id <> :id"), {"id": set_id})
    conn.execute(text("UPDATE embedding_sets SET active = true WHERE id = :id"), {"id": set_id})


def _lock(conn: Connection) -> None:
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ACTIVE_LOCK})
