"""The answer of one health check, as `GET /health` and `ingest-pipeline doctor` report it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    # The API cannot answer without these; providers and the daemon only hold up the pipeline.
    critical: bool = False

    def as_dict(self) -> dict:
        return asdict(self)
