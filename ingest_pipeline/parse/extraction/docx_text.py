"""Word (.docx) extraction: paragraphs and tables in body order, headings and list items marked as in Markdown."""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Generator, Iterator
from pathlib import Path

import docx
from docx.document import Document as WordDocument
from docx.exceptions import PythonDocxError
from docx.opc.exceptions import OpcError
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml.etree import LxmlError

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.models import Page
from ingest_pipeline.parse.extraction.blocks import PARAGRAPH, join_blocks
from ingest_pipeline.parse.extraction.limits import MEGABYTE, ExtractionLimits

_HEADING_STYLE = re.compile(r"Heading ([1-9])")
_LIST_STYLE = re.compile(r"List (?:Bullet|Number|Paragraph)(?: ([2-9]))?")
# A small archive is harmless whatever its ratio; the ratio guards the larger ones.
_RATIO_CHECK_FLOOR = 10 * MEGABYTE
_MAX_LIST_LEVEL = 8
# What python-docx, lxml and zipfile raise on a broken package (RuntimeError: an encrypted member).
_DAMAGED = (
    OpcError, PythonDocxError, KeyError, ValueError, LxmlError, zipfile.BadZipFile, zlib.error,
    EOFError, NotImplementedError, RuntimeError,
)


def extract_docx(path: Path, limits: ExtractionLimits) -> Generator[Page, None, None]:
    check_archive(path, limits)
    try:
        document = docx.Document(str(path))
        text = join_blocks(_blocks(document))
    except _DAMAGED as error:
        raise _unreadable(error) from error
    yield Page(number=1, text=text)


def _unreadable(error: Exception) -> DocumentRejected:
    # python-docx says "content type is ..." when the package holds another Office format.
    if isinstance(error, ValueError) and "content type" in str(error):
        return DocumentRejected(
            "The file is packaged like a Word document but holds something else "
            "(a macro-enabled .docm or another Office format, perhaps). Save it as a .docx file."
        )
    return DocumentRejected(
        "The Word file is damaged or incomplete and cannot be read. "
        "Try saving it again from Word as a .docx file."
    )


def check_archive(path: Path, limits: ExtractionLimits) -> None:
    """Reject a zip that would inflate past the limits, from its directory alone.

    The sizes in the directory can be trusted: zipfile stops reading a member at its declared size.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise DocumentRejected(
            "The file is not a valid Word (.docx) document: its zip packaging is damaged."
        ) from error
    inflated = sum(member.file_size for member in members)
    compressed = max(1, sum(member.compress_size for member in members))
    if inflated > limits.max_uncompressed_bytes:
        raise DocumentRejected(
            f"The Word file would expand to {inflated / MEGABYTE:,.0f} MB when unpacked; "
            f"the limit is {limits.max_uncompressed_bytes / MEGABYTE:,.0f} MB."
        )
    if inflated > _RATIO_CHECK_FLOOR and inflated / compressed > limits.max_compression_ratio:
        raise DocumentRejected(
            f"The Word file is compressed {inflated / compressed:,.0f} to 1, far beyond the "
            f"{limits.max_compression_ratio:,.0f} to 1 of real documents, so it is refused as unsafe."
        )


def _blocks(document: WordDocument) -> Iterator[tuple[str, str]]:
    for table_number, item in enumerate(document.iter_inner_content()):
        if isinstance(item, Paragraph):
            block = _paragraph(item)
            if block:
                yield block
        elif isinstance(item, Table):
            # Each table gets its own kind so two tables in a row stay apart.
            yield from ((row, f"table {table_number}") for row in _table_rows(item))


def _paragraph(paragraph: Paragraph) -> tuple[str, str] | None:
    text = paragraph.text.strip()
    if not text:
        return None
    style = (paragraph.style.name if paragraph.style is not None else None) or ""
    if style == "Title":
        return "# " + " ".join(text.split()), PARAGRAPH
    if heading := _HEADING_STYLE.fullmatch(style):
        return "#" * min(6, int(heading.group(1))) + " " + " ".join(text.split()), PARAGRAPH
    level = _list_level(paragraph, style)
    if level is not None:
        # Word nests lists nine deep at most; a forged level must not inflate the text.
        return "  " * min(level, _MAX_LIST_LEVEL) + "- " + text, "list"
    return text, PARAGRAPH


def _list_level(paragraph: Paragraph, style: str) -> int | None:
    """The nesting level (0 for the outermost) if the paragraph is a list item, else None."""
    properties = paragraph._p.pPr
    numbering = properties.numPr if properties is not None else None
    # numId 0 is how Word switches off numbering that a style would otherwise apply.
    if numbering is not None and numbering.numId is not None and numbering.numId.val == 0:
        return None
    if numbering is not None:
        return numbering.ilvl.val if numbering.ilvl is not None else 0
    if match := _LIST_STYLE.fullmatch(style):
        return int(match.group(1) or 1) - 1
    return None


def _table_rows(table: Table) -> Iterator[str]:
    for row in table.rows:
        cells = []
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans; show it once.
            if not cells or cell._tc is not cells[-1]._tc:
                cells.append(cell)
        texts = [" ".join(cell.text.split()) for cell in cells]
        if any(texts):
            yield " | ".join(texts)
