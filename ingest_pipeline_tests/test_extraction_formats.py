"""Contract of `ingest_pipeline.parse.extraction` per format: text from 1-based pages, structure kept, bad files raise DocumentRejected."""

from __future__ import annotations

import codecs
import threading

import pytest

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.models import Page
from ingest_pipeline.parse.extraction import (
    DOCX,
    HTML,
    MARKDOWN,
    PDF,
    TEXT,
    ExtractionLimits,
    extract_pages,
    sniff_file,
)
from ingest_pipeline_tests.extraction_samples import (
    SAMPLES,
    WRAPPING,
    docx_bytes,
    extract,
    pdf_bytes,
    write,
    zip_bytes,
)


def test_pdf_pages_are_numbered_and_keep_word_spacing(tmp_path):
    texts = ["Page one has two words here. " + WRAPPING, "", "Third page: two words again. " + WRAPPING]
    pages = extract(tmp_path, "three.pdf", pdf_bytes(texts))
    assert [page.number for page in pages] == [1, 2, 3]
    assert "two words" in pages[0].text and "two words" in pages[2].text
    assert "Page one has two words here." in pages[0].text
    assert pages[1].text == ""
    assert "\r" not in pages[0].text and "\n" in pages[0].text


def test_pdf_pages_are_yielded_lazily(tmp_path):
    pages = extract_pages(write(tmp_path, "three.pdf", pdf_bytes(["one", "two", "three"])), PDF)
    assert next(pages).text == "one"
    pages.close()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: pdf_bytes(["secret"], user_password="hunter2"), "password-protected"),
        (lambda: (data := pdf_bytes(["one", "two"]))[: len(data) // 2], "damaged"),
    ],
    ids=["encrypted", "truncated"],
)
def test_unreadable_pdfs_are_rejected(tmp_path, make, reason):
    with pytest.raises(DocumentRejected, match=reason):
        extract(tmp_path, "bad.pdf", make())


@pytest.mark.parametrize(
    ("name", "data", "limits", "reason"),
    [
        ("three.pdf", pdf_bytes(["a", "b", "c"]), ExtractionLimits(max_pages=2), "has 3 pages; the limit is 2"),
        ("long.txt", b"x" * 11, ExtractionLimits(max_characters=10), "more than 10 characters"),
        ("huge.txt", b"x" * 41, ExtractionLimits(max_characters=10), "more than 10 characters"),
        ("long.pdf", pdf_bytes(["x" * 40]), ExtractionLimits(max_characters=10), "more than 10 characters"),
    ],
    ids=["pdf-pages", "text-characters", "text-file-size", "pdf-characters"],
)
def test_limits_are_enforced(tmp_path, name, data, limits, reason):
    with pytest.raises(DocumentRejected, match=reason):
        extract(tmp_path, name, data, limits)


def test_docx_keeps_headings_lists_and_tables_in_body_order(tmp_path):
    [page] = extract(tmp_path, "survey.docx", docx_bytes())
    assert page == Page(number=1, text=(
        "# Tide Pool Survey\n\n# Method\n\nWe counted at low tide.\n\n"
        "- Anemones\n- Limpets\n  - Small ones\n\nSpecies | Count\nLimpet | 42\n\n"
        "## Results\n\nLimpets outnumbered anemones."
    ))


@pytest.mark.parametrize(
    ("data", "limits", "reason"),
    [
        (b"PK\x03\x04 this is not really a zip", ExtractionLimits(), "damaged"),
        (docx_bytes(), ExtractionLimits(max_uncompressed_bytes=1000), "expand to .* the limit is"),
        (zip_bytes({"word/document.xml": b"", "zeros": bytes(12 << 20)}), ExtractionLimits(), "compressed"),
        (zip_bytes({"word/document.xml": b"<not-a-document>"}), ExtractionLimits(), "damaged"),
    ],
    ids=["not-a-zip", "too-large", "zip-bomb", "no-content-types"],
)
def test_bad_docx_is_rejected(tmp_path, data, limits, reason):
    with pytest.raises(DocumentRejected, match=reason):
        list(extract_pages(write(tmp_path, "bad.docx", data), DOCX, limits))


HTML_PAGE = """<!DOCTYPE html><html><head><title>Ignored title</title><meta charset="utf-8">
<style>p { color: red }</style><script>document.write("<p>no</p>")</script></head>
<body><h1>Puffins  &amp; Auks</h1><p>Small   seabirds<br>of the north.</p>
<noscript>Enable JavaScript</noscript><template><p>hidden</p></template>
<h2>Where they nest</h2><ul><li>Cliffs</li><li>Burrows<ul><li>On islands</li></ul></li></ul>
<ol><li>Arrive</li><li>Breed</li></ol>
<table><tr><th>Month</th><th>Event</th></tr><tr><td>April</td><td>Return</td></tr></table>
<pre>  keep   this
    as is</pre></body></html>"""
HTML_TEXT = (
    "# Puffins & Auks\n\nSmall seabirds\nof the north.\n\n## Where they nest\n\n"
    "- Cliffs\n- Burrows\n  - On islands\n\n1. Arrive\n2. Breed\n\n"
    "Month | Event\nApril | Return\n\n  keep   this\n    as is"
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (HTML_PAGE.encode(), HTML_TEXT),
        (codecs.BOM_UTF16_LE + HTML_PAGE.encode("utf-16-le"), HTML_TEXT),
        (b"<html><title>Tide  pools</title><body><p>Go at low tide.", "# Tide pools\n\nGo at low tide."),
        ('<meta charset="koi8-r"><p>Привет, мир</p>'.encode("koi8-r"), "Привет, мир"),
        ('<meta charset="iso-8859-1"><p>Café – naïve</p>'.encode("utf-8"), "Café – naïve"),
        (b"<html><p>caf&eacute; &lt;b&gt; &#8211; x</p>", "café <b> – x"),
    ],
    ids=["structure", "utf-16", "title-without-h1", "meta-charset", "utf-8-despite-meta", "entities"],
)
def test_html_keeps_structure_and_drops_non_content(tmp_path, data, expected):
    [page] = extract(tmp_path, "page.html", data)
    assert page.number == 1 and page.text == expected


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32", "cp1252"])
def test_text_is_decoded_from_common_encodings(tmp_path, codec):
    # Python writes a byte-order mark for utf-8-sig, utf-16 and utf-32 (little-endian), not utf-16-be.
    bom = codecs.BOM_UTF16_BE if codec == "utf-16-be" else b""
    [page] = extract(tmp_path, "notes.txt", bom + "café – naïve\r\nsecond line\rthird".encode(codec))
    assert page.text == "café – naïve\nsecond line\nthird"


def test_stray_nul_bytes_are_dropped_from_text(tmp_path):
    [page] = extract(tmp_path, "notes.txt", b"tide\x00 pools " + b"at low water " * 20)
    assert page.text == "tide pools " + "at low water " * 20


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("---\ntitle: Soup\ntags: [food]\n---\n# Soup\n\nStir.", "# Soup\n\nStir."),
        ("+++\ntitle = 'Soup'\n+++\n\n# Soup\n", "# Soup\n"),
        ("---\n---\nBody", "Body"),
        ("# Soup\n\n---\n\nNo front matter here.", "# Soup\n\n---\n\nNo front matter here."),
        ("---\nnever closed\n# Soup", "---\nnever closed\n# Soup"),
    ],
    ids=["yaml", "toml", "empty", "thematic-break", "unclosed"],
)
def test_markdown_loses_only_its_front_matter(tmp_path, source, expected):
    [page] = extract(tmp_path, "recipe.md", source.encode())
    assert page.text == expected


def test_unsupported_media_type_is_rejected(tmp_path):
    with pytest.raises(DocumentRejected, match="cannot be ingested"):
        list(extract_pages(write(tmp_path, "x.bin", b"data"), "image/png"))


SAMPLE_FILES = {
    "lighthouse-history.pdf": (PDF, 3, "John Smeaton"),
    "atlantic-puffin-field-guide.html": (HTML, 1, "## Identification"),
    "red-lentil-soup.md": (MARKDOWN, 1, "# Red Lentil Soup"),
    "exploring-tide-pools.txt": (TEXT, 1, "sea anemone"),
    "fixing-a-bicycle-puncture.docx": (DOCX, 1, "# Fixing a Bicycle Puncture"),
}


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_samples_are_readable(name):
    media_type, pages, phrase = SAMPLE_FILES[name]
    assert sniff_file(SAMPLES / name) == media_type
    extracted = list(extract_pages(SAMPLES / name, media_type))
    assert [page.number for page in extracted] == list(range(1, pages + 1))
    assert phrase in "\n".join(page.text for page in extracted)


def test_samples_stay_small():
    assert sum(path.stat().st_size for path in SAMPLES.iterdir()) < 200_000


def test_a_pdf_being_read_holds_pdfium_until_its_last_page(tmp_path):
    # pdfium crashes when called from two threads at once: a second PDF must wait for the first.
    from ingest_pipeline.parse.extraction.pdf_text import _PDFIUM

    pages = extract_pages(write(tmp_path, "two.pdf", pdf_bytes(["one", "two"])), PDF)
    next(pages)
    elsewhere = []
    other = threading.Thread(target=lambda: elsewhere.append(_PDFIUM.acquire(blocking=False)))
    other.start(), other.join()
    assert elsewhere == [False]
    pages.close()
    other = threading.Thread(target=lambda: elsewhere.append(_PDFIUM.acquire(blocking=False) and _PDFIUM.release() is None))
    other.start(), other.join()
    assert elsewhere == [False, True]
