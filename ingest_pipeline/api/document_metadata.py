"""The caller's metadata on a document: a JSON object, checked by Postgres itself, stored as jsonb."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from ingest_pipeline.domain.metadata import InvalidMetadata, parse_metadata
from ingest_pipeline.store import documents

__all__ = ["InvalidMetadata", "check_metadata", "set_metadata"]


def check_metadata(engine: Engine, raw: str) -> str:
    """`raw` if it keeps the metadata bounds and Postgres reads it as a jsonb object, else InvalidMetadata.

    Asking Postgres too catches what only jsonb refuses (NaN, \\u0000, unpaired surrogates),
    before the document is registered.
    """
    parse_metadata(raw)
    try:
        with engine.connect() as conn:
            kind = documents.json_type(conn, raw)
    except (DBAPIError, ValueError):
        # psycopg2 refuses NUL characters in parameters with a ValueError before sending them.
        kind = None
    if kind != "object":
        raise InvalidMetadata("metadata must be a JSON object, e.g. {\"team\": \"finance\"}")
    return raw


def set_metadata(engine: Engine, document_id: str, raw: str) -> None:
    """Replace the document's metadata with the (checked) JSON object text `raw`."""
    with engine.begin() as conn:
        # psycopg2 sends the string as an untyped literal, which Postgres reads as jsonb here.
        documents.update(conn, document_id, metadata=raw)
