"""Metadata is bounded in depth, size and keys on the way in (422), and a stored value past the bounds fails its document alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from ingest_pipeline.api.app import create_app
from ingest_pipeline.domain.metadata import (
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_METADATA_KEYS,
    InvalidMetadata,
    nesting_depth,
    parse_metadata,
)
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.simulators.background_server import serving_in_background
from ingest_pipeline.store import documents
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write

DEEP = "[" * 10_000 + "]" * 10_000


def _nested(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.mark.parametrize(("raw", "bound"), [
    (_nested(MAX_METADATA_DEPTH + 1), f"nested {MAX_METADATA_DEPTH + 1} levels deep"),
    ('{"a": ' + DEEP + "}", "nested 10,001 levels deep"),
    (json.dumps({f"k{i}": i for i in range(MAX_METADATA_KEYS + 1)}), "keys in all"),
    (json.dumps({"tags": [{"k": i} for i in range(MAX_METADATA_KEYS)]}), "keys in all"),
    (json.dumps({"text": "x" * MAX_METADATA_BYTES}), f"the limit is {MAX_METADATA_BYTES:,} bytes"),
    ("[1, 2]", "must be a JSON object"),
    ("{not json", "must be a JSON object"),
])
def test_metadata_past_a_bound_is_refused_naming_the_bound(raw, bound):
    with pytest.raises(InvalidMetadata, match=bound):
        parse_metadata(raw)


def test_brackets_inside_strings_are_not_nesting():
    raw = json.dumps({"note": "[[[{{{" * 100, "nested": _nested(3)})
    assert nesting_depth(raw) == 1 and parse_metadata(raw)["note"].startswith("[[[")
    assert parse_metadata(_nested(MAX_METADATA_DEPTH))["a"]


def test_the_api_refuses_deep_metadata_with_a_422_and_stores_nothing(app, instance):
    with serving_in_background(create_app(app, instance=instance), "/health", name="metadata-api") as url:
        answer = httpx.post(f"{url}/documents", files={"file": ("a.txt", b"some words", "text/plain")},
                            data={"metadata": '{"a": ' + DEEP + "}"})
    assert answer.status_code == 422 and "10,001 levels deep" in answer.json()["detail"]
    assert app.documents() == []


def test_a_stored_value_past_the_bounds_fails_only_its_document(app, instance, tmp_path, environment):
    keys = [register(app, write(tmp_path, f"{name}.txt", paragraph(name))) for name in ("left", "poisoned", "right")]
    with app.engine.begin() as conn:  # as a row written before the bounds existed
        documents.update(conn, keys[1], metadata='{"a": ' + DEEP + "}")
    materialize(app, instance, keys)
    with app.engine.connect() as conn:
        left, poisoned, right = documents.get_many(conn, keys)
    assert (left.status, right.status) == (DocumentStatus.EMBEDDED, DocumentStatus.EMBEDDED)
    assert poisoned.status is DocumentStatus.FAILED and "nested 10,001 levels deep" in poisoned.reason
    with serving_in_background(create_app(app, instance=instance), "/health", name="metadata-api") as url:
        listing = httpx.get(f"{url}/documents").json()
    assert {item["id"]: item["status"] for item in listing["items"]}[keys[1]] == "failed"
    status = subprocess.run([sys.executable, "-m", "ingest_pipeline.cli.main", "status", "--json"],
                            env={**os.environ, **environment}, capture_output=True, text=True, timeout=300)
    assert status.returncode != 0 or status.stdout  # a failed document sets the exit status; it never crashes
    assert keys[1] in status.stdout and "Traceback" not in status.stderr
