"""Contract of the ingest API after upload: listing, search, delete, retry, auth, health, and no 500 for any generated request."""

from __future__ import annotations

import dataclasses

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ingest_pipeline.api.app import create_app
from ingest_pipeline.api.binding import UnsafeBinding, check_binding
from ingest_pipeline.api.server import serve
from ingest_pipeline.domain.statuses import DocumentStatus, Stage
from ingest_pipeline.orchestration.partitions import partition_keys
from ingest_pipeline.orchestration.policies import DOCUMENTS_PARTITION
from ingest_pipeline.service.application import Application
from ingest_pipeline.store import documents
from ingest_pipeline_tests.api_client import TOKEN, count, upload
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph


def test_documents_are_listed_filtered_and_paginated(client, app):
    ids = [upload(client, f"document number {i}".encode(), name=f"{i}.txt").json()["id"] for i in range(5)]
    with app.engine.begin() as conn:
        documents.mark_failed(conn, ids[1], Stage.PARSED_TEXT, "unreadable")
    page = client.get("/documents", params={"limit": 2, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    assert [item["id"] for item in page["items"]] == ids[1:3]
    failed = client.get("/documents", params={"status": "failed"}).json()
    assert [(d["id"], d["failed_stage"], d["reason"]) for d in failed["items"]] == [(ids[1], "parsed_text", "unreadable")]
    assert client.get("/documents", params={"status": "embedded"}).json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    for bad in ({"status": "sleeping"}, {"limit": 0}, {"limit": 501}, {"offset": -1}):
        assert client.get("/documents", params=bad).status_code == 422, bad


def test_unknown_and_malformed_ids_are_404(client):
    for document_id in ("d" + "0" * 20, "nonsense", "D" + "0" * 20, "%00", "d" * 5000):
        assert client.get(f"/documents/{document_id}").status_code == 404
        assert client.delete(f"/documents/{document_id}").status_code == 404
        assert client.post(f"/documents/{document_id}/retry").status_code == 404


def test_processed_documents_are_reported_searched_and_deleted(client, app, instance):
    topics = ("lighthouse lens", "sourdough starter")
    ids = [upload(client, f"# {t}\n\n{paragraph(t, 30)}".encode(), name=f"{t}.md").json()["id"] for t in topics]
    assert client.get("/search", params={"q": "lens"}).status_code == 409
    assert materialize(app, instance, ids).success

    doc = client.get(f"/documents/{ids[0]}").json()
    assert doc["status"] == "embedded" and doc["media_type"] == "text/markdown" and doc["pages"] == 1
    assert doc["chunk_count"] >= 1 and doc["embeddings"] == doc["chunk_count"] and doc["token_count"] > 0
    assert doc["partition_key"] == f"lighthouse-lens-md~{ids[0][1:9]}"
    hits = client.get("/search", params={"q": "how the sourdough starter behaves under condition 4", "k": 3}).json()
    assert hits["k"] == 3 and hits["hits"][0]["document_id"] == ids[1]
    assert set(hits["hits"][0]) == {"document_id", "source", "external_id", "media_type", "chunk_id", "page_start",
                                    "page_end", "heading_path", "score", "vector_similarity", "vector_rank",
                                    "keyword_score", "keyword_rank", "fused_score", "snippet", "text"}
    assert hits["hits"][0]["heading_path"] == ["sourdough starter"]

    sha256 = doc["sha256"]
    assert client.delete(f"/documents/{ids[0]}").status_code == 204
    assert client.get(f"/documents/{ids[0]}").status_code == 404
    assert not app.store.exists(sha256)
    assert instance.get_dynamic_partitions(DOCUMENTS_PARTITION) == partition_keys(app.engine, [ids[1]])
    assert count(app, "chunks") == client.get(f"/documents/{ids[1]}").json()["chunk_count"]
    assert client.delete(f"/documents/{ids[0]}").status_code == 404


def test_deleting_keeps_the_file_another_document_shares(client, app):
    first = upload(client, b"the same bytes", external_id="one").json()["id"]
    second = upload(client, b"the same bytes", external_id="two").json()["id"]
    sha256 = client.get(f"/documents/{first}").json()["sha256"]
    assert client.delete(f"/documents/{first}").status_code == 204
    assert app.store.exists(sha256)
    assert client.delete(f"/documents/{second}").status_code == 204
    assert not app.store.exists(sha256)


def test_only_failed_documents_can_be_retried(client, app):
    doc_id = upload(client, b"will fail in embeddings").json()["id"]
    assert client.post(f"/documents/{doc_id}/retry").status_code == 409
    with app.engine.begin() as conn:
        documents.mark_failed(conn, doc_id, Stage.EMBEDDINGS, "provider refused the text")
    response = client.post(f"/documents/{doc_id}/retry")
    assert response.status_code == 202
    assert response.json() == {"id": doc_id, "status": str(DocumentStatus.CHUNKED)}
    doc = client.get(f"/documents/{doc_id}").json()
    assert (doc["status"], doc["failed_stage"], doc["reason"]) == ("chunked", None, None)


def test_search_validates_its_parameters(client):
    for params in ({}, {"q": ""}, {"q": "   "}, {"q": "x" * 2001}, {"q": "a", "k": 0}, {"q": "a", "k": 51}):
        assert client.get("/search", params=params).status_code == 422, params


def test_a_token_guards_every_route_but_health_and_docs(app, instance):
    with TestClient(create_app(app, api_token=TOKEN, instance=instance)) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                        {"Authorization": "Bearer café".encode()}):
            response = client.get("/documents", headers=headers)
            assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
            assert upload(client, b"blocked").status_code == 401
        assert count(app) == 0
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert client.get("/documents", headers=good).status_code == 200
        assert client.post("/documents", files={"file": ("a.txt", b"ok")}, headers=good).status_code == 201
        for open_path in ("/health", "/openapi.json", "/docs"):
            assert client.get(open_path).status_code == 200, open_path


def test_health_reports_checks_and_configuration_without_secrets(client, app, settings, tmp_path):
    report = client.get("/health")
    assert report.status_code == 200
    body = report.json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["storage"]["ok"]
    assert (body["parser"], body["embedder"], body["embedding_dimensions"]) == ("local", "hashing", 512)
    assert settings.database_url not in report.text
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the storage folder should be")
    broken = Application(dataclasses.replace(settings, storage_dir=blocked / "storage"))
    with TestClient(create_app(broken), base_url="http://localhost") as broken_client:
        unhealthy = broken_client.get("/health")
    assert unhealthy.status_code == 503
    assert unhealthy.json()["status"] == "unavailable" and not unhealthy.json()["storage"]["ok"]


def test_serving_without_a_token_is_only_allowed_on_loopback(app):
    with pytest.raises(UnsafeBinding, match="INGEST_API_TOKEN"):
        serve("0.0.0.0", 8000, api_token=None, application=app)
    for host in ("::", "example.com", "10.0.0.5"):
        with pytest.raises(UnsafeBinding):
            check_binding(host, None)
    for host, token in (("127.0.0.1", None), ("::1", None), ("localhost", None), ("0.0.0.0", TOKEN)):
        check_binding(host, token)


def test_generated_requests_never_get_a_server_error(client, app, instance):
    """Schemathesis against the published schema: valid and invalid inputs, including real document ids."""
    ids = [upload(client, f"# {t}\n\n{paragraph(t, 20)}".encode(), name=f"{t}.md").json()["id"] for t in ("owl", "elk")]
    assert materialize(app, instance, ids).success
    with app.engine.begin() as conn:
        documents.mark_failed(conn, ids[1], Stage.CHUNKS, "for the retry route")
    # Addressed to localhost, as the API without a token requires (schemathesis' own default host is not).
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app, headers={"Host": "localhost"})
    # Deletes last, so the other routes still find the seeded documents.
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda op: op.method == "delete")
    for operation in operations:
        # Only operations with constrained inputs have invalid ones to generate.
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if operation.query or operation.body else [])
        for mode in modes:
            _fuzz(operation, mode, ids)


def _fuzz(operation, mode, ids) -> None:
    strategy = operation.as_strategy(generation_mode=mode)
    if "{document_id}" in operation.path:
        # Random ids only ever reach the 404 path: mix in documents that exist.
        strategy = st.one_of(strategy, *(operation.as_strategy(generation_mode=mode, path_parameters={"document_id": i})
                                         for i in ids))

    @given(case=strategy)
    @hypothesis_settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(base_url="http://localhost", checks=[not_a_server_error, status_code_conformance, response_schema_conformance,
                                       content_type_conformance])

    check()
