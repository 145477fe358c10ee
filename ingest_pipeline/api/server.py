"""Serving the ingest API with uvicorn, refusing to expose an unauthenticated API beyond this machine."""

from __future__ import annotations

import ipaddress

import uvicorn

from ingest_pipeline.api.app import DEFAULT_MAX_UPLOAD_BYTES, create_app
from ingest_pipeline.application import Application
from ingest_pipeline.log_format import JsonLineFormatter, StderrHandler
from ingest_pipeline.log_redaction import RedactSecrets

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class UnsafeBinding(ValueError):
    pass


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


def check_binding(host: str, api_token: str | None) -> None:
    """Without a token anyone who can reach the port may upload and delete: only loopback is allowed."""
    if not api_token and not is_loopback(host):
        raise UnsafeBinding(
            f"refusing to serve the ingest API on {host} without an API token: anyone who can reach it could "
            f"upload and delete documents. Set INGEST_API_TOKEN, or bind to {DEFAULT_HOST}."
        )


def is_loopback(host: str) -> bool:
    """Only literal loopback addresses and `localhost`; other names could resolve anywhere."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
