"""Content-addressed document storage: files kept under their sha256 in a local folder."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_READ_BLOCK = 1 << 20


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size_bytes: int


class ContentStore:
    """Bytes live at root/ab/cd/<sha256>; writing the same bytes twice stores them once."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_file(self, source: Path) -> StoredFile:
        """Store the file at `source` under its sha256 (see put_open_file)."""
        with open(source, "rb") as reader:
            return self.put_open_file(reader)

    def put_open_file(self, reader: BinaryIO) -> StoredFile:
        """Store what `reader` holds from its start, under its sha256. Bytes already stored are hashed,
        never copied again (a re-ingest creates no file); new bytes are hashed again while copied, and
        filed under the hash of what was copied, so a file changing meanwhile is still stored under its true name."""
        reader.seek(0)
        known = _hash_reader(reader)
        if self.exists(known.sha256):
            return known
        _make_dir(self.root)
        digest, size = hashlib.sha256(), 0
        reader.seek(0)
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=".incoming-", delete=False) as writer:
            while block := reader.read(_READ_BLOCK):
                digest.update(block)
                size += len(block)
                writer.write(block)
        return self._settle(Path(writer.name), StoredFile(digest.hexdigest(), size))

    def verify(self, sha256: str) -> bool:
        """Whether the stored bytes still hash to their name (catches a damaged store)."""
        return _hash(self.path_for(sha256)).sha256 == sha256

    def remove(self, sha256: str) -> None:
        self.path_for(sha256).unlink(missing_ok=True)

    def _settle(self, incoming: Path, stored: StoredFile) -> StoredFile:
        target = self.path_for(stored.sha256)
        if target.is_file():
            incoming.unlink()
        else:
            _make_dir(target.parent)
            # Atomic on one filesystem: a reader never sees a half-written file.
            os.replace(incoming, target)
        return stored


def _hash(path: Path) -> StoredFile:
    with open(path, "rb") as reader:
        return _hash_reader(reader)


def _hash_reader(reader: BinaryIO) -> StoredFile:
    digest, size = hashlib.sha256(), 0
    while block := reader.read(_READ_BLOCK):
        digest.update(block)
        size += len(block)
    return StoredFile(digest.hexdigest(), size)


def _make_dir(folder: Path) -> None:
    # mkdir takes the parent directory's lock even when the folder exists (half a millisecond on a
    # busy disk, per file stored); a stat does not.
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
