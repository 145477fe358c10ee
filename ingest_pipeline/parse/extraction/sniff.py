"""Detection of a document's media type from its bytes; the file name only breaks ties between text kinds."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path, PurePath
from typing import BinaryIO

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.parse.extraction import signatures
from ingest_pipeline.parse.extraction.media_types import DOCX, HTML, MARKDOWN, PDF, SUPPORTED_DESCRIPTION, TEXT
from ingest_pipeline.parse.extraction.plain_text import decode_text
from ingest_pipeline.parse.extraction.zip_directory import check_zip_directory

SNIFF_BYTES = 8192
# Readers accept a PDF header after up to a kilobyte of junk (a MacBinary header, say); a
# prefix of plain text is instead a text document that mentions "%PDF-".
_PDF_HEADER_WINDOW = 1024
_BINARY_BYTE = re.compile(rb"[\x00-\x08\x0e-\x1f]")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_HTML_START = re.compile(
    r"(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>/]",
    re.IGNORECASE | re.DOTALL,
)
_SVG = re.compile(r"<svg[\s>]", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[A-Za-z][^>]*>")
_MARKDOWN_HINT = re.compile(r"\A(?:---|\+\+\+)[ \t]*\n|^#{1,6}[ \t]+\S|^```", re.MULTILINE)
_HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
_MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd", ".mkdn"}
_TEXT_SUFFIXES = {".txt", ".text"}
_BINARY_SUFFIXES = {
    ".docx": "a Word document (a .docx file is a ZIP package, and this one is not)",
    ".pdf": "a PDF (a PDF file starts with %PDF-, and this one does not)",
}


def sniff_media_type(head: bytes, file_name: str = "") -> str:
    """The media type of a file from its first bytes (`SNIFF_BYTES` suffice).

    A zip is a Word document only if it holds `word/document.xml`: pass the whole file, or use
    `sniff_file`, when that member may lie beyond the head. Unsupported files raise
    `DocumentRejected` naming what they are.
    """
    if head.startswith(_ZIP_MAGIC):
        return _zip_type(head[:SNIFF_BYTES], _zip_names(head))
    return _sniff_head(head[:SNIFF_BYTES], file_name)


def sniff_file(path: Path, file_name: str | None = None) -> str:
    """The media type of the file at `path`, reading its zip directory too when it is a zip.

    `file_name` is the name the file was uploaded under, when it is stored under another.
    """
    with path.open("rb") as file:
        return sniff_open_file(file, path.name if file_name is None else file_name)


def sniff_open_file(file: BinaryIO, file_name: str) -> str:
    """`sniff_file` for a file already open (read from its start; the position is left anywhere)."""
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    if not head.startswith(_ZIP_MAGIC):
        return _sniff_head(head, file_name)
    # Before zipfile reads the directory into memory, entry by entry.
    check_zip_directory(file)
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
    # zipfile raises NotImplementedError for archive versions and compressions it cannot read.
    except (zipfile.BadZipFile, NotImplementedError) as error:
        raise DocumentRejected(
            "The file is a ZIP archive (as a Word .docx file is) but it is damaged or "
            "incomplete, so it cannot be read."
        ) from error
    return _zip_type(head, names)


def unsupported(what: str) -> DocumentRejected:
    return DocumentRejected(
        f"The file is {what}, which cannot be ingested. Supported types are {SUPPORTED_DESCRIPTION}."
    )


def _sniff_head(head: bytes, file_name: str) -> str:
    if _is_pdf(head):
        return PDF
    if head.startswith(signatures.OLE2):
        raise unsupported(signatures.legacy_office_format(head, file_name))
    if what := signatures.known_format(head):
        raise unsupported(what)
    try:
        # Always partial: the head may end part-way through a character.
        text = decode_text(head, partial=True)
    except DocumentRejected:
        if what := signatures.weak_format(head):
            raise unsupported(what) from None
        if named := _misnamed(file_name):
            raise named from None
        raise
    return _text_type(text, PurePath(file_name).suffix.lower())


def _misnamed(file_name: str) -> DocumentRejected | None:
    """For binary data under the name of a supported binary format: say that it is not one."""
    suffix = PurePath(file_name).suffix.lower()
    expected = _BINARY_SUFFIXES.get(suffix)
    if expected is None:
        return None
    return DocumentRejected(
        f"The file is named {suffix} but is not {expected}: it is damaged, or another kind of file was renamed."
    )


def _is_pdf(head: bytes) -> bool:
    offset = head.find(b"%PDF-", 0, _PDF_HEADER_WINDOW)
    if offset < 0:
        return False
    prefix = head[:offset]
    return not prefix.strip() or _BINARY_BYTE.search(prefix) is not None


def _text_type(text: str, suffix: str) -> str:
    start = text.lstrip("\ufeff \t\n")
    if _HTML_START.match(start) or (suffix in _HTML_SUFFIXES and _ANY_TAG.search(text)):
        return HTML
    if start.startswith("<?xml") or _SVG.match(start):
        raise unsupported("an SVG image" if _SVG.search(start) else "an XML document")
    if suffix in _MARKDOWN_SUFFIXES:
        return MARKDOWN
    if suffix not in _TEXT_SUFFIXES and _MARKDOWN_HINT.search(text):
        return MARKDOWN
    return TEXT


def _zip_names(data: bytes) -> list[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except zipfile.BadZipFile:
        # Only the head was given: the directory at the end is missing, the local headers are not.
        return signatures.local_zip_names(data[:SNIFF_BYTES])


def _zip_type(head: bytes, names: list[str]) -> str:
    what = signatures.zip_format(head, names)
    if what:
        raise unsupported(what)
    return DOCX
