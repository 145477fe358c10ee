"""Every environment variable the project reads, with its default and meaning, read in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ingest_pipeline.chunk.blocks import DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP_TOKENS
from ingest_pipeline.circuits.breaker import COOLDOWN_SECONDS, FAILURE_THRESHOLD, MAX_COOLDOWN_SECONDS
from ingest_pipeline.domain.providers import HASHING, LLAMAPARSE, LOCAL, OPENAI
from ingest_pipeline.embed.hashing import HASHING_DEFAULT_DIMENSIONS
from ingest_pipeline.embed.models import DEFAULT_OPENAI_MODEL
from ingest_pipeline.parse.extraction.limits import (
    CPU_SETTING,
    MAX_PAGES,
    MAX_PARSE_SECONDS,
    MAX_UPLOAD_MB,
    MEGABYTE,
    MEMORY_SETTING,
    PARSE_CPU_SECONDS,
    PARSE_MEMORY_MB,
    WALL_SETTING,
)
from ingest_pipeline.parse.poll_schedule import POLL_DEFAULTS, WATCH_SECONDS
from ingest_pipeline.parse.webhooks import WEBHOOK_RETENTION_DAYS

# The ingest API's bounds on each client (enforced by api/http_protocol.py): seconds, and connections.
API_HEAD_TIMEOUT, API_BODY_TIMEOUT, API_KEEPALIVE_TIMEOUT, API_MAX_CONNECTIONS = 10.0, 30.0, 5.0, 500
# A body's deadline moves one second later per this many bytes received: an honest upload on a slow link
# keeps going, a trickle of a byte a second is dropped when the base timeout runs out.
API_BODY_BYTES_PER_SECOND = 4096
# How a CLI ingest leaves its new vectors for the HNSW index: to a detached upkeep process, or indexed before it returns.
INDEX_IN_BACKGROUND, INDEX_BEFORE_RETURNING = "background", "wait"
_CEILING = "Ceiling on {} per minute to OpenAI, to stay below the account's limit. Empty: the account's limit, learned from the API."


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    description: str


VARIABLES: tuple[Variable, ...] = (
    Variable("INGEST_HOME", ".ingest", "Folder for all local state: embedded Postgres, stored files, Dagster home."),
    Variable("INGEST_DATABASE_URL", "", "Postgres URL (needs pgvector). Empty: start the embedded Postgres under INGEST_HOME/pgdata."),
    Variable("INGEST_STORAGE_DIR", "", "Content-addressed document store. Empty: INGEST_HOME/storage."),
    Variable("INGEST_INBOX", "", "Inbox folder watched by `inbox_sensor`. Empty: INGEST_HOME/inbox."),
    Variable("INGEST_SENSOR_INTERVAL", "5", "Seconds between ticks of the uploads and inbox sensors (the parse-completion sensor is evaluated at every daemon pass, see INGEST_PARSE_WATCH)."),
    Variable("INGEST_API_TOKEN", "", "Bearer token the ingest API requires for uploads and management. Empty: none (loopback only)."),
    Variable("INGEST_MAX_UPLOAD_MB", str(MAX_UPLOAD_MB), "Largest document: refused while streaming by the API, set aside by the inbox, failed at parse otherwise."),
    Variable("INGEST_WEBHOOK_SECRET", "", "Signing secret for LlamaParse webhooks; without it every webhook is refused (401)."),
    Variable("INGEST_WEBHOOK_RETENTION_DAYS", str(WEBHOOK_RETENTION_DAYS), "Days a received webhook event is kept (a replay of it is recognised meanwhile); older ones are deleted."),
    Variable("INGEST_API_HEAD_TIMEOUT", f"{API_HEAD_TIMEOUT:g}", "Seconds a client may take to send a request's line and headers; then the API answers 408 and closes."),
    Variable("INGEST_API_BODY_TIMEOUT", f"{API_BODY_TIMEOUT:g}", f"Seconds a request body may take, plus one per {API_BODY_BYTES_PER_SECOND} bytes received: a slow upload goes on, a trickle is dropped."),
    Variable("INGEST_API_KEEPALIVE_TIMEOUT", f"{API_KEEPALIVE_TIMEOUT:g}", "Seconds an idle keep-alive connection to the API stays open."),
    Variable("INGEST_API_MAX_CONNECTIONS", str(API_MAX_CONNECTIONS), "Connections the API holds at once; one more is answered 503 and closed."),
    Variable("DAGSTER_HOME", "", "Dagster instance folder used by the CLI. Empty: INGEST_HOME/dagster."),
    Variable("INGEST_PARSER", LOCAL, f"Parser: `{LOCAL}` (offline: PDF, HTML, Markdown, text, DOCX) or `{LLAMAPARSE}`."),
    Variable("LLAMA_CLOUD_API_KEY", "", f"LlamaCloud API key (with `{LLAMAPARSE}`); read by Dagster as an EnvVar."),
    Variable("LLAMA_CLOUD_BASE_URL", "", "LlamaCloud API root, e.g. a simulator's `http://127.0.0.1:8200`. Empty: api.cloud.llamaindex.ai."),
    Variable("INGEST_LLAMAPARSE_TIER", "cost_effective", "LlamaParse tier: `fast`, `cost_effective`, `agentic` or `agentic_plus`."),
    Variable("INGEST_LLAMAPARSE_VERSION", "latest", "LlamaParse parser version."),
    Variable("INGEST_PUBLIC_URL", "", "Public HTTPS root of the ingest API, for LlamaParse webhooks. Empty: no webhooks, jobs are polled."),
    Variable("INGEST_PARSE_POLL_AFTER", f"{POLL_DEFAULTS.cap_seconds:g}", "Longest wait, in seconds, between two status checks of a parse job no webhook finished (and before the first); checks come sooner at first, see INGEST_PARSE_POLL_FIRST."),
    Variable("INGEST_PARSE_POLL_FIRST", f"{POLL_DEFAULTS.first_seconds:g}", "Seconds after submission of a parse job's first status check, at the earliest; later for bigger files and slower tiers."),
    Variable("INGEST_PARSE_POLL_BACKOFF", f"{POLL_DEFAULTS.backoff:g}", "Each status check of a parse job comes this many times as long after its submission as the one before (at least 2 s apart)."),
    Variable("INGEST_PARSE_WATCH", f"{WATCH_SECONDS:g}", "Seconds one parse-completion sensor evaluation watches for webhooks and due checks, so a finished job's run is requested at once (at most INGEST_SENSOR_INTERVAL - 1)."),
    Variable("INGEST_PARSE_STUCK_AFTER", "1800", "Seconds after which an unfinished parse job is submitted again."),
    Variable("INGEST_PARSE_MAX_SUBMISSIONS", "3", "Submissions of one file before it is failed as never finishing."),
    Variable("INGEST_EMBEDDER", HASHING, f"Embedder: `{HASHING}` (offline, lexical feature hashing, not semantic) or `{OPENAI}`."),
    Variable("INGEST_EMBEDDING_MODEL", DEFAULT_OPENAI_MODEL, f"OpenAI embedding model (with `{OPENAI}`)."),
    Variable("INGEST_EMBEDDING_DIMENSIONS", "", f"Vector dimensions. Empty: the embedder's default ({HASHING}: {HASHING_DEFAULT_DIMENSIONS}; OpenAI: the model's)."),
    Variable("OPENAI_API_KEY", "", f"OpenAI API key (with `{OPENAI}`); read by Dagster as an EnvVar, never shown in the UI."),
    Variable("OPENAI_BASE_URL", "", "OpenAI API base URL, e.g. a simulator's `http://127.0.0.1:8100/v1`. Empty: api.openai.com."),
    Variable("INGEST_OPENAI_RPM", "", _CEILING.format("requests")),
    Variable("INGEST_OPENAI_TPM", "", _CEILING.format("tokens")),
    Variable("INGEST_OPENAI_USD_PER_MILLION", "", "Price per million tokens for cost estimates. Empty: the model's list price."),
    Variable("INGEST_CIRCUIT_FAILURES", str(FAILURE_THRESHOLD), "Consecutive failed requests to a provider before new work for it pauses."),
    Variable("INGEST_CIRCUIT_COOLDOWN", str(COOLDOWN_SECONDS), f"Seconds of the first pause; each failed try after it doubles it (at most {MAX_COOLDOWN_SECONDS})."),
    Variable("INGEST_INDEX_UPKEEP", INDEX_IN_BACKGROUND, f"After a CLI ingest, new vectors go into the HNSW index in a detached `ingest-pipeline index` (`{INDEX_IN_BACKGROUND}`: the ingest returns once its documents are searchable, found by an exact scan until indexed) or before the ingest returns (`{INDEX_BEFORE_RETURNING}`). Dagster runs leave it to `index_upkeep_sensor`."),
    Variable("INGEST_CHUNK_TOKENS", str(DEFAULT_MAX_TOKENS), "Largest chunk, in cl100k_base tokens."),
    Variable("INGEST_CHUNK_OVERLAP", str(DEFAULT_OVERLAP_TOKENS), "Tokens of the previous chunk repeated at the start of the next."),
    Variable("INGEST_MAX_PAGES", str(MAX_PAGES), "Pages a document may have before it is rejected."),
    Variable(WALL_SETTING, str(MAX_PARSE_SECONDS), "Seconds (wall clock) one document's local text extraction may take before its process is killed and it fails."),
    Variable(MEMORY_SETTING, str(PARSE_MEMORY_MB), "Megabytes of memory one document's local text extraction may add, enforced by the kernel (Linux)."),
    Variable(CPU_SETTING, str(PARSE_CPU_SECONDS), "Seconds of CPU time one document's local text extraction may use, enforced by the kernel (Linux)."),
)
_DEFAULTS = {variable.name: variable.default for variable in VARIABLES}


@dataclass(frozen=True)
class Settings:
    """Configuration for one process; secrets are held here but never printed (repr hides them)."""

    home: Path
    database_url: str
    storage_dir: Path
    inbox_dir: Path
    sensor_interval: int
    api_token: str = field(repr=False)
    max_upload_mb: int
    webhook_secret: str = field(repr=False)
    webhook_retention_days: float
    api_head_timeout: float
    api_body_timeout: float
    api_keepalive_timeout: float
    api_max_connections: int
    dagster_home: Path
    parser: str
    llama_cloud_api_key: str = field(repr=False)
    llama_cloud_base_url: str
    llamaparse_tier: str
    llamaparse_version: str
    public_url: str
    parse_poll_after: float
    parse_poll_first: float
    parse_poll_backoff: float
    parse_watch: float
    parse_stuck_after: float
    parse_max_submissions: int
    embedder: str
    embedding_model: str
    embedding_dimensions: int | None
    openai_api_key: str = field(repr=False)
    openai_base_url: str
    openai_rpm: int | None
    openai_tpm: int | None
    openai_usd_per_million: float | None
    circuit_failures: int
    circuit_cooldown: float
    index_upkeep: str
    chunk_tokens: int
    chunk_overlap: int
    max_pages: int
    max_parse_seconds: float
    parse_memory_mb: int
    parse_cpu_seconds: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = {**_DEFAULTS, **{k: v for k, v in (environ or os.environ).items() if k in _DEFAULTS}}
        home = Path(env["INGEST_HOME"]).expanduser().resolve()
        return cls(
            home=home,
            database_url=env["INGEST_DATABASE_URL"],
            storage_dir=_path_or(env["INGEST_STORAGE_DIR"], home / "storage"),
            inbox_dir=_path_or(env["INGEST_INBOX"], home / "inbox"),
            sensor_interval=int(env["INGEST_SENSOR_INTERVAL"]),
            api_token=env["INGEST_API_TOKEN"],
            max_upload_mb=int(env["INGEST_MAX_UPLOAD_MB"]),
            webhook_secret=env["INGEST_WEBHOOK_SECRET"],
            webhook_retention_days=float(env["INGEST_WEBHOOK_RETENTION_DAYS"]),
            api_head_timeout=float(env["INGEST_API_HEAD_TIMEOUT"]),
            api_body_timeout=float(env["INGEST_API_BODY_TIMEOUT"]),
            api_keepalive_timeout=float(env["INGEST_API_KEEPALIVE_TIMEOUT"]),
            api_max_connections=int(env["INGEST_API_MAX_CONNECTIONS"]),
            dagster_home=_path_or(env["DAGSTER_HOME"], home / "dagster"),
            parser=env["INGEST_PARSER"],
            llama_cloud_api_key=env["LLAMA_CLOUD_API_KEY"],
            llama_cloud_base_url=env["LLAMA_CLOUD_BASE_URL"],
            llamaparse_tier=env["INGEST_LLAMAPARSE_TIER"],
            llamaparse_version=env["INGEST_LLAMAPARSE_VERSION"],
            public_url=env["INGEST_PUBLIC_URL"],
            parse_poll_after=float(env["INGEST_PARSE_POLL_AFTER"]),
            parse_poll_first=float(env["INGEST_PARSE_POLL_FIRST"]),
            parse_poll_backoff=float(env["INGEST_PARSE_POLL_BACKOFF"]),
            parse_watch=float(env["INGEST_PARSE_WATCH"]),
            parse_stuck_after=float(env["INGEST_PARSE_STUCK_AFTER"]),
            parse_max_submissions=int(env["INGEST_PARSE_MAX_SUBMISSIONS"]),
            embedder=env["INGEST_EMBEDDER"],
            embedding_model=env["INGEST_EMBEDDING_MODEL"],
            embedding_dimensions=_int_or_none(env["INGEST_EMBEDDING_DIMENSIONS"]),
            openai_api_key=env["OPENAI_API_KEY"],
            openai_base_url=env["OPENAI_BASE_URL"],
            openai_rpm=_int_or_none(env["INGEST_OPENAI_RPM"]),
            openai_tpm=_int_or_none(env["INGEST_OPENAI_TPM"]),
            openai_usd_per_million=float(env["INGEST_OPENAI_USD_PER_MILLION"]) if env["INGEST_OPENAI_USD_PER_MILLION"] else None,
            circuit_failures=int(env["INGEST_CIRCUIT_FAILURES"]),
            circuit_cooldown=float(env["INGEST_CIRCUIT_COOLDOWN"]),
            index_upkeep=env["INGEST_INDEX_UPKEEP"],
            chunk_tokens=int(env["INGEST_CHUNK_TOKENS"]),
            chunk_overlap=int(env["INGEST_CHUNK_OVERLAP"]),
            max_pages=int(env["INGEST_MAX_PAGES"]),
            max_parse_seconds=float(env[WALL_SETTING]),
            parse_memory_mb=int(env[MEMORY_SETTING]),
            parse_cpu_seconds=int(env[CPU_SETTING]),
        )

    @property
    def max_file_bytes(self) -> int:
        return self.max_upload_mb * MEGABYTE


def _path_or(value: str, default: Path) -> Path:
    return Path(value).expanduser().resolve() if value else default


def _int_or_none(value: str) -> int | None:
    return int(value) if value else None
