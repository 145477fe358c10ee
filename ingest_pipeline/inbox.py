"""The inbox folder: files dropped there are registered once fully written, or set aside with a reason."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from pydantic import Field

from ingest_pipeline.errors import DocumentRejected
from ingest_pipeline.extraction import sniff_file
from ingest_pipeline.intake import register_stored
from ingest_pipeline.resources.database import PostgresResource
from ingest_pipeline.resources.document_storage import DocumentStorageResource

REJECTED = "rejected"
# A file modified more recently than this may still be being written.
SETTLE_SECONDS = 2.0


@dataclass
class InboxReport:
    registered: list[tuple[str, str]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        return ([f"registered {name} as {doc_id}" for name, doc_id in self.registered]
                + [f"rejected {name}: {reason}" for name, reason in self.rejected])

    def summary(self) -> str:
        return (f"{len(self.registered)} registered, {len(self.rejected)} rejected, "
                f"{len(self.waiting)} still being written")


class InboxResource(dg.ConfigurableResource):
    folder: str = Field(description="INGEST_INBOX: where dropped files are picked up.")
    settle_seconds: float = Field(default=SETTLE_SECONDS, description="Quiet time before a file counts as written.")
    database: PostgresResource
    storage: DocumentStorageResource

    def collect(self) -> InboxReport:
        """Register every settled file; a file still changing stays for the next tick."""
        folder = Path(self.folder)
        (folder / REJECTED).mkdir(parents=True, exist_ok=True)
        report = InboxReport()
        for path in _dropped_files(folder):
            self._take(folder, path, report)
        return report

    def _take(self, folder: Path, path: Path, report: InboxReport) -> None:
        name = path.relative_to(folder).as_posix()
        try:
            before = path.stat()
            if time.time() - before.st_mtime < self.settle_seconds:
                report.waiting.append(name)
                return
            sniff_file(path)  # unsupported types are set aside here, not failed later
            stored = self.storage.store.put_file(path)
            if _changed(path, before):
                report.waiting.append(name)
                return
            registration = register_stored(self.database.engine, stored, f"inbox:{name}", f"inbox:{name}", path.name)
            path.unlink()
            report.registered.append((name, registration.document.id))
        except DocumentRejected as rejected:
            report.rejected.append((name, set_aside(folder, path, rejected.reason)))
        except OSError as error:
            report.rejected.append((name, set_aside(folder, path, f"could not read the file: {error.strerror or error}")))


def _dropped_files(folder: Path) -> list[Path]:
    """Regular files under the inbox, skipping rejected/ and hidden or temporary names."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(root, d) != folder / REJECTED)
        found.extend(Path(root, f) for f in sorted(files) if not f.startswith(".") and not f.endswith(".part"))
    return found


def _changed(path: Path, before: os.stat_result) -> bool:
    after = path.stat()
    return (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)


def set_aside(folder: Path, path: Path, reason: str) -> str:
    """Move a file that cannot be registered to rejected/ with a `.reason` file beside it: nothing is lost."""
    target = folder / REJECTED / path.name
    counter = 1
    while target.exists():
        target = folder / REJECTED / f"{path.stem}-{counter}{path.suffix}"
        counter += 1
    if path.exists():
        os.replace(path, target)
    target.with_name(target.name + ".reason").write_text(reason + "\n", encoding="utf-8")
    return reason
