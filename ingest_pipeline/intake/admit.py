"""Admitting documents: refuse a file that can never be ingested, else store it and register it or a new version."""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.ids import Identity, document_id
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.parse.extraction import sniff_open_file
from ingest_pipeline.parse.extraction.limits import too_large
from ingest_pipeline.store import documents, superseded
from ingest_pipeline.store.content import ContentStore, StoredFile
from ingest_pipeline.store.documents import Document

MAX_FILE_NAME = 200
# Control characters (C0 and C1), separators, and the bidirectional overrides that make
# "invoice\u202efdp.exe" display as "invoiceexe.pdf".
LINK_REFUSED = ("The file is a symbolic link, which the inbox does not follow: "
                "copy the file itself into the inbox.")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\\u202a-\u202e\u2066-\u2069]+")


@dataclass(frozen=True)
class Registration:
    document: Document
    created: bool
    changed: bool


class IntakeRefused(Exception):
    """A file that can never be ingested: `reason` is written for the person who gave it; `name` says which file."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class StillBeingWritten(Exception):
    """The file changed while it was being stored: not a refusal, it is taken once it has settled."""


def admit(engine: Engine, store: ContentStore, path: Path, file_name: str, *, max_bytes: int,
          identity: Identity | None = None, source: str | None = None) -> Registration:
    """Check the complete file at `path`, then store and register it under `file_name` (see admit_open).

    The path is opened once, following a link (the CLI ingests the file a link names); every check
    and the bytes stored come from that one handle.
    """
    try:
        file = open_regular_file(path, follow_links=True)
    except DocumentRejected as rejected:
        raise IntakeRefused(sanitise_file_name(file_name), rejected.reason) from None
    with file:
        return admit_open(engine, store, file, file_name, max_bytes=max_bytes, identity=identity, source=source)


def admit_open(engine: Engine, store: ContentStore, file: BinaryIO, file_name: str, *, max_bytes: int,
               identity: Identity | None = None, source: str | None = None,
               unchanged_since: os.stat_result | None = None) -> Registration:
    """Check the complete file open as `file`, then store and register it (see register_stored).

    Raises IntakeRefused, before anything is stored, for a file that can never be ingested. OSError
    passes through: whether an unreadable file is the document's fault depends on whose file it is.
    `unchanged_since` is the file's stat when the caller judged it complete: if the file is another
    one or changed by the time it is stored, nothing is registered and StillBeingWritten is raised.
    """
    name = sanitise_file_name(file_name)
    try:
        _check_file(file, name, max_bytes)
    except DocumentRejected as rejected:
        raise IntakeRefused(name, rejected.reason) from None
    stored = store.put_open_file(file)
    if unchanged_since is not None and _changed(os.fstat(file.fileno()), unchanged_since):
        raise StillBeingWritten(name)
    return register_stored(engine, stored, identity, source, file_name)


def open_regular_file(path: Path, follow_links: bool, dir_fd: int | None = None) -> BinaryIO:
    """`path` open for reading, refused unless it is a regular file.

    Non-blocking, so that opening a named pipe never waits for a writer; without `follow_links` a
    symbolic link is refused by the kernel itself (O_NOFOLLOW), not by an earlier look at the name.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        descriptor = os.open(path, flags, dir_fd=dir_fd)
    except OSError as error:
        if error.errno == errno.ELOOP and not follow_links:
            raise DocumentRejected(LINK_REFUSED) from None
        raise
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # reading a pipe or a device would block or never end
        os.close(descriptor)
        raise DocumentRejected("The file is not a regular file (a named pipe, socket or device), "
                               "so there is nothing to read from it.")
    return os.fdopen(descriptor, "rb")


def could_not_read(error: OSError) -> str:
    """The reason given for a file the caller's user owns but the pipeline cannot read."""
    return f"could not read the file: {error.strerror or error}"


def _check_file(file: BinaryIO, name: str, max_bytes: int) -> None:
    size = os.fstat(file.fileno()).st_size
    if size > max_bytes:  # refused before it is copied into storage
        raise too_large(size, max_bytes)
    try:
        # Sniffed as the raw_document stage will (same bytes, same sanitised name), so the verdicts agree.
        sniff_open_file(file, name)
    except (NotImplementedError, ValueError, EOFError):
        # zipfile's ways of refusing a damaged archive besides the BadZipFile sniff_file turns into a
        # reason (a bad offset, a cut-off member): still the file's fault, never the caller's crash.
        raise DocumentRejected("The file is a ZIP archive (as a Word .docx file is) but it is damaged or "
                               "uses features that cannot be read.") from None


def _changed(after: os.stat_result, before: os.stat_result) -> bool:
    return ((after.st_dev, after.st_ino, after.st_size, after.st_mtime_ns)
            != (before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns))


def sanitise_file_name(name: str) -> str:
    """A display name safe to store and show: last path part, no control characters, bounded."""
    name = unicodedata.normalize("NFC", valid_unicode(name).replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE.sub("_", name).strip(" .")
    return name[:MAX_FILE_NAME] or "unnamed"


def valid_unicode(name: str) -> str:
    """`name` with the bytes of a non-UTF-8 file name (which Python keeps as lone surrogates, and
    Postgres refuses) shown as U+FFFD: for display."""
    return _raw(name, "replace").decode("utf-8", "replace")


def printable(name: str) -> str:
    """`name` with those bytes written as \\x escapes, so that two such names stay distinct: for identities."""
    return _raw(name, "backslashreplace").decode("utf-8", "backslashreplace")


def _raw(name: str, fallback: str) -> bytes:
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # surrogates that did not come from a file name's bytes
        return name.encode("utf-8", fallback)


def register_file(engine: Engine, store: ContentStore, path: Path, identity: Identity | None = None,
                  source: str | None = None, file_name: str | None = None) -> Registration:
    """Store `path` and register it. Identity is the one given, else the bytes themselves.

    The same identity with the same bytes changes nothing; with new bytes it becomes a new
    version that goes through the pipeline again (its old chunks stay searchable until then).
    """
    return register_stored(engine, store.put_file(path), identity, source, file_name or path.name)


def register_stored(engine: Engine, stored: StoredFile, identity: Identity | None, source: str | None,
                    file_name: str) -> Registration:
    """Register bytes already in the content store (see register_file)."""
    # Stored as the document's external id: a content identity is not kept (the sha256 column has it).
    external_id = printable(identity.value) if identity else None
    source = printable(source) if source else source
    new_id = document_id(replace(identity, value=external_id) if identity else Identity.of_content(stored.sha256))
    name = sanitise_file_name(file_name)
    with engine.begin() as conn:
        existing = documents.get(conn, new_id, lock=True)
        if existing is None:
            created = documents.insert(
                conn, id=new_id, external_id=external_id, source=source or name, file_name=name,
                sha256=stored.sha256, size_bytes=stored.size_bytes, status=str(DocumentStatus.REGISTERED),
            )
            # None: a concurrent registration of the same identity won; report its document.
            return Registration(created or documents.get(conn, new_id), created=created is not None,
                                changed=created is not None)
        if existing.sha256 == stored.sha256:
            return Registration(existing, created=False, changed=False)
        documents.update(
            conn, new_id, sha256=stored.sha256, size_bytes=stored.size_bytes, file_name=name,
            version=existing.version + 1, status=str(DocumentStatus.REGISTERED), media_type=None,
            failed_stage=None, reason=None, attempts=0, duplicate_of=None,
        )
        documents.request_processing(conn, new_id)
        superseded.record(conn, new_id, existing.sha256)
        return Registration(documents.get(conn, new_id), created=False, changed=True)
