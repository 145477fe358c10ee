"""Documents of every supported and refused kind, made in memory, and ways to hand them to extraction."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
from fpdf import FPDF

from ingest_pipeline.parse.extraction import (
    ExtractionLimits,
    extract_pages,
    sniff_file,
    sniff_media_type,
)

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of legacy and encrypted Office files
WRAPPING = "This sentence is long enough that the PDF writer has to wrap it onto a second line. "


def pdf_bytes(pages: list[str], user_password: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    if user_password:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def docx_bytes() -> bytes:
    document = docx.Document()
    paragraphs = [("Tide Pool Survey", "Title"), ("Method", "Heading 1"), ("We counted at low tide.", None),
                  ("Anemones", "List Bullet"), ("Limpets", "List Number"), ("Small ones", "List Bullet 2")]
    for text, style in paragraphs:
        document.add_paragraph(text, style=style)
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Species", "Count"), ("Limpet", "42")]):
        row.cells[0].text, row.cells[1].text = cells
    document.add_heading("Results", 2)
    document.add_paragraph("Limpets outnumbered anemones.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    (tmp_path / name).write_bytes(data)
    return tmp_path / name


def extract(tmp_path: Path, name: str, data: bytes, limits: ExtractionLimits = ExtractionLimits()):
    path = write(tmp_path, name, data)
    return list(extract_pages(path, sniff_file(path), limits))


def by_bytes(tmp_path: Path, name: str, data: bytes) -> str:
    return sniff_media_type(data, name)


def by_file(tmp_path: Path, name: str, data: bytes) -> str:
    return sniff_file(write(tmp_path, name, data))
