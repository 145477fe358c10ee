"""Row-level invariants of the store that hold after any crash, race or fault: nothing half-visible, doubled or orphaned."""

from __future__ import annotations

from sqlalchemy import Engine, text

# Each query counts rows that break an invariant; all must be zero.
_VIOLATIONS = {
    "searchable chunks without a vector": (
        "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.chunk_id = c.id)"),
    "documents whose live chunks differ from their recorded count": (
        "SELECT count(*) FROM documents d WHERE d.chunk_count <> "
        "(SELECT count(*) FROM chunks c WHERE c.document_id = d.id) AND d.status = 'embedded'"),
    "chunks of documents that are not embedded and never were": (
        "SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.chunk_count = 0"),
    "two vectors for one chunk and set": (
        "SELECT count(*) FROM (SELECT chunk_id, set_id FROM chunk_embeddings GROUP BY 1, 2 HAVING count(*) > 1) x"),
    "staged chunks of embedded documents": (
        "SELECT count(*) FROM staged_chunks s JOIN documents d ON d.id = s.document_id WHERE d.status = 'embedded'"),
}


def violations(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        found = {name: conn.execute(text(sql)).scalar_one() for name, sql in _VIOLATIONS.items()}
    return {name: n for name, n in found.items() if n}


def search_visible(engine: Engine) -> dict[str, int]:
    """Searchable chunks per document."""
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT document_id, count(*) FROM chunks GROUP BY 1")).all())
