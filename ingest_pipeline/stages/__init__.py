"""What each pipeline stage does to one document, as plain functions over the catalog (no Dagster)."""
