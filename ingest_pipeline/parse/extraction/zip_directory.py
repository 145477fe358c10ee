"""A zip's directory bounded before anything reads it: its entry count and size, from the end record alone.

`zipfile.ZipFile` reads the whole central directory into memory, one object per entry, as it opens
the file: a small upload could declare millions of entries. The end record (the last 22 bytes, before
an optional comment of up to 64 KiB) says how many entries there are and how large the directory is.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from ingest_pipeline.domain.errors import DocumentRejected

# A Word document has tens of parts, a few thousand with many images; the directory a few hundred KB.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_DIRECTORY_BYTES = 4 * 1024 * 1024
_END = struct.Struct("<4s4H2LH")  # signature, disks, entries here, entries, directory size, offset, comment
_END_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")  # signature, disk, offset of the zip64 end record, disks
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")  # signature, size, versions, disks, entries here, entries, size, offset
_MAX_COMMENT = 0xFFFF


def check_zip_directory(file: BinaryIO) -> None:
    """Refuse a zip whose directory is larger than `MAX_ZIP_ENTRIES` entries or `MAX_ZIP_DIRECTORY_BYTES`.

    A file without an end record is left for zipfile to call damaged.
    """
    entries, size = _directory_extent(file)
    if entries > MAX_ZIP_ENTRIES:
        raise DocumentRejected(
            f"The file is a ZIP archive (as a Word .docx file is) listing {entries:,} entries; at most "
            f"{MAX_ZIP_ENTRIES:,} are read, far more than any document has, so it is refused as unsafe."
        )
    if size > MAX_ZIP_DIRECTORY_BYTES:
        raise DocumentRejected(
            f"The file is a ZIP archive (as a Word .docx file is) whose directory is {size:,} bytes; at most "
            f"{MAX_ZIP_DIRECTORY_BYTES:,} are read, far more than any document needs, so it is refused as unsafe."
        )


def _directory_extent(file: BinaryIO) -> tuple[int, int]:
    """(entries, directory bytes) as the end record declares them; (0, 0) without one."""
    end_of_file = file.seek(0, 2)
    tail_start = max(0, end_of_file - _END.size - _MAX_COMMENT)
    file.seek(tail_start)
    tail = file.read()
    at = tail.rfind(_END_SIGNATURE)
    if at < 0 or len(tail) - at < _END.size:
        return 0, 0
    _, _, _, _, entries, size, _, _ = _END.unpack_from(tail, at)
    if entries != 0xFFFF and size != 0xFFFFFFFF:
        return entries, size
    return _zip64_extent(file, tail_start + at)


def _zip64_extent(file: BinaryIO, end_record: int) -> tuple[int, int]:
    if end_record < _ZIP64_LOCATOR.size:
        return 0, 0
    file.seek(end_record - _ZIP64_LOCATOR.size)
    signature, _, offset, _ = _ZIP64_LOCATOR.unpack(file.read(_ZIP64_LOCATOR.size))
    if signature != b"PK\x06\x07":
        return 0, 0
    file.seek(offset)
    record = file.read(_ZIP64_END.size)
    if len(record) < _ZIP64_END.size or not record.startswith(b"PK\x06\x06"):
        return 0, 0
    fields = _ZIP64_END.unpack(record)
    return fields[7], fields[8]
