"""Builds the configured resources from Settings: the one place configuration becomes resources."""

from __future__ import annotations

from ingest_pipeline.resources.chunker import ChunkerResource
from ingest_pipeline.resources.database import PostgresResource
from ingest_pipeline.resources.document_storage import DocumentStorageResource
from ingest_pipeline.resources.embedder import HASHING_DEFAULT_DIMENSIONS, EmbedderResource, HashingEmbedder
from ingest_pipeline.resources.parser import LocalParser, ParserResource
from ingest_pipeline.settings import Settings

PARSERS = ("local",)
EMBEDDERS = ("hashing",)


class ConfigurationError(ValueError):
    pass


def build_resources(settings: Settings) -> dict:
    return {
        "database": PostgresResource(url=settings.database_url, home=str(settings.home)),
        "storage": DocumentStorageResource(root=str(settings.storage_dir)),
        "parser": build_parser(settings),
        "chunker": ChunkerResource(max_tokens=settings.chunk_tokens, overlap_tokens=settings.chunk_overlap),
        "embedder": build_embedder(settings),
    }


def build_parser(settings: Settings) -> ParserResource:
    if settings.parser == "local":
        return LocalParser(max_pages=settings.max_pages)
    raise ConfigurationError(f"INGEST_PARSER={settings.parser!r} is not a parser; choose one of {', '.join(PARSERS)}")


def build_embedder(settings: Settings) -> EmbedderResource:
    if settings.embedder == "hashing":
        return HashingEmbedder(dimensions=settings.embedding_dimensions or HASHING_DEFAULT_DIMENSIONS)
    raise ConfigurationError(
        f"INGEST_EMBEDDER={settings.embedder!r} is not an embedder; choose one of {', '.join(EMBEDDERS)}"
    )
