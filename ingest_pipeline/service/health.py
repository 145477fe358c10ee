"""What `GET /health` and `ingest-pipeline doctor` check of the pipeline itself: database, pgvector, storage, providers."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine

from ingest_pipeline.domain.checks import CheckResult
from ingest_pipeline.service.provider_checks import embedder_check, parser_check
from ingest_pipeline.settings import Settings
from ingest_pipeline.store import server

DEFAULT_TIMEOUT_SECONDS = 5.0


def database_checks(engine_of: Callable[[], Engine]) -> list[CheckResult]:
    """`database` (a query answers) and `pgvector` (the extension is installed)."""
    try:
        with engine_of().connect() as conn:
            version, vector = server.versions(conn)
    except Exception as error:  # noqa: BLE001 - any failure is the answer; its message may hold the URL
        reason = f"cannot query the database ({type(error).__name__})"
        return [CheckResult("database", False, reason, True),
                CheckResult("pgvector", False, "not checked: no database", True)]
    pgvector = (CheckResult("pgvector", True, f"pgvector {vector}", True) if vector else
                CheckResult("pgvector", False, "the pgvector extension is not installed in this database", True))
    return [CheckResult("database", True, f"connected (PostgreSQL {version.split()[0]})", True), pgvector]


def storage_check(folder: Path) -> CheckResult:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".health-"):
            pass
    except OSError as error:
        return CheckResult("storage", False, f"the storage folder is not writable ({type(error).__name__})", True)
    return CheckResult("storage", True, "writable", True)


def provider_checks(settings: Settings, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> list[CheckResult]:
    return [CheckResult("parser", *parser_check(settings, timeout)),
            CheckResult("embedder", *embedder_check(settings, timeout))]
