"""Intake's resources: the content-addressed folder of uploaded bytes, and the inbox folder the sensor empties."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from ingest_pipeline.intake.inbox import SETTLE_SECONDS, Inbox, InboxReport
from ingest_pipeline.parse.extraction.limits import ExtractionLimits
from ingest_pipeline.store.content import ContentStore
from ingest_pipeline.store.resource import PostgresResource


class DocumentStorageResource(dg.ConfigurableResource):
    root: str = Field(description="Folder holding stored documents under their sha256.")

    @property
    def store(self) -> ContentStore:
        return ContentStore(Path(self.root))


class InboxResource(dg.ConfigurableResource):
    folder: str = Field(description="INGEST_INBOX: where dropped files are picked up.")
    settle_seconds: float = Field(default=SETTLE_SECONDS, description="Quiet time before a file counts as written.")
    max_file_bytes: int = Field(default=ExtractionLimits().max_file_bytes,
                                description="Larger files are set aside unread (INGEST_MAX_UPLOAD_MB).")
    database: PostgresResource
    storage: DocumentStorageResource

    def collect(self) -> InboxReport:
        """Register every settled file; a file still changing stays for the next tick."""
        return Inbox(Path(self.folder), self.database.engine, self.storage.store, self.max_file_bytes,
                     self.settle_seconds).collect()
