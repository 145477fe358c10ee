"""Identity spaces: a caller's external id, a file's content, an inbox path and a local path can never name each other's document."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from ingest_pipeline.api.app import create_app
from ingest_pipeline.domain.ids import RESERVED_PREFIXES, Identity, ReservedIdentity, document_id
from ingest_pipeline.intake.admit import register_file
from ingest_pipeline.intake.inbox import Inbox
from ingest_pipeline.simulators.background_server import serving_in_background
from ingest_pipeline.store import documents


@pytest.mark.parametrize("external_id", ["sha256:ab12", "inbox:report.txt", "file:/home/me/a.txt",
                                         "SHA256:AB12", "Inbox:report.txt"])
def test_a_caller_cannot_take_an_identity_the_pipeline_gives(external_id):
    with pytest.raises(ReservedIdentity, match="may not begin with"):
        Identity.of_caller(external_id)


def test_each_space_hashes_apart_even_for_the_same_text():
    text = "sha256:" + "0" * 64
    ids = {document_id(Identity.of_caller("report-7")), document_id(Identity.of_content(text)),
           document_id(Identity.of_inbox_path(text)), document_id(Identity.of_local_path(text))}
    assert len(ids) == 4 and all(prefix.endswith(":") for prefix in RESERVED_PREFIXES)


@pytest.fixture
def api_url(app, instance):
    with serving_in_background(create_app(app, instance=instance), "/health", name="identity-api") as url:
        yield url


def _upload(url: str, content: bytes, **form) -> httpx.Response:
    return httpx.post(f"{url}/documents", files={"file": ("notes.txt", content, "text/plain")}, data=form)


def test_an_upload_cannot_become_a_version_of_an_anonymous_document(api_url, app):
    victim = _upload(api_url, b"the victim's anonymous report").json()
    taken = _upload(api_url, b"the attacker's bytes",
                    external_id="sha256:" + hashlib.sha256(b"the victim's anonymous report").hexdigest())
    assert taken.status_code == 422 and "may not begin with" in taken.json()["detail"]
    with app.engine.connect() as conn:
        after = documents.get(conn, victim["id"])
    assert (after.version, after.sha256) == (1, hashlib.sha256(b"the victim's anonymous report").hexdigest())


def test_an_upload_cannot_replace_an_inbox_file_or_a_local_file(api_url, app, tmp_path):
    inbox = Inbox(tmp_path / "inbox", app.engine, app.store, max_file_bytes=10_000, settle_seconds=0)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "plan.txt").write_text("the inbox's plan")
    [(_, inbox_doc)] = inbox.collect().registered
    local = tmp_path / "local.txt"
    local.write_text("a local file")
    local_doc = register_file(app.engine, app.store, local, Identity.of_local_path(str(local))).document.id
    for external_id in ("inbox:plan.txt", f"file:{local}"):
        assert _upload(api_url, b"the attacker's bytes", external_id=external_id).status_code == 422
    with app.engine.connect() as conn:
        assert [documents.get(conn, key).version for key in (inbox_doc, local_doc)] == [1, 1]


def test_an_inbox_file_named_like_a_content_identity_stays_its_own_document(api_url, app, tmp_path):
    content = b"shared bytes, two ways in"
    anonymous = _upload(api_url, content).json()["id"]
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / f"sha256:{hashlib.sha256(content).hexdigest()}").write_bytes(b"other bytes")
    inbox = Inbox(tmp_path / "inbox", app.engine, app.store, max_file_bytes=10_000, settle_seconds=0)
    [(_, from_inbox)] = inbox.collect().registered
    with app.engine.connect() as conn:
        assert from_inbox != anonymous and documents.get(conn, anonymous).version == 1
