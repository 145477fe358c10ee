"""The inbox folder: files dropped there are registered once fully written, or set aside with a reason."""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.ids import Identity
from ingest_pipeline.intake.admit import (
    LINK_REFUSED,
    IntakeRefused,
    StillBeingWritten,
    admit_open,
    could_not_read,
    open_regular_file,
    printable,
)
from ingest_pipeline.store.content import ContentStore

REJECTED = "rejected"
# A file modified more recently than this may still be being written.
SETTLE_SECONDS = 2.0
# Most file systems refuse names longer than this many bytes.
_MAX_NAME_BYTES = 255
# A document's identity is "inbox:<path>", kept in a unique index that holds at most ~2,700 bytes.
MAX_PATH_BYTES = 1024
_REASON_SUFFIX = ".reason"
_log = logging.getLogger(__name__)


@dataclass
class InboxReport:
    registered: list[tuple[str, str]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    # Files left in place after an unexpected error, to be tried again next tick.
    errors: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        return ([f"registered {name} as {doc_id}" for name, doc_id in self.registered]
                + [f"rejected {name}: {reason}" for name, reason in self.rejected]
                + [f"could not take {name} (will try again): {error}" for name, error in self.errors])

    def summary(self) -> str:
        errors = f", {len(self.errors)} left after an error" if self.errors else ""
        return (f"{len(self.registered)} registered, {len(self.rejected)} rejected, "
                f"{len(self.waiting)} still being written{errors}")


@dataclass
class Inbox:
    """The inbox folder and where its files go: `collect` registers what has settled."""

    folder: Path
    engine: Engine
    store: ContentStore
    max_file_bytes: int
    settle_seconds: float = SETTLE_SECONDS

    def collect(self) -> InboxReport:
        """Register every settled file; a file still changing stays for the next tick."""
        folder = self.folder
        (folder / REJECTED).mkdir(parents=True, exist_ok=True)
        report = InboxReport()
        for path in _dropped_files(folder):
            name = printable(path.relative_to(folder).as_posix())
            try:
                self._take(folder, path, name, report)
            except Exception as error:  # one file's fault or a passing outage: never the others' problem
                _log.exception("inbox file %s could not be taken", name)
                report.errors.append((name, f"{type(error).__name__}: {error}"))
        return report

    def _take(self, folder: Path, path: Path, name: str, report: InboxReport) -> None:
        try:
            before = path.lstat()
            if time.time() - before.st_mtime < self.settle_seconds:
                report.waiting.append(name)
                return
            _check_place(name, before)
            # Read through one handle, opened without following links: a link swapped in after the
            # look above is refused by the kernel, and a file swapped in is another inode (StillBeingWritten).
            with open_inside(folder, path.relative_to(folder)) as file:
                registration = admit_open(self.engine, self.store, file, path.name, max_bytes=self.max_file_bytes,
                                          identity=Identity.of_inbox_path(name), source=f"inbox:{name}",
                                          unchanged_since=before)
            _remove_if_same(path, before)
            report.registered.append((name, registration.document.id))
        except StillBeingWritten:
            report.waiting.append(name)
        except IntakeRefused as refused:
            report.rejected.append((name, set_aside(folder, path, refused.reason)))
        except DocumentRejected as rejected:
            report.rejected.append((name, set_aside(folder, path, rejected.reason)))
        except OSError as error:
            report.rejected.append((name, set_aside(folder, path, could_not_read(error))))


def open_inside(folder: Path, relative: Path) -> BinaryIO:
    """The file at `relative` under `folder`, each folder on the way opened without following links,
    so that no link (of the file or of a folder swapped in on its path) leads the read outside the inbox."""
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in relative.parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
            os.close(directory)
            directory = inner
        return open_regular_file(Path(relative.parts[-1]), follow_links=False, dir_fd=directory)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):  # a folder on the way is a link now, or no folder
            raise DocumentRejected(LINK_REFUSED) from None
        raise
    finally:
        os.close(directory)


def _remove_if_same(path: Path, taken: os.stat_result) -> None:
    """Remove the inbox file just registered, unless another file has taken its name meanwhile."""
    try:
        now = path.lstat()
    except FileNotFoundError:
        return
    if (now.st_dev, now.st_ino) == (taken.st_dev, taken.st_ino):
        path.unlink()


def _check_place(name: str, info: os.stat_result) -> None:
    """What only the inbox refuses: a path its identity cannot hold, and links (admit() checks the file itself)."""
    if len(name.encode()) > MAX_PATH_BYTES:
        raise IntakeRefused(name, f"The file's path inside the inbox is longer than {MAX_PATH_BYTES:,} bytes: "
                                  "move it to a folder nearer the top of the inbox.")
    if stat.S_ISLNK(info.st_mode):
        raise IntakeRefused(name, LINK_REFUSED)


def _dropped_files(folder: Path) -> list[Path]:
    """Files (and anything else but folders) under the inbox, skipping rejected/ and hidden or temporary names."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(root, d) != folder / REJECTED)
        found.extend(Path(root, f) for f in sorted(files) if not f.startswith(".") and not f.endswith(".part"))
    return found


def set_aside(folder: Path, path: Path, reason: str) -> str:
    """Move a file that cannot be registered to rejected/ with a `.reason` file beside it: nothing is lost."""
    counter = 0
    target = folder / REJECTED / _rejected_name(path.name, counter)
    while target.exists() or target.is_symlink():
        counter += 1
        target = folder / REJECTED / _rejected_name(path.name, counter)
    if path.exists() or path.is_symlink():
        os.replace(path, target)
    target.with_name(target.name + _REASON_SUFFIX).write_text(reason + "\n", encoding="utf-8")
    return reason


def _rejected_name(name: str, counter: int) -> str:
    """`name` (with `-counter` before its suffix), its stem cut so that the `.reason` file's name fits."""
    path = Path(name)
    suffix = path.suffix if len(os.fsencode(path.suffix)) <= 16 else ""
    tail = (f"-{counter}" if counter else "") + suffix
    room = _MAX_NAME_BYTES - len(_REASON_SUFFIX) - len(os.fsencode(tail))
    stem = os.fsencode(name[: len(name) - len(suffix)] if suffix else name)[:room]
    return os.fsdecode(stem) + tail
