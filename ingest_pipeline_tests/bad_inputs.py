"""The generated bad-input corpus: every kind of broken, hostile or odd file, and what the pipeline must say about it."""

from __future__ import annotations

import codecs
import gzip
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest_pipeline.parse.extraction.limits import CPU_SETTING, MEMORY_SETTING, WALL_SETTING
from ingest_pipeline_tests import bad_files
from ingest_pipeline_tests.bad_files import text_pdf
from ingest_pipeline_tests.pipeline_runs import paragraph

MEGABYTE = 1 << 20
# The default per-document size limit (INGEST_MAX_UPLOAD_MB) the corpus goes past.
SIZE_LIMIT = 100 * MEGABYTE
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Specimen:
    """One kind of input: its file name, how to write it, and a phrase its failure reason must hold.

    An empty `reason` means the input is odd but readable: it must be embedded, its text found in
    the stored pages as `phrase`.
    """

    kind: str
    name: str
    write: Callable[[Path], object]
    reason: str = ""
    phrase: str = ""

    def make(self, folder: Path) -> Path:
        path = folder / self.kind / self.name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.write(path)
        return path


def _data(make: Callable[[], bytes]) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(make())


def _text(text: str, codec: str = "utf-8") -> Callable[[Path], object]:
    return _data(lambda: text.encode(codec))


def _random(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _one_long_line(size: int) -> Callable[[Path], object]:
    # Words without a single line break, written in blocks rather than built whole.
    def write(path: Path) -> None:
        words = " ".join(f"meadow{n % 997} grass{n % 991} seed{n % 983}" for n in range(2_000)) + " "
        with path.open("w", encoding="utf-8") as file:
            for _ in range(size // len(words) + 1):
                file.write(words)
    return write


def _base64_line() -> Callable[[Path], object]:
    return _data(lambda: codecs.encode(_random(10 * MEGABYTE * 3 // 4, 7), "base64").replace(b"\n", b""))


def _mixed_encodings() -> bytes:
    return ("Crème brûlée, first written in UTF-8. " + paragraph("custard", 8) + " ").encode() + \
        "Then a colleague added this in Latin-1: déjà vu, naïve façade. ".encode("latin-1")


# Each trap once sent Python's HTML parser into an error or quadratic time, or the text into quadratic size.
_HOSTILE_HTML = (
    f"<html><body><p>{paragraph('heron')}</p><![ bogus section ]><ol start='{'9' * 5000}'><li>one</ol>"
    + "<ul><li>deeper" * 5000 + "<a" * 100_000
)


def _over_the_size_limit(path: Path) -> None:
    # Text at the start, so it is the size and nothing else that turns it away; the rest is a hole.
    path.write_text(paragraph("log line", 200))
    bad_files.sparse_file(path, SIZE_LIMIT + 1)


# Refused by type sniffing: at intake by the API (415) and the inbox (set aside), at raw_document in a run.
REFUSED_AT_INTAKE: tuple[Specimen, ...] = (
    Specimen("binary-named-txt", "notes.txt", _data(lambda: _random(50_000, 2)), "binary data, not text"),
    Specimen("nul-riddled-text", "log.txt", _data(lambda: b"tide\x00 " * 5000), "binary data, not text"),
    Specimen("docx-not-a-zip", "memo.docx", _data(lambda: _random(30_000, 3)), "named .docx but is not"),
    Specimen("docx-truncated", "cut.docx", _data(lambda: _truncated(bad_files.docx_bytes(paragraph("plover")))),
             "damaged or incomplete"),
    Specimen("png-image", "diagram.png", _data(bad_files.png_bytes), "a PNG image"),
    Specimen("zip-archive", "bundle.zip", _data(lambda: bad_files.zip_bytes({"a.txt": b"inside"})), "a ZIP archive"),
    Specimen("tar-archive", "bundle.tar", _data(lambda: bad_files.tar_bytes({"a.txt": b"inside"})), "a tar archive"),
    Specimen("gzip-archive", "bundle.txt.gz", _data(lambda: gzip.compress(b"inside")), "a gzip archive"),
    Specimen("elf-executable", "tool", _data(bad_files.elf_bytes), "an ELF executable"),
    Specimen("windows-executable", "setup.exe", _data(lambda: b"MZ\x90\x00" + _random(4096, 4)), "a Windows executable"),
    Specimen("legacy-word-doc", "old.doc", _data(lambda: _OLE2 + bytes(500) + "WordDocument".encode("utf-16-le")
                                                 + bytes(3000)), "a legacy Word .doc file"),
    Specimen("password-protected-office", "locked.docx", _data(
        lambda: _OLE2 + bytes(500) + "EncryptedPackage".encode("utf-16-le") + bytes(3000)),
             "password-protected Office file"),
    Specimen("excel-as-docx", "figures.docx", _data(lambda: bad_files.zip_bytes({"xl/workbook.xml": b"<x/>"})),
             "an Excel workbook"),
    Specimen("svg-image", "logo.svg", _text('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
             "an SVG image"),
)

# Accepted at intake, then failed by a stage of the run.
FAILED_IN_A_RUN: tuple[Specimen, ...] = (
    Specimen("zero-byte", "empty.txt", _data(bytes), "no text could be extracted"),
    Specimen("truncated-pdf", "report.pdf", _data(lambda: _truncated(text_pdf([paragraph("tern", 30)] * 3))),
             "The PDF is damaged or incomplete"),
    Specimen("garbage-after-pdf-header", "scan.pdf", _data(lambda: b"%PDF-1.7\n" + _random(20_000, 1)),
             "The PDF is damaged or incomplete"),
    Specimen("cyclic-page-tree-pdf", "loop.pdf", _data(bad_files.cyclic_page_tree_pdf), "cannot be read"),
    Specimen("password-pdf", "locked.pdf", _data(lambda: text_pdf(["secret"], "owner", "hunter2")),
             "password-protected"),
    Specimen("unknown-encryption-pdf", "acme.pdf", _data(bad_files.unknown_security_pdf),
             "encrypted with a security scheme that cannot be opened"),
    Specimen("image-only-pdf", "photo-scan.pdf", _data(bad_files.image_only_pdf), "no text layer"),
    Specimen("thousands-of-blank-pages-pdf", "blank.pdf", _data(lambda: bad_files.blank_pages_pdf(6000)),
             "6,000 pages; the limit is 5,000 pages"),
    Specimen("content-stream-bomb-pdf", "dense.pdf", _data(lambda: bad_files.content_stream_bomb_pdf(1024)),
             "(a decompression bomb)"),
    *(Specimen(f"content-stream-bomb-pdf-{way}", f"dense-{way}.pdf",
               _data(lambda dictionary=dictionary: bad_files.content_stream_bomb_pdf(250, dictionary)),
               "(a decompression bomb)") for way, dictionary in bad_files.BOMB_DICTIONARIES.items()),
    Specimen("many-streams-on-one-page-pdf", "crowded.pdf", _data(lambda: bad_files.many_streams_pdf(23, 9, True)),
             "200 MB together, the limit for one page"),
    Specimen("many-streams-in-one-document-pdf", "sprawling.pdf",
             _data(lambda: bad_files.many_streams_pdf(115, 9, False)), "1,024 MB together, the limit for one document"),
    Specimen("all-script-html", "app.html", _text(
        "<!doctype html><html><head><script>" + "window.app = {};" * 2000 + "</script></head>"
        "<body><div id='root'></div><script src='bundle.js'></script></body></html>"), "no visible text"),
    Specimen("docx-decompression-bomb", "bomb.docx", _data(lambda: bad_files.docx_bomb(20)), "to 1, far beyond"),
    Specimen("docx-lying-about-its-size", "liar.docx", _data(bad_files.docx_lying_about_size),
             "The Word file is damaged"),
    Specimen("docx-entity-bomb", "laughs.docx", _data(bad_files.docx_entity_bomb), "The Word file is damaged"),
    Specimen("over-the-size-limit", "huge.log", _over_the_size_limit, "more than 100 MB; the limit is 100 MB"),
    Specimen("markdown-only-front-matter", "draft.md", _text("---\ntitle: Draft\ntags: [todo]\n---\n\n"),
             "only front matter"),
    Specimen("too-little-text", "tiny.txt", _text("see above"), "only 8 non-space characters"),
    Specimen("symbol-soup", "soup.txt", _text("#$%&*+=<>~^|" * 200), "letters or digits"),
    Specimen("private-use-glyphs", "glyphs.txt", _text("\ue000\ue001\ue002 " * 300), "unreadable"),
    Specimen("one-10-mb-line-of-base64", "blob.txt", _base64_line(), "encoded data (such as base64"),
)

BAD = REFUSED_AT_INTAKE + FAILED_IN_A_RUN

# Small limits for a run over OVER_OS_LIMITS, so each is stopped by the kernel within a few seconds.
# 100 MB: the PDF of 300,000 text operators needs about twice that (measured: +216 MB), the HTML of a
# million tags about a third of it while burning 9 s of CPU, so each meets its own limit with room to spare.
OS_LIMITS = {MEMORY_SETTING: "100", CPU_SETTING: "2", WALL_SETTING: "30"}

# Documents that pass every check the extraction code makes, stopped by the limits the kernel enforces
# on the process reading them; the reason names the setting.
OVER_OS_LIMITS: tuple[Specimen, ...] = (
    Specimen("text-operators-pdf", "glyphs.pdf", _data(lambda: bad_files.text_operators_pdf(300_000)),
             MEMORY_SETTING),
    Specimen("cpu-burning-html", "tags.html", _text("<p>" + "<b>x</b> " * 1_000_000), CPU_SETTING),
)

ODD_BUT_READABLE: tuple[Specimen, ...] = (
    Specimen("utf-16-with-bom", "utf16.txt", _text("Größe und Gewicht. " + paragraph("bridge"), "utf-16"),
             phrase="Größe und Gewicht"),
    Specimen("utf-16-without-bom", "utf16le.txt", _text("Ça coûte cher. " + paragraph("harbour"), "utf-16-le"),
             phrase="Ça coûte cher"),
    # Named in Latin-1 too: a path that is not UTF-8, as `ingest-pipeline ingest` may meet on disk.
    Specimen("latin-1", os.fsdecode(b"se\xf1or.txt"),
             _text("Señor Muñoz está aquí. " + paragraph("orchard"), "latin-1"), phrase="Señor Muñoz está aquí"),
    Specimen("mixed-encodings", "mixed.txt", _data(_mixed_encodings), phrase="déjà vu, naïve façade"),
    Specimen("owner-password-pdf", "restricted.pdf", _data(
        lambda: text_pdf([paragraph("windmill", 10)], owner_password="owner")), phrase="windmill"),
    Specimen("corrupt-xref-pdf", "rebuilt.pdf", _data(bad_files.corrupt_xref_pdf), phrase="lighthouse lens"),
    Specimen("hostile-html", "trap.html", _text(_HOSTILE_HTML), phrase="how the heron behaves"),
    Specimen("docx-forged-list-depth", "deep.docx", _data(
        lambda: bad_files.docx_forged_list_depth(*paragraph("gannet").split(". "))), phrase="- Sentence 1 explains"),
    Specimen("one-1-mb-line-of-words", "meadow.txt", _one_long_line(MEGABYTE), phrase="meadow5 grass5 seed5"),
)

GOOD: tuple[Specimen, ...] = (
    Specimen("good-markdown", "kayak.md", _text("# Kayaks\n\n" + paragraph("kayak", 20)), phrase="kayak"),
    Specimen("good-pdf", "comet.pdf", _data(lambda: text_pdf([paragraph("comet", 10), paragraph("tail", 10)])),
             phrase="comet"),
    Specimen("good-docx", "otter.docx", _data(lambda: bad_files.docx_bytes(paragraph("otter", 12))), phrase="otter"),
    Specimen("good-html", "puffin.html", _text(f"<html><body><h1>Puffins</h1><p>{paragraph('puffin')}</p>"),
             phrase="puffin"),
)
