"""The document storage resource: a content-addressed folder of uploaded bytes."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from ingest_pipeline.storage import ContentStore


class DocumentStorageResource(dg.ConfigurableResource):
    root: str = Field(description="Folder holding stored documents under their sha256.")

    @property
    def store(self) -> ContentStore:
        return ContentStore(Path(self.root))
