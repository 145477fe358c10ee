"""The code location Dagster loads: its definitions, with resources configured from the environment."""

from ingest_pipeline.orchestration.code_location import build_definitions
from ingest_pipeline.orchestration.wiring import build_resources
from ingest_pipeline.settings import Settings

_settings = Settings.from_env()
# Secrets as dg.EnvVar: resolved when a run starts, never shown in the UI.
defs = build_definitions(build_resources(_settings, secrets_as_env_vars=True), _settings.sensor_interval)
