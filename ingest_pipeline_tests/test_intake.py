"""admit() refuses a file that can never be ingested before storing anything, and registers the rest."""

from __future__ import annotations

import os

import pytest

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.ids import Identity
from ingest_pipeline.intake.admit import IntakeRefused, StillBeingWritten, admit, admit_open, open_regular_file
from ingest_pipeline_tests.bad_files import sparse_file, unreadable_docx
from ingest_pipeline_tests.bad_inputs import REFUSED_AT_INTAKE, SIZE_LIMIT
from ingest_pipeline_tests.pipeline_runs import paragraph, write


def _admit(app, path, **options):
    return admit(app.engine, app.store, path, path.name, **{"max_bytes": SIZE_LIMIT, **options})


def _admit_open(app, file, **options):
    return admit_open(app.engine, app.store, file, "file.txt", max_bytes=SIZE_LIMIT, **options)


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
    with pytest.raises(StillBeingWritten), path.open("rb") as file:
        _admit_open(app, file, unchanged_since=seen)
    assert app.documents() == []
    with path.open("rb") as file:
        assert _admit_open(app, file, unchanged_since=path.stat()).created


def test_a_file_replaced_under_its_name_is_not_registered_as_the_one_looked_at(app, tmp_path):
    path = write(tmp_path, "swapped.txt", paragraph("the file that was looked at"))
    seen = path.stat()
    write(tmp_path, "other.txt", paragraph("the file swapped in")).replace(path)
    with pytest.raises(StillBeingWritten), path.open("rb") as file:
        _admit_open(app, file, unchanged_since=seen)


def test_a_link_or_a_pipe_is_refused_by_the_kernel_when_links_are_not_followed(tmp_path):
    target = write(tmp_path, "outside.txt", paragraph("outside"))
    (tmp_path / "link.txt").symlink_to(target)
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(DocumentRejected, match="symbolic link"):
        open_regular_file(tmp_path / "link.txt", follow_links=False)
    with pytest.raises(DocumentRejected, match="not a regular file"):
        open_regular_file(tmp_path / "pipe", follow_links=True)
    with open_regular_file(tmp_path / "link.txt", follow_links=True) as file:
        assert file.read() == paragraph("outside").encode()
