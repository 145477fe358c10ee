"""The ingest HTTP API (FastAPI): upload documents, follow their status, delete or retry them, search.

The app is in `api.app`; this package imports nothing, so the CLI starts without FastAPI unless it serves.
"""
