"""Serving the ingest API with uvicorn, in the same JSON log format as everything else."""

from __future__ import annotations

import uvicorn

from ingest_pipeline.api.app import DEFAULT_MAX_UPLOAD_BYTES, create_app
from ingest_pipeline.api.binding import DEFAULT_HOST, DEFAULT_PORT, check_binding
from ingest_pipeline.logs.format import JsonLineFormatter, StderrHandler
from ingest_pipeline.logs.redaction import RedactSecrets
from ingest_pipeline.service.application import Application


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, api_token: str | None = None,
          max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, application: Application | None = None) -> None:
    """Run the API in the foreground until interrupted (settings from the environment unless given)."""
    check_binding(host, api_token)
    app = application or Application.from_env()
    # RequestLog writes one JSON line per request, so uvicorn's own access log is off.
    uvicorn.run(create_app(app, api_token, max_upload_bytes), host=host, port=port, access_log=False,
                log_config=uvicorn_log_config())


def uvicorn_log_config() -> dict:
    """uvicorn's own lines (start-up, shutdown, errors) in the same JSON format as everything else."""
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLineFormatter}},
        "filters": {"redact": {"()": RedactSecrets}},
        "handlers": {"stderr": {"class": f"{StderrHandler.__module__}.{StderrHandler.__name__}",
                                "formatter": "json", "filters": ["redact"]}},
        "loggers": {"uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
                    "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False}},
    }
