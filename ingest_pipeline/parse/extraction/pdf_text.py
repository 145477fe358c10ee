"""PDF extraction with pdfium: the text of each page in turn, so memory stays bounded by one page."""

from __future__ import annotations

import threading
from collections.abc import Generator
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.models import Page
from ingest_pipeline.parse.extraction.limits import ExtractionLimits, too_many_pages
from ingest_pipeline.parse.extraction.pdf_streams import check_streams

# pdfium joins a word hyphenated across lines, leaving \x02 where the hyphen was: keep it visible.
_CLEANUP = str.maketrans({"\x02": "-", "\x00": None})
_PDFIUM = threading.RLock()


def extract_pdf(path: Path, limits: ExtractionLimits) -> Generator[Page, None, None]:
    """Yield each page's text; the document is closed when the generator ends or is closed.

    pdfium must never be called from two threads at once, even for different documents, so one
    PDF is read at a time (holding the lock until its last page), while other documents go on."""
    check_streams(path, limits)
    with _PDFIUM:
        yield from _pages(path, limits)


def _pages(path: Path, limits: ExtractionLimits) -> Generator[Page, None, None]:
    pdf = _open(path)
    try:
        count = len(pdf)
        # Known before any text is read, so a huge PDF is turned away at once.
        if count > limits.max_pages:
            raise too_many_pages(limits, count)
        has_text = False
        for index in range(count):
            page = Page(number=index + 1, text=_page_text(pdf, index))
            has_text = has_text or bool(page.text.strip())
            yield page
    finally:
        pdf.close()
    if not has_text:
        raise _no_text_layer(count)


def _no_text_layer(count: int) -> DocumentRejected:
    if count == 0:
        return DocumentRejected("The PDF has no pages, so there is no text to read from it.")
    pages = "its one page has no text" if count == 1 else f"none of its {count:,} pages has any text"
    return DocumentRejected(
        f"The PDF has no text layer ({pages}): it is probably a scan or made of images. "
        "Run it through OCR (text recognition) first, then upload the result."
    )


def _open(path: Path) -> pypdfium2.PdfDocument:
    try:
        return pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as error:
        if error.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise DocumentRejected(
                "The PDF is password-protected. Remove the password and upload it again."
            ) from error
        if error.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise DocumentRejected(
                "The PDF is encrypted with a security scheme that cannot be opened. "
                "Save an unencrypted copy and upload that."
            ) from error
        if error.err_code == pdfium_c.FPDF_ERR_FILE:
            raise  # Our file went missing or unreadable: not the document's fault.
        raise _damaged() from error


def _page_text(pdf: pypdfium2.PdfDocument, index: int) -> str:
    try:
        page = pdf[index]
    except pypdfium2.PdfiumError as error:
        raise _damaged(f"Page {index + 1} cannot be read. ") from error
    try:
        textpage = page.get_textpage()
        try:
            # The bounded form returns full Unicode with the spaces pdfium infers between words.
            text = textpage.get_text_bounded()
        finally:
            textpage.close()
    except pypdfium2.PdfiumError as error:
        raise _damaged(f"The text of page {index + 1} cannot be read. ") from error
    finally:
        page.close()
    # pdfium ends lines with \r\n.
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_CLEANUP)


def _damaged(detail: str = "") -> DocumentRejected:
    return DocumentRejected(
        f"The PDF is damaged or incomplete and cannot be read. {detail}"
        "Try exporting it again from the program that made it."
    )
