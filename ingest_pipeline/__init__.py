"""ingest_pipeline: a Dagster code location that turns documents into searchable pgvector embeddings."""
