"""Builds the configured resources from Settings: the one place configuration becomes resources."""

from __future__ import annotations

import dagster as dg

from ingest_pipeline.chunk.resource import ChunkerResource
from ingest_pipeline.domain.providers import EMBEDDERS, HASHING, LLAMAPARSE, LOCAL, OPENAI, PARSERS
from ingest_pipeline.embed.hashing import HASHING_DEFAULT_DIMENSIONS
from ingest_pipeline.embed.openai_resource import OpenAIEmbedder
from ingest_pipeline.embed.resource import EmbedderResource, HashingEmbedder
from ingest_pipeline.intake.resource import DocumentStorageResource, InboxResource
from ingest_pipeline.parse.llamaparse import LlamaParseResource
from ingest_pipeline.parse.resource import LocalParser, ParserResource
from ingest_pipeline.settings import Settings
from ingest_pipeline.store.resource import PostgresResource


class ConfigurationError(ValueError):
    pass


def build_resources(settings: Settings, secrets_as_env_vars: bool = False) -> dict:
    """Resources for these settings. Dagster definitions pass secrets as dg.EnvVar (resolved at run
    time, never shown in the UI); the CLI and API, which run outside Dagster, pass the values."""
    database = PostgresResource(url=settings.database_url, home=str(settings.home))
    storage = DocumentStorageResource(root=str(settings.storage_dir))
    return {
        "database": database,
        "storage": storage,
        "inbox": InboxResource(folder=str(settings.inbox_dir), database=database, storage=storage,
                               max_file_bytes=settings.max_file_bytes),
        "parser": build_parser(settings, secrets_as_env_vars),
        "chunker": ChunkerResource(max_tokens=settings.chunk_tokens, overlap_tokens=settings.chunk_overlap),
        "embedder": build_embedder(settings, database, secrets_as_env_vars),
    }


def build_parser(settings: Settings, secrets_as_env_vars: bool = False) -> ParserResource:
    if settings.parser == LOCAL:
        return LocalParser(max_pages=settings.max_pages, max_file_bytes=settings.max_file_bytes,
                           max_seconds=settings.max_parse_seconds, memory_mb=settings.parse_memory_mb,
                           cpu_seconds=settings.parse_cpu_seconds)
    if settings.parser == LLAMAPARSE:
        return LlamaParseResource(
            api_key=dg.EnvVar("LLAMA_CLOUD_API_KEY") if secrets_as_env_vars else settings.llama_cloud_api_key,
            base_url=settings.llama_cloud_base_url, tier=settings.llamaparse_tier, version=settings.llamaparse_version,
            public_url=settings.public_url,
            # Optional (no public URL, no webhooks): an EnvVar of an unset variable would fail every run.
            webhook_secret=(dg.EnvVar("INGEST_WEBHOOK_SECRET") if secrets_as_env_vars and settings.webhook_secret
                            else settings.webhook_secret),
            poll_after_seconds=settings.parse_poll_after, poll_first_seconds=settings.parse_poll_first,
            poll_backoff=settings.parse_poll_backoff, watch_seconds=settings.parse_watch,
            stuck_after_seconds=settings.parse_stuck_after,
            max_submissions=settings.parse_max_submissions, circuit_failures=settings.circuit_failures,
            circuit_cooldown_seconds=settings.circuit_cooldown,
        )
    raise ConfigurationError(f"INGEST_PARSER={settings.parser!r} is not a parser; choose one of {', '.join(PARSERS)}")


def build_embedder(settings: Settings, database: PostgresResource, secrets_as_env_vars: bool) -> EmbedderResource:
    if settings.embedder == HASHING:
        return HashingEmbedder(dimensions=settings.embedding_dimensions or HASHING_DEFAULT_DIMENSIONS)
    if settings.embedder == OPENAI:
        price = settings.openai_usd_per_million
        return OpenAIEmbedder(
            api_key=dg.EnvVar("OPENAI_API_KEY") if secrets_as_env_vars else settings.openai_api_key, base_url=settings.openai_base_url, model=settings.embedding_model,
            dimensions=settings.embedding_dimensions or 0, requests_per_minute=settings.openai_rpm or 0,
            tokens_per_minute=settings.openai_tpm or 0, usd_per_million_tokens=-1.0 if price is None else price,
            circuit_failures=settings.circuit_failures, circuit_cooldown_seconds=settings.circuit_cooldown,
            database=database,
        )
    raise ConfigurationError(
        f"INGEST_EMBEDDER={settings.embedder!r} is not an embedder; choose one of {', '.join(EMBEDDERS)}"
    )
