"""Contract of the PDF stream guard and the extraction sandbox: bombs are counted however they are written, and
a document over the kernel's or the wall clock's limit fails alone, with a reason naming that limit."""

from __future__ import annotations

import mmap
import os
import signal

import pytest

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.parse.extraction import HTML, PDF, TEXT, ExtractionLimits, extract_pages
from ingest_pipeline.parse.extraction.limits import MEGABYTE
from ingest_pipeline.parse.extraction.pdf_objects import parse_value, read_objects
from ingest_pipeline.parse.extraction.pdf_streams import check_streams
from ingest_pipeline.parse.resource import LocalParser
from ingest_pipeline.parse.sandbox import ExtractionFailed, SandboxLimits, sandboxed_pages
from ingest_pipeline_tests.bad_files import (
    BOMB_DICTIONARIES,
    content_stream_bomb_pdf,
    image_only_pdf,
    many_streams_pdf,
    text_pdf,
)
from ingest_pipeline_tests.pipeline_runs import paragraph, write

# Pre-checks that let any bomb through, so that only the sandbox's limits stand in its way.
NO_PRE_CHECKS = ExtractionLimits(max_uncompressed_bytes=1 << 40, max_compression_ratio=1e12,
                                 max_document_uncompressed_bytes=1 << 40)
CPU_BURNING_HTML = "<p>" + "<b>x</b> " * 1_000_000


def _objects(tmp_path, data: bytes):
    with write(tmp_path, "objects.pdf", data).open("rb") as file, \
            mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        return read_objects(mapped)


@pytest.mark.parametrize("way", BOMB_DICTIONARIES)
def test_a_bomb_is_read_as_flate_content_however_its_dictionary_is_written(tmp_path, way):
    data = content_stream_bomb_pdf(250, BOMB_DICTIONARIES[way])
    objects = _objects(tmp_path, data)
    assert [(stream.number, stream.flate_first, stream.image) for stream in objects.streams] == [(4, True, False)]
    assert objects.page_contents == [[4]]
    with pytest.raises(DocumentRejected, match=r"\(a decompression bomb\)"):
        check_streams(write(tmp_path, f"{way}.pdf", data), ExtractionLimits())


def test_dictionaries_are_parsed_with_nesting_strings_escapes_and_references():
    source = b"<< /A [1 2 0 R (a(b)c\\)) <ab>] /Fl#61te << /X /Y >> /Length 3 0 R /A 7 >>tail"
    value, end = parse_value(source, 0)
    assert value == {"A": 7, "Flate": {"X": "Y"}, "Length": parse_value(b"[3 0 R]", 0)[0][0]}
    assert source[end:] == b"tail"
    assert parse_value(b"<< /A (unclosed >>", 0) is None and parse_value(b"<< /A ] >>", 0) is None


def test_streams_under_the_limit_each_are_counted_per_page_and_per_document(tmp_path):
    limits = ExtractionLimits(max_uncompressed_bytes=20 * MEGABYTE, max_document_uncompressed_bytes=50 * MEGABYTE)
    with pytest.raises(DocumentRejected, match="20 MB together, the limit for one page"):
        check_streams(write(tmp_path, "page.pdf", many_streams_pdf(3, 9, one_page=True)), limits)
    with pytest.raises(DocumentRejected, match="50 MB together, the limit for one document"):
        check_streams(write(tmp_path, "document.pdf", many_streams_pdf(6, 9, one_page=False)), limits)
    check_streams(write(tmp_path, "fine.pdf", many_streams_pdf(2, 9, one_page=True)), limits)


def test_only_a_real_image_is_skipped(tmp_path):
    check_streams(write(tmp_path, "photo.pdf", image_only_pdf()), ExtractionLimits())
    # A page's content that calls itself an image is still the page's content: pdfium decodes it.
    disguised = content_stream_bomb_pdf(250, b"/Length %d /Subtype /Image /Filter /FlateDecode")
    with pytest.raises(DocumentRejected, match=r"\(a decompression bomb\)"):
        check_streams(write(tmp_path, "disguised.pdf", disguised), ExtractionLimits())


def test_sandboxed_pages_are_the_same_pages(tmp_path):
    path = write(tmp_path, "three.pdf", text_pdf([paragraph("heron"), "", "crème brûlée"]))
    assert list(sandboxed_pages(path, PDF, ExtractionLimits())) == list(extract_pages(path, PDF))
    text = write(tmp_path, "wide.txt", "𝔘nicode ✓ " + paragraph("tern"))
    assert list(sandboxed_pages(text, TEXT, ExtractionLimits())) == list(extract_pages(text, TEXT))
    rejected = write(tmp_path, "tiny.pdf", text_pdf(["x"] * 3))
    with pytest.raises(DocumentRejected, match="has 3 pages; the limit is 2"):
        list(sandboxed_pages(rejected, PDF, ExtractionLimits(max_pages=2)))


def test_a_bomb_past_the_pre_checks_is_stopped_by_the_memory_limit_and_the_next_document_reads(tmp_path):
    bomb = write(tmp_path, "bomb.pdf", content_stream_bomb_pdf(250))
    with pytest.raises(DocumentRejected, match=r"more than 150 MB of memory.*\(INGEST_PARSE_MEMORY_MB\)"):
        list(sandboxed_pages(bomb, PDF, NO_PRE_CHECKS, SandboxLimits(memory_mb=150)))
    good = write(tmp_path, "good.pdf", text_pdf([paragraph("plover")]))
    assert "plover" in list(sandboxed_pages(good, PDF, NO_PRE_CHECKS, SandboxLimits(memory_mb=150)))[0].text


def test_cpu_and_wall_clock_limits_fail_the_document_naming_them(tmp_path):
    html = write(tmp_path, "tags.html", CPU_BURNING_HTML)
    parser = LocalParser(cpu_seconds=1, max_seconds=30)
    with pytest.raises(DocumentRejected, match=r"more than 1 second of processor time.*\(INGEST_PARSE_CPU_SECONDS\)"):
        list(parser.parse(html, HTML))
    slow = LocalParser(cpu_seconds=30, max_seconds=0.3)
    with pytest.raises(DocumentRejected, match=r"longer than 0 seconds.*\(INGEST_MAX_PARSE_SECONDS\)"):
        list(slow.parse(html, HTML))
    assert [page.text for page in slow.parse(write(tmp_path, "ok.txt", "fine words"), TEXT)] == ["fine words"]


def test_a_failure_that_is_not_the_documents_is_told_apart(tmp_path):
    with pytest.raises(ExtractionFailed, match="FileNotFoundError"):
        list(sandboxed_pages(tmp_path / "gone.txt", TEXT, ExtractionLimits()))


def test_an_abandoned_document_ends_its_child(tmp_path):
    pages = sandboxed_pages(write(tmp_path, "two.pdf", text_pdf(["one", "two"])), PDF, ExtractionLimits())
    assert next(pages).text == "one"
    worker = pages.gi_frame.f_locals["worker"]
    pages.close()
    assert worker.ended is not None and os.WTERMSIG(worker.ended[0]) == signal.SIGKILL


def _worker_of(path, media_type, limits=ExtractionLimits(), sandbox=SandboxLimits()):
    pages = sandboxed_pages(path, media_type, limits, sandbox)
    try:
        next(pages)
    except DocumentRejected:
        return None
    worker = pages.gi_frame.f_locals["worker"]
    list(pages)
    return worker.pid


def test_a_worker_serves_document_after_document_until_one_exceeds_a_limit(tmp_path):
    good = write(tmp_path, "good.txt", paragraph("gull"))
    first = _worker_of(good, TEXT)
    assert _worker_of(good, TEXT) == first
    with pytest.raises(DocumentRejected, match="INGEST_PARSE_MEMORY_MB"):
        list(sandboxed_pages(write(tmp_path, "bomb.pdf", content_stream_bomb_pdf(250)), PDF, NO_PRE_CHECKS,
                             SandboxLimits(memory_mb=150)))
    replaced = _worker_of(good, TEXT)
    assert replaced is not None and replaced != first
