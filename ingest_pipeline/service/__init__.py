"""The pipeline outside Dagster runs, for the CLI and the API: the application object, the document
lifecycle (delete, re-drive) and health checks."""
