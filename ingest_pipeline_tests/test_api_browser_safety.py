"""The local API refuses what a web page could send it (other Hosts, other Origins), short tokens, cut-off forms and zip bombs."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import urlsplit

import httpx
import pytest

from ingest_pipeline.api.binding import MIN_TOKEN_CHARS, UnsafeBinding, check_binding
from ingest_pipeline.api.server import serve
from ingest_pipeline.parse.extraction.zip_directory import MAX_ZIP_DIRECTORY_BYTES, MAX_ZIP_ENTRIES
from ingest_pipeline.parse.webhooks import WEBHOOK_PATH
from ingest_pipeline_tests.api_client import TOKEN, count, uploads_left
from ingest_pipeline_tests.raw_http import PATIENCE_SECONDS, bounded_api


def _client(url: str, **headers) -> httpx.Client:
    return httpx.Client(base_url=url, headers=headers, timeout=PATIENCE_SECONDS)


def _port(url: str) -> int:
    return urlsplit(url).port


def _upload(client: httpx.Client, content: bytes = b"# Notes\n\nhello", name: str = "notes.md", **headers):
    return client.post("/documents", files={"file": (name, content)}, headers=headers)


@pytest.fixture
def api_url(app, instance):
    with bounded_api(app, instance) as url:
        yield url


def test_without_a_token_only_loopback_host_names_are_answered(api_url, app):
    port = _port(api_url)
    for host in ("localhost", f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "LOCALHOST"):
        with _client(api_url, Host=host) as client:
            assert client.get("/documents").status_code == 200, host
    for host in ("evil.example", f"evil.example:{port}", "localhost.evil.example", "127.0.0.1.nip.io", f"[::1]x:{port}"):
        with _client(api_url, Host=host) as client:
            refused = client.get("/documents")
            assert refused.status_code == 403, host
            assert "INGEST_API_TOKEN" in refused.json()["detail"]


def test_dns_rebinding_can_neither_read_nor_delete(api_url, app):
    with _client(api_url) as client:
        doc_id = _upload(client).json()["id"]
    with _client(api_url, Host=f"rebound.example:{_port(api_url)}") as rebound:
        assert rebound.get(f"/documents/{doc_id}").status_code == 403
        assert rebound.delete(f"/documents/{doc_id}").status_code == 403
    assert count(app) == 1


def test_cross_site_origins_are_refused_and_loopback_pages_are_not(api_url, app):
    with _client(api_url) as client:
        for origin in ("http://evil.example", "https://evil.example:8000", "null", "http://localhost.evil.example"):
            refused = _upload(client, Origin=origin)
            assert refused.status_code == 403, origin
            assert "origin" in refused.json()["detail"]
        assert count(app) == 0 and uploads_left(app) == []
        assert _upload(client, Origin=f"http://localhost:{_port(api_url)}").status_code == 201
        assert _upload(client, b"# Other\n\ntext", Origin=f"http://127.0.0.1:{_port(api_url)}").status_code == 201


def test_the_signed_webhook_answers_any_host_and_a_token_replaces_the_host_check(app, instance):
    with bounded_api(app, instance) as url, _client(url, Host="tunnel.example") as client:
        assert client.post(WEBHOOK_PATH, content=b"{}").status_code == 401
    with bounded_api(app, instance, api_token=TOKEN) as url:
        with _client(url, Host="ingest.example.com", Authorization=f"Bearer {TOKEN}") as client:
            assert client.get("/documents").status_code == 200
        with _client(url, Host="ingest.example.com") as client:
            assert client.get("/documents").status_code == 401


def test_a_token_shorter_than_the_minimum_is_refused_before_serving(app):
    short = "x" * (MIN_TOKEN_CHARS - 1)
    with pytest.raises(UnsafeBinding, match=f"INGEST_API_TOKEN has {MIN_TOKEN_CHARS - 1} characters"):
        serve("127.0.0.1", 0, api_token=short, application=app)
    with pytest.raises(UnsafeBinding, match="INGEST_API_TOKEN"):
        check_binding("0.0.0.0", short)
    check_binding("0.0.0.0", "x" * MIN_TOKEN_CHARS)


def test_a_form_without_its_closing_boundary_is_refused(api_url, app):
    cut_off = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.md"\r\n\r\n# Notes\r\n'
    with _client(api_url) as client:
        answer = client.post("/documents", content=cut_off,
                             headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert answer.status_code == 400
    assert "without its closing boundary" in answer.json()["detail"]
    assert count(app) == 0 and uploads_left(app) == []


def _zip(names: list[str]) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        for name in names:
            archive.writestr(name, b"")
    return data.getvalue()


@pytest.mark.parametrize(("names", "reason"), [
    ([f"p/{n}" for n in range(MAX_ZIP_ENTRIES)], f"at most {MAX_ZIP_ENTRIES:,} are read"),
    ([f"{n}/" + "n" * 60_000 for n in range(MAX_ZIP_DIRECTORY_BYTES // 60_000 + 1)],
     f"at most {MAX_ZIP_DIRECTORY_BYTES:,} are read"),
], ids=["entries", "directory-bytes"])
def test_a_zip_with_too_large_a_directory_is_refused_before_it_is_read(api_url, app, names, reason):
    with _client(api_url) as client:
        answer = _upload(client, _zip(names), name="report.docx")
    assert answer.status_code == 415
    assert reason in answer.json()["detail"] and "ZIP archive" in answer.json()["detail"]
    assert count(app) == 0
