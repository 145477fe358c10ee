"""PDFs made with fpdf2 from real text on the machine, cached by their recipe so reruns reuse them."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

# fpdf2's core fonts are Latin-1; anything else becomes "?" (the text is still real prose).
_FONT, _FONT_SIZE, _LINE_HEIGHT = "Helvetica", 10, 5
CACHE = Path.home() / ".cache" / "ingest-pipeline-benchmarks"


def read_text(source: Path) -> str:
    """A file's text, decompressed if it ends in .gz."""
    data = gzip.decompress(source.read_bytes()) if source.suffix == ".gz" else source.read_bytes()
    return data.decode("utf-8", errors="replace")


def make_pdf(target: Path, sources: list[Path], pages: int, title: str) -> Path:
    """A PDF of at least `pages` pages: a heading per source, then its text, the sources repeated
    as often as needed. Built once per recipe and copied from the cache afterwards."""
    recipe = hashlib.sha256(f"{title}|{pages}|{'|'.join(map(str, sources))}".encode()).hexdigest()[:16]
    cached = CACHE / f"{recipe}.pdf"
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        _render(cached, sources, pages, title)
    target.write_bytes(cached.read_bytes())
    return target


def _render(path: Path, sources: list[Path], pages: int, title: str) -> None:
    from fpdf import FPDF  # the dev extra: only benchmarks and tests make PDFs

    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font(_FONT, "B", 16)
    pdf.multi_cell(0, 10, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    index = 0
    while not _full(pdf, pages):
        source = sources[index % len(sources)]
        index += 1
        pdf.set_font(_FONT, "B", 13)
        pdf.multi_cell(0, 8, _latin1(f"{index}. {source.parent.name}: {source.name}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(_FONT, size=_FONT_SIZE)
        for paragraph in read_text(source).split("\n\n"):
            if paragraph.strip():
                pdf.multi_cell(0, _LINE_HEIGHT, _latin1(paragraph.strip()), new_x="LMARGIN", new_y="NEXT")
                pdf.ln(2)
            if _full(pdf, pages):
                break
    tmp = path.with_suffix(".partial")
    pdf.output(str(tmp))
    tmp.rename(path)


def _full(pdf, pages: int) -> bool:
    """The last page is most of the way down (a long paragraph may still spill onto one more)."""
    return pdf.page_no() > pages or (pdf.page_no() == pages and pdf.get_y() > pdf.h * 0.8)


def _latin1(text: str) -> str:
    return text.encode("latin-1", errors="replace").decode("latin-1")
