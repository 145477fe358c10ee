"""Secrets never reach the logs: keys set in the environment, tokens, signatures and passwords are redacted everywhere."""

from __future__ import annotations

import base64
import logging
import secrets

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from ingest_pipeline.api.app import create_app
from ingest_pipeline.logs.format import structured_logger
from ingest_pipeline.logs.redaction import MAX_REASON_CHARS, REDACTED, public_reason, redact
from ingest_pipeline.orchestration.loggers import json_lines_logger
from ingest_pipeline.parse.webhooks import SIGNATURE_HEADER, sign
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline_tests.llamaparse_stack import tick
from ingest_pipeline_tests.log_lines import json_lines, launch_requested
from ingest_pipeline_tests.pipeline_runs import paragraph


@pytest.mark.parametrize("text, kept", [
    ("Authorization: Bearer abc.def-123", "Authorization: "),
    ("LC-Signature: sha256=" + "ab" * 32, "LC-Signature: "),
    ("calling with sk-proj-" + "x" * 40, "calling with "),
    ("key llx-" + "Q" * 30 + " refused", "key "),
    ("OPENAI_API_KEY=sk-short-but-set token: t0ps3cret", "OPENAI_API_KEY="),
    ('{"api_key": "k-123456", "password": "pw"}', '{"api_key": "'),
    ("postgresql://ingest:hunter2hunter2@db:5432/ingest", "postgresql://ingest:"),
    ("redis://:hunter2hunter2@cache:6379/0", "redis://:"),
    ("Authorization: Basic " + base64.b64encode(b"admin:t0ps3cret").decode(), "Authorization: "),
    ("sent basic " + base64.b64encode(b"ingest:hunter2").decode() + " to the proxy", "sent basic "),
])
def test_secret_shaped_text_is_redacted(text, kept):
    cleaned = redact(text, secrets=[])
    assert cleaned.startswith(kept) and REDACTED in cleaned
    assert not any(part in cleaned for part in ("abc.def", "ab" * 32, "x" * 40, "Q" * 30, "t0ps3cret", "hunter2", "k-123456",
                                                base64.b64encode(b"admin:t0ps3cret").decode()[:8]))


def test_ordinary_text_is_left_alone():
    for text in ("4 chunks, 512 tokens, input_tokens=300", "parse job 3fa8 is SUCCESS", "secret sauce recipe",
                 "a basic outline of the plan", "see https://example.com/docs/limits and 3/4 of ./relative/x"):
        assert redact(text, secrets=[]) == text == public_reason(text)


def test_a_failure_reason_keeps_no_secret_no_internal_path_and_a_bounded_length():
    reason = public_reason("FileNotFoundError: [Errno 2] No such file or directory: "
                          "'/srv/ingest/storage/ab/cd/abcd1234' via https://user:hunter2hunter2@api.example/v1")
    assert reason == ("FileNotFoundError: [Errno 2] No such file or directory: '\u2026/abcd1234' "
                      f"via https://user:{REDACTED}@api.example/v1")
    assert len(public_reason("x" * 100_000)) == MAX_REASON_CHARS


def test_keys_set_in_the_environment_never_appear_in_the_logs_of_an_ingest(monkeypatch, environment, instance, capfd):
    key, token, webhook_secret, password = (f"{prefix}{secrets.token_hex(12)}" for prefix in
                                            ("plain", "tok", "whsec", "pw"))
    for name, value in (("OPENAI_API_KEY", key), ("INGEST_API_TOKEN", token),
                        ("INGEST_WEBHOOK_SECRET", webhook_secret), ("POSTGRES_PASSWORD", password)):
        monkeypatch.setenv(name, value)
    app = Application(Settings.from_env({**environment, "INGEST_API_TOKEN": token,
                                         "INGEST_WEBHOOK_SECRET": webhook_secret}))
    with TestClient(create_app(app, api_token=token, instance=instance)) as client:
        bearer = {"Authorization": f"Bearer {token}"}
        body = f"# Keys\n\nOPENAI_API_KEY={key}\n\n{paragraph('key rotation')}"
        assert client.post(f"/documents?token={token}", files={"file": ("keys.md", body)},
                           headers=bearer).status_code == 201
        event = b'{"event_id": "e1", "event_type": "parse.success", "data": {"job_id": "j1"}}'
        assert client.post("/webhooks/llamaparse", content=event,
                           headers={SIGNATURE_HEADER: sign(webhook_secret, event)}).status_code == 202
    _log_secrets_on_purpose(key, token, password)
    [run] = launch_requested(app, instance, tick(app, instance, "uploads_sensor"))
    assert run.success

    out, err = capfd.readouterr()
    for secret in (key, token, webhook_secret, password, sign(webhook_secret, event)):
        assert secret not in out and secret not in err
    lines = json_lines(err)
    assert sum(REDACTED in str(line) for line in lines) >= 3  # the lines written on purpose, redacted
    assert {line.get("stage") for line in lines} >= {"raw_document", "embeddings"}


def _log_secrets_on_purpose(key: str, token: str, password: str) -> None:
    """A careless log call of each kind: API/sensor logger (message, extra, traceback) and a run's logger."""
    log = structured_logger("careless")
    log.info("connecting with %s", key, extra={"note": f"Authorization: Bearer {token}"})
    try:
        raise ConnectionError(f"postgresql://ingest:{password}@db/ingest refused")
    except ConnectionError:
        log.exception("database down")
    run_logger = json_lines_logger.logger_fn(dg.build_init_logger_context(logger_config={"log_level": "INFO"}))
    run_logger.log(logging.WARNING, f"embedder answered 401 for key {key}")


def test_a_secret_passed_in_code_rather_than_the_environment_is_redacted_too(environment, capfd):
    token = f"code-only-{secrets.token_hex(8)}"
    create_app(Application(Settings.from_env(environment)), api_token=token)
    structured_logger("careless").warning(f"the token is {token}")
    err = capfd.readouterr().err
    assert token not in err and REDACTED in err


def test_a_secret_in_a_nested_field_is_redacted_and_the_line_stays_json(capfd):
    facts = {"auth": {"api_key": 12345678, "region": "eu"}, "calls": ["Bearer abc123"], "tokens": 512}
    structured_logger("careless").info("nested", extra={"facts": facts})
    [line] = json_lines(capfd.readouterr().err)
    assert line["facts"] == {"auth": {"api_key": REDACTED, "region": "eu"}, "calls": [f"Bearer {REDACTED}"],
                             "tokens": 512}
