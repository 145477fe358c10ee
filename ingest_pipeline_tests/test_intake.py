"""admit() refuses a file that can never be ingested before storing anything, and registers the rest."""

from __future__ import annotations

import os

import pytest

from ingest_pipeline.domain.ids import Identity
from ingest_pipeline.intake.admit import IntakeRefused, StillBeingWritten, admit
from ingest_pipeline_tests.bad_files import sparse_file, unreadable_docx
from ingest_pipeline_tests.bad_inputs import REFUSED_AT_INTAKE, SIZE_LIMIT
from ingest_pipeline_tests.pipeline_runs import paragraph, write


def _admit(app, path, **options):
    return admit(app.engine, app.store, path, path.name, **{"max_bytes": SIZE_LIMIT, **options})


def _nothing_kept(app) -> bool:
    stored = [p for p in app.store.root.rglob("*") if p.is_file()] if app.store.root.exists() else []
    return app.documents() == [] and stored == []


@pytest.mark.parametrize("specimen", REFUSED_AT_INTAKE, ids=lambda specimen: specimen.kind)
def test_a_file_that_can_never_be_ingested_is_refused_by_name_with_its_reason(app, tmp_path, specimen):
    with pytest.raises(IntakeRefused) as refused:
        _admit(app, specimen.make(tmp_path))
    assert specimen.reason in refused.value.reason and refused.value.name == specimen.name
    assert str(refused.value).startswith(f"{specimen.name}: ")
    assert _nothing_kept(app)


def test_size_damage_and_file_kind_are_refused_before_the_bytes_are_read(app, tmp_path):
    big = sparse_file(write(tmp_path, "big.txt", paragraph("big")), 2001)
    damaged = write(tmp_path, "report.docx", unreadable_docx())
    os.mkfifo(tmp_path / "pipe.txt")  # opened, it would block for ever
    expected = {big: "The file is 2,001 bytes; the limit is 2,000 bytes per document",
                damaged: "damaged or .* cannot be read",
                tmp_path / "pipe.txt": "not a regular file"}
    for path, reason in expected.items():
        with pytest.raises(IntakeRefused, match=reason):
            _admit(app, path, max_bytes=2000)
    assert _nothing_kept(app)


def test_a_file_is_registered_once_and_a_missing_one_is_the_callers_to_explain(app, tmp_path):
    path = write(tmp_path, "heron.md", "# Herons\n\n" + paragraph("heron"))
    first = _admit(app, path, identity=Identity.of_caller("heron"), source="field notes")
    assert (first.created, first.document.file_name, first.document.source) == (True, "heron.md", "field notes")
    assert (_admit(app, path, identity=Identity.of_caller("heron")).created, len(app.documents())) == (False, 1)
    with pytest.raises(FileNotFoundError):
        _admit(app, tmp_path / "gone.txt")


def test_a_file_that_changed_since_the_caller_looked_is_not_registered(app, tmp_path):
    path = write(tmp_path, "growing.txt", paragraph("first half"))
    seen = path.stat()
    with path.open("a") as file:
        file.write(paragraph("second half"))
    with pytest.raises(StillBeingWritten):
        _admit(app, path, unchanged_since=seen)
    assert app.documents() == []
    assert _admit(app, path, unchanged_since=path.stat()).created
