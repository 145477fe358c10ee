"""The inbox reads each file through one handle: no link, swapped in for a file or a folder at any moment, leads a read outside it."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.intake.inbox import Inbox, open_inside
from ingest_pipeline_tests.pipeline_runs import paragraph, write

SECRET = paragraph("a secret outside the inbox")


@pytest.fixture
def outside(tmp_path) -> Path:
    return write(tmp_path / "outside", "secret.txt", SECRET)


def test_a_folder_on_the_way_that_is_a_link_is_refused(tmp_path, outside):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "team").symlink_to(outside.parent)
    with pytest.raises(DocumentRejected, match="symbolic link"):
        open_inside(inbox, Path("team/secret.txt"))
    write(inbox / "real", "notes.txt", paragraph("notes"))
    with open_inside(inbox, Path("real/notes.txt")) as file:
        assert file.read() == paragraph("notes").encode()


def test_a_link_swapped_in_while_the_inbox_works_never_brings_in_outside_bytes(app, tmp_path, outside):
    inbox = Inbox(tmp_path / "inbox", app.engine, app.store, max_file_bytes=10_000, settle_seconds=0)
    inbox.folder.mkdir()
    # Another process, so that the swaps land between any two steps of the inbox's, as an attacker's would.
    swapper = subprocess.Popen([sys.executable, "-c", _SWAPPER, str(inbox.folder), str(outside)])
    taken = links = ticks = 0
    try:
        # Until both turns were seen several times: how the processes interleave differs from run to run.
        while (taken < 60 or links < 60) and ticks < 100_000:
            report = inbox.collect()
            taken, ticks = taken + len(report.registered), ticks + 1
            links += sum("symbolic link" in reason for _, reason in report.rejected)
    finally:
        swapper.kill()
        swapper.wait()
    secret = hashlib.sha256(SECRET.encode()).hexdigest()
    assert taken >= 60 and links >= 60, "the race was not exercised: the test proves nothing"
    assert secret not in {doc.sha256 for doc, _ in app.documents()}
    assert outside.read_text() == SECRET


# An attacker with write access to the inbox: a regular file and a link to the file outside take turns
# at one name. The regular file has the size and times of the file outside, so only its identity differs.
_SWAPPER = """
import os, sys
folder, outside = sys.argv[1], sys.argv[2]
secret = os.stat(outside)
count = 0
while True:
    count += 1
    with open(os.path.join(folder, ".file"), "wb") as file:
        file.write(f"harmless {count} ".encode().ljust(secret.st_size, b"."))
    os.utime(os.path.join(folder, ".file"), ns=(secret.st_atime_ns, secret.st_mtime_ns))
    os.replace(os.path.join(folder, ".file"), os.path.join(folder, "drop.txt"))
    os.symlink(outside, os.path.join(folder, ".link"))
    os.replace(os.path.join(folder, ".link"), os.path.join(folder, "drop.txt"))
"""
