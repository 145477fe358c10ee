"""Serving the ingest API with uvicorn, in the same JSON log format as everything else."""

from __future__ import annotations

import uvicorn

from ingest_pipeline.api.app import DEFAULT_MAX_UPLOAD_BYTES, create_app
from ingest_pipeline.api.binding import DEFAULT_HOST, DEFAULT_PORT, check_binding
from ingest_pipeline.api.http_limits import MAX_HEAD_BYTES, HttpLimits
from ingest_pipeline.api.http_protocol import bounded_protocol
from ingest_pipeline.logs.format import JsonLineFormatter, StderrHandler
from ingest_pipeline.logs.redaction import RedactSecrets
from ingest_pipeline.service.application import Application


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, api_token: str | None = None,
          max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, application: Application | None = None) -> None:
    """Run the API in the foreground until interrupted (settings from the environment unless given)."""
    check_binding(host, api_token)
    app = application or Application.from_env()
    # RequestLog writes one JSON line per request, so uvicorn's own access log is off.
    config = uvicorn.Config(create_app(app, api_token, max_upload_bytes), host=host, port=port, access_log=False,
                            log_config=uvicorn_log_config(), **bounded_options(HttpLimits.of(app.settings)))
    uvicorn.Server(config).run()


def bounded_options(limits: HttpLimits) -> dict:
    """uvicorn options that hold every connection to `limits` (the tests serve with these too)."""
    return {
        "http": bounded_protocol(limits), "ws": "none", "timeout_keep_alive": limits.keepalive_timeout,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        # The protocol refuses connections beyond the cap, so uvicorn's own check (503 once connections or
        # running requests reach its limit) only ever counts requests still running after their client left.
        "limit_concurrency": limits.max_connections + 1,
    }


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
