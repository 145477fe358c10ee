"""Bad input never crashes a run, a sensor or the API: each bad file fails, or is refused at intake, with its own reason."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from ingest_pipeline.api.app import create_app
from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.orchestration.code_location import build_definitions
from ingest_pipeline.parse.extraction import PDF, ExtractionLimits, extract_pages
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.store import documents, pages
from ingest_pipeline_tests.bad_files import sparse_file, text_pdf
from ingest_pipeline_tests.bad_inputs import (
    BAD,
    GOOD,
    ODD_BUT_READABLE,
    OS_LIMITS,
    OVER_OS_LIMITS,
    REFUSED_AT_INTAKE,
    SIZE_LIMIT,
)
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write


def _document(app, doc_id: str) -> documents.Document:
    with app.engine.connect() as conn:
        return documents.get(conn, doc_id)


def _stored_text(app, doc_id: str) -> str:
    with app.engine.connect() as conn:
        return "\n".join(page.text for page in pages.read(conn, doc_id))


def _failed_as_expected(doc: documents.Document, reason: str) -> bool:
    # At the first attempt, with the reason written for that kind: not after retries of a crash.
    return doc.status is DocumentStatus.FAILED and reason in (doc.reason or "") and doc.attempts == 0


def test_one_run_over_the_bad_corpus_fails_each_with_its_reason_and_embeds_the_rest(app, instance, tmp_path):
    corpus = BAD + ODD_BUT_READABLE + GOOD
    assert len(BAD) >= 25 and len({specimen.kind for specimen in corpus}) == len(corpus)
    ids = {specimen.kind: register(app, specimen.make(tmp_path)) for specimen in corpus}
    result = materialize(app, instance, list(ids.values()))
    assert result.success
    outcomes = {kind: _document(app, doc_id) for kind, doc_id in ids.items()}
    wrong = {specimen.kind: (outcomes[specimen.kind].status.value, outcomes[specimen.kind].reason)
             for specimen in BAD if not _failed_as_expected(outcomes[specimen.kind], specimen.reason)}
    assert wrong == {}
    for specimen in ODD_BUT_READABLE + GOOD:
        doc = outcomes[specimen.kind]
        assert doc.status is DocumentStatus.EMBEDDED, (specimen.kind, doc.reason)
        assert doc.chunk_count >= 1 and specimen.phrase in _stored_text(app, doc.id), specimen.kind


@pytest.fixture
def small_limit_client(app, instance):
    with TestClient(create_app(app, max_upload_bytes=64 * 1024, instance=instance), base_url="http://localhost") as client:
        yield client


def _multipart(file_name: bytes, content: bytes) -> dict:
    """A hand-made body, so the file name reaches the server byte for byte (NULs, non-UTF-8)."""
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + file_name + b'"\r\n\r\n'
            + content + b"\r\n--b--\r\n")
    return {"content": body, "headers": {"content-type": "multipart/form-data; boundary=b"}}


def test_the_api_refuses_what_can_never_be_ingested_with_the_reason(small_limit_client, app, tmp_path):
    answers = {}
    for specimen in REFUSED_AT_INTAKE:
        upload = (specimen.name, specimen.make(tmp_path).read_bytes())
        response = small_limit_client.post("/documents", files={"file": upload})
        answers[specimen.kind] = (response.status_code, specimen.reason in response.json()["detail"])
    assert answers == {specimen.kind: (415, True) for specimen in REFUSED_AT_INTAKE}
    assert app.documents() == [] and not list((app.settings.home / "uploads").iterdir())


def test_the_api_stores_hostile_file_names_safely_and_refuses_a_file_over_the_limit(small_limit_client, app):
    names = {
        b"../../etc/passwd": "passwd",
        b"..\\..\\Windows\\win.ini": "win.ini",
        b"nul\x00byte.txt": "nul_byte.txt",
        b"caf\xe9 \xff.txt": "caf\ufffd \ufffd.txt",
        b"invoice\xe2\x80\xaefdp.exe": "invoice_fdp.exe",
        b"x" * 3000 + b".txt": "x" * 200,
    }
    for number, (sent, stored) in enumerate(names.items()):
        response = small_limit_client.post("/documents", **_multipart(sent, paragraph(f"name {number}").encode()))
        assert response.status_code == 201, sent
        assert small_limit_client.get(response.json()["status_url"]).json()["file_name"] == stored
    endless_name = small_limit_client.post("/documents", **_multipart(b"y" * 100_000, b"text"))
    assert endless_name.status_code == 400 and "header size" in endless_name.json()["detail"]
    too_big = small_limit_client.post("/documents", files={"file": ("big.txt", b"word " * 20_000)})
    assert too_big.status_code == 413 and "65536 bytes" in too_big.json()["detail"]
    assert len(app.documents()) == len(names)
    assert not list((app.settings.home / "uploads").iterdir())


def _inbox_tick(app, instance) -> dg.SensorResult:
    defs = build_definitions(app.resources)
    with dg.build_sensor_context(instance=instance, resources=app.resources, definitions=defs) as context:
        return defs.resolve_sensor_def("inbox_sensor")(context)


def _drop_hostile_files(inbox: Path, outside: Path) -> dict[str, str]:
    """Files no upload could make: non-UTF-8 and 255-byte names, deep paths, a link out of the inbox, a pipe.

    Returns the expected reason for each file that must be set aside, by its name.
    """
    write(inbox, os.fsdecode(b"r\xe9sum\xe9-latin1-name.txt"), paragraph("resume"))
    write(inbox, "n" * 251 + ".txt", paragraph("long name"))
    write(inbox, "p" * 251 + ".png", b"\x89PNG\r\n\x1a\n" + bytes(64))
    os.symlink(write(outside, "secret.txt", paragraph("secret")), inbox / "link.txt")
    os.mkfifo(inbox / "pipe.txt")
    write(inbox / "/".join(["d" * 200] * 6), "deep.txt", paragraph("deep"))
    sparse_file(write(inbox, "huge.txt", paragraph("huge")), SIZE_LIMIT + 1)
    return {"p" * 251 + ".png": "a PNG image", "link.txt": "symbolic link", "pipe.txt": "not a regular file",
            "huge.txt": "the limit is 100 MB", "deep.txt": "path inside the inbox is longer"}


def test_the_inbox_sets_aside_what_it_cannot_take_with_a_reason_and_takes_the_rest(app, instance, tmp_path):
    inbox = app.settings.inbox_dir
    refused = _drop_hostile_files(inbox, tmp_path / "outside")
    for specimen in REFUSED_AT_INTAKE:
        specimen.make(inbox)
        refused[specimen.name] = specimen.reason
    old = time.time() - 60
    for path in inbox.rglob("*"):
        os.utime(path, (old, old), follow_symlinks=False)
    result = _inbox_tick(app, instance)
    assert result.skip_reason.skip_message == f"2 registered, {len(refused)} rejected, 0 still being written"
    rejected = inbox / "rejected"
    for name, reason in refused.items():
        # A 255-byte name is cut to make room for ".reason".
        [explanation] = [path for path in rejected.iterdir()
                         if path.name.startswith(name[:200]) and path.name.endswith(".reason")]
        assert reason in explanation.read_text(), name
    taken = {doc.file_name for doc, _ in app.documents()}
    assert taken == {"r\ufffdsum\ufffd-latin1-name.txt", "n" * 200}
    assert [path for path in inbox.rglob("*") if not path.is_dir() and rejected not in path.parents] == []
    assert (tmp_path / "outside" / "secret.txt").exists()


def test_extraction_stops_at_the_time_limit_between_pages(tmp_path):
    path = write(tmp_path, "three.pdf", text_pdf(["one", "two", "three"]))
    with pytest.raises(DocumentRejected, match="took longer than 0 seconds, the limit per document"):
        list(extract_pages(path, PDF, ExtractionLimits(max_seconds=0)))


def test_documents_over_the_kernel_limits_fail_alone_naming_the_limit(environment, instance, tmp_path):
    app = Application(Settings.from_env({**environment, **OS_LIMITS}))
    ids = {specimen.kind: register(app, specimen.make(tmp_path)) for specimen in OVER_OS_LIMITS + GOOD}
    assert materialize(app, instance, list(ids.values())).success
    outcomes = {kind: _document(app, doc_id) for kind, doc_id in ids.items()}
    assert {specimen.kind: outcomes[specimen.kind].reason for specimen in OVER_OS_LIMITS
            if not _failed_as_expected(outcomes[specimen.kind], specimen.reason)} == {}
    assert {specimen.kind: outcomes[specimen.kind].status for specimen in GOOD} == {
        specimen.kind: DocumentStatus.EMBEDDED for specimen in GOOD}
