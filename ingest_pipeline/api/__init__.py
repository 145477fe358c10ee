"""The ingest HTTP API (FastAPI): upload documents, follow their status, delete or retry them, search."""

from ingest_pipeline.api.app import create_app

__all__ = ["create_app"]
