"""Configuration: every variable is read from one table, documented in the README, and wired to resources."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from ingest_pipeline.embed.openai_resource import OpenAIEmbedder
from ingest_pipeline.orchestration.wiring import ConfigurationError, build_resources
from ingest_pipeline.parse.llamaparse import LlamaParseResource
from ingest_pipeline.settings import VARIABLES, Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_variable_is_in_the_readme_table():
    readme = README.read_text(encoding="utf-8")
    for variable in VARIABLES:
        assert f"| `{variable.name}` |" in readme, variable.name


def test_defaults_live_under_ingest_home(tmp_path):
    settings = Settings.from_env({"INGEST_HOME": str(tmp_path)})
    assert settings.storage_dir == tmp_path / "storage" and settings.dagster_home == tmp_path / "dagster"
    assert (settings.parser, settings.embedder) == ("local", "hashing")


def test_the_api_key_never_appears_in_the_settings_repr(tmp_path):
    settings = Settings.from_env({"INGEST_HOME": str(tmp_path), "OPENAI_API_KEY": "sk-secret-value"})
    assert "sk-secret-value" not in repr(settings)


def test_openai_resources_take_model_and_dimensions(tmp_path):
    settings = Settings.from_env({"INGEST_HOME": str(tmp_path), "INGEST_EMBEDDER": "openai",
                                  "INGEST_EMBEDDING_MODEL": "text-embedding-3-large", "OPENAI_API_KEY": "k"})
    embedder = build_resources(settings)["embedder"]
    assert isinstance(embedder, OpenAIEmbedder) and embedder.space.dimensions == 3072


@pytest.mark.parametrize("name, value", [("INGEST_EMBEDDER", "word2vec"), ("INGEST_PARSER", "ocr")])
def test_an_unknown_provider_is_a_clear_error(tmp_path, name, value):
    with pytest.raises(ConfigurationError, match=value):
        build_resources(Settings.from_env({"INGEST_HOME": str(tmp_path), name: value}))


def test_llamaparse_settings_reach_the_parser_and_its_key_stays_an_env_var_in_definitions(tmp_path):
    settings = Settings.from_env({
        "INGEST_HOME": str(tmp_path), "INGEST_PARSER": "llamaparse", "LLAMA_CLOUD_API_KEY": "llx-secret",
        "INGEST_LLAMAPARSE_TIER": "agentic", "INGEST_PUBLIC_URL": "https://ingest.example.org",
        "INGEST_PARSE_STUCK_AFTER": "600", "INGEST_PARSE_MAX_SUBMISSIONS": "5"})
    assert "llx-secret" not in repr(settings)
    parser = build_resources(settings)["parser"]
    assert isinstance(parser, LlamaParseResource) and parser.fingerprint == "llamaparse-agentic-latest"
    assert (parser.stuck_after_seconds, parser.max_submissions, parser.api_key) == (600.0, 5, "llx-secret")
    assert parser._webhooks()[0]["webhook_url"] == "https://ingest.example.org/webhooks/llamaparse"
    wired = build_resources(settings, secrets_as_env_vars=True)["parser"]
    assert isinstance(wired.api_key, dg.EnvVar) and wired.webhook_secret == ""
