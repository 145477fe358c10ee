"""A superseded version's stored bytes are removed once the new version is published and nothing else holds them."""

from __future__ import annotations

from ingest_pipeline.domain.ids import Identity
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.intake.admit import register_file
from ingest_pipeline.service.lifecycle import delete_document
from ingest_pipeline.store import documents
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, write


def _version(app, tmp_path, identity: str, topic: str | bytes):
    content = topic if isinstance(topic, bytes) else paragraph(topic).encode()
    path = write(tmp_path / identity, f"{len(content)}-{hash(content)}.txt", content)
    return register_file(app.engine, app.store, path, Identity.of_caller(identity)).document


def _status(app, document_id: str) -> DocumentStatus:
    with app.engine.connect() as conn:
        return documents.get(conn, document_id).status


def test_old_bytes_stay_until_the_new_version_is_published_then_go(app, instance, tmp_path):
    first = _version(app, tmp_path, "report", "first draft")
    materialize(app, instance, [first.id])
    second = _version(app, tmp_path, "report", "second draft")
    assert app.store.exists(first.sha256) and app.store.exists(second.sha256)  # search still shows the first
    materialize(app, instance, [first.id])
    assert _status(app, first.id) is DocumentStatus.EMBEDDED
    assert (app.store.exists(first.sha256), app.store.exists(second.sha256)) == (False, True)


def test_bytes_another_document_holds_are_kept_until_it_moves_on_too(app, instance, tmp_path):
    mine = _version(app, tmp_path, "mine", "shared words")
    theirs = _version(app, tmp_path, "theirs", "shared words")
    materialize(app, instance, [mine.id, theirs.id])
    _version(app, tmp_path, "mine", "my own words")
    materialize(app, instance, [mine.id])
    assert _status(app, mine.id) is DocumentStatus.EMBEDDED and app.store.exists(mine.sha256)
    _version(app, tmp_path, "theirs", "their own words")
    materialize(app, instance, [theirs.id])
    assert _status(app, theirs.id) is DocumentStatus.EMBEDDED and not app.store.exists(mine.sha256)


def test_returning_to_earlier_bytes_keeps_them_and_drops_the_middle_version(app, instance, tmp_path):
    first = _version(app, tmp_path, "plan", "plan as agreed")
    middle = _version(app, tmp_path, "plan", "plan as changed")
    again = _version(app, tmp_path, "plan", "plan as agreed")
    materialize(app, instance, [first.id])
    assert (again.version, again.sha256) == (3, first.sha256)
    assert (app.store.exists(first.sha256), app.store.exists(middle.sha256)) == (True, False)


def test_a_new_version_that_fails_leaves_the_old_bytes_and_a_delete_removes_both(app, instance, tmp_path):
    first = _version(app, tmp_path, "notes", "working notes")
    materialize(app, instance, [first.id])
    broken = _version(app, tmp_path, "notes", b"\x7fELF\x02\x01\x01" + bytes(64))
    materialize(app, instance, [first.id])
    assert _status(app, first.id) is DocumentStatus.FAILED
    assert app.store.exists(first.sha256) and app.store.exists(broken.sha256)
    assert delete_document(app, first.id, instance)
    assert not app.store.exists(first.sha256) and not app.store.exists(broken.sha256)
