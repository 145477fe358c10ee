"""The SQL store behind the pipeline: documents, pages, chunks and embeddings, as plain functions on a connection."""
