"""Every environment variable the project reads, with its default and meaning, read in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    description: str


VARIABLES: tuple[Variable, ...] = (
    Variable("INGEST_HOME", ".ingest", "Folder for all local state: embedded Postgres, stored files, Dagster home."),
    Variable("INGEST_DATABASE_URL", "", "Postgres URL (needs pgvector). Empty: start the embedded Postgres under INGEST_HOME/pgdata."),
    Variable("INGEST_STORAGE_DIR", "", "Content-addressed document store. Empty: INGEST_HOME/storage."),
    Variable("DAGSTER_HOME", "", "Dagster instance folder used by the CLI. Empty: INGEST_HOME/dagster."),
    Variable("INGEST_PARSER", "local", "Parser: `local` (offline: PDF, HTML, Markdown, text, DOCX)."),
    Variable("INGEST_EMBEDDER", "hashing", "Embedder: `hashing` (offline, lexical feature hashing, not semantic)."),
    Variable("INGEST_EMBEDDING_DIMENSIONS", "", "Vector dimensions. Empty: the embedder's default (hashing: 512)."),
    Variable("INGEST_CHUNK_TOKENS", "512", "Largest chunk, in cl100k_base tokens."),
    Variable("INGEST_CHUNK_OVERLAP", "64", "Tokens of the previous chunk repeated at the start of the next."),
    Variable("INGEST_MAX_PAGES", "5000", "Pages a document may have before it is rejected."),
)
_DEFAULTS = {variable.name: variable.default for variable in VARIABLES}


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    storage_dir: Path
    dagster_home: Path
    parser: str
    embedder: str
    embedding_dimensions: int | None
    chunk_tokens: int
    chunk_overlap: int
    max_pages: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = {**_DEFAULTS, **{k: v for k, v in (environ or os.environ).items() if k in _DEFAULTS}}
        home = Path(env["INGEST_HOME"]).expanduser().resolve()
        return cls(
            home=home,
            database_url=env["INGEST_DATABASE_URL"],
            storage_dir=_path_or(env["INGEST_STORAGE_DIR"], home / "storage"),
            dagster_home=_path_or(env["DAGSTER_HOME"], home / "dagster"),
            parser=env["INGEST_PARSER"],
            embedder=env["INGEST_EMBEDDER"],
            embedding_dimensions=int(env["INGEST_EMBEDDING_DIMENSIONS"]) if env["INGEST_EMBEDDING_DIMENSIONS"] else None,
            chunk_tokens=int(env["INGEST_CHUNK_TOKENS"]),
            chunk_overlap=int(env["INGEST_CHUNK_OVERLAP"]),
            max_pages=int(env["INGEST_MAX_PAGES"]),
        )


def _path_or(value: str, default: Path) -> Path:
    return Path(value).expanduser().resolve() if value else default
