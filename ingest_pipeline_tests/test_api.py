"""The ingest HTTP API registers uploads once, reports, lists, deletes, retries and searches documents, and never answers 5xx to bad input."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ingest_pipeline.api.app import create_app
from ingest_pipeline_tests.api_client import PNG, count, upload, uploads_left
from ingest_pipeline_tests.bad_files import unreadable_docx
from ingest_pipeline_tests.pipeline_runs import paragraph


def test_the_same_bytes_twice_are_one_document(client, app):
    body = f"# Kettles\n\n{paragraph('kettle')}".encode()
    first = upload(client, body)
    assert first.status_code == 201
    doc = first.json()
    assert doc == {"id": doc["id"], "status": "registered", "status_url": f"/documents/{doc['id']}",
                   "version": 1, "created": True}
    again = upload(client, body, name="other-name.md")
    assert again.status_code == 200
    assert again.json() == {**doc, "created": False}
    assert count(app) == 1 and uploads_left(app) == []


def test_an_external_id_with_new_bytes_makes_a_new_version(client):
    first = upload(client, b"first draft of the report", external_id="report-7")
    second = upload(client, b"second draft of the report", external_id="report-7")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert (second.json()["version"], second.json()["created"]) == (2, False)


def test_metadata_is_stored_and_bad_metadata_is_refused_before_registering(client, app):
    response = upload(client, b"with metadata", metadata='{"team": "finance", "tags": ["q3"]}')
    assert response.status_code == 201
    assert client.get(response.json()["status_url"]).json()["metadata"] == {"team": "finance", "tags": ["q3"]}
    for bad in ("not json", "[1, 2]", "NaN", '{"a": "\\u0000"}', '{"a": "\\ud800"}', '"text"'):
        refused = upload(client, b"other bytes", metadata=bad)
        assert refused.status_code == 422, bad
        assert "JSON object" in refused.json()["detail"]
    assert count(app) == 1


def test_an_upload_over_the_limit_is_refused_while_streaming(app, instance):
    with TestClient(create_app(app, max_upload_bytes=1000, instance=instance), base_url="http://localhost") as client:
        response = upload(client, b"x" * 5000, name="big.txt")
        assert response.status_code == 413
        assert "1000 bytes" in response.json()["detail"]
        assert upload(client, b"y" * 1000, name="fits.txt").status_code == 201
    assert count(app) == 1 and uploads_left(app) == []


def test_a_body_declared_too_large_is_refused_before_it_is_read(app, instance):
    with TestClient(create_app(app, max_upload_bytes=10, instance=instance), base_url="http://localhost") as client:
        response = upload(client, b"z" * (2 * 1024 * 1024), name="huge.txt")
    assert response.status_code == 413 and count(app) == 0


def test_an_unsupported_type_is_refused_with_the_reason(client, app):
    response = upload(client, PNG, name="scan.pdf")
    assert response.status_code == 415
    assert "PNG image" in response.json()["detail"]
    assert count(app) == 0 and uploads_left(app) == []


def test_a_damaged_zip_is_refused_not_a_server_error(client, app):
    response = upload(client, unreadable_docx(), name="report.docx")
    assert response.status_code == 415 and "cannot be read" in response.json()["detail"]
    assert count(app) == 0


def test_bad_forms_are_client_errors(client, app):
    assert client.post("/documents", json={"file": "x"}).status_code == 415
    assert client.post("/documents", data={"external_id": "no-file"}).status_code == 415
    only_fields = client.post("/documents", files={"external_id": (None, "x")})
    assert only_fields.status_code == 422 and "file" in only_fields.json()["detail"]
    broken = client.post("/documents", content=b"--b\r\nnot a header line\r\n\r\nstuff",
                         headers={"content-type": "multipart/form-data; boundary=b"})
    assert broken.status_code == 400
    two_files = client.post("/documents", files=[("file", ("a.txt", b"a")), ("file", ("b.txt", b"b"))])
    assert two_files.status_code == 400
    control = upload(client, b"bytes", external_id="bad\x01id")
    assert control.status_code == 422
    assert count(app) == 0


def test_odd_file_names_are_sanitised_and_an_empty_file_is_registered(client):
    cases = {"../../etc/passwd": "passwd", "..": "unnamed", "a" * 500 + ".txt": "a" * 200}
    for sent, stored in cases.items():
        response = upload(client, f"content for {sent[:20]}".encode(), name=sent)
        assert response.status_code == 201
        doc = client.get(response.json()["status_url"]).json()
        assert (doc["file_name"], doc["source"]) == (stored, f"upload:{stored}")
    body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"caf\xe9 \xff.txt\"\r\n\r\n"
            b"latin-1 name\r\n--b--\r\n")
    latin = client.post("/documents", content=body, headers={"content-type": "multipart/form-data; boundary=b"})
    assert latin.status_code == 201
    assert client.get(latin.json()["status_url"]).json()["file_name"] == "caf\ufffd \ufffd.txt"
    empty = upload(client, b"", name="empty.txt")
    assert empty.status_code == 201 and empty.json()["status"] == "registered"
