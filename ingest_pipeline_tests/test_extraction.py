"""Contract of `ingest_pipeline.parse.extraction`'s sniffing: types come from bytes, and refused files are named."""

from __future__ import annotations

import gzip
import random

import pytest

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.parse.extraction import (
    DOCX,
    HTML,
    MARKDOWN,
    PDF,
    SUPPORTED,
    TEXT,
    sniff_file,
    sniff_media_type,
)
from ingest_pipeline_tests.extraction_samples import (
    OLE2,
    by_bytes,
    by_file,
    docx_bytes,
    write,
    zip_bytes,
)

SUPPORTED_CASES = [
    ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", PDF),
    ("prefixed.pdf", b"\r\n\r\n%PDF-1.4\n", PDF),
    ("macbinary.pdf", b"\x00\x0bReport.pdf" + bytes(100) + b"%PDF-1.4\n", PDF),
    ("about-pdf.txt", b"Every PDF file starts with %PDF- and a version.", TEXT),
    ("page.html", b"<!DOCTYPE html><html><body><p>Hi</p></body></html>", HTML),
    ("page.txt", b"<!-- saved --><html lang=en><p>Bytes win over the name</p>", HTML),
    ("fragment.htm", b"<p>Hello</p>", HTML),
    ("notes.md", b"Just prose, no markup at all.", MARKDOWN),
    ("README", b"# Title\n\nBody text.", MARKDOWN),
    ("notes.txt", b"# Not a heading: the name says text.", TEXT),
    ("notes", b"plain words", TEXT),
    ("utf16.txt", "hello, world".encode("utf-16"), TEXT),
    ("cp1252.txt", "café – naïve".encode("cp1252"), TEXT),
    ("empty.txt", b"", TEXT),
    ("report.docx", docx_bytes(), DOCX),
]


@pytest.mark.parametrize("sniff", [by_bytes, by_file])
@pytest.mark.parametrize(
    ("name", "data", "expected"), SUPPORTED_CASES, ids=[case[0] for case in SUPPORTED_CASES]
)
def test_sniffs_supported_types_from_bytes(sniff, tmp_path, name, data, expected):
    assert sniff(tmp_path, name, data) == expected
    assert expected in SUPPORTED


UNSUPPORTED_CASES = [
    ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
    ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "a JPEG image"),
    ("anim.gif", b"GIF89a\x01\x00\x01\x00", "a GIF image"),
    ("notes.zip", zip_bytes({"notes.txt": b"hello"}), "a ZIP archive"),
    ("sheet.xlsx", zip_bytes({"xl/workbook.xml": b"<workbook/>"}), "an Excel workbook"),
    ("program", b"\x7fELF\x02\x01\x01" + bytes(64), "an ELF executable"),
    ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "a Windows executable"),
    ("notes.txt.gz", gzip.compress(b"hello"), "a gzip archive"),
    ("old.doc", OLE2 + bytes(512), "a legacy Word .doc file"),
    ("locked.docx", OLE2 + "EncryptedPackage".encode("utf-16-le"), "a password-protected Office file"),
    ("logo.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "an SVG image"),
    ("binary.txt", bytes(range(256)) * 8, "binary data, not text"),
    ("noise.txt", random.Random(0).randbytes(4096).replace(b"\x00", b""), "binary data, not text"),
]


@pytest.mark.parametrize("sniff", [by_bytes, by_file])
@pytest.mark.parametrize(
    ("name", "data", "what"), UNSUPPORTED_CASES, ids=[case[0] for case in UNSUPPORTED_CASES]
)
def test_rejects_unsupported_files_naming_them(sniff, tmp_path, name, data, what):
    with pytest.raises(DocumentRejected) as rejected:
        sniff(tmp_path, name, data)
    assert what in rejected.value.reason
    assert "PDF, Word (.docx), HTML, Markdown and plain text" in rejected.value.reason


def test_stored_file_is_sniffed_under_its_uploaded_name(tmp_path):
    path = write(tmp_path, "3f2a9c", b"# Soup\n\nStir.")
    assert sniff_file(path, "soup.txt") == TEXT
    assert sniff_file(path, "soup.md") == sniff_file(path) == MARKDOWN


def test_docx_whose_document_lies_beyond_the_head_needs_the_whole_file(tmp_path):
    padding = random.Random(1).randbytes(20_000)  # incompressible, so it fills the head
    data = zip_bytes({"[Content_Types].xml": padding, "word/document.xml": b"<w:document/>"})
    with pytest.raises(DocumentRejected, match="a ZIP archive"):
        sniff_media_type(data[:8192], "report.docx")
    assert sniff_media_type(data, "report.docx") == DOCX
    assert by_file(tmp_path, "report.docx", data) == DOCX
