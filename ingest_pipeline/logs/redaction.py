"""Keeping secrets out of log lines: known secret values and secret-shaped text are replaced before writing."""

from __future__ import annotations

import base64
import logging
import os
import re
from typing import Any, Iterable

REDACTED = "[REDACTED]"
# Environment variables whose values are secrets: API keys, tokens, webhook secrets, passwords.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|SIGNATURE|CREDENTIAL", re.IGNORECASE)
# Shorter values ("any", "1") would blank out ordinary words; real keys are far longer.
MIN_SECRET_LENGTH = 6
# scheme://user:password@host, the user possibly empty (scheme://:password@host).
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)([^@\s/]+)@")
_SHAPED = (
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\1{REDACTED}"),
    # HTTP Basic credentials: base64 of user:password (and only that: "basic words" stay).
    (re.compile(r"(?i)\b(basic\s+)([A-Za-z0-9+/]{4,}={0,2})"), lambda match: _basic_credentials(match)),
    (re.compile(r"(?i)\b(sha256=)[0-9a-f]{16,}"), rf"\1{REDACTED}"),
    (re.compile(r"\b(?:sk|llx)-[A-Za-z0-9_-]{16,}"), REDACTED),
    # NAME=value, "name": "value", name: value, where the name says it holds a secret.
    (re.compile(r"(?i)\b(\w*?(?:api[_-]?key|token|secret|password|signature|authorization))"
                r"([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;]+"), rf"\1\2{REDACTED}"),
    (_URL_PASSWORD, rf"\1{REDACTED}@"),
)
# A field whose name says it holds a secret ("api_key", "webhook_secret"; not "tokens", a count, nor
# "run_key" or "parse_key", which are ids).
_SECRET_FIELD = re.compile(r"(?i)(?:^|[_-])(?:api[_-]?key|token|secret|password|passwd|signature|authorization"
                           r"|credentials?)$")
_registered: set[str] = set()
# Attributes every record has (file names, function names): never secrets, not worth rewriting.
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def register_secrets(values: Iterable[str | None]) -> None:
    """Secrets this process holds that did not come from its environment (settings passed in code)."""
    _registered.update(value for value in values if value and len(value) >= MIN_SECRET_LENGTH)


def register_settings_secrets(settings, *more: str | None) -> None:
    """The secrets a Settings holds (its API token, webhook secret, provider keys, database password)."""
    password = _URL_PASSWORD.search(settings.database_url or "")
    register_secrets([settings.api_token, settings.webhook_secret, settings.llama_cloud_api_key,
                      settings.openai_api_key, password.group(2) if password else None, *more])


def _basic_credentials(match: re.Match) -> str:
    try:
        decoded = base64.b64decode(match.group(2), validate=True)
    except ValueError:
        return match.group(0)
    return match.group(1) + REDACTED if b":" in decoded else match.group(0)


def known_secrets() -> list[str]:
    """Every secret value to blank out, longest first so that one secret inside another goes whole."""
    found = set(_registered)
    for name, value in os.environ.items():
        if _SECRET_NAME.search(name) and len(value) >= MIN_SECRET_LENGTH:
            found.add(value)
        found.update(match.group(2) for match in _URL_PASSWORD.finditer(value)
                     if len(match.group(2)) >= MIN_SECRET_LENGTH)
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    for secret in known_secrets() if secrets is None else secrets:
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _SHAPED:
        text = pattern.sub(replacement, text)
    return text


# An absolute path of two or more parts: where this machine keeps things, which is no API client's business.
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.])/(?:[^/\s'\"]+/)+([^/\s'\",;:)]*)")
# A failure reason is a sentence or two; an exception's text can be any length.
MAX_REASON_CHARS = 2000


def public_reason(text: str) -> str:
    """A failure reason fit to store and show to API clients: no secrets, no internal paths (only the
    last part of a path, which is usually the file's name), and bounded in length."""
    text = _ABSOLUTE_PATH.sub(lambda match: f"…/{match.group(1)}", redact(text))
    return text if len(text) <= MAX_REASON_CHARS else text[:MAX_REASON_CHARS - 1] + "…"


def redact_fields(value: Any, secrets: list[str]) -> Any:
    """`value` (JSON-shaped: dicts, lists, strings, numbers) with every string redacted; the shape is kept."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: REDACTED if _SECRET_FIELD.search(str(key)) and item else redact_fields(item, secrets)
                for key, item in value.items()}
    if isinstance(value, list):
        return [redact_fields(item, secrets) for item in value]
    return value


class RedactSecrets(logging.Filter):
    """A handler filter that rewrites the record's message, string fields and traceback without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = known_secrets()
        record.msg, record.args = redact(record.getMessage(), secrets), None
        for name, value in list(vars(record).items()):
            if isinstance(value, str) and name not in STANDARD_ATTRIBUTES:
                setattr(record, name, redact(value, secrets))
        meta = getattr(record, "dagster_meta", None)
        if isinstance(meta, dict) and isinstance(meta.get("orig_message"), str):
            record.dagster_meta = {**meta, "orig_message": redact(meta["orig_message"], secrets)}
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text, so the traceback is written redacted too.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), secrets)
        return True
