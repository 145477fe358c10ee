"""The benchmark corpus: real files from /usr/share/doc of mixed types and sizes, plus generated PDFs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchmarks.corpus import SOURCES, gather, sha256_of
from benchmarks.pdf_corpus import make_pdf, read_text

# About one document in ten is a PDF, from one page to a few dozen.
PDF_SHARE = 0.1
MAX_PDF_PAGES = 40
_KNOWN = (".pdf", ".html", ".md", ".txt")
# Compressed files that are not text: decoded, they are control characters (NUL among them), which a
# PDF made from them keeps and LlamaIndex's Postgres store refuses. Passed over where picked.
_BINARY = (".pdf.gz", ".dvi.gz", ".tar.gz")


def build(destination: Path, size: int, after: list[Path] = ()) -> list[Path]:
    """`size` documents in `destination`: HTML, Markdown, text and PDF, deterministic for a size.

    `after`: a corpus built here before; the new one then shares no file and no text with it (it passes
    over files with the same bytes, and its PDFs take other sources), and its names are numbered on.
    """
    pdfs = max(1, round(size * PDF_SHARE))
    taken = {sha256_of(path.read_bytes()) for path in after}
    files = gather(destination, size - pdfs, exclude=taken, first_number=len(after))
    compressed = _compressed_texts()
    # Past what gather finds (about 1,700 files here), decompressed changelogs and READMEs fill in.
    files += _decompressed(destination, compressed, size - pdfs - len(files), taken, len(after) + len(files))
    # PDFs take their text from the far end of the pool, so they do not repeat the text files.
    for index in range(len(after), len(after) + pdfs):
        sources = [_text_from_end(compressed, index * 3 + k) for k in range(1 + index % 3)]
        pages = 1 + (index * 7) % MAX_PDF_PAGES
        files.append(make_pdf(destination / f"{len(after) + len(files):04d}-generated-{index}.pdf", sources, pages,
                              f"Generated document {index}"))
    return files


def _decompressed(destination: Path, compressed: list[Path], count: int, taken: set[str], number: int) -> list[Path]:
    """Up to `count` of the compressed texts, decompressed, passing over those whose text is `taken`."""
    files: list[Path] = []
    for source in compressed:
        if len(files) >= count:
            break
        body = read_text(source) if _is_text(source) else None
        if body is None or sha256_of(body.encode("utf-8")) in taken:
            continue
        target = destination / f"{number + len(files):04d}-{source.parent.name}-{source.name[:-3]}"
        target = target if target.suffix in (".md", ".txt", ".html") else target.with_suffix(".txt")
        target.write_text(body, encoding="utf-8")
        files.append(target)
    return files


def build_disjoint_pair(folder: Path, size: int) -> tuple[Path, Path, dict[str, str]]:
    """Corpora A and B of `size` documents each (folder/corpus-a, folder/corpus-b) sharing no file and no
    text, and a description of each (printed too)."""
    corpus_a, corpus_b = folder / "corpus-a", folder / "corpus-b"
    files = build(corpus_a, size)
    described = {"A": describe(files), "B": describe(build(corpus_b, size, after=files))}
    print(f"corpus A: {described['A']}\ncorpus B: {described['B']}", flush=True)
    return corpus_a, corpus_b, described


def _text_from_end(compressed: list[Path], position: int) -> Path:
    """The compressed text `position` places from the end of the pool, or the next one that is text."""
    while not _is_text(source := compressed[-1 - position % len(compressed)]):
        position += 1
    return source


def _is_text(source: Path) -> bool:
    return not source.name.endswith(_BINARY)


def describe(files: list[Path]) -> str:
    """`300 documents (120 .txt, 75 .html, ...), 12.3 MB`."""
    kinds = Counter(path.suffix if path.suffix in _KNOWN else "other text" for path in files)
    size = sum(path.stat().st_size for path in files)
    listed = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
    return f"{len(files)} documents ({listed}), {size / 1e6:.1f} MB"


def _compressed_texts() -> list[Path]:
    return sorted(p for p in SOURCES.rglob("*.gz") if p.is_file() and p.stat().st_size > 500)
