"""The `ingest-pipeline` command line."""
