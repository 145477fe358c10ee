"""Dagster resources: the database, document storage, the parser and the embedder."""
