"""The shared vocabulary: statuses, models, ids, errors, tokens, providers. No Dagster, no SQL; every room may import it."""
