"""Magic numbers of the formats the pipeline turns away, so a rejection can say what the file is."""

from __future__ import annotations

import re
import struct
from pathlib import PurePath

Signature = tuple[tuple[tuple[int, bytes], ...], str]

# Each entry: every (offset, bytes) must match. Specific entries come before general ones.
_SIGNATURES: tuple[Signature, ...] = (
    (((0, b"\x89PNG\r\n\x1a\n"),), "a PNG image"),
    (((0, b"\xff\xd8\xff"),), "a JPEG image"),
    (((0, b"GIF87a"),), "a GIF image"),
    (((0, b"GIF89a"),), "a GIF image"),
    (((0, b"II*\x00"),), "a TIFF image"),
    (((0, b"MM\x00*"),), "a TIFF image"),
    (((0, b"RIFF"), (8, b"WEBP")), "a WebP image"),
    (((0, b"RIFF"), (8, b"WAVE")), "a WAV audio file"),
    (((0, b"RIFF"), (8, b"AVI ")), "an AVI video"),
    (((4, b"ftyp"), (8, b"heic")), "a HEIC image"),
    (((4, b"ftyp"), (8, b"avif")), "an AVIF image"),
    (((4, b"ftyp"), (8, b"M4A ")), "an M4A audio file"),
    (((4, b"ftyp"),), "an MP4 or QuickTime video"),
    (((0, b"\x1aE\xdf\xa3"),), "a Matroska or WebM video"),
    (((0, b"ID3\x03"),), "an MP3 audio file"),
    (((0, b"ID3\x04"),), "an MP3 audio file"),
    (((0, b"OggS\x00"),), "an Ogg audio or video file"),
    (((0, b"fLaC"),), "a FLAC audio file"),
    (((0, b"\x7fELF"),), "an ELF executable"),
    (((0, b"\xcf\xfa\xed\xfe"),), "a macOS executable"),
    (((0, b"\xce\xfa\xed\xfe"),), "a macOS executable"),
    (((0, b"\xca\xfe\xba\xbe"),), "a macOS executable or Java class file"),
    (((0, b"\x00asm"),), "a WebAssembly module"),
    (((0, b"\x1f\x8b"),), "a gzip archive"),
    (((0, b"\xfd7zXZ\x00"),), "an xz archive"),
    (((0, b"7z\xbc\xaf\x27\x1c"),), "a 7-Zip archive"),
    (((0, b"Rar!\x1a\x07"),), "a RAR archive"),
    (((0, b"\x28\xb5\x2f\xfd"),), "a Zstandard archive"),
    (((257, b"ustar"),), "a tar archive"),
    (((0, b"SQLite format 3\x00"),), "an SQLite database"),
    (((0, b"{\\rtf"),), "an RTF document"),
    (((0, b"%!PS"),), "a PostScript file"),
    (((0, b"wOFF"),), "a web font"),
    (((0, b"wOF2"),), "a web font"),
)
# Too short to trust on their own: they only name a file already found to be binary.
_WEAK_SIGNATURES = ((b"MZ", "a Windows executable"), (b"BZh", "a bzip2 archive"))

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE2_STREAMS = (
    ("EncryptedPackage", "a password-protected Office file (remove the password first)"),
    ("WordDocument", "a legacy Word .doc file"),
    ("Workbook", "a legacy Excel .xls file"),
    ("PowerPoint Document", "a legacy PowerPoint .ppt file"),
)
_OLE2_SUFFIXES = {".doc": 1, ".dot": 1, ".xls": 2, ".xlt": 2, ".ppt": 3, ".pps": 3}
_LOCAL_HEADER = re.compile(rb"PK\x03\x04")


def known_format(head: bytes) -> str | None:
    for conditions, name in _SIGNATURES:
        if all(head[offset:offset + len(magic)] == magic for offset, magic in conditions):
            return name
    return None


def weak_format(head: bytes) -> str | None:
    return next((name for magic, name in _WEAK_SIGNATURES if head.startswith(magic)), None)


def legacy_office_format(head: bytes, file_name: str) -> str:
    """Name an old binary Office file by the stream it holds, else by its extension."""
    for stream, name in _OLE2_STREAMS:
        if stream.encode("utf-16-le") in head:
            return name
    index = _OLE2_SUFFIXES.get(PurePath(file_name).suffix.lower())
    if index is not None:
        return _OLE2_STREAMS[index][1]
    return "a legacy Microsoft Office file (.doc, .xls or .ppt)"


def zip_format(head: bytes, names: list[str]) -> str | None:
    """None for a Word document; otherwise the name of what the zip holds."""
    if "word/document.xml" in names:
        return None
    # These packages store their `mimetype` member first and uncompressed, so it is in the head.
    if b"application/vnd.oasis.opendocument" in head:
        return "an OpenDocument file (.odt, .ods or .odp)"
    if b"application/epub+zip" in head:
        return "an EPUB e-book"
    if any(name.startswith("xl/") for name in names):
        return "an Excel workbook (.xlsx)"
    if any(name.startswith("ppt/") for name in names):
        return "a PowerPoint presentation (.pptx)"
    return "a ZIP archive"


def local_zip_names(head: bytes) -> list[str]:
    """Names from the zip's local headers found in `head`, for when its directory is out of reach."""
    names = []
    for match in _LOCAL_HEADER.finditer(head):
        start = match.start()
        if start + 30 > len(head):
            break
        (length,) = struct.unpack_from("<H", head, start + 26)
        names.append(head[start + 30:start + 30 + length].decode("utf-8", "replace"))
    return names
